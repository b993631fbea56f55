//! How long a year of weekly figures takes to read: 52 closed weeks kept as rollups plus
//! the live week, on SQLite in a temporary directory.
//!
//! `cargo run --release -p tandem-service --example checkin_year`

use std::sync::Arc;
use std::time::Instant;

use tandem_domain::Role;
use tandem_service::auth::Actor;
use tandem_service::automations::TrainingFiles;
use tandem_service::measure::{WEEK_MS, WeekActivity, week_start};
use tandem_service::{Clock, ManualClock, Settings, Tandem};
use tandem_store::NewItem;

const DEFINITION: &str = "name = \"Support\"\nslug = \"support\"\n\n[[fields]]\nname = \"email\"\ntype = \"email\"\nrequired = true\n\n[baseline]\nminutes_per_item = 6\nweekly_volume = 500\ntarget_hours_per_week = 20\n";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = tandem_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await?;
    let start = 1_767_571_200_000; // Monday 2026-01-05
    let clock = Arc::new(ManualClock::new(start));
    let tandem = Tandem::new(store.clone(), clock.clone(), Settings::default());
    let ws = tandem.ensure_workspace("acme", "Acme").await?.id;
    tandem
        .apply_definition(ws, DEFINITION, TrainingFiles::default(), "bench.toml", None)
        .await?;
    let a = store
        .automation_by_slug(ws, "support")
        .await?
        .expect("automation");
    // One item a week for 53 weeks, and every closed week kept as a rollup of 500 items.
    for w in 0..53 {
        let at = start + w * WEEK_MS;
        let item = NewItem {
            input: "{\"text\":\"a@b.io\"}".into(),
            preview: "a@b.io".into(),
            idempotency_key: None,
        };
        store.insert_items(ws, a.id, &[item], at).await?;
        let act = WeekActivity {
            items_in: 500,
            processed: 500,
            auto_accepted: 400,
            approved: 80,
            corrected: 20,
            review_seconds: 100.0 * 45.0,
            timed_decisions: 100,
            median_review_seconds: Some(40.0),
            ..Default::default()
        };
        if w < 52 {
            let json = serde_json::to_string(&act)?;
            store.save_rollup(ws, Some(a.id), at, &json, at).await?;
        }
    }
    clock.set(start + 52 * WEEK_MS + WEEK_MS / 2);
    assert_eq!(week_start(clock.now()), start + 52 * WEEK_MS);
    let user = tandem
        .add_user(ws, "ada@acme.io", "Ada", Role::Viewer, "a long enough password")
        .await?;
    let actor = Actor { user };
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let weekly = tandem.weekly(&actor, Some("support"), 53).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(weekly.weeks.len(), 53);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "53 weeks (52 kept + the live one): median {:.2} ms, slowest {:.2} ms over 20 reads",
        times[10], times[19]
    );
    Ok(())
}
