//! Loading items that were processed (and perhaps decided) elsewhere, many rows per
//! statement in the caller's few transactions: how `tandem bench-inbox` fills a store with
//! a million items in minutes instead of hours of job claiming.

use sqlx::Row;

use super::SqlStore;
use crate::*;

/// Rows per multi-row INSERT of items: twelve parameters each, under SQLite's 32,766.
const ITEM_CHUNK: usize = 1_000;
/// Rows per INSERT of the narrow tables (reasons, keys: three or four parameters).
const NARROW_CHUNK: usize = 2_000;

pub(super) async fn load_items(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    items: &[LoadedItem],
) -> Result<Vec<ItemId>> {
    let mut tx = s.write_tx().await?;
    let owned: Option<i64> =
        sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(automation.0)
            .fetch_optional(&mut *tx)
            .await?;
    if owned.is_none() {
        return Err(StoreError::NotFound("automation"));
    }
    let mut ids = Vec::with_capacity(items.len());
    for chunk in items.chunks(ITEM_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 3 + 12 * i;
                format!(
                    "($1, $2, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7,
                    p + 8,
                    p + 9,
                    p + 10,
                    p + 11
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO items (workspace_id, automation_id, input, preview, status, version_id, outcome,
                                final_result, confidence, created_at, processed_at, decided_at, decided_by,
                                reason_codes)
             VALUES {} RETURNING id",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(ws.0).bind(automation.0);
        for it in chunk {
            q = q
                .bind(&it.input)
                .bind(&it.preview)
                .bind(it.status.as_str())
                .bind(it.version_id.map(|v| v.0))
                .bind(it.outcome.as_deref())
                .bind(it.final_result.as_deref());
            // See `super::NULL_DOUBLE`.
            q = match it.confidence {
                Some(c) => q.bind(c),
                None => q.bind(super::NULL_DOUBLE),
            };
            q = q
                .bind(it.created_at)
                .bind(it.processed_at)
                .bind(it.decision.as_ref().map(|d| d.decided_at))
                .bind(it.decision.as_ref().map(|d| d.decided_by.0))
                .bind(super::jobs::reason_codes_text(&it.reason_codes));
        }
        let mut got: Vec<i64> = q
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>("id"))
            .collect::<std::result::Result<_, _>>()?;
        // RETURNING promises no order; ids grow in insertion order.
        got.sort_unstable();
        ids.extend(got.into_iter().map(ItemId));
    }

    // Reasons, decision events and similarity keys, each as multi-row statements.
    let reasons: Vec<(i64, &str)> = ids
        .iter()
        .zip(items)
        .flat_map(|(id, it)| {
            let mut codes: Vec<&str> = it.reason_codes.iter().map(String::as_str).collect();
            codes.sort_unstable();
            codes.dedup();
            codes.into_iter().map(move |c| (id.0, c))
        })
        .collect();
    for chunk in reasons.chunks(NARROW_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, $1, ${})", 2 + 2 * i, 3 + 2 * i))
            .collect();
        let sql = format!(
            "INSERT INTO item_reasons (item_id, workspace_id, code) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(ws.0);
        for (id, code) in chunk {
            q = q.bind(*id).bind(*code);
        }
        q.execute(&mut *tx).await?;
    }
    let decided: Vec<(i64, &LoadedItem, &LoadedDecision)> = ids
        .iter()
        .zip(items)
        .filter_map(|(id, it)| it.decision.as_ref().map(|d| (id.0, it, d)))
        .collect();
    for chunk in decided.chunks(ITEM_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 2 + 7 * i;
                format!(
                    "($1, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_events (workspace_id, item_id, actor_id, kind, before_value, after_value, detail, created_at)
             VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(ws.0);
        for (id, it, d) in chunk {
            q = q
                .bind(*id)
                .bind(d.decided_by.0)
                .bind(it.status.as_str())
                .bind(d.before.as_deref())
                .bind(it.final_result.as_deref())
                .bind(&d.detail)
                .bind(d.decided_at);
        }
        q.execute(&mut *tx).await?;
    }
    let keys: Vec<(i64, i64)> = decided
        .iter()
        .flat_map(|(id, _, d)| {
            let mut k = d.similar_keys.clone();
            k.sort_unstable();
            k.dedup();
            k.into_iter().map(move |k| (*id, k))
        })
        .collect();
    for chunk in keys.chunks(NARROW_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, $2, ${}, ${})", 3 + 2 * i, 4 + 2 * i))
            .collect();
        let sql = format!(
            "INSERT INTO similar_keys (workspace_id, automation_id, band_key, item_id) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(ws.0).bind(automation.0);
        for (id, key) in chunk {
            q = q.bind(*key).bind(*id);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(ids)
}
