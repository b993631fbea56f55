//! Giving band keys to items decided before the similarity index existed (migration 0900),
//! a bounded stretch of item ids at a time, newest first.
//!
//! Why stretches of ids and not "the next thousand decided items": the walk reads the items
//! table by its primary key range only, so a run costs at most `span` rows however large the
//! table or the workspace, and it needs no index of its own. An index on (workspace, id)
//! would make every later insert pay for a walk that happens once.

use sqlx::Row;

use super::SqlStore;
use crate::*;

/// (band key, item) pairs per INSERT: two parameters each, under SQLite's 32,766.
const PAIR_CHUNK: usize = 2_000;

/// Decided by a person: the statuses the item page shows as similar.
const DECIDED: &str = "('approved', 'corrected', 'rejected')";

pub(super) async fn batch(s: &SqlStore, ws: WorkspaceId, span: u32) -> Result<Option<SimilarBackfillBatch>> {
    let cursor = sqlx::query("SELECT low_id, next_id FROM similar_backfill WHERE workspace_id = $1")
        .bind(ws.0)
        .fetch_optional(&s.reader)
        .await?;
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let (low, top): (i64, i64) = (cursor.try_get("low_id")?, cursor.try_get("next_id")?);
    if top < low {
        return Ok(None);
    }
    let bottom = low.max(top - i64::from(span.max(1)) + 1);
    // `+workspace_id` keeps SQLite off the indexes that start with the workspace (it would
    // read every decided item of the workspace through `items_inbox`); the id range is
    // the only way in, on both backends.
    let rows = sqlx::query(&format!(
        "SELECT id, input FROM items
         WHERE +workspace_id = $1 AND id >= $2 AND id <= $3 AND status IN {DECIDED}
         ORDER BY id DESC"
    ))
    .bind(ws.0)
    .bind(bottom)
    .bind(top)
    .fetch_all(&s.reader)
    .await?;
    let items = rows
        .iter()
        .map(|r| Ok((ItemId(r.try_get("id")?), r.try_get("input")?)))
        .collect::<Result<_>>()?;
    Ok(Some(SimilarBackfillBatch {
        stretch: BackfillStretch { top, bottom },
        items,
        ids_left: bottom - low,
    }))
}

pub(super) async fn save(
    s: &SqlStore,
    ws: WorkspaceId,
    stretch: BackfillStretch,
    keys: &[(ItemId, Vec<i64>)],
) -> Result<bool> {
    let mut tx = s.write_tx().await?;
    // Compare and set: of two instances saving the same stretch (a run taken over after
    // its lease ran out), the second finds the walk moved on. On PostgreSQL it waits for
    // the first one's row lock and then matches nothing.
    let moved =
        sqlx::query("UPDATE similar_backfill SET next_id = $1 WHERE workspace_id = $2 AND next_id = $3")
            .bind(stretch.bottom - 1)
            .bind(ws.0)
            .bind(stretch.top)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    let pairs: Vec<(i64, i64)> = keys
        .iter()
        .flat_map(|(id, k)| {
            let mut k = k.clone();
            k.sort_unstable();
            k.dedup();
            k.into_iter().map(move |k| (k, id.0))
        })
        .collect();
    for chunk in pairs.chunks(PAIR_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${})", 4 + 2 * i, 5 + 2 * i))
            .collect();
        // The automation comes from the item row, and only this workspace's decided items
        // of the stretch are joined, so a caller's keys cannot land anywhere else. The
        // WHERE also settles SQLite's reading of `ON` (join or upsert). A key the item's
        // decision already wrote is kept as it is.
        let sql = format!(
            "INSERT INTO similar_keys (workspace_id, automation_id, band_key, item_id)
             SELECT i.workspace_id, i.automation_id, v.column1, v.column2
             FROM (VALUES {}) AS v JOIN items i ON i.id = v.column2
             WHERE i.workspace_id = $1 AND i.id >= $2 AND i.id <= $3 AND i.status IN {DECIDED}
             ON CONFLICT DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql)
            .bind(ws.0)
            .bind(stretch.bottom)
            .bind(stretch.top);
        for (key, id) in chunk {
            q = q.bind(*key).bind(*id);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn restart(s: &SqlStore, ws: WorkspaceId) -> Result<()> {
    let mut tx = s.write_tx().await?;
    sqlx::query("DELETE FROM similar_backfill WHERE workspace_id = $1")
        .bind(ws.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO similar_backfill (workspace_id, low_id, next_id)
         SELECT workspace_id, MIN(id), MAX(id) FROM items WHERE workspace_id = $1 GROUP BY workspace_id",
    )
    .bind(ws.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
