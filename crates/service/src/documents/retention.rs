//! Retention of originals: a daily task removes the files kept longer than
//! `documents.retention_days`. The item's text and the word positions stay, so the
//! evidence still shows where a value came from; only the original file is gone.

use std::time::Duration;

use crate::schedule::{Period, PeriodicTask, TaskRun};
use crate::{ServiceResult, Tandem};

#[derive(Debug)]
pub struct DocumentRetention;

#[async_trait::async_trait]
impl PeriodicTask for DocumentRetention {
    fn kind(&self) -> &'static str {
        "document_retention"
    }

    fn period(&self) -> Period {
        Period::daily()
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(600)
    }

    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        let Some(keep) = tandem.settings.documents.retention else {
            return Ok("originals are kept without limit (documents.retention_days is not set)".into());
        };
        let keep = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        let n = tandem
            .store
            .purge_documents(run.workspace, run.start.saturating_sub(keep), tandem.now())
            .await?;
        Ok(format!(
            "{n} original file(s) kept past the retention period removed"
        ))
    }
}
