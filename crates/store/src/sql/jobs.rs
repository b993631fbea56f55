//! The job queue: a table in the same database, so accepting an item and queueing its
//! processing commit together. Jobs are leased, not popped: a worker that dies leaves a
//! lease that runs out, and the job is due again.

use super::{Backend, Dialect, SqlStore, rowmap};
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

pub(super) async fn claim_retry(
    s: &SqlStore,
    worker: &str,
    lease_until: Millis,
    now: Millis,
) -> Result<Option<Job>> {
    let row = sqlx::query(s.dialect.claim_retry())
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(&s.writer)
        .await?;
    row.as_ref().map(rowmap::job).transpose()
}

impl Dialect {
    /// Lease one due processing job that has been claimed before (see `Store::claim_retry`).
    pub fn claim_retry(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => {
                "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM jobs
                              WHERE kind = 'process' AND attempts > 0 AND run_at <= $3
                                AND (locked_until IS NULL OR locked_until < $3)
                              ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING id, workspace_id, kind, item_id, delivery_id, attempts, max_attempts"
            }
            Backend::Sqlite => {
                "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM jobs
                              WHERE kind = 'process' AND attempts > 0 AND run_at <= $3
                                AND (locked_until IS NULL OR locked_until < $3)
                              ORDER BY run_at, id LIMIT 1)
                 RETURNING id, workspace_id, kind, item_id, delivery_id, attempts, max_attempts"
            }
        }
    }
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
    let rows: Vec<_> = deliveries.iter().map(|d| (ws, item, revision, d)).collect();
    insert_deliveries(tx, &rows, now).await
}

/// Rows per multi-row statement when storing results: at most nine parameters a row, well
/// under SQLite's limit of 32,766 (and PostgreSQL's 65,535).
const RESULT_CHUNK: usize = 500;

/// `($first, $first+1, ...)` for row `row` of `width` parameters each, numbered after
/// `fixed` parameters shared by every row; `extra` is appended inside the parentheses.
fn row_params(fixed: usize, width: usize, row: usize, extra: &str) -> String {
    let first = fixed + 1 + row * width;
    let ps: Vec<String> = (first..first + width).map(|n| format!("${n}")).collect();
    format!("({}{extra})", ps.join(", "))
}

/// Deliveries (workspace, item, revision, what) and a job for each, two statements for
/// the lot.
async fn insert_deliveries(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rows: &[(WorkspaceId, ItemId, i64, &NewDelivery)],
    now: Millis,
) -> Result<()> {
    for chunk in rows.chunks(RESULT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| row_params(1, 7, i, ", 'pending', $1"))
            .collect();
        let sql = format!(
            "INSERT INTO deliveries (workspace_id, item_id, revision, destination_index, destination, delivery_key,
                                     payload, status, created_at)
             VALUES {} RETURNING id, workspace_id, item_id",
            values.join(", ")
        );
        let mut q = sqlx::query_as::<_, (i64, i64, i64)>(&sql).bind(now);
        for (ws, item, revision, d) in chunk {
            q = q
                .bind(ws.0)
                .bind(item.0)
                .bind(*revision)
                .bind(d.destination_index)
                .bind(&d.destination)
                .bind(delivery_key(*ws, *item, *revision, d.destination_index))
                .bind(&d.payload);
        }
        let inserted = q.fetch_all(&mut **tx).await?;
        let values: Vec<String> = (0..inserted.len())
            .map(|i| {
                let first = 3 + 3 * i;
                format!(
                    "(${first}, 'deliver', ${}, ${}, $1, $2, $1)",
                    first + 1,
                    first + 2
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO jobs (workspace_id, kind, delivery_id, item_id, run_at, max_attempts, created_at) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(now).bind(DELIVER_MAX_ATTEMPTS);
        for (id, ws, item) in &inserted {
            q = q.bind(*ws).bind(*id).bind(*item);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

pub(super) async fn replace_reasons(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ws: WorkspaceId,
    item: ItemId,
    codes: &[String],
) -> Result<()> {
    replace_reasons_of(tx, &[(ws, item, codes)]).await
}

/// Replace the reason codes of several items (each item's codes once).
async fn replace_reasons_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    items: &[(WorkspaceId, ItemId, &[String])],
) -> Result<()> {
    for chunk in items.chunks(RESULT_CHUNK) {
        let keys: Vec<String> = (0..chunk.len()).map(|i| row_params(0, 2, i, "")).collect();
        let sql = format!(
            "DELETE FROM item_reasons WHERE (workspace_id, item_id) IN (VALUES {})",
            keys.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (ws, item, _) in chunk {
            q = q.bind(ws.0).bind(item.0);
        }
        q.execute(&mut **tx).await?;
    }
    let mut rows: Vec<(WorkspaceId, ItemId, &str)> = Vec::new();
    for (ws, item, codes) in items {
        let mut seen: Vec<&str> = Vec::new();
        for code in codes.iter().map(String::as_str) {
            if !seen.contains(&code) {
                seen.push(code);
                rows.push((*ws, *item, code));
            }
        }
    }
    for chunk in rows.chunks(RESULT_CHUNK) {
        let values: Vec<String> = (0..chunk.len()).map(|i| row_params(0, 3, i, "")).collect();
        let sql = format!(
            "INSERT INTO item_reasons (item_id, workspace_id, code) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (ws, item, code) in chunk {
            q = q.bind(item.0).bind(ws.0).bind(*code);
        }
        q.execute(&mut **tx).await?;
    }
    // The same codes on the item row (`items.reason_codes`, for the inbox's count by
    // reason): one statement per chunk, a CASE over the chunk's ids.
    for chunk in items.chunks(RESULT_CHUNK) {
        let mut cases = String::new();
        let mut keys = Vec::with_capacity(chunk.len());
        for i in 0..chunk.len() {
            let p = 1 + 4 * i;
            cases.push_str(&format!(" WHEN ${p} THEN ${}", p + 1));
            keys.push(format!("(${}, ${})", p + 2, p + 3));
        }
        let sql = format!(
            "UPDATE items SET reason_codes = CASE id{cases} END WHERE (workspace_id, id) IN (VALUES {})",
            keys.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (ws, item, codes) in chunk {
            q = q
                .bind(item.0)
                .bind(reason_codes_text(codes))
                .bind(ws.0)
                .bind(item.0);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// An item's reason codes as `items.reason_codes` keeps them: sorted, once each,
/// space-separated.
pub(super) fn reason_codes_text<S: AsRef<str>>(codes: &[S]) -> String {
    let mut c: Vec<&str> = codes.iter().map(AsRef::as_ref).collect();
    c.sort_unstable();
    c.dedup();
    c.join(" ")
}

/// Store a batch's results: one transaction, and a fixed number of statements whatever
/// the batch size.
///
/// Why: on PostgreSQL every statement is a round trip, and the worker waits for each one
/// inside the transaction. Item by item, a batch of 64 took some 200 round trips (the
/// result, its reasons, each delivery and its job); the worker spent more time waiting on
/// them than running the engine, and a second instance could add little.
pub(super) async fn complete_processing(
    s: &SqlStore,
    worker: &str,
    done: &[Processed],
    now: Millis,
) -> Result<Vec<JobId>> {
    let mut tx = s.write_tx().await?;
    // Finishing the jobs proves their leases are still ours; if another instance took a
    // job over, its result wins and this one is dropped.
    let mut ours = std::collections::HashSet::with_capacity(done.len());
    for chunk in done.chunks(RESULT_CHUNK) {
        let params: Vec<String> = (0..chunk.len()).map(|i| row_params(1, 2, i, "")).collect();
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
    let mine: Vec<&Processed> = done.iter().filter(|p| ours.contains(&p.job_id.0)).collect();
    // The item's new revision, for those still waiting for a result (one decided by a
    // person meanwhile keeps that decision).
    let mut revisions = std::collections::HashMap::with_capacity(mine.len());
    for chunk in mine.chunks(RESULT_CHUNK) {
        let values: Vec<String> = (0..chunk.len()).map(|i| row_params(1, 8, i, "")).collect();
        let sql = format!(
            "WITH v (item_id, ws, new_status, new_version, new_outcome, new_confidence, new_result, bump)
                  AS (VALUES {})
             UPDATE items SET status = v.new_status, version_id = v.new_version, outcome = v.new_outcome,
                              confidence = v.new_confidence, final_result = v.new_result,
                              revision = items.revision + v.bump, processed_at = $1
             FROM v
             WHERE items.workspace_id = v.ws AND items.id = v.item_id AND items.status IN ('queued', 'failed')
             RETURNING id, revision",
            values.join(", ")
        );
        let mut q = sqlx::query_as::<_, (i64, i64)>(&sql).bind(now);
        for p in chunk {
            q = q
                .bind(p.item_id.0)
                .bind(p.workspace_id.0)
                .bind(p.status.as_str())
                .bind(p.version_id.0)
                .bind(&p.outcome);
            // See `super::NULL_DOUBLE`: a missing confidence is bound as a NULL that
            // PostgreSQL reads as a double.
            q = match p.confidence {
                Some(c) => q.bind(c),
                None => q.bind(super::NULL_DOUBLE),
            };
            q = q
                .bind(p.final_result.as_deref())
                .bind(i64::from(p.final_result.is_some()));
        }
        revisions.extend(q.fetch_all(&mut *tx).await?);
    }
    // `remove`: an item counts once even if two of its jobs were in the batch.
    let stored: Vec<(&Processed, i64)> = mine
        .iter()
        .filter_map(|p| revisions.remove(&p.item_id.0).map(|r| (*p, r)))
        .collect();
    let reasons: Vec<(WorkspaceId, ItemId, &[String])> = stored
        .iter()
        .map(|(p, _)| (p.workspace_id, p.item_id, p.reason_codes.as_slice()))
        .collect();
    replace_reasons_of(&mut tx, &reasons).await?;
    let deliveries: Vec<(WorkspaceId, ItemId, i64, &NewDelivery)> = stored
        .iter()
        .filter(|(p, _)| p.final_result.is_some())
        .flat_map(|(p, revision)| {
            p.deliveries
                .iter()
                .map(move |d| (p.workspace_id, p.item_id, *revision, d))
        })
        .collect();
    insert_deliveries(&mut tx, &deliveries, now).await?;
    tx.commit().await?;
    Ok(mine.iter().map(|p| p.job_id).collect())
}

pub(super) async fn fail_job(
    s: &SqlStore,
    worker: &str,
    job: JobId,
    error: &str,
    retry_at: Option<Millis>,
    now: Millis,
) -> Result<()> {
    let mut tx = s.write_tx().await?;
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

pub(super) async fn renew_lease(s: &SqlStore, worker: &str, job: JobId, lease_until: Millis) -> Result<bool> {
    // Never shortens a lease, and never revives one that ran out and was taken over:
    // the row must still name this worker.
    let renewed = sqlx::query(
        "UPDATE jobs SET locked_until = CASE WHEN locked_until > $1 THEN locked_until ELSE $1 END
         WHERE id = $2 AND locked_by = $3",
    )
    .bind(lease_until)
    .bind(job.0)
    .bind(worker)
    .execute(&s.writer)
    .await?
    .rows_affected();
    Ok(renewed == 1)
}

pub(super) async fn queue_depth(s: &SqlStore) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(&s.reader)
        .await?)
}
