//! `tandem backup`, `tandem restore` and `tandem migrate`: getting data out, back in, and
//! from one machine's SQLite to a shared PostgreSQL.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tandem_store::{MoveProgress, SqlStore};

use crate::config::Config;
use crate::progress;

/// How to back up PostgreSQL, printed when `tandem backup` is pointed at it.
const PG_DUMP: &str = "PostgreSQL is backed up with its own tools, online and consistent:\n  \
pg_dump --format=custom --file=tandem.dump 'postgres://USER@HOST/DB'\n\
and restored into an empty database with:\n  \
pg_restore --no-owner --dbname='postgres://USER@HOST/NEWDB' tandem.dump\n\
(see README.md, \"Backups\").";

pub async fn backup(config: Config, file: &Path) -> anyhow::Result<ExitCode> {
    let url = config.database_url();
    if !url.starts_with("sqlite:") {
        eprintln!("{PG_DUMP}");
        return Ok(ExitCode::from(2));
    }
    let store = SqlStore::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    let spinner = progress::spinner("backing up");
    let done = store.backup_sqlite(file).await;
    spinner.finish_and_clear();
    store.close().await;
    match done {
        Ok(()) => {
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            println!("backed up {url} to {} ({size} bytes)", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(tandem_store::StoreError::Conflict(m)) => {
            eprintln!("error: {m}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e).context("backup failed"),
    }
}

pub async fn restore(config: Config, file: &Path, replace: bool) -> anyhow::Result<ExitCode> {
    let url = config.database_url();
    let Some(target) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        eprintln!("{PG_DUMP}");
        return Ok(ExitCode::from(2));
    };
    let target = Path::new(target.split('?').next().unwrap_or(target));
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    match tandem_store::restore_sqlite(file, target, replace).await {
        Ok(()) => {
            println!("restored {} from {}", target.display(), file.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(tandem_store::StoreError::Conflict(m)) => {
            eprintln!("error: {m}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e).context("restore failed"),
    }
}

pub async fn migrate(config: Config, from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let source = SqlStore::connect(from)
        .await
        .with_context(|| format!("cannot open the source {}", super::redact(from)))?;
    let target = SqlStore::connect(to)
        .await
        .with_context(|| format!("cannot open the target {}", super::redact(to)))?;
    let slug = &config.workspace;
    let mut bar = None;
    let moved = tandem_store::move_workspace(&source, &target, slug, &mut |p| match p {
        MoveProgress::Total(n) => bar = Some(progress::bar(n, "moving")),
        MoveProgress::Copied { rows, .. } => {
            if let Some(b) = &bar {
                b.inc(rows);
            }
        }
    })
    .await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let moved = match moved {
        Ok(m) => m,
        Err(tandem_store::StoreError::Conflict(m)) => {
            eprintln!("error: {m}");
            return Ok(ExitCode::from(2));
        }
        Err(tandem_store::StoreError::NotFound(_)) => {
            eprintln!("error: the source has no workspace {slug:?} (choose one with --workspace)");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e).context("the move failed; nothing was written to the target"),
    };
    // Check: the target holds as many of the workspace's rows as the source, per table.
    let tables: Vec<String> = moved.iter().map(|m| m.table.clone()).collect();
    let counted = tandem_store::workspace_row_counts(&target, slug, &tables).await?;
    let mut total = 0;
    for (m, c) in moved.iter().zip(&counted) {
        anyhow::ensure!(
            m.rows == c.rows,
            "{}: {} rows copied but {} found in the target",
            m.table,
            m.rows,
            c.rows
        );
        total += m.rows;
        if m.rows > 0 {
            println!("  {:<24} {:>9}", m.table, m.rows);
        }
    }
    println!(
        "moved workspace {slug} ({total} rows) from {} to {}; point tandem at the target with --database",
        super::redact(from),
        super::redact(to)
    );
    source.close().await;
    target.close().await;
    Ok(ExitCode::SUCCESS)
}
