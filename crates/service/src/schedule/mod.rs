//! Scheduled work that runs once across instances: weekly digests, SLA escalation sweeps,
//! rollups. Every worker drives a [`Scheduler`]; for each workspace and each registered
//! [`PeriodicTask`], it works out the current period and tries to claim its run in the
//! database. The unique (workspace, kind, period key) picks exactly one winner among all
//! instances; the winner runs the task and marks the run finished. If the winner dies
//! mid-run, its claim's lease runs out and another instance runs the period again, so a
//! task must tolerate being re-run for a period it may have half done (write with upserts
//! or in one store transaction).
//!
//! # Registering a periodic task
//!
//! 1. Implement [`PeriodicTask`] in your own module (a `kind` name that never changes, a
//!    [`Period`], and `run`, which does one period's work for one workspace and returns a
//!    line for people saying what it did).
//! 2. Add one line for it to [`tasks`] below. Every worker in every instance then runs it
//!    once per period per workspace.
//!
//! ```ignore
//! #[derive(Debug)]
//! pub struct WeeklyDigest;
//!
//! #[async_trait::async_trait]
//! impl PeriodicTask for WeeklyDigest {
//!     fn kind(&self) -> &'static str { "weekly_digest" }
//!     fn period(&self) -> Period { Period::weekly() }
//!     async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
//!         // figures for run.start..run.end in run.workspace
//!         Ok("sent to 3 people".into())
//!     }
//! }
//! ```

mod period;
mod prune;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_domain::{Millis, WorkspaceId};

use crate::{ServiceResult, Tandem};

pub use period::Period;

/// Every periodic task the product runs. One line per task; keep it sorted by module.
pub fn tasks() -> Vec<Arc<dyn PeriodicTask>> {
    vec![
        Arc::new(crate::measure::WeeklyDigest),
        Arc::new(prune::PruneScheduledRuns),
        Arc::new(crate::documents::retention::DocumentRetention),
        Arc::new(crate::documents::MailboxPoll),
        Arc::new(crate::similar::backfill::SimilarBackfill),
        Arc::new(crate::sweep::InboxDigests),
        Arc::new(crate::sweep::InboxEscalations),
        Arc::new(crate::sweep::NotificationRetries),
    ]
}

/// How often a worker looks for due periodic work (by the service clock).
const CHECK_EVERY: Millis = 10_000;

/// One period's work for one workspace.
#[async_trait::async_trait]
pub trait PeriodicTask: Send + Sync + std::fmt::Debug {
    /// A stable name: it is part of the claim key, so renaming it reruns the period.
    fn kind(&self) -> &'static str;
    fn period(&self) -> Period;
    /// How long a claim is exclusive. A run still going after this may be started again
    /// by another instance, so make it comfortably longer than the task takes.
    fn lease(&self) -> Duration {
        Duration::from_secs(600)
    }
    /// Do the work; the returned line is stored with the run for people to read.
    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String>;
}

/// What a task is asked to do: a workspace and a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRun {
    pub workspace: WorkspaceId,
    /// The claim key, e.g. `2026-11-23T00:00Z` for the week starting that Monday.
    pub period_key: String,
    /// The period, `[start, end)` in milliseconds.
    pub start: Millis,
    pub end: Millis,
}

/// Drives the registered tasks; one per worker.
#[derive(Debug)]
pub struct Scheduler {
    tasks: Vec<Arc<dyn PeriodicTask>>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_check: Millis,
    /// Per (workspace, task): do not try again before this time (the period is done, or
    /// someone else holds it until their lease runs out).
    quiet_until: HashMap<(WorkspaceId, &'static str), Millis>,
}

impl Scheduler {
    pub fn new(tasks: Vec<Arc<dyn PeriodicTask>>) -> Self {
        Self {
            tasks,
            state: Mutex::default(),
        }
    }

    /// The product's tasks ([`tasks`]).
    pub fn standard() -> Self {
        Self::new(tasks())
    }

    /// Run what is due, at most every few seconds; cheap to call on every worker cycle.
    /// Returns the number of runs this worker did.
    pub async fn tick(&self, tandem: &Tandem, worker: &str) -> ServiceResult<usize> {
        let now = tandem.now();
        {
            let mut st = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if self.tasks.is_empty() || now < st.next_check {
                return Ok(0);
            }
            st.next_check = now + CHECK_EVERY;
        }
        self.run_due(tandem, worker).await
    }

    /// Claim and run every task whose current period has not been run in some workspace.
    pub async fn run_due(&self, tandem: &Tandem, worker: &str) -> ServiceResult<usize> {
        let mut ran = 0;
        for ws in tandem.store.workspace_ids().await? {
            for task in &self.tasks {
                if self.try_run(tandem, worker, ws, task.as_ref()).await? {
                    ran += 1;
                }
            }
        }
        Ok(ran)
    }

    async fn try_run(
        &self,
        tandem: &Tandem,
        worker: &str,
        ws: WorkspaceId,
        task: &dyn PeriodicTask,
    ) -> ServiceResult<bool> {
        let now = tandem.now();
        let key = (ws, task.kind());
        if self.quiet_until(key) > now {
            return Ok(false);
        }
        let (start, end) = task.period().bounds(now);
        let run = TaskRun {
            workspace: ws,
            period_key: period::key(start),
            start,
            end,
        };
        let lease = i64::try_from(task.lease().as_millis()).unwrap_or(600_000);
        let claimed = tandem
            .store
            .claim_scheduled_run(ws, task.kind(), &run.period_key, worker, now + lease, now)
            .await?;
        let Some(claim) = claimed else {
            // Done, or another instance is on it: look again when its lease could have run out.
            self.set_quiet(key, end.min(now + lease));
            return Ok(false);
        };
        let span =
            tracing::info_span!("scheduled", kind = task.kind(), workspace = ws.0, period = %run.period_key);
        let _guard = span.enter();
        let outcome = match task.run(tandem, &run).await {
            Ok(line) => line,
            Err(e) => {
                // Left unfinished: the lease runs out and the period is tried again.
                tracing::error!(error = %e, "scheduled task failed");
                self.set_quiet(key, now + lease);
                return Ok(false);
            }
        };
        tandem
            .store
            .finish_scheduled_run(ws, claim.id, worker, &outcome, tandem.now())
            .await?;
        tracing::info!(%outcome, "scheduled task done");
        self.set_quiet(key, end);
        Ok(true)
    }

    fn quiet_until(&self, key: (WorkspaceId, &'static str)) -> Millis {
        let st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.quiet_until.get(&key).copied().unwrap_or(Millis::MIN)
    }

    fn set_quiet(&self, key: (WorkspaceId, &'static str), until: Millis) {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.quiet_until.insert(key, until);
    }
}

#[cfg(test)]
mod tests;
