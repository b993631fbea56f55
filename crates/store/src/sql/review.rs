//! Review decisions and the audit trail.

use sqlx::Row;

use super::jobs::enqueue_deliveries;
use super::{SqlStore, items};
use crate::*;

pub(super) async fn record_decision(
    s: &SqlStore,
    ws: WorkspaceId,
    d: &DecisionRecord,
    now: Millis,
) -> Result<Item> {
    record_decision_teaching(s, ws, d, &[], now).await
}

/// A decision and the training examples it teaches, in one transaction.
pub(super) async fn record_decision_teaching(
    s: &SqlStore,
    ws: WorkspaceId,
    d: &DecisionRecord,
    examples: &[NewTrainingExample],
    now: Millis,
) -> Result<Item> {
    let mut tx = s.write_tx().await?;
    let bump = i64::from(d.final_result.is_some());
    // The status guard makes the decision first-come: a second reviewer's submit finds
    // the item no longer open and gets a conflict instead of overwriting.
    let revision: Option<i64> = sqlx::query_scalar(
        "UPDATE items SET status = $1, final_result = $2, revision = revision + $3, decided_at = $4, decided_by = $5
         WHERE workspace_id = $6 AND id = $7 AND status IN ('needs_review', 'failed')
         RETURNING revision",
    )
    .bind(d.status.as_str())
    .bind(d.final_result.as_deref())
    .bind(bump)
    .bind(now)
    .bind(d.actor.0)
    .bind(ws.0)
    .bind(d.item_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(revision) = revision else {
        // Either it does not exist here, or it is already decided.
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM items WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(d.item_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        return Err(match exists {
            None => StoreError::NotFound("item"),
            Some(_) => StoreError::Conflict("this item has already been decided".into()),
        });
    };
    let event = sqlx::query(
        "INSERT INTO audit_events (workspace_id, item_id, actor_id, kind, before_value, after_value, detail, seconds, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(ws.0)
    .bind(d.item_id.0)
    .bind(d.actor.0)
    .bind(d.status.as_str())
    .bind(d.before.as_deref())
    .bind(d.after.as_deref())
    .bind(&d.detail);
    // A decision from a link reports no time; see `super::NULL_DOUBLE`.
    let event = match d.seconds {
        Some(sec) => event.bind(sec),
        None => event.bind(super::NULL_DOUBLE),
    };
    event.bind(now).execute(&mut *tx).await?;
    if d.final_result.is_some() {
        enqueue_deliveries(&mut tx, ws, d.item_id, revision, &d.deliveries, now).await?;
    }
    super::training::insert_examples(&mut tx, ws, examples, now).await?;
    super::similar::insert_keys(&mut tx, ws, d.item_id, &d.similar_keys).await?;
    let item = items::item(&mut *tx, ws, d.item_id).await?;
    tx.commit().await?;
    Ok(item)
}

pub(super) async fn audit_events(s: &SqlStore, ws: WorkspaceId, item: ItemId) -> Result<Vec<AuditEvent>> {
    let rows = sqlx::query(
        "SELECT e.id, e.item_id, e.actor_id, u.name AS actor_name, e.kind, e.before_value, e.after_value, e.detail,
                e.seconds, e.created_at
         FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id AND u.workspace_id = e.workspace_id
         WHERE e.workspace_id = $1 AND e.item_id = $2 ORDER BY e.id",
    )
    .bind(ws.0)
    .bind(item.0)
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEvent {
                id: r.try_get("id")?,
                item_id: r.try_get::<Option<i64>, _>("item_id")?.map(ItemId),
                actor_id: r.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
                actor_name: r.try_get("actor_name")?,
                kind: r.try_get("kind")?,
                before: r.try_get("before_value")?,
                after: r.try_get("after_value")?,
                detail: r.try_get("detail")?,
                seconds: r.try_get("seconds")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
