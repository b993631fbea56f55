//! Two instances on one database, each with its own scheduler, driven by one manual clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tandem_test_support::{TestDb, backends};

use super::*;
use crate::{ManualClock, ServiceError, Settings};

/// Counts its runs per instance; fails while `fail` is set.
#[derive(Debug, Default)]
struct Counting {
    runs: Mutex<Vec<TaskRun>>,
    fail: std::sync::atomic::AtomicBool,
    calls: AtomicUsize,
}

#[derive(Debug)]
struct Task(Arc<Counting>);

#[async_trait::async_trait]
impl PeriodicTask for Task {
    fn kind(&self) -> &'static str {
        "count"
    }
    fn period(&self) -> Period {
        Period::daily()
    }
    fn lease(&self) -> Duration {
        Duration::from_secs(60)
    }
    async fn run(&self, _t: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        if self.0.fail.load(Ordering::SeqCst) {
            return Err(ServiceError::Internal("boom".into()));
        }
        self.0.runs.lock().unwrap().push(run.clone());
        Ok(format!("ran {}", run.period_key))
    }
}

const DAY: Millis = 86_400_000;
const START: Millis = 1_795_787_889_000;

async fn instance(db: &TestDb, clock: &Arc<ManualClock>) -> Tandem {
    let store = tandem_store::open(&db.url).await.unwrap();
    Tandem::new(store, clock.clone(), Settings::default())
}

#[tokio::test]
async fn each_period_runs_once_per_workspace_across_instances() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let clock = Arc::new(ManualClock::new(START));
        let (a, b) = (instance(&db, &clock).await, instance(&db, &clock).await);
        let ws1 = a.store.create_workspace("one", "One", START).await.unwrap().id;
        let ws2 = a.store.create_workspace("two", "Two", START).await.unwrap().id;
        let counting = Arc::new(Counting::default());
        let sa = Scheduler::new(vec![Arc::new(Task(counting.clone()))]);
        let sb = Scheduler::new(vec![Arc::new(Task(counting.clone()))]);
        for _day in 0..3 {
            for _ in 0..3 {
                let (ra, rb) = tokio::join!(sa.tick(&a, "a"), sb.tick(&b, "b"));
                ra.unwrap();
                rb.unwrap();
                clock.advance(CHECK_EVERY);
            }
            clock.advance(DAY);
        }
        let runs = counting.runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 6, "3 days x 2 workspaces, once each: {runs:?}");
        for ws in [ws1, ws2] {
            let stored = a.store.scheduled_runs(ws, "count").await.unwrap();
            assert_eq!(stored.len(), 3, "{backend:?}");
            assert!(stored.iter().all(|r| r.finished_at.is_some()));
            assert_eq!(stored[0].period_key, "2026-11-27T00:00Z");
            assert_eq!(stored[0].outcome.as_deref(), Some("ran 2026-11-27T00:00Z"));
        }
    }
}

#[tokio::test]
async fn a_failed_run_is_retried_after_its_lease_by_another_instance() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let clock = Arc::new(ManualClock::new(START));
        let (a, b) = (instance(&db, &clock).await, instance(&db, &clock).await);
        let ws = a.store.create_workspace("one", "One", START).await.unwrap().id;
        let counting = Arc::new(Counting::default());
        let sa = Scheduler::new(vec![Arc::new(Task(counting.clone()))]);
        let sb = Scheduler::new(vec![Arc::new(Task(counting.clone()))]);

        counting.fail.store(true, Ordering::SeqCst);
        assert_eq!(sa.run_due(&a, "a").await.unwrap(), 0);
        counting.fail.store(false, Ordering::SeqCst);
        // Within the lease the failed claim still blocks everyone.
        assert_eq!(sb.run_due(&b, "b").await.unwrap(), 0);
        clock.advance(61_000);
        assert_eq!(sb.run_due(&b, "b").await.unwrap(), 1);
        assert_eq!(sa.run_due(&a, "a").await.unwrap(), 0);
        let stored = a.store.scheduled_runs(ws, "count").await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].attempts, stored[0].claimed_by.as_str()), (2, "b"));
        assert_eq!(counting.calls.load(Ordering::SeqCst), 2);
    }
}

#[test]
fn the_product_registers_its_tasks_with_distinct_names() {
    let kinds: Vec<&str> = tasks().iter().map(|t| t.kind()).collect();
    let mut unique = kinds.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(kinds.len(), unique.len(), "{kinds:?}");
    assert!(kinds.contains(&"prune_scheduled_runs"));
    assert!(kinds.contains(&"similar_backfill"));
}

#[tokio::test]
async fn minute_tasks_runs_are_pruned_after_two_days_and_the_rest_after_ninety() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let clock = Arc::new(ManualClock::new(START));
        let t = instance(&db, &clock).await;
        let ws = t.store.create_workspace("one", "One", START).await.unwrap().id;
        let other = t.store.create_workspace("two", "Two", START).await.unwrap().id;
        for w in [ws, other] {
            for (kind, key) in [("inbox_escalations", "m"), ("weekly_digest", "w")] {
                let c = t
                    .store
                    .claim_scheduled_run(w, kind, key, "a", START + 60_000, START)
                    .await
                    .unwrap()
                    .unwrap();
                t.store
                    .finish_scheduled_run(w, c.id, "a", "done", START + 1)
                    .await
                    .unwrap();
            }
        }
        let prune = |at: Millis| TaskRun {
            workspace: ws,
            period_key: "p".into(),
            start: at,
            end: at + DAY,
        };
        let left = |w, kind: &'static str| {
            let t = t.clone();
            async move { t.store.scheduled_runs(w, kind).await.unwrap().len() }
        };
        prune::PruneScheduledRuns
            .run(&t, &prune(START + DAY))
            .await
            .unwrap();
        assert_eq!(left(ws, "inbox_escalations").await, 1, "a day old: kept");
        prune::PruneScheduledRuns
            .run(&t, &prune(START + 3 * DAY))
            .await
            .unwrap();
        assert_eq!(left(ws, "inbox_escalations").await, 0, "three days old: gone");
        assert_eq!(left(ws, "weekly_digest").await, 1, "a weekly run stays 90 days");
        assert_eq!(
            left(other, "inbox_escalations").await,
            1,
            "another workspace's are its own"
        );
        prune::PruneScheduledRuns
            .run(&t, &prune(START + 91 * DAY))
            .await
            .unwrap();
        assert_eq!(left(ws, "weekly_digest").await, 0);
    }
}
