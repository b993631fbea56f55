//! Contract for the similarity backfill's store methods: a per-workspace walk down the item
//! ids in bounded stretches, keys stored for decided items only, the walk moved once.

use std::sync::Arc;

use tandem_domain::{AutomationId, ItemId, ItemStatus, UserId, WorkspaceId};
use tandem_store::*;
use tandem_test_support::{TestDb, backends};

use super::{each_backend, new_version, reviewer, workspace};

/// An item with `status`; a decided one has a decision with `keys` (none: unindexed, as
/// before migration 0900).
fn item(n: i64, status: ItemStatus, by: UserId, keys: &[i64]) -> LoadedItem {
    let decided = matches!(
        status,
        ItemStatus::Approved | ItemStatus::Corrected | ItemStatus::Rejected
    );
    LoadedItem {
        input: format!("{{\"text\":\"item {n}\"}}"),
        preview: format!("item {n}"),
        status,
        version_id: None,
        outcome: None,
        final_result: None,
        confidence: Some(0.5),
        reason_codes: Vec::new(),
        created_at: n,
        processed_at: Some(n),
        decision: decided.then(|| LoadedDecision {
            decided_by: by,
            decided_at: n + 10,
            before: None,
            detail: "{}".into(),
            similar_keys: keys.to_vec(),
        }),
    }
}

async fn load(store: &Arc<dyn Store>, ws: WorkspaceId, a: AutomationId, items: &[LoadedItem]) -> Vec<ItemId> {
    store.load_items(ws, a, items).await.unwrap()
}

/// The key each test item is indexed under by the backfill: 1000 + its id.
fn key_of(id: ItemId) -> i64 {
    1_000 + id.0
}

async fn candidates(store: &Arc<dyn Store>, ws: WorkspaceId, a: AutomationId, id: ItemId) -> Vec<ItemId> {
    store
        .similar_candidates(ws, a, &[key_of(id)], ItemId(0), 40)
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

#[tokio::test]
async fn the_walk_goes_down_the_workspaces_ids_in_stretches_and_keys_decided_items() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let by = reviewer(&store, ws).await;
        let theirs_by = reviewer(&store, other).await;
        let a = store
            .save_version(ws, &new_version("receipts", "h"), 1)
            .await
            .unwrap()
            .automation
            .id;
        let b = store
            .save_version(ws, &new_version("orders", "h"), 1)
            .await
            .unwrap()
            .automation
            .id;
        let t = store
            .save_version(other, &new_version("receipts", "h"), 1)
            .await
            .unwrap()
            .automation
            .id;

        // Ids interleave across workspaces and automations, as they do in a real database.
        let first = load(
            &store,
            ws,
            a,
            &[
                item(1, ItemStatus::Approved, by, &[]),
                item(2, ItemStatus::NeedsReview, by, &[]),
            ],
        )
        .await;
        let second = load(
            &store,
            ws,
            b,
            &[
                item(4, ItemStatus::Rejected, by, &[]),
                item(5, ItemStatus::AutoAccepted, by, &[]),
            ],
        )
        .await;
        // The other workspace's decided item comes in the middle of this one's ids.
        let theirs = load(&store, other, t, &[item(3, ItemStatus::Approved, theirs_by, &[])]).await;
        // Decided after migration 0900: it has its keys already.
        let last = load(&store, ws, a, &[item(6, ItemStatus::Corrected, by, &[7])]).await;
        let (approved, open, rejected, auto, corrected) = (first[0], first[1], second[0], second[1], last[0]);
        let ids_in_ws = [approved, open, rejected, auto, corrected];

        // A fresh database has nothing to walk: every decision in it wrote its keys.
        assert_eq!(store.similar_backfill_batch(ws, 1000).await.unwrap(), None);
        store.restart_similar_backfill(ws).await.unwrap();
        assert_eq!(
            store.similar_backfill_batch(other, 1000).await.unwrap(),
            None,
            "the other workspace's walk is its own"
        );

        // Stretches of three ids, newest first; their decided items only.
        let one = store.similar_backfill_batch(ws, 3).await.unwrap().unwrap();
        assert_eq!(
            one.stretch,
            BackfillStretch {
                top: corrected.0,
                bottom: corrected.0 - 2
            }
        );
        assert_eq!(one.ids_left, corrected.0 - 2 - approved.0);
        let got: Vec<ItemId> = one.items.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            got,
            vec![corrected],
            "not the auto-accepted one, nor the other workspace's"
        );
        assert_eq!(one.items[0].1, "{\"text\":\"item 6\"}");
        assert_eq!(
            store.similar_backfill_batch(ws, 3).await.unwrap().as_ref(),
            Some(&one),
            "reading does not move the walk"
        );

        // The keys stored are for the stretch's decided items of this workspace only, and
        // under each item's own automation; a key already there is kept.
        let keys = vec![
            (corrected, vec![key_of(corrected), 7]),
            (rejected, vec![key_of(rejected), key_of(rejected)]),
            (auto, vec![key_of(auto)]),
            (approved, vec![key_of(approved)]),
            (theirs[0], vec![key_of(theirs[0])]),
        ];
        assert!(store.save_similar_backfill(ws, one.stretch, &keys).await.unwrap());
        assert_eq!(candidates(&store, ws, a, corrected).await, vec![corrected]);
        assert_eq!(
            store
                .similar_candidates(ws, a, &[7], ItemId(0), 40)
                .await
                .unwrap(),
            vec![(corrected, 1)]
        );
        assert!(candidates(&store, ws, b, auto).await.is_empty(), "not decided");
        assert!(
            candidates(&store, other, t, theirs[0]).await.is_empty(),
            "another workspace's item, though in the stretch"
        );
        assert!(
            candidates(&store, ws, b, rejected).await.is_empty(),
            "outside the stretch"
        );

        // Saving the same stretch again (another instance) changes nothing.
        assert!(
            !store
                .save_similar_backfill(ws, one.stretch, &[(approved, vec![key_of(approved)])])
                .await
                .unwrap()
        );
        assert!(candidates(&store, ws, a, approved).await.is_empty());

        // The rest of the walk, to its end at the workspace's first item.
        let mut stretches = vec![one.stretch];
        while let Some(next) = store.similar_backfill_batch(ws, 3).await.unwrap() {
            assert!(
                next.stretch.top < stretches.last().unwrap().bottom,
                "always further down"
            );
            let keys: Vec<(ItemId, Vec<i64>)> = next
                .items
                .iter()
                .map(|(id, _)| (*id, vec![key_of(*id)]))
                .collect();
            for (id, _) in &next.items {
                assert!(ids_in_ws.contains(id), "{id:?} is not acme's");
                assert!(![open, auto].contains(id), "{id:?} is not decided");
            }
            assert!(
                store
                    .save_similar_backfill(ws, next.stretch, &keys)
                    .await
                    .unwrap()
            );
            stretches.push(next.stretch);
        }
        assert_eq!(stretches.last().unwrap().bottom, approved.0);
        assert_eq!(candidates(&store, ws, a, approved).await, vec![approved]);
        assert_eq!(candidates(&store, ws, b, rejected).await, vec![rejected]);
        assert!(
            candidates(&store, ws, a, rejected).await.is_empty(),
            "under its own automation"
        );
        assert!(candidates(&store, ws, a, open).await.is_empty());
        assert_eq!(
            store.similar_backfill_batch(ws, 3).await.unwrap(),
            None,
            "done stays done"
        );

        // The other workspace's walk, when it has one, sees its own items only.
        store.restart_similar_backfill(other).await.unwrap();
        let mine = store.similar_backfill_batch(other, 1000).await.unwrap().unwrap();
        assert_eq!(
            mine.stretch,
            BackfillStretch {
                top: theirs[0].0,
                bottom: theirs[0].0
            }
        );
        assert_eq!(mine.items, vec![(theirs[0], "{\"text\":\"item 3\"}".to_owned())]);
        assert!(
            store
                .save_similar_backfill(
                    other,
                    mine.stretch,
                    &[(theirs[0], vec![key_of(theirs[0])]), (approved, vec![99])]
                )
                .await
                .unwrap()
        );
        assert_eq!(candidates(&store, other, t, theirs[0]).await, vec![theirs[0]]);
        assert!(
            store
                .similar_candidates(ws, a, &[99], ItemId(0), 40)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .similar_candidates(other, a, &[99], ItemId(0), 40)
                .await
                .unwrap()
                .is_empty()
        );

        // A workspace without items has nothing to walk.
        let empty = workspace(&store, "empty").await;
        store.restart_similar_backfill(empty).await.unwrap();
        assert_eq!(store.similar_backfill_batch(empty, 1000).await.unwrap(), None);
    })
    .await;
}

/// A database as an earlier build left it: every migration before 1300 applied, and items
/// written by hand in each workspace (ids interleaved). Returns (workspace, item ids).
async fn database_before_1300(db: &TestDb) -> Vec<(i64, Vec<i64>)> {
    use sqlx::Row;

    let pool = super::migrated_before(db, 1300).await;
    let mut out = Vec::new();
    for slug in ["acme", "other", "empty"] {
        let ws: i64 =
            sqlx::query("INSERT INTO workspaces (slug, name, created_at) VALUES ($1, $1, 1) RETURNING id")
                .bind(slug)
                .fetch_one(&pool)
                .await
                .unwrap()
                .try_get("id")
                .unwrap();
        out.push((ws, Vec::new()));
    }
    let mut automations = Vec::new();
    for (ws, _) in &out {
        let a: i64 = sqlx::query(
            "INSERT INTO automations (workspace_id, slug, name, created_at) VALUES ($1, 'r', 'r', 1) RETURNING id",
        )
        .bind(ws)
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
        automations.push(a);
    }
    // acme, other, acme, other, acme: the last workspace has none.
    for (n, status) in ["approved", "rejected", "needs_review", "corrected", "corrected"]
        .iter()
        .enumerate()
    {
        let w = n % 2;
        let id: i64 = sqlx::query(
            "INSERT INTO items (workspace_id, automation_id, input, preview, status, created_at)
             VALUES ($1, $2, $3, 'x', $4, 1) RETURNING id",
        )
        .bind(out[w].0)
        .bind(automations[w])
        .bind(format!("{{\"text\":\"item {n}\"}}"))
        .bind(*status)
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
        out[w].1.push(id);
    }
    pool.close().await;
    out
}

#[tokio::test]
async fn migration_1300_starts_a_walk_over_each_workspaces_items_as_they_were() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let before = database_before_1300(&db).await;
        let store = open(&db.url).await.unwrap();
        store.readiness().await.unwrap();
        let (acme, other, empty) = (&before[0], &before[1], &before[2]);
        let batch = |ws: i64| {
            let store = store.clone();
            async move { store.similar_backfill_batch(WorkspaceId(ws), 1000).await.unwrap() }
        };

        let a = batch(acme.0).await.unwrap();
        let (first, last) = (acme.1[0], acme.1[2]);
        assert_eq!(
            a.stretch,
            BackfillStretch {
                top: last,
                bottom: first
            },
            "{backend:?}"
        );
        assert_eq!(a.ids_left, 0);
        let decided: Vec<ItemId> = a.items.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            decided,
            vec![ItemId(acme.1[2]), ItemId(acme.1[0])],
            "not the open one"
        );

        let o = batch(other.0).await.unwrap();
        assert_eq!(
            o.stretch,
            BackfillStretch {
                top: other.1[1],
                bottom: other.1[0]
            }
        );
        let decided: Vec<ItemId> = o.items.iter().map(|(id, _)| *id).collect();
        assert_eq!(decided, vec![ItemId(other.1[1]), ItemId(other.1[0])]);

        assert_eq!(batch(empty.0).await, None, "no items, nothing to walk");
    }
}
