//! Automation cards read: one row per member and automation, written when the member
//! acknowledges the card, so a reviewer is shown each card once before deciding.

use sqlx::Row;

use super::SqlStore;
use crate::*;

pub(super) async fn record_card_read(s: &SqlStore, ws: WorkspaceId, read: &CardRead) -> Result<bool> {
    // Only an automation (and version) of this workspace; the first acknowledgement is the
    // one kept, so acknowledging again changes nothing.
    let n = sqlx::query(
        "INSERT INTO card_reads (workspace_id, automation_id, user_id, version_id, read_at)
         SELECT a.workspace_id, a.id, u.id, v.id, $5
         FROM automations a
         JOIN users u ON u.workspace_id = a.workspace_id AND u.id = $3
         LEFT JOIN automation_versions v
           ON v.workspace_id = a.workspace_id AND v.automation_id = a.id AND v.id = $4
         WHERE a.workspace_id = $1 AND a.id = $2
         ON CONFLICT (workspace_id, user_id, automation_id) DO NOTHING",
    )
    .bind(ws.0)
    .bind(read.automation_id.0)
    .bind(read.user_id.0)
    .bind(read.version_id.map_or(0, |v| v.0))
    .bind(read.read_at)
    .execute(&s.writer)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(true);
    }
    let known: Option<i64> = sqlx::query_scalar(
        "SELECT a.id FROM automations a JOIN users u ON u.workspace_id = a.workspace_id AND u.id = $3
         WHERE a.workspace_id = $1 AND a.id = $2",
    )
    .bind(ws.0)
    .bind(read.automation_id.0)
    .bind(read.user_id.0)
    .fetch_optional(&s.writer)
    .await?;
    known
        .map(|_| false)
        .ok_or(StoreError::NotFound("automation or member"))
}

pub(super) async fn card_reads(s: &SqlStore, ws: WorkspaceId, user: UserId) -> Result<Vec<CardRead>> {
    sqlx::query(
        "SELECT automation_id, user_id, version_id, read_at FROM card_reads
         WHERE workspace_id = $1 AND user_id = $2 ORDER BY automation_id",
    )
    .bind(ws.0)
    .bind(user.0)
    .fetch_all(&s.reader)
    .await?
    .iter()
    .map(|r| {
        Ok(CardRead {
            automation_id: AutomationId(r.try_get("automation_id")?),
            user_id: UserId(r.try_get("user_id")?),
            version_id: r.try_get::<Option<i64>, _>("version_id")?.map(VersionId),
            read_at: r.try_get("read_at")?,
        })
    })
    .collect()
}
