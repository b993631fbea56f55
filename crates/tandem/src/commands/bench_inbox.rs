//! `tandem bench-inbox`: how fast the exception inbox answers with a large store (not a
//! test: figures go to BENCHMARKS.md, never into asserts).
//!
//! It fills a SQLite database with `--items` items (one million by default): the first
//! few hundred go through the real engine, and the rest reuse their stored outcomes, so
//! the rows look like production's without spending an hour in the engine. They are
//! loaded with `Store::load_items` (multi-row inserts, 50,000 items a transaction). Two
//! in ten went to the inbox; nine in ten of those are decided (approved, corrected or
//! rejected, with audit events and similarity keys), so the inbox holds about 2%. Then it serves the real web app in-process and
//! times, over HTTP with a signed-in session, the inbox page (200 rows, sorted by age, by
//! priority and by due time) and an item page (a random open item; opening it claims it).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_domain::{ItemId, ItemStatus, Role, UserId};
use tandem_engine::pipeline::Outcome;
use tandem_service::automations::TrainingFiles;
use tandem_service::{Settings, SystemClock, Tandem};
use tandem_store::{ItemFilter, LoadedDecision, LoadedItem};

use crate::cli::BenchInboxArgs;
use crate::config::Config;

const DEFINITION: &str = r#"
name = "Bench inbox"
slug = "bench-inbox"

[[fields]]
name = "email"
type = "email"
required = true
threshold = 0.5

[review]
priority = "high"
sla_minutes = 240
"#;

/// Texts the engine reads; about one in ten lands in the inbox (ambiguous or missing).
fn text(i: usize) -> String {
    match i % 10 {
        0 => format!("Ticket {i}: please write to a{i}@example.com or b{i}@example.org"),
        1..=8 => format!("Ticket {i}: reply to customer{i}@example.com about the invoice"),
        _ => format!("Ticket {i}: customer {i} called about the order; no address given"),
    }
}

const SEEDED: usize = 200;
/// Items per transaction while filling.
const LOAD_BATCH: usize = 50_000;

/// An item the real engine processed, whose outcome the filled items reuse.
struct Template {
    item: tandem_store::Item,
    reasons: Vec<String>,
    /// The result an approval accepts.
    result: Option<serde_json::Value>,
}

/// Item `i` of the store: `text(i)` with its template's outcome; decided by `reviewer`
/// unless it is one of the one in ten inbox items left open.
fn loaded(i: usize, t: &Template, created_at: i64, reviewer: UserId) -> LoadedItem {
    let text = text(i);
    let input = serde_json::json!({ "text": text }).to_string();
    let mut item = LoadedItem {
        input,
        preview: text,
        status: t.item.status,
        version_id: t.item.version_id,
        outcome: t.item.outcome.clone(),
        final_result: t.item.final_result.clone(),
        confidence: t.item.confidence,
        reason_codes: t.reasons.clone(),
        created_at,
        processed_at: Some(created_at + 50),
        decision: None,
    };
    if t.item.status != ItemStatus::NeedsReview || (i / 10).is_multiple_of(10) {
        return item;
    }
    let before = t.result.clone().unwrap_or_default();
    let (status, result, detail) = match (i / 10) % 3 {
        0 => (
            ItemStatus::Approved,
            Some(before.clone()),
            serde_json::json!({ "action": "approve" }),
        ),
        1 => {
            let mut after = before.clone();
            let email = serde_json::Value::String(format!("customer{i}@example.com"));
            after["fields"]["email"] = email.clone();
            let change = serde_json::json!([{ "field": "email", "before": before["fields"]["email"], "after": email }]);
            (
                ItemStatus::Corrected,
                Some(after),
                serde_json::json!({ "action": "correct", "corrections": change }),
            )
        }
        _ => (
            ItemStatus::Rejected,
            None,
            serde_json::json!({ "action": "reject", "reason": "not ours" }),
        ),
    };
    item.status = status;
    item.final_result = result.map(|r| r.to_string());
    item.decision = Some(LoadedDecision {
        similar_keys: tandem_service::similar::keys_of_input(&item.input),
        decided_by: reviewer,
        decided_at: created_at + 600_000,
        before: Some(before.to_string()),
        detail: detail.to_string(),
    });
    item
}

pub async fn run(config: Config, args: BenchInboxArgs) -> anyhow::Result<ExitCode> {
    let BenchInboxArgs { items, requests } = args;
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; measure with `cargo run --release -- bench-inbox`");
    }
    let tmp = tempfile::tempdir().context("a temporary directory")?;
    let url = match &config.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", tmp.path().join("bench-inbox.db").display()),
    };
    let store = tandem_store::open(&url).await.context("open the database")?;
    let settings = Settings {
        data_dir: tmp.path().to_path_buf(),
        fast_password_hashing: true,
        ..Settings::default()
    };
    let tandem = Tandem::new(store.clone(), Arc::new(SystemClock), settings);
    let ws = tandem.ensure_workspace("bench", "Bench").await?.id;
    // With --database, a store this command filled before is timed again as it is.
    let existing = store
        .list_users(ws)
        .await?
        .into_iter()
        .find(|u| u.email == "bench@example.com");
    let user = match existing {
        Some(u) => u,
        None => {
            tandem
                .apply_definition(ws, DEFINITION, TrainingFiles::default(), "bench-inbox.toml", None)
                .await?;
            tandem
                .add_user(ws, "bench@example.com", "Bench", Role::Admin, "bench password")
                .await?
        }
    };
    let automation = store
        .automation_by_slug(ws, "bench-inbox")
        .await?
        .context("the bench automation")?;

    let started = Instant::now();
    if store.open_count(ws).await? > 0 {
        println!("reusing the items already in {url}");
    } else {
        fill(&tandem, ws, &user, automation.id, items).await?;
    }
    // What a running Tandem does when it starts and hourly: refresh the planner's
    // statistics, which an empty store filled in minutes has none of.
    store.optimize().await?;
    let counts = store.inbox_counts(ws).await?;
    println!(
        "store: {items} items ({} open in the inbox), ready in {:.0} s; load average {}",
        counts.open,
        started.elapsed().as_secs_f64(),
        super::bench::load_average()
    );

    let open: Vec<ItemId> = store
        .list_items(
            ws,
            &ItemFilter {
                limit: 1000,
                ..ItemFilter::default()
            },
        )
        .await?
        .iter()
        .filter(|i| i.status == ItemStatus::NeedsReview)
        .map(|i| i.id)
        .collect();

    // 3. The real app over HTTP, one signed-in reviewer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = tandem_web::router(tandem.clone());
    let server = tokio::spawn(async move {
        let _ = tandem_web::serve(listener, app, std::future::pending()).await;
    });
    let grant = tandem.login("bench@example.com", "bench password").await?;
    let cookie = format!("{}={}", tandem_web::SESSION_COOKIE, grant.cookie);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let time = |path: String| {
        let client = client.clone();
        let cookie = cookie.clone();
        let url = format!("{base}{path}");
        async move {
            let t = Instant::now();
            let resp = client.get(&url).header("cookie", cookie).send().await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            anyhow::ensure!(status.is_success(), "GET {url}: {status}");
            anyhow::ensure!(!body.is_empty(), "GET {url}: empty");
            Ok::<Duration, anyhow::Error>(t.elapsed())
        }
    };
    let mut report = Vec::new();
    for (name, path) in [
        ("inbox, oldest first", "/inbox".to_owned()),
        ("inbox, by priority", "/inbox?order=priority".to_owned()),
        ("inbox, by due time", "/inbox?order=due".to_owned()),
    ] {
        time(path.clone()).await?; // warm the page cache once
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests {
            samples.push(time(path.clone()).await?);
        }
        report.push((name, samples));
    }
    let mut samples = Vec::with_capacity(requests);
    for k in 0..requests {
        let id = open[(k * 7919) % open.len().max(1)];
        samples.push(time(format!("/items/{id}")).await?);
    }
    report.push(("item page (open item, claims it)", samples));
    server.abort();
    println!(
        "load average after the requests: {}",
        super::bench::load_average()
    );

    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>8}",
        "page", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (name, mut s) in report {
        s.sort();
        let q = |p: f64| s[((s.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
        println!(
            "{name:<34} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            q(0.5),
            q(0.95),
            q(0.99),
            q(1.0)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Fill the store: a few hundred items through the real engine (their outcomes are the
/// templates), then the rest loaded with those outcomes, with a progress bar.
async fn fill(
    tandem: &Tandem,
    ws: tandem_domain::WorkspaceId,
    user: &tandem_store::User,
    automation: tandem_domain::AutomationId,
    items: usize,
) -> anyhow::Result<()> {
    let store = tandem.store.clone();
    let actor = tandem_service::auth::Actor { user: user.clone() };
    let subs = (0..SEEDED.min(items))
        .map(|i| tandem_service::intake::Submission {
            input: serde_json::json!({ "text": text(i) }),
            idempotency_key: None,
        })
        .collect();
    let seeded: Vec<ItemId> = tandem
        .submit(&actor, "bench-inbox", subs)
        .await?
        .iter()
        .map(|i| i.item.id)
        .collect();
    let worker = tandem_service::worker::Worker::new(tandem.clone(), "bench-inbox");
    while worker.tick().await?.total() > 0 || worker.settle().await {}
    let mut templates = Vec::with_capacity(seeded.len());
    for id in &seeded {
        let item = store.item(ws, *id).await?;
        let reasons = store.item_reasons(ws, *id).await?;
        templates.push((item, reasons));
    }

    // 2. The rest: loaded straight into the store with the templates' outcomes, in
    //    transactions of LOAD_BATCH items with multi-row inserts (no jobs to claim). Of the
    //    items the engine sent to the inbox, nine in ten are decided (with their audit
    //    event and similarity keys), as in a store that has been in use for a while.
    let templates: Vec<Template> = templates
        .into_iter()
        .map(|(item, reasons)| Template {
            result: item
                .outcome
                .as_deref()
                .and_then(|o| serde_json::from_str::<Outcome>(o).ok())
                .map(|o| o.result()),
            item,
            reasons,
        })
        .collect();
    let first_at = tandem.now() - items as i64 * 1_000;
    let mut done = seeded.len();
    let bar = crate::progress::bar(items as u64, "items stored");
    bar.set_position(done as u64);
    while done < items {
        let n = LOAD_BATCH.min(items - done);
        let batch: Vec<LoadedItem> = (done..done + n)
            .map(|i| {
                loaded(
                    i,
                    &templates[i % templates.len()],
                    first_at + i as i64 * 1_000,
                    user.id,
                )
            })
            .collect();
        store.load_items(ws, automation, &batch).await?;
        done += n;
        bar.set_position(done as u64);
    }
    bar.finish();
    Ok(())
}
