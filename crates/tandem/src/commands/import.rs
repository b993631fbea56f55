//! `tandem import`: items from a JSONL or CSV file, with a progress bar. Bad rows are
//! reported by line number and skipped; the good ones are accepted.

use std::process::ExitCode;

use anyhow::Context;
use tandem_domain::Role;
use tandem_service::auth::Actor;
use tandem_service::import::{Format, read_rows};
use tandem_service::intake::Submission;
use tandem_service::worker::Worker;
use tandem_service::{ServiceError, Tandem};
use tandem_store::User;

use crate::cli::ImportArgs;
use crate::config::Config;
use crate::progress;

const CHUNK: usize = 500;

/// The identity CLI work is recorded under: the workspace's first admin, or a system user.
pub async fn cli_actor(tandem: &Tandem, workspace: &str) -> anyhow::Result<Actor> {
    let ws = tandem.ensure_workspace(workspace, workspace).await?;
    let users = tandem.store.list_users(ws.id).await?;
    if let Some(user) = users
        .into_iter()
        .filter(|u| u.role == Role::Admin)
        .min_by_key(|u| u.id)
    {
        return Ok(Actor { user });
    }
    // A workspace with nobody in it yet: act as its system user.
    let email = format!("system@{}.tandem.local", ws.slug);
    let user: User = match tandem.store.user_credentials(&email).await? {
        Some((u, _)) => u,
        None => {
            tandem
                .add_user(
                    ws.id,
                    &email,
                    "Tandem CLI",
                    Role::Admin,
                    &tandem_service::auth::new_secret(""),
                )
                .await?
        }
    };
    Ok(Actor { user })
}

pub async fn run(config: Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let tandem = super::open(&config).await?;
    let actor = cli_actor(&tandem, &config.workspace).await?;
    let file =
        std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let stem = args
        .file
        .file_name()
        .map_or_else(|| "import".into(), |n| n.to_string_lossy().into_owned());
    let rows = read_rows(file, Format::from_path(&args.file), &format!("import:{stem}"));
    let (created, bad) = import_rows(&tandem, &actor, &args.automation, rows).await?;
    if !args.no_process && created > 0 {
        process_all(&tandem, actor.workspace(), created as u64).await?;
    }
    Ok(if bad > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Submit rows in chunks; report bad ones. Returns (items created, rows refused).
pub async fn import_rows(
    tandem: &Tandem,
    actor: &Actor,
    slug: &str,
    rows: Vec<Result<tandem_service::import::Row, tandem_service::import::RowError>>,
) -> anyhow::Result<(usize, usize)> {
    let bar = progress::bar(rows.len() as u64, "importing");
    let mut bad: Vec<String> = Vec::new();
    let mut good = Vec::new();
    for r in rows {
        match r {
            Ok(row) => good.push(row),
            Err(e) => {
                bad.push(e.to_string());
                bar.inc(1);
            }
        }
    }
    let (mut created, mut duplicates) = (0usize, 0usize);
    for chunk in good.chunks(CHUNK) {
        let subs: Vec<Submission> = chunk.iter().map(|r| r.submission.clone()).collect();
        match tandem.submit(actor, slug, subs).await {
            Ok(inserted) => {
                created += inserted.iter().filter(|i| i.created).count();
                duplicates += inserted.iter().filter(|i| !i.created).count();
            }
            // One bad row must not sink its chunk: retry the chunk row by row.
            Err(ServiceError::Invalid { .. } | ServiceError::TooLarge(_)) => {
                for row in chunk {
                    match tandem.submit(actor, slug, vec![row.submission.clone()]).await {
                        Ok(i) if i[0].created => created += 1,
                        Ok(_) => duplicates += 1,
                        Err(e) => bad.push(format!("line {}: {e}", row.line)),
                    }
                }
            }
            Err(ServiceError::NotFound(what)) => {
                anyhow::bail!("{what} {slug:?} not found in this workspace (tandem apply FILE creates it)")
            }
            Err(e) => return Err(anyhow::anyhow!("{e}")),
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    println!(
        "{created} item(s) accepted{}{}",
        if duplicates > 0 {
            format!(", {duplicates} already imported")
        } else {
            String::new()
        },
        if bad.is_empty() {
            String::new()
        } else {
            format!(", {} row(s) refused:", bad.len())
        }
    );
    for b in bad.iter().take(50) {
        println!("  {b}");
    }
    if bad.len() > 50 {
        println!("  … and {} more", bad.len() - 50);
    }
    Ok((created, bad.len()))
}

/// Run a worker in this process until the queue is empty, showing progress.
pub async fn process_all(
    tandem: &Tandem,
    ws: tandem_domain::WorkspaceId,
    expected: u64,
) -> anyhow::Result<()> {
    let worker = Worker::new(tandem.clone(), Worker::unique_id());
    let bar = progress::bar(expected, "processing");
    loop {
        let t = worker.tick().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        bar.inc(t.processed as u64);
        // Nothing due now, and no item waiting on an LLM (whose result may queue a
        // delivery); deliveries waiting on a retry are left to `tandem serve`.
        if t.total() == 0 && !worker.settle().await {
            break;
        }
    }
    bar.finish_and_clear();
    let counts = tandem.store.inbox_counts(ws).await?;
    println!("processed; {} item(s) wait in the exception inbox", counts.open);
    Ok(())
}
