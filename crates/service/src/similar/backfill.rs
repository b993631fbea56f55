//! Band keys for the items decided before the similarity index existed (migration 0900),
//! so that an upgraded deployment's history shows among "the decided items most similar
//! to this one" too, not only what was decided since.
//!
//! Why a periodic task and not the migration: computing keys is the engine's work, which
//! SQL cannot do, and a million items at once would hold the writer for minutes. Each run
//! takes one stretch of item ids (newest first, so the recent history the page prefers
//! comes first), computes its decided items' keys outside any transaction, and stores them
//! with the walk's next position in one. The scheduler runs it once across instances; if a
//! run is taken over after its lease ran out, the store's compare-and-set on the position
//! makes the slower one a no-op, and keys already present are kept as they are.

use std::time::Duration;

use tandem_domain::ItemId;

use crate::schedule::{Period, PeriodicTask, TaskRun};
use crate::{ServiceError, ServiceResult, Tandem};

/// Item ids looked at per run: at most this many rows are read, whatever the table's
/// size, and the keys of at most this many items are computed and written.
pub const SPAN: u32 = 1_000;

/// Index the items of one stretch per minute per workspace, until the walk is done.
#[derive(Debug)]
pub struct SimilarBackfill;

#[async_trait::async_trait]
impl PeriodicTask for SimilarBackfill {
    fn kind(&self) -> &'static str {
        "similar_backfill"
    }
    fn period(&self) -> Period {
        Period::every(Duration::from_secs(60))
    }
    fn lease(&self) -> Duration {
        Duration::from_secs(120)
    }
    async fn run(&self, tandem: &Tandem, run: &TaskRun) -> ServiceResult<String> {
        let ws = run.workspace;
        let Some(batch) = tandem.store.similar_backfill_batch(ws, SPAN).await? else {
            return Ok("nothing to index".into());
        };
        let stretch = batch.stretch;
        let items = batch.items;
        let found = items.len();
        // MinHash over a thousand texts is CPU work: keep it off the async threads.
        let keys: Vec<(ItemId, Vec<i64>)> = tokio::task::spawn_blocking(move || {
            items
                .into_iter()
                .map(|(id, input)| (id, super::keys_of_input(&input)))
                .collect()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("computing band keys: {e}")))?;
        if !tandem.store.save_similar_backfill(ws, stretch, &keys).await? {
            return Ok(format!(
                "ids {}..={} were indexed by another instance",
                stretch.bottom, stretch.top
            ));
        }
        Ok(format!(
            "{found} decided items of ids {}..={} indexed; {} ids left",
            stretch.bottom, stretch.top, batch.ids_left
        ))
    }
}

#[cfg(test)]
mod tests;
