//! The scheduler's own housekeeping: forget finished runs after a while, so the table
//! holds what people may want to look at and not years of history.

use std::time::Duration;

use super::{Period, PeriodicTask, TaskRun};
use crate::{ServiceResult, Tandem};

/// Finished runs older than this are deleted.
const KEEP: i64 = 90 * 86_400_000;
/// Runs of tasks that run more often than daily (every minute: escalations, notification
/// retries, the similarity backfill) are kept two days: 1,440 a day per task and
/// workspace would otherwise pile up to 130,000 each before the 90 days ran out.
const KEEP_FREQUENT: i64 = 2 * 86_400_000;
const DAY: i64 = 86_400_000;

#[derive(Debug)]
pub struct PruneScheduledRuns;

#[async_trait::async_trait]
impl PeriodicTask for PruneScheduledRuns {
    fn kind(&self) -> &'static str {
        "prune_scheduled_runs"
    }

    fn period(&self) -> Period {
        Period::daily()
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(300)
    }

    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        let mut frequent = 0;
        for task in super::tasks() {
            if task.period().length() < DAY {
                frequent += tandem
                    .store
                    .prune_scheduled_runs(run.workspace, Some(task.kind()), run.start - KEEP_FREQUENT)
                    .await?;
            }
        }
        let n = tandem
            .store
            .prune_scheduled_runs(run.workspace, None, run.start - KEEP)
            .await?;
        Ok(format!(
            "{frequent} finished runs of minute tasks older than 2 days and {n} others older than 90 days removed"
        ))
    }
}
