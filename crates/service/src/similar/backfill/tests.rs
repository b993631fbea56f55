//! Items decided without band keys (as before migration 0900) show as similar once the
//! backfill has run through the real scheduler, one bounded stretch per period, and only
//! in their own workspace.

use std::sync::Arc;

use tandem_domain::{AutomationId, ItemId, ItemStatus, Millis, Role, UserId, VersionId, WorkspaceId};
use tandem_store::{
    DecisionRecord, LoadedDecision, LoadedItem, NewArtifact, NewItem, NewUser, NewVersion, Processed,
};
use tandem_test_support::{TestDb, backends};

use super::{SPAN, SimilarBackfill};
use crate::auth::Actor;
use crate::schedule::Scheduler;
use crate::{ManualClock, Settings, Tandem};

const START: Millis = 1_795_787_889_000;
const MINUTE: Millis = 60_000;

fn invoice(n: usize) -> String {
    format!(
        "Invoice INV-20{n:02} from Northwind Traders: 12 boxes of printer paper, \
         delivered to the Leeds office, total 240.00 EUR, payable within 30 days."
    )
}

struct Workspace {
    ws: WorkspaceId,
    automation: AutomationId,
    version: VersionId,
    reviewer: UserId,
    actor: Actor,
}

async fn workspace(t: &Tandem, slug: &str) -> Workspace {
    let ws = t.store.create_workspace(slug, slug, START).await.unwrap().id;
    let user = t
        .store
        .create_user(
            ws,
            &NewUser {
                email: format!("rita@{slug}.example"),
                name: "Rita".into(),
                role: Role::Reviewer,
                password_hash: "h".into(),
            },
            START,
        )
        .await
        .unwrap();
    let saved = t
        .store
        .save_version(
            ws,
            &NewVersion {
                slug: "invoices".into(),
                name: "Invoices".into(),
                definition: "slug = \"invoices\"".into(),
                content_hash: "h".into(),
                artifacts: vec![NewArtifact {
                    kind: "router".into(),
                    bytes: vec![1],
                    summary: "{}".into(),
                }],
                created_by: None,
            },
            START,
        )
        .await
        .unwrap();
    Workspace {
        ws,
        automation: saved.automation.id,
        version: saved.version.id,
        reviewer: user.id,
        actor: Actor { user },
    }
}

/// Items taken in and processed into the inbox.
async fn open_items(t: &Tandem, w: &Workspace, texts: &[String]) -> Vec<ItemId> {
    let new: Vec<NewItem> = texts
        .iter()
        .map(|text| NewItem {
            input: serde_json::json!({ "text": text }).to_string(),
            preview: text.clone(),
            idempotency_key: None,
        })
        .collect();
    let now = t.now();
    let ids: Vec<ItemId> = t
        .store
        .insert_items(w.ws, w.automation, &new, now)
        .await
        .unwrap()
        .iter()
        .map(|i| i.item.id)
        .collect();
    let jobs = t.store.claim_jobs("w", 100, now + MINUTE, now).await.unwrap();
    let done: Vec<Processed> = jobs
        .iter()
        .map(|j| Processed {
            job_id: j.id,
            workspace_id: j.workspace_id,
            item_id: j.item_id.unwrap(),
            version_id: w.version,
            status: ItemStatus::NeedsReview,
            outcome: "{}".into(),
            confidence: Some(0.3),
            reason_codes: vec!["low_confidence".into()],
            final_result: None,
            deliveries: Vec::new(),
        })
        .collect();
    t.store.complete_processing("w", &done, now).await.unwrap();
    ids
}

/// Decide an item as a build before migration 0900 did: without band keys.
async fn decide_unindexed(t: &Tandem, w: &Workspace, id: ItemId, status: ItemStatus) {
    let final_result = (status != ItemStatus::Rejected).then(|| "{}".to_owned());
    let record = DecisionRecord {
        item_id: id,
        actor: w.reviewer,
        status,
        final_result: final_result.clone(),
        before: None,
        after: final_result,
        detail: serde_json::json!({ "reason": "checked" }).to_string(),
        seconds: Some(4.0),
        deliveries: Vec::new(),
        similar_keys: Vec::new(),
    };
    t.store.record_decision(w.ws, &record, t.now()).await.unwrap();
}

/// `n` decided items unlike the invoices, without keys, loaded in one go: enough ids that
/// the walk needs more than one run.
async fn filler(t: &Tandem, w: &Workspace, n: usize) {
    let items: Vec<LoadedItem> = (0..n)
        .map(|i| {
            let text = format!("Parcel {i} is waiting at depot {} for collection", i % 7);
            LoadedItem {
                input: serde_json::json!({ "text": text }).to_string(),
                preview: text,
                status: ItemStatus::Approved,
                version_id: Some(w.version),
                outcome: Some("{}".into()),
                final_result: Some("{}".into()),
                confidence: Some(0.3),
                reason_codes: Vec::new(),
                created_at: START,
                processed_at: Some(START),
                decision: Some(LoadedDecision {
                    decided_by: w.reviewer,
                    decided_at: START,
                    before: None,
                    detail: "{}".into(),
                    similar_keys: Vec::new(),
                }),
            }
        })
        .collect();
    t.store.load_items(w.ws, w.automation, &items).await.unwrap();
}

async fn similar(t: &Tandem, w: &Workspace, id: ItemId) -> Vec<ItemId> {
    let mut ids: Vec<ItemId> = t
        .similar_decided(&w.actor, id)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn items_decided_without_keys_show_as_similar_after_the_backfill_runs() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let clock = Arc::new(ManualClock::new(START));
        let t = Tandem::new(
            tandem_store::open(&db.url).await.unwrap(),
            clock.clone(),
            Settings::default(),
        );
        // A second instance on the same database, with its own scheduler.
        let t2 = Tandem::new(
            tandem_store::open(&db.url).await.unwrap(),
            clock.clone(),
            Settings::default(),
        );
        let acme = workspace(&t, "acme").await;
        let other = workspace(&t, "other").await;

        // The oldest decision, then a run's worth of other ids, then the newer ones; the
        // other workspace's look-alikes in between.
        let oldest = open_items(&t, &acme, &[invoice(1)]).await[0];
        decide_unindexed(&t, &acme, oldest, ItemStatus::Corrected).await;
        let theirs = open_items(&t, &other, &[invoice(2), invoice(3)]).await;
        decide_unindexed(&t, &other, theirs[0], ItemStatus::Approved).await;
        filler(&t, &acme, SPAN as usize).await;
        let newer = open_items(&t, &acme, &[invoice(4), invoice(5), invoice(6)]).await;
        decide_unindexed(&t, &acme, newer[0], ItemStatus::Approved).await;
        decide_unindexed(&t, &acme, newer[1], ItemStatus::Rejected).await;
        let viewed = newer[2];

        // Unindexed, they are not found: this is what an upgraded deployment looks like.
        assert!(similar(&t, &acme, viewed).await.is_empty(), "{backend:?}");
        assert!(similar(&t, &other, theirs[1]).await.is_empty());
        // What migration 1300 set up for each workspace that had items then.
        t.store.restart_similar_backfill(acme.ws).await.unwrap();

        let (sa, sb) = (
            Scheduler::new(vec![Arc::new(SimilarBackfill)]),
            Scheduler::new(vec![Arc::new(SimilarBackfill)]),
        );
        let (ra, rb) = tokio::join!(sa.tick(&t, "a"), sb.tick(&t2, "b"));
        assert_eq!(
            ra.unwrap() + rb.unwrap(),
            2,
            "one run per workspace across the instances"
        );
        // The first run took the newest thousand ids: the newer decisions, not the oldest.
        assert_eq!(similar(&t, &acme, viewed).await, vec![newer[0], newer[1]]);
        assert!(
            similar(&t, &other, theirs[1]).await.is_empty(),
            "the other workspace's decided look-alike is left alone"
        );

        clock.advance(MINUTE);
        let (ra, rb) = tokio::join!(sa.tick(&t, "a"), sb.tick(&t2, "b"));
        assert_eq!(ra.unwrap() + rb.unwrap(), 2);
        assert_eq!(similar(&t, &acme, viewed).await, vec![oldest, newer[0], newer[1]]);
        let found = t.similar_decided(&acme.actor, viewed).await.unwrap();
        let o = found.iter().find(|s| s.id == oldest).unwrap();
        assert_eq!(
            (o.status, o.reason.as_deref()),
            (ItemStatus::Corrected, Some("checked"))
        );
        assert!(similar(&t, &other, theirs[1]).await.is_empty());

        let runs = t.store.scheduled_runs(acme.ws, "similar_backfill").await.unwrap();
        let outcomes: Vec<&str> = runs.iter().filter_map(|r| r.outcome.as_deref()).collect();
        // Ids are handed out in order on a fresh database: the filler lies between the
        // other workspace's items and the newer ones.
        let bottom = viewed.0 - i64::from(SPAN) + 1;
        let filler_in_first = newer[0].0 - bottom.max(theirs[1].0 + 1);
        let filler_in_second = bottom - (theirs[1].0 + 1);
        assert_eq!(
            outcomes,
            vec![
                format!(
                    "{} decided items of ids {bottom}..={} indexed; {} ids left",
                    filler_in_first + 2,
                    viewed.0,
                    bottom - oldest.0
                ),
                format!(
                    "{} decided items of ids {}..={} indexed; 0 ids left",
                    filler_in_second + 1,
                    oldest.0,
                    bottom - 1
                ),
            ]
        );

        // Done: later runs find nothing and change nothing.
        clock.advance(MINUTE);
        sa.tick(&t, "a").await.unwrap();
        let runs = t.store.scheduled_runs(acme.ws, "similar_backfill").await.unwrap();
        assert_eq!(runs.last().unwrap().outcome.as_deref(), Some("nothing to index"));

        // The other workspace's own walk indexes its items for it, and acme's page is unchanged.
        t.store.restart_similar_backfill(other.ws).await.unwrap();
        clock.advance(MINUTE);
        sa.tick(&t, "a").await.unwrap();
        assert_eq!(similar(&t, &other, theirs[1]).await, vec![theirs[0]]);
        assert_eq!(similar(&t, &acme, viewed).await, vec![oldest, newer[0], newer[1]]);
    }
}
