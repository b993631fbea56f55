//! Scheduled work that runs once across instances.
//!
//! Why a unique key and not a lock: every instance computes the same (workspace, kind,
//! period key) for the current period, and the database's unique constraint picks exactly
//! one winner without any instance knowing about the others. The same statement lets an
//! instance take over a run whose claimer died (its lease ran out before it finished), so a
//! crash costs a retry, never a missed run; a finished run is never claimed again.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use crate::*;

const COLUMNS: &str =
    "id, workspace_id, kind, period_key, claimed_by, lease_until, attempts, created_at, finished_at, outcome";

fn run(row: &AnyRow) -> Result<ScheduledRun> {
    Ok(ScheduledRun {
        id: row.try_get("id")?,
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        kind: row.try_get("kind")?,
        period_key: row.try_get("period_key")?,
        claimed_by: row.try_get("claimed_by")?,
        lease_until: row.try_get("lease_until")?,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
        outcome: row.try_get("outcome")?,
    })
}

pub(super) async fn workspace_ids(s: &SqlStore) -> Result<Vec<WorkspaceId>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM workspaces ORDER BY id")
        .fetch_all(&s.reader)
        .await?;
    Ok(ids.into_iter().map(WorkspaceId).collect())
}

pub(super) async fn claim_scheduled_run(
    s: &SqlStore,
    ws: WorkspaceId,
    kind: &str,
    period_key: &str,
    worker: &str,
    lease_until: Millis,
    now: Millis,
) -> Result<Option<ScheduledRun>> {
    // One statement on both backends: the insert wins when nobody claimed the period; the
    // conditional update wins only when the earlier claim is unfinished and expired. On
    // PostgreSQL a concurrent claimer waits for the winner's row and then sees its fresh
    // lease, so it gets no row back.
    let row = sqlx::query(&format!(
        "INSERT INTO scheduled_runs (workspace_id, kind, period_key, claimed_by, lease_until, attempts, created_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6)
         ON CONFLICT (workspace_id, kind, period_key) DO UPDATE
            SET claimed_by = excluded.claimed_by, lease_until = excluded.lease_until,
                attempts = scheduled_runs.attempts + 1
            WHERE scheduled_runs.finished_at IS NULL AND scheduled_runs.lease_until < $6
         RETURNING {COLUMNS}"
    ))
    .bind(ws.0)
    .bind(kind)
    .bind(period_key)
    .bind(worker)
    .bind(lease_until)
    .bind(now)
    .fetch_optional(&s.writer)
    .await?;
    row.as_ref().map(run).transpose()
}

pub(super) async fn finish_scheduled_run(
    s: &SqlStore,
    ws: WorkspaceId,
    id: i64,
    worker: &str,
    outcome: &str,
    now: Millis,
) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE scheduled_runs SET finished_at = $1, outcome = $2
         WHERE workspace_id = $3 AND id = $4 AND claimed_by = $5 AND finished_at IS NULL",
    )
    .bind(now)
    .bind(outcome)
    .bind(ws.0)
    .bind(id)
    .bind(worker)
    .execute(&s.writer)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

pub(super) async fn scheduled_runs(s: &SqlStore, ws: WorkspaceId, kind: &str) -> Result<Vec<ScheduledRun>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scheduled_runs WHERE workspace_id = $1 AND kind = $2 ORDER BY created_at, id"
    ))
    .bind(ws.0)
    .bind(kind)
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(run).collect()
}

pub(super) async fn prune_scheduled_runs(
    s: &SqlStore,
    ws: WorkspaceId,
    kind: Option<&str>,
    before: Millis,
) -> Result<u64> {
    let done = match kind {
        None => {
            sqlx::query(
                "DELETE FROM scheduled_runs WHERE workspace_id = $1 AND finished_at IS NOT NULL AND created_at < $2",
            )
            .bind(ws.0)
            .bind(before)
            .execute(&s.writer)
            .await?
        }
        Some(kind) => {
            sqlx::query(
                "DELETE FROM scheduled_runs
                 WHERE workspace_id = $1 AND kind = $2 AND finished_at IS NOT NULL AND created_at < $3",
            )
            .bind(ws.0)
            .bind(kind)
            .bind(before)
            .execute(&s.writer)
            .await?
        }
    };
    Ok(done.rows_affected())
}
