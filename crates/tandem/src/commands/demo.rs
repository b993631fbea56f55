//! `tandem demo`: a seeded workspace a newcomer can click through. Two live automations
//! built from real public data (CLINC150 requests, SROIE receipts) carried in the binary,
//! a few hundred items run through the real engine, and a third automation in shadow with
//! a champion and part of the evidence its readiness gate needs; then the server. Running
//! it again reuses the same database and login.

use std::path::Path;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use tandem_domain::Role;
use tandem_service::Tandem;
use tandem_service::auth::Actor;
use tandem_service::automations::TrainingFiles;
use tandem_service::import::{Format, read_rows};
use tandem_store::ItemFilter;

use crate::cli::DemoArgs;
use crate::config::Config;
use crate::progress;

const WORKSPACE: &str = "demo";
const ADMIN: &str = "admin@demo.tandem.local";
const REVIEWER: &str = "rita@demo.tandem.local";

struct Example {
    file: &'static str,
    source: &'static str,
    files: fn() -> TrainingFiles,
    items: &'static str,
}

const EXAMPLES: [Example; 2] = [
    Example {
        file: "customer-requests.toml",
        source: include_str!("../../../../examples/customer-requests.toml"),
        files: || TrainingFiles {
            route_examples: Some((
                "data/customer-requests.train.jsonl".into(),
                include_str!("../../../../examples/data/customer-requests.train.jsonl").into(),
            )),
            documents: None,
        },
        items: include_str!("../../../../examples/data/customer-requests.items.jsonl"),
    },
    Example {
        file: "receipts.toml",
        source: include_str!("../../../../examples/receipts.toml"),
        files: || TrainingFiles {
            route_examples: None,
            documents: Some((
                "data/receipts.train.jsonl".into(),
                include_str!("../../../../examples/data/receipts.train.jsonl").into(),
            )),
        },
        items: include_str!("../../../../examples/data/receipts.items.jsonl"),
    },
];

/// The demo's login, kept beside its database so a second run prints the same one.
#[derive(Serialize, Deserialize)]
struct Login {
    password: String,
    reviewer_password: String,
    token: String,
}

pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<ExitCode> {
    if config.data_dir == Config::default().data_dir {
        config.data_dir = "tandem-demo".into();
    }
    config.workspace = WORKSPACE.into();
    config.addr = args.addr.clone();
    config
        .public_url
        .get_or_insert_with(|| format!("http://{}", args.addr));
    let tandem = super::open(&config).await?;
    let ws = tandem.ensure_workspace(WORKSPACE, "Demo team").await?;
    let login = ensure_login(&tandem, ws.id, &config.data_dir).await?;
    let (admin, _) = tandem
        .store
        .user_credentials(ADMIN)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo admin missing"))?;
    let actor = Actor { user: admin };

    for ex in &EXAMPLES {
        let spinner = progress::spinner(&format!("training {}", ex.file));
        let applied = tandem
            .apply_definition(ws.id, ex.source, (ex.files)(), ex.file, None)
            .await;
        spinner.finish_and_clear();
        let applied = applied.map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "{}: version {}{}",
            applied.automation.name,
            applied.version.number,
            if applied.created { " (trained)" } else { "" }
        );
        let existing = tandem
            .store
            .list_items(
                ws.id,
                &ItemFilter {
                    statuses: vec![],
                    automation: Some(applied.automation.id),
                    limit: 1,
                    ..Default::default()
                },
            )
            .await?;
        if existing.is_empty() {
            let rows = read_rows(ex.items.as_bytes(), Format::Jsonl, &format!("demo:{}", ex.file));
            let (created, _) =
                super::import::import_rows(&tandem, &actor, applied.automation.slug.as_str(), rows).await?;
            super::import::process_all(&tandem, ws.id, created as u64).await?;
        }
    }

    let shadow = super::demo_shadow::seed(&tandem, ws.id, &actor, REVIEWER).await?;

    let counts = tandem.store.inbox_counts(ws.id).await?;
    let url = format!("http://{}", args.addr);
    println!();
    println!(
        "Tandem demo is ready: {} item(s) wait in the exception inbox.",
        counts.open
    );
    println!("  URL:       {url}");
    println!("  Sign in:   {ADMIN} / {}", login.password);
    println!("  Reviewer:  {REVIEWER} / {}", login.reviewer_password);
    println!(
        "  In shadow: {} ({url}/automations/{}/rollout): {} of its items decided by its champion, the gate {}",
        shadow.name,
        shadow.slug,
        shadow.decided,
        if shadow.green { "green" } else { "not green yet" }
    );
    println!("  Try the API:");
    println!("    curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\");
    println!(
        "      -d '{{\"text\": \"my card was declined at the store\"}}' {url}/api/v1/automations/customer-requests/items"
    );
    println!("  API token: {}", login.token);
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    super::serve::serve(tandem, &args.addr, true).await?;
    Ok(ExitCode::SUCCESS)
}

async fn ensure_login(tandem: &Tandem, ws: tandem_domain::WorkspaceId, dir: &Path) -> anyhow::Result<Login> {
    let path = dir.join("demo-login.json");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(login) = serde_json::from_str::<Login>(&text)
        && tandem.store.user_credentials(ADMIN).await?.is_some()
    {
        return Ok(login);
    }
    let secret = |n: usize| {
        tandem_service::auth::new_secret("")
            .chars()
            .take(n)
            .collect::<String>()
    };
    let password = secret(16);
    let reviewer_password = secret(16);
    let admin = match tandem.store.user_credentials(ADMIN).await? {
        Some((u, _)) => u,
        None => {
            tandem
                .add_user(ws, ADMIN, "Ada Admin", Role::Admin, &password)
                .await?
        }
    };
    if tandem.store.user_credentials(REVIEWER).await?.is_none() {
        tandem
            .add_user(ws, REVIEWER, "Rita Reviewer", Role::Reviewer, &reviewer_password)
            .await?;
    }
    let token = tandem.create_token(&admin, "demo").await?;
    let login = Login {
        password,
        reviewer_password,
        token,
    };
    std::fs::write(&path, serde_json::to_string_pretty(&login)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(login)
}
