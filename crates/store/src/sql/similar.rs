//! The index behind "decided items most similar to this one": band keys of decided items
//! (written with the decision) and the two reads a page view makes.

use sqlx::Row;

use super::{SqlStore, rowmap};
use crate::*;

/// Write an item's band keys inside the decision's transaction.
pub(super) async fn insert_keys(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ws: WorkspaceId,
    item: ItemId,
    keys: &[i64],
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    // The automation comes from the item row, so a key can never name another's.
    let automation: Option<i64> =
        sqlx::query_scalar("SELECT automation_id FROM items WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(item.0)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(automation) = automation else {
        return Err(StoreError::NotFound("item"));
    };
    let values: Vec<String> = (0..keys.len())
        .map(|i| format!("($1, $2, ${}, $3)", 4 + i))
        .collect();
    let sql = format!(
        "INSERT INTO similar_keys (workspace_id, automation_id, band_key, item_id) VALUES {}
         ON CONFLICT DO NOTHING",
        values.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(ws.0).bind(automation).bind(item.0);
    for k in &keys {
        q = q.bind(*k);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Decided items of one automation sharing at least one band key with `keys`, with how
/// many they share, most shared first. Each key contributes at most `per_key` items (the
/// newest), so a key every templated text shares costs `per_key` rows, not a scan.
pub(super) async fn similar_candidates(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    keys: &[i64],
    exclude: ItemId,
    per_key: u32,
) -> Result<Vec<(ItemId, u32)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // One index range per key; parenthesised so each keeps its own ORDER BY and LIMIT
    // (both SQLite and PostgreSQL accept a LIMIT inside a derived table).
    let parts: Vec<String> = (0..keys.len())
        .map(|i| {
            format!(
                "SELECT item_id FROM (SELECT item_id FROM similar_keys
                   WHERE workspace_id = $1 AND automation_id = $2 AND band_key = ${}
                   ORDER BY item_id DESC LIMIT $3) AS k{i}",
                4 + i
            )
        })
        .collect();
    let sql = parts.join(" UNION ALL ");
    let mut q = sqlx::query(&sql)
        .bind(ws.0)
        .bind(automation.0)
        .bind(i64::from(per_key));
    for k in keys {
        q = q.bind(*k);
    }
    let rows = q.fetch_all(&s.reader).await?;
    let mut counts: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
    for r in &rows {
        let id: i64 = r.try_get("item_id")?;
        if id != exclude.0 {
            *counts.entry(id).or_default() += 1;
        }
    }
    let mut out: Vec<(ItemId, u32)> = counts.into_iter().map(|(id, n)| (ItemId(id), n)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.0.cmp(&a.0.0)));
    Ok(out)
}

/// The given items of this workspace that a person decided, with the decision's event.
pub(super) async fn decided_neighbours(
    s: &SqlStore,
    ws: WorkspaceId,
    ids: &[ItemId],
) -> Result<Vec<DecidedNeighbour>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", 2 + i)).collect();
    // The decision's audit event has the status as its kind; the newest one wins.
    let sql = format!(
        "SELECT i.id, i.status, i.input, i.preview, i.decided_at, u.name AS decided_by, e.detail
         FROM items i
         LEFT JOIN users u ON u.id = i.decided_by AND u.workspace_id = i.workspace_id
         LEFT JOIN audit_events e ON e.id = (
             SELECT MAX(a.id) FROM audit_events a
             WHERE a.workspace_id = i.workspace_id AND a.item_id = i.id AND a.kind = i.status)
         WHERE i.workspace_id = $1 AND i.id IN ({})
           AND i.status IN ('approved', 'corrected', 'rejected')",
        list.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(ws.0);
    for id in ids {
        q = q.bind(id.0);
    }
    let rows = q.fetch_all(&s.reader).await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(DecidedNeighbour {
                id: ItemId(r.try_get("id")?),
                status: rowmap::status(&status)?,
                input: r.try_get("input")?,
                preview: r.try_get("preview")?,
                decided_at: r.try_get("decided_at")?,
                decided_by: r.try_get("decided_by")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}
