//! Contract for `Store::load_items`, the bulk loader behind `tandem bench-inbox`: items
//! decided elsewhere come back exactly as loaded, with their reasons, decision events and
//! similarity keys, and only in the workspace they were loaded into.

use std::sync::Arc;

use tandem_domain::{AutomationId, ItemId, ItemStatus, UserId, VersionId, WorkspaceId};
use tandem_store::*;

use super::{each_backend, new_version, reviewer, workspace};

/// Item `n` of a load: created at `1_000 * n`, processed 50 ms later.
fn open(n: i64, status: ItemStatus, confidence: Option<f64>, reasons: &[&str]) -> LoadedItem {
    LoadedItem {
        input: format!("{{\"text\":\"item {n}\"}}"),
        preview: format!("item {n}"),
        status,
        version_id: None,
        outcome: Some(format!("{{\"n\":{n}}}")),
        final_result: None,
        confidence,
        reason_codes: reasons.iter().map(|r| r.to_string()).collect(),
        created_at: 1_000 * n,
        processed_at: Some(1_000 * n + 50),
        decision: None,
    }
}

/// Item `n`, decided by `by` a minute after it arrived, indexed under `keys`.
fn decided(
    n: i64,
    status: ItemStatus,
    confidence: Option<f64>,
    reasons: &[&str],
    by: UserId,
    keys: &[i64],
) -> LoadedItem {
    let mut item = open(n, status, confidence, reasons);
    item.final_result = (status != ItemStatus::Rejected).then(|| format!("{{\"accepted\":{n}}}"));
    item.decision = Some(LoadedDecision {
        decided_by: by,
        decided_at: 1_000 * n + 60_000,
        before: Some(format!("{{\"proposed\":{n}}}")),
        detail: format!("{{\"action\":\"{}\",\"n\":{n}}}", status.as_str()),
        similar_keys: keys.to_vec(),
    });
    item
}

/// Open items of each open status, decided ones of each status, one with no reasons, and
/// a NULL confidence right before a real one (the PostgreSQL statement-cache quirk).
fn batch(version: VersionId, by: UserId) -> Vec<LoadedItem> {
    let mut items = vec![
        open(
            1,
            ItemStatus::NeedsReview,
            Some(0.4),
            &["low_confidence", "missing_field", "low_confidence"],
        ),
        open(2, ItemStatus::Failed, None, &[]),
        decided(
            3,
            ItemStatus::Approved,
            Some(0.55),
            &["low_confidence"],
            by,
            &[11, 12, 13],
        ),
        decided(
            4,
            ItemStatus::Corrected,
            Some(0.6),
            &["missing_field"],
            by,
            &[13, 14],
        ),
        decided(5, ItemStatus::Rejected, None, &["out_of_scope"], by, &[15]),
        decided(6, ItemStatus::Approved, Some(0.91), &[], by, &[11, 15, 15]),
        open(7, ItemStatus::AutoAccepted, Some(0.97), &[]),
    ];
    for it in &mut items {
        it.version_id = Some(version);
    }
    items[6].final_result = Some("{\"accepted\":7}".into());
    items
}

async fn automation(store: &Arc<dyn Store>, ws: WorkspaceId, slug: &str) -> (AutomationId, VersionId) {
    let saved = store.save_version(ws, &new_version(slug, slug), 1).await.unwrap();
    (saved.automation.id, saved.version.id)
}

#[tokio::test]
async fn loaded_items_come_back_as_loaded_in_input_order() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let by = reviewer(&store, ws).await;
        let (a, version) = automation(&store, ws, "receipts").await;
        let items = batch(version, by);
        let ids = store.load_items(ws, a, &items).await.unwrap();
        assert_eq!(ids.len(), items.len());
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

        for (id, want) in ids.iter().zip(&items) {
            let got = store.item(ws, *id).await.unwrap();
            let label = &want.preview;
            assert_eq!(
                (got.id, got.workspace_id, got.automation_id),
                (*id, ws, a),
                "{label}"
            );
            assert_eq!(got.input, want.input, "{label}: input order");
            assert_eq!(got.status, want.status, "{label}");
            assert_eq!(got.version_id, Some(version), "{label}");
            assert_eq!(got.outcome, want.outcome, "{label}");
            assert_eq!(got.final_result, want.final_result, "{label}");
            assert_eq!(got.confidence, want.confidence, "{label}");
            assert_eq!(got.idempotency_key, None, "{label}");
            assert_eq!(
                (got.created_at, got.processed_at),
                (want.created_at, want.processed_at),
                "{label}"
            );
            let d = want.decision.as_ref();
            assert_eq!(got.decided_at, d.map(|d| d.decided_at), "{label}");
            assert_eq!(got.decided_by, d.map(|d| d.decided_by), "{label}");

            let mut reasons: Vec<String> = want.reason_codes.clone();
            reasons.sort_unstable();
            reasons.dedup();
            assert_eq!(store.item_reasons(ws, *id).await.unwrap(), reasons, "{label}");

            let events = store.audit_events(ws, *id).await.unwrap();
            match d {
                None => assert!(events.is_empty(), "{label}: {events:?}"),
                Some(d) => {
                    assert_eq!(events.len(), 1, "{label}: one decision event");
                    let e = &events[0];
                    assert_eq!(e.item_id, Some(*id));
                    assert_eq!((e.actor_id, e.actor_name.as_deref()), (Some(by), Some("Rita")));
                    assert_eq!(e.kind, want.status.as_str(), "{label}");
                    assert_eq!(e.before, d.before, "{label}");
                    assert_eq!(e.after, want.final_result, "{label}");
                    assert_eq!(e.detail, d.detail, "{label}");
                    assert_eq!((e.seconds, e.created_at), (None, d.decided_at), "{label}");
                }
            }
        }

        // Found by their keys, with how many they share; never the open ones, whatever
        // keys are asked for, and never the excluded item.
        let keys = [11, 12, 13, 14, 15, 99];
        let found = store
            .similar_candidates(ws, a, &keys, ItemId(0), 40)
            .await
            .unwrap();
        assert_eq!(
            found,
            vec![(ids[2], 3), (ids[5], 2), (ids[3], 2), (ids[4], 1)],
            "most shared first, then newest"
        );
        let found = store.similar_candidates(ws, a, &[15], ids[5], 40).await.unwrap();
        assert_eq!(found, vec![(ids[4], 1)], "the excluded item is left out");
        let neighbours = store.decided_neighbours(ws, &ids).await.unwrap();
        let mut decided: Vec<ItemId> = neighbours.iter().map(|n| n.id).collect();
        decided.sort_unstable();
        assert_eq!(decided, vec![ids[2], ids[3], ids[4], ids[5]]);
        let rejected = neighbours.iter().find(|n| n.id == ids[4]).unwrap();
        assert_eq!(rejected.decided_by.as_deref(), Some("Rita"));
        assert_eq!(
            rejected.detail,
            items[4].decision.as_ref().map(|d| d.detail.clone())
        );

        // The inbox sees the open ones.
        let counts = store.inbox_counts(ws).await.unwrap();
        assert_eq!(counts.open, 2);
        assert_eq!(
            counts.by_automation,
            vec![("receipts".into(), "receipts automation".into(), 2)]
        );
        assert_eq!(
            counts.by_reason,
            vec![("low_confidence".into(), 1), ("missing_field".into(), 1)]
        );
        assert_eq!(counts.oldest_open_at, Some(1_000));
        let inbox = store.list_items(ws, &ItemFilter::default()).await.unwrap();
        let listed: Vec<(ItemId, ItemStatus, Option<f64>)> =
            inbox.iter().map(|i| (i.id, i.status, i.confidence)).collect();
        assert_eq!(
            listed,
            vec![
                (ids[0], ItemStatus::NeedsReview, Some(0.4)),
                (ids[1], ItemStatus::Failed, None)
            ]
        );
        assert_eq!(inbox[0].reasons, vec!["low_confidence", "missing_field"]);
        assert!(inbox[1].reasons.is_empty());
    })
    .await;
}

#[tokio::test]
async fn loads_of_the_same_shape_keep_real_confidences_after_nulls() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let by = reviewer(&store, ws).await;
        let (a, version) = automation(&store, ws, "receipts").await;
        let (b, version_b) = automation(&store, ws, "orders").await;
        // The same statement (seven rows) sixteen times with NULL confidences at some
        // rows, then sixteen times with real ones there. On PostgreSQL a NULL bound as the
        // wrong type poisons the statement cached on its connection, and a later real
        // number on that connection is refused. The pool has up to sixteen connections and
        // hands them out in turn, so every one of them sees a NULL first.
        let forward = batch(version, by);
        let reversed: Vec<LoadedItem> = batch(version_b, by).into_iter().rev().collect();
        let mut loaded = Vec::new();
        for (automation, items) in [(a, &forward), (b, &reversed)] {
            for round in 0..16 {
                let ids = store
                    .load_items(ws, automation, items)
                    .await
                    .unwrap_or_else(|e| panic!("{automation:?}, round {round}: {e}"));
                loaded.push((automation, ids, items));
            }
        }
        for (automation, ids, items) in [&loaded[0], &loaded[31]] {
            for (id, want) in ids.iter().zip(items.iter()) {
                let got = store.item(ws, *id).await.unwrap();
                assert_eq!(
                    (got.input.as_str(), got.confidence),
                    (want.input.as_str(), want.confidence)
                );
                assert_eq!(got.automation_id, *automation);
            }
        }
        // The keys are each automation's own: the same keys find b's items in b only.
        let mut in_b: Vec<ItemId> = store
            .similar_candidates(ws, b, &[12, 14], ItemId(0), 40)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        in_b.sort_unstable();
        let mut want: Vec<ItemId> = loaded
            .iter()
            .filter(|(automation, _, _)| *automation == b)
            .flat_map(|(_, ids, _)| [ids[3], ids[4]])
            .collect();
        want.sort_unstable();
        assert_eq!(in_b, want);
        assert_eq!(store.inbox_counts(ws).await.unwrap().open, 64);
    })
    .await;
}

#[tokio::test]
async fn loading_is_confined_to_the_automations_workspace() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let by = reviewer(&store, ws).await;
        let (a, version) = automation(&store, ws, "receipts").await;
        let (theirs, _) = automation(&store, other, "receipts").await;
        let items = batch(version, by);

        // Into another workspace's automation: refused, and nothing is written anywhere.
        assert!(matches!(
            store.load_items(other, a, &items).await,
            Err(StoreError::NotFound("automation"))
        ));
        assert!(matches!(
            store.load_items(ws, theirs, &items).await,
            Err(StoreError::NotFound("automation"))
        ));
        for w in [ws, other] {
            assert_eq!(store.inbox_counts(w).await.unwrap().open, 0);
            let all = ItemFilter {
                statuses: ItemStatus::ALL.to_vec(),
                ..Default::default()
            };
            assert!(store.list_items(w, &all).await.unwrap().is_empty());
        }

        // Loaded into its own workspace, the other sees none of it.
        let ids = store.load_items(ws, a, &items).await.unwrap();
        for id in &ids {
            assert!(matches!(
                store.item(other, *id).await,
                Err(StoreError::NotFound(_))
            ));
            assert!(store.item_reasons(other, *id).await.unwrap().is_empty());
            assert!(store.audit_events(other, *id).await.unwrap().is_empty());
        }
        assert_eq!(store.inbox_counts(other).await.unwrap(), InboxCounts::default());
        let all = ItemFilter {
            statuses: ItemStatus::ALL.to_vec(),
            ..Default::default()
        };
        assert!(store.list_items(other, &all).await.unwrap().is_empty());
        for automation in [a, theirs] {
            assert!(
                store
                    .similar_candidates(other, automation, &[11, 12, 13, 14, 15], ItemId(0), 40)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        assert!(store.decided_neighbours(other, &ids).await.unwrap().is_empty());
    })
    .await;
}
