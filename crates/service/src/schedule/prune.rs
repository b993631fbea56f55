//! The scheduler's own housekeeping: forget finished runs after a while, so the table
//! holds what people may want to look at and not years of history.

use std::time::Duration;

use super::{Period, PeriodicTask, TaskRun};
use crate::{ServiceResult, Tandem};

/// Finished runs older than this are deleted.
const KEEP: i64 = 90 * 86_400_000;

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
        let n = tandem
            .store
            .prune_scheduled_runs(run.workspace, run.start - KEEP)
            .await?;
        Ok(format!("{n} finished runs older than 90 days removed"))
    }
}
