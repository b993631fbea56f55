//! The job queue: a table in the same database, so accepting an item and queueing its
//! processing commit together. Jobs are leased, not popped: a worker that dies leaves a
//! lease that runs out, and the job is due again.

use super::{SqlStore, rowmap};
use crate::*;

pub(super) const DELIVER_MAX_ATTEMPTS: i64 = 8;

pub(super) async fn claim_jobs(
    s: &SqlStore,
    worker: &str,
    limit: u32,
    lease_until: Millis,
    now: Millis,
) -> Result<Vec<Job>> {
    let rows = sqlx::query(s.dialect.claim_jobs())
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&s.writer)
        .await?;
    let mut jobs: Vec<Job> = rows.iter().map(rowmap::job).collect::<Result<_>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// The delivery key is stable across retries and instances: the receiver de-duplicates
/// on it, which is what makes delivery exactly-once as the receiver sees it.
pub(super) fn delivery_key(ws: WorkspaceId, item: ItemId, revision: i64, destination: i64) -> String {
    format!("tdm-{}-{}-r{}-d{}", ws.0, item.0, revision, destination)
}

/// Insert deliveries for an item's new revision, each with its job.
pub(super) async fn enqueue_deliveries(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ws: WorkspaceId,
    item: ItemId,
    revision: i64,
    deliveries: &[NewDelivery],
    now: Millis,
) -> Result<()> {
    for d in deliveries {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deliveries (workspace_id, item_id, revision, destination_index, destination, delivery_key,
                                     payload, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
        )
        .bind(ws.0)
        .bind(item.0)
        .bind(revision)
        .bind(d.destination_index)
        .bind(&d.destination)
        .bind(delivery_key(ws, item, revision, d.destination_index))
        .bind(&d.payload)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO jobs (workspace_id, kind, delivery_id, item_id, run_at, max_attempts, created_at)
             VALUES ($1, 'deliver', $2, $3, $4, $5, $4)",
        )
        .bind(ws.0)
        .bind(id)
        .bind(item.0)
        .bind(now)
        .bind(DELIVER_MAX_ATTEMPTS)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn replace_reasons(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ws: WorkspaceId,
    item: ItemId,
    codes: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM item_reasons WHERE workspace_id = $1 AND item_id = $2")
        .bind(ws.0)
        .bind(item.0)
        .execute(&mut **tx)
        .await?;
    let mut seen: Vec<&String> = Vec::new();
    for code in codes {
        if seen.contains(&code) {
            continue;
        }
        seen.push(code);
        sqlx::query("INSERT INTO item_reasons (item_id, workspace_id, code) VALUES ($1, $2, $3)")
            .bind(item.0)
            .bind(ws.0)
            .bind(code)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(super) async fn complete_processing(
    s: &SqlStore,
    worker: &str,
    done: &[Processed],
    now: Millis,
) -> Result<Vec<JobId>> {
    let mut tx = s.writer.begin().await?;
    let mut completed = Vec::with_capacity(done.len());
    // Finishing the jobs proves their leases are still ours; if another instance took a
    // job over, its result wins and this one is dropped. One statement for the batch:
    // on PostgreSQL each statement is a round trip.
    let mut ours = std::collections::HashSet::with_capacity(done.len());
    for chunk in done.chunks(500) {
        let params: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${})", 2 + 2 * i, 3 + 2 * i))
            .collect();
        let sql = format!(
            "DELETE FROM jobs WHERE locked_by = $1 AND (id, workspace_id) IN (VALUES {}) RETURNING id",
            params.join(", ")
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(worker);
        for p in chunk {
            q = q.bind(p.job_id.0).bind(p.workspace_id.0);
        }
        ours.extend(q.fetch_all(&mut *tx).await?);
    }
    for p in done {
        if !ours.contains(&p.job_id.0) {
            continue;
        }
        let bump = i64::from(p.final_result.is_some());
        let revision = sqlx::query_scalar::<_, i64>(
            "UPDATE items SET status = $1, version_id = $2, outcome = $3, confidence = $4, final_result = $5,
                              revision = revision + $6, processed_at = $7
             WHERE workspace_id = $8 AND id = $9 AND status IN ('queued', 'failed')
             RETURNING revision",
        )
        .bind(p.status.as_str())
        .bind(p.version_id.0)
        .bind(&p.outcome);
        // See `super::NULL_DOUBLE`: a missing confidence is bound as a NULL that
        // PostgreSQL reads as a double.
        let revision = match p.confidence {
            Some(c) => revision.bind(c),
            None => revision.bind(super::NULL_DOUBLE),
        };
        let revision: Option<i64> = revision
            .bind(p.final_result.as_deref())
            .bind(bump)
            .bind(now)
            .bind(p.workspace_id.0)
            .bind(p.item_id.0)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(revision) = revision {
            replace_reasons(&mut tx, p.workspace_id, p.item_id, &p.reason_codes).await?;
            if p.final_result.is_some() {
                enqueue_deliveries(&mut tx, p.workspace_id, p.item_id, revision, &p.deliveries, now).await?;
            }
        }
        completed.push(p.job_id);
    }
    tx.commit().await?;
    Ok(completed)
}

pub(super) async fn fail_job(
    s: &SqlStore,
    worker: &str,
    job: JobId,
    error: &str,
    retry_at: Option<Millis>,
    now: Millis,
) -> Result<()> {
    let mut tx = s.writer.begin().await?;
    match retry_at {
        Some(at) => {
            sqlx::query(
                "UPDATE jobs SET locked_by = NULL, locked_until = NULL, run_at = $1, last_error = $2
                 WHERE id = $3 AND locked_by = $4",
            )
            .bind(at)
            .bind(error)
            .bind(job.0)
            .bind(worker)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            // Out of attempts: the item goes to the inbox as failed, with the error, so a
            // person sees it instead of it vanishing.
            let row: Option<(i64, Option<i64>, String)> = sqlx::query_as(
                "DELETE FROM jobs WHERE id = $1 AND locked_by = $2 RETURNING workspace_id, item_id, kind",
            )
            .bind(job.0)
            .bind(worker)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((ws, Some(item), kind)) = row
                && kind == "process"
            {
                let changed = sqlx::query(
                    "UPDATE items SET status = 'failed', outcome = $1, processed_at = $2
                     WHERE workspace_id = $3 AND id = $4 AND status = 'queued'",
                )
                .bind(serde_json::json!({ "error": error }).to_string())
                .bind(now)
                .bind(ws)
                .bind(item)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 1 {
                    replace_reasons(
                        &mut tx,
                        WorkspaceId(ws),
                        ItemId(item),
                        &["engine_error".to_owned()],
                    )
                    .await?;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn release_jobs(s: &SqlStore, worker: &str) -> Result<u64> {
    // The attempt did not happen, so it is not counted.
    Ok(sqlx::query(
        "UPDATE jobs SET locked_by = NULL, locked_until = NULL, attempts = attempts - 1 WHERE locked_by = $1",
    )
    .bind(worker)
    .execute(&s.writer)
    .await?
    .rows_affected())
}

pub(super) async fn queue_depth(s: &SqlStore) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(&s.reader)
        .await?)
}
