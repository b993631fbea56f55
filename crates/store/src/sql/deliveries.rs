//! The outbox: one row per accepted result and destination, retried until delivered or
//! given up, and visible to people either way.

use super::items::SqlBuilder;
use super::{SqlStore, rowmap};
use crate::*;

pub(super) async fn delivery(s: &SqlStore, ws: WorkspaceId, id: DeliveryId) -> Result<Delivery> {
    let sql = format!(
        "SELECT {} FROM deliveries WHERE workspace_id = $1 AND id = $2",
        rowmap::DELIVERY_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&s.reader)
        .await?
        .ok_or(StoreError::NotFound("delivery"))?;
    rowmap::delivery(&row)
}

pub(super) async fn list_deliveries(
    s: &SqlStore,
    ws: WorkspaceId,
    f: &DeliveryFilter,
) -> Result<Vec<Delivery>> {
    let mut b = SqlBuilder::new(format!(
        "SELECT {} FROM deliveries WHERE workspace_id = ",
        rowmap::DELIVERY_COLUMNS
    ));
    b.int(ws.0);
    if let Some(st) = f.status {
        b.push(" AND status = ").text(st.as_str());
    }
    if let Some(item) = f.item {
        b.push(" AND item_id = ").int(item.0);
    }
    let limit = if f.limit == 0 { 100 } else { f.limit.min(1000) };
    b.push(" ORDER BY id DESC LIMIT ").int(i64::from(limit));
    let rows = b.query().fetch_all(&s.reader).await?;
    rows.iter().map(rowmap::delivery).collect()
}

pub(super) async fn delivery_succeeded(
    s: &SqlStore,
    worker: &str,
    job: JobId,
    id: DeliveryId,
    now: Millis,
) -> Result<bool> {
    let mut tx = s.write_tx().await?;
    let ours = sqlx::query("DELETE FROM jobs WHERE id = $1 AND locked_by = $2")
        .bind(job.0)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    // Delivered is a fact whoever holds the job now; the receiver de-duplicates any
    // second attempt by the delivery key.
    sqlx::query(
        "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, last_error = NULL
         WHERE id = $2 AND status <> 'delivered'",
    )
    .bind(now)
    .bind(id.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ours)
}

pub(super) async fn delivery_failed(
    s: &SqlStore,
    worker: &str,
    job: JobId,
    id: DeliveryId,
    error: &str,
    retry_at: Option<Millis>,
    _now: Millis,
) -> Result<()> {
    let mut tx = s.write_tx().await?;
    let ours = match retry_at {
        Some(at) => sqlx::query(
            "UPDATE jobs SET locked_by = NULL, locked_until = NULL, run_at = $1, last_error = $2
             WHERE id = $3 AND locked_by = $4",
        )
        .bind(at)
        .bind(error)
        .bind(job.0)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        None => sqlx::query("DELETE FROM jobs WHERE id = $1 AND locked_by = $2")
            .bind(job.0)
            .bind(worker)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
    };
    if ours == 1 {
        let status = if retry_at.is_some() { "pending" } else { "failed" };
        sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = attempts + 1, last_error = $2
             WHERE id = $3 AND status <> 'delivered'",
        )
        .bind(status)
        .bind(error)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn retry_delivery(
    s: &SqlStore,
    ws: WorkspaceId,
    id: DeliveryId,
    now: Millis,
) -> Result<Delivery> {
    let mut tx = s.write_tx().await?;
    let item: Option<i64> = sqlx::query_scalar(
        "UPDATE deliveries SET status = 'pending', last_error = NULL
         WHERE workspace_id = $1 AND id = $2 AND status = 'failed' RETURNING item_id",
    )
    .bind(ws.0)
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(item) = item else {
        drop(tx);
        let d = delivery(s, ws, id).await?;
        return Err(StoreError::Conflict(format!(
            "delivery {} is {}, not failed",
            d.id,
            d.status.as_str()
        )));
    };
    sqlx::query(
        "INSERT INTO jobs (workspace_id, kind, delivery_id, item_id, run_at, max_attempts, created_at)
         VALUES ($1, 'deliver', $2, $3, $4, $5, $4)",
    )
    .bind(ws.0)
    .bind(id.0)
    .bind(item)
    .bind(now)
    .bind(super::jobs::DELIVER_MAX_ATTEMPTS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    delivery(s, ws, id).await
}
