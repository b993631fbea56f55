//! Contract for running several instances on one database: scheduled runs claimed once,
//! jobs claimed by one worker each even when claimers race.

use std::collections::HashSet;
use std::sync::Arc;

use tandem_store::*;

use super::{each_backend, new_item, new_version, workspace};

#[tokio::test]
async fn of_many_racing_claimers_of_a_scheduled_run_exactly_one_wins() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let claims = (0..8).map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .claim_scheduled_run(ws, "weekly_digest", "w48", &format!("worker-{i}"), 1_000, 10)
                    .await
                    .unwrap()
            })
        });
        let mut winners = Vec::new();
        for c in claims.collect::<Vec<_>>() {
            if let Some(run) = c.await.unwrap() {
                winners.push(run);
            }
        }
        assert_eq!(winners.len(), 1, "exactly one claimer wins: {winners:?}");
        let won = &winners[0];
        assert_eq!(
            (won.kind.as_str(), won.period_key.as_str()),
            ("weekly_digest", "w48")
        );
        assert_eq!(won.attempts, 1);
        assert_eq!(won.finished_at, None);

        // Another period, another task or another workspace is a separate run.
        assert!(
            store
                .claim_scheduled_run(ws, "weekly_digest", "w49", "worker-0", 1_000, 10)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .claim_scheduled_run(ws, "sla_sweep", "w48", "worker-0", 1_000, 10)
                .await
                .unwrap()
                .is_some()
        );
        let other = workspace(&store, "other").await;
        assert!(
            store
                .claim_scheduled_run(other, "weekly_digest", "w48", "worker-0", 1_000, 10)
                .await
                .unwrap()
                .is_some()
        );
        let runs = store.scheduled_runs(ws, "weekly_digest").await.unwrap();
        assert_eq!(runs.len(), 2, "runs are per workspace: {runs:?}");
        assert!(runs.iter().all(|r| r.workspace_id == ws));
    })
    .await;
}

#[tokio::test]
async fn a_dead_claimers_run_is_taken_over_and_a_finished_run_never_again() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let first = store
            .claim_scheduled_run(ws, "rollup", "d1", "dead", 100, 10)
            .await
            .unwrap()
            .unwrap();
        // Before the lease runs out nobody else may run it.
        assert!(
            store
                .claim_scheduled_run(ws, "rollup", "d1", "alive", 1_000, 99)
                .await
                .unwrap()
                .is_none()
        );
        let taken = store
            .claim_scheduled_run(ws, "rollup", "d1", "alive", 1_000, 101)
            .await
            .unwrap()
            .expect("an expired, unfinished run is taken over");
        assert_eq!(taken.id, first.id);
        assert_eq!(taken.attempts, 2);
        assert_eq!(taken.claimed_by, "alive");
        // The dead claimer cannot finish what it no longer holds; the live one can, once.
        assert!(
            !store
                .finish_scheduled_run(ws, first.id, "dead", "late", 102)
                .await
                .unwrap()
        );
        let other = workspace(&store, "other").await;
        assert!(
            !store
                .finish_scheduled_run(other, taken.id, "alive", "x", 103)
                .await
                .unwrap(),
            "a run is finished only in its own workspace"
        );
        assert!(
            store
                .finish_scheduled_run(ws, taken.id, "alive", "3 rows", 103)
                .await
                .unwrap()
        );
        assert!(
            !store
                .finish_scheduled_run(ws, taken.id, "alive", "again", 104)
                .await
                .unwrap()
        );
        // Finished: never claimed again, however late.
        assert!(
            store
                .claim_scheduled_run(ws, "rollup", "d1", "later", 1_000_000, 500_000)
                .await
                .unwrap()
                .is_none()
        );
        let runs = store.scheduled_runs(ws, "rollup").await.unwrap();
        assert_eq!(runs[0].outcome.as_deref(), Some("3 rows"));
        assert_eq!(runs[0].finished_at, Some(103));

        // Pruning forgets finished runs only.
        store
            .claim_scheduled_run(ws, "rollup", "d2", "alive", 1_000, 200)
            .await
            .unwrap()
            .unwrap();
        // A frequent task's runs can be pruned sooner, by kind, leaving the others'.
        for (kind, key) in [("sweep", "m1"), ("sweep", "m2")] {
            let c = store
                .claim_scheduled_run(ws, kind, key, "alive", 1_000, 150)
                .await
                .unwrap()
                .unwrap();
            store
                .finish_scheduled_run(ws, c.id, "alive", "ok", 151)
                .await
                .unwrap();
        }
        assert_eq!(
            store
                .prune_scheduled_runs(other, Some("sweep"), 1_000)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .prune_scheduled_runs(ws, Some("sweep"), 1_000)
                .await
                .unwrap(),
            2
        );
        assert!(store.scheduled_runs(ws, "sweep").await.unwrap().is_empty());
        assert_eq!(store.scheduled_runs(ws, "rollup").await.unwrap().len(), 2);
        assert_eq!(store.prune_scheduled_runs(ws, None, 1_000).await.unwrap(), 1);
        let left = store.scheduled_runs(ws, "rollup").await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].period_key, "d2");
        assert!(store.workspace_ids().await.unwrap().contains(&ws));
    })
    .await;
}

#[tokio::test]
async fn racing_workers_claim_each_job_once() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let saved = store.save_version(ws, &new_version("r", "h"), 1).await.unwrap();
        let items: Vec<NewItem> = (0..120).map(|i| new_item(&format!("item {i}"), None)).collect();
        store
            .insert_items(ws, saved.automation.id, &items, 10)
            .await
            .unwrap();
        let workers = (0..4).map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let jobs = store.claim_jobs(&format!("w{w}"), 7, 10_000, 20).await.unwrap();
                    if jobs.is_empty() {
                        return mine;
                    }
                    mine.extend(jobs.into_iter().map(|j| j.id));
                }
            })
        });
        let mut all = Vec::new();
        for w in workers.collect::<Vec<_>>() {
            all.extend(w.await.unwrap());
        }
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 120, "every job claimed");
        assert_eq!(unique.len(), 120, "no job claimed twice");
        // Stopping workers give their jobs back at once, without counting an attempt.
        let mut released = 0;
        for w in 0..4 {
            released += store.release_jobs(&format!("w{w}")).await.unwrap();
        }
        assert_eq!(released, 120);
        let again = store.claim_jobs("w9", 200, 10_000, 21).await.unwrap();
        assert_eq!(again.len(), 120);
        assert!(
            again.iter().all(|j| j.attempts == 1),
            "a released claim is not an attempt"
        );
    })
    .await;
}

#[tokio::test]
async fn a_large_batch_answers_in_input_order_with_repeats_found() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let a = store
            .save_version(ws, &new_version("r", "h"), 1)
            .await
            .unwrap()
            .automation;
        store
            .insert_items(ws, a.id, &[new_item("before", Some("k-0"))], 5)
            .await
            .unwrap();
        // 1,200 items cross the statement chunks; every third has a key, k-0 was seen
        // before, and k-3 appears twice in the batch.
        let keys: Vec<Option<String>> = (0..1200)
            .map(|i| (i % 3 == 0).then(|| format!("k-{}", if i == 600 { 3 } else { i })))
            .collect();
        let batch: Vec<NewItem> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| new_item(&format!("item {i}"), k.as_deref()))
            .collect();
        let out = store.insert_items(ws, a.id, &batch, 10).await.unwrap();
        assert_eq!(out.len(), 1200);
        for (i, got) in out.iter().enumerate() {
            let repeat = i == 0 || i == 600;
            assert_eq!(got.created, !repeat, "item {i}");
            if !repeat {
                assert_eq!(got.item.input, batch[i].input, "item {i} answered in input order");
                assert_eq!(got.item.idempotency_key, keys[i]);
            }
        }
        assert_eq!(
            out[0].item.input,
            new_item("before", None).input,
            "k-0 is the earlier item"
        );
        assert_eq!(
            out[600].item.id, out[3].item.id,
            "k-3 repeated in the batch is one item"
        );
        assert_eq!(
            store.queue_depth().await.unwrap(),
            1 + 1198,
            "one job per new item"
        );
        let ids: HashSet<_> = out.iter().map(|o| o.item.id).collect();
        assert_eq!(ids.len(), 1199);
    })
    .await;
}
