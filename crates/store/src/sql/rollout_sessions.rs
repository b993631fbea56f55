//! Review sessions: the sampled items, and the votes, comments and decisions on them.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use crate::*;

pub(super) async fn create_review_session(
    s: &SqlStore,
    ws: WorkspaceId,
    new: &NewReviewSession,
    now: Millis,
) -> Result<ReviewSession> {
    let mut tx = s.write_tx().await?;
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(new.automation_id.0)
            .fetch_optional(&mut *tx)
            .await?;
    if found.is_none() {
        return Err(StoreError::NotFound("automation"));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO review_sessions (workspace_id, automation_id, title, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(ws.0)
    .bind(new.automation_id.0)
    .bind(&new.title)
    .bind(new.created_by.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    for (pos, (item, stratum)) in new.items.iter().enumerate() {
        // Only the automation's own items in this workspace can be sampled.
        let n = sqlx::query(
            "INSERT INTO review_session_items (session_id, workspace_id, item_id, stratum, position)
             SELECT $1, $2, i.id, $4, $5 FROM items i
             WHERE i.workspace_id = $2 AND i.id = $3 AND i.automation_id = $6",
        )
        .bind(id)
        .bind(ws.0)
        .bind(item.0)
        .bind(stratum)
        .bind(i64::try_from(pos).unwrap_or(i64::MAX))
        .bind(new.automation_id.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("item"));
        }
    }
    tx.commit().await?;
    review_session(s, ws, id).await
}

pub(super) async fn review_session(s: &SqlStore, ws: WorkspaceId, id: i64) -> Result<ReviewSession> {
    let row = sqlx::query(
        "SELECT id, automation_id, title, created_by, created_at, closed_at, closed_by, summary
         FROM review_sessions WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws.0)
    .bind(id)
    .fetch_optional(&s.reader)
    .await?
    .ok_or(StoreError::NotFound("review session"))?;
    let items = sqlx::query(
        "SELECT item_id, stratum, position FROM review_session_items
         WHERE workspace_id = $1 AND session_id = $2 ORDER BY position",
    )
    .bind(ws.0)
    .bind(id)
    .fetch_all(&s.reader)
    .await?
    .iter()
    .map(|r| {
        Ok(SessionItem {
            item_id: ItemId(r.try_get("item_id")?),
            stratum: r.try_get("stratum")?,
            position: r.try_get("position")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(ReviewSession {
        id: row.try_get("id")?,
        automation_id: AutomationId(row.try_get("automation_id")?),
        title: row.try_get("title")?,
        created_by: row.try_get::<Option<i64>, _>("created_by")?.map(UserId),
        created_at: row.try_get("created_at")?,
        items,
        closed_at: row.try_get("closed_at")?,
        closed_by: row.try_get::<Option<i64>, _>("closed_by")?.map(UserId),
        summary: row.try_get("summary")?,
    })
}

pub(super) async fn close_review_session(
    s: &SqlStore,
    ws: WorkspaceId,
    close: &CloseReviewSession,
    now: Millis,
) -> Result<ReviewSession> {
    let mut tx = s.write_tx().await?;
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT automation_id, closed_at FROM review_sessions WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws.0)
    .bind(close.session)
    .fetch_optional(&mut *tx)
    .await?;
    let (automation, closed_at) = row.ok_or(StoreError::NotFound("review session"))?;
    if closed_at.is_some() {
        return Err(StoreError::Conflict(
            "this review session is already closed".into(),
        ));
    }
    sqlx::query(
        "UPDATE review_sessions SET closed_at = $1, closed_by = $2, summary = $3
         WHERE workspace_id = $4 AND id = $5 AND closed_at IS NULL",
    )
    .bind(now)
    .bind(close.by.0)
    .bind(&close.summary)
    .bind(ws.0)
    .bind(close.session)
    .execute(&mut *tx)
    .await?;
    super::rollout::insert_event(&mut tx, ws, AutomationId(automation), &close.event, now).await?;
    tx.commit().await?;
    review_session(s, ws, close.session).await
}

pub(super) async fn list_review_sessions(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<Vec<ReviewSession>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM review_sessions WHERE workspace_id = $1 AND automation_id = $2 ORDER BY id DESC",
    )
    .bind(ws.0)
    .bind(automation.0)
    .fetch_all(&s.reader)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(review_session(s, ws, id).await?);
    }
    Ok(out)
}

const NOTE_COLUMNS: &str = "n.id, n.session_id, n.item_id, n.user_id, u.name AS user_name, n.kind, n.vote, \
     n.action, n.body, n.version_id, n.created_at";

fn note(r: &AnyRow) -> Result<SessionNote> {
    Ok(SessionNote {
        id: r.try_get("id")?,
        session_id: r.try_get("session_id")?,
        item_id: r.try_get::<Option<i64>, _>("item_id")?.map(ItemId),
        user_id: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
        user_name: r.try_get("user_name")?,
        kind: r.try_get("kind")?,
        vote: r.try_get("vote")?,
        action: r.try_get("action")?,
        body: r.try_get("body")?,
        version_id: r.try_get::<Option<i64>, _>("version_id")?.map(VersionId),
        created_at: r.try_get("created_at")?,
    })
}

async fn read_note<'e, E>(e: E, ws: WorkspaceId, id: i64) -> Result<SessionNote>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {NOTE_COLUMNS} FROM review_session_notes n
         LEFT JOIN users u ON u.id = n.user_id AND u.workspace_id = n.workspace_id
         WHERE n.workspace_id = $1 AND n.id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id)
        .fetch_optional(e)
        .await?
        .ok_or(StoreError::NotFound("session note"))?;
    note(&row)
}

pub(super) async fn add_session_note(
    s: &SqlStore,
    ws: WorkspaceId,
    session: i64,
    n: &NewSessionNote,
    now: Millis,
) -> Result<SessionNote> {
    let mut tx = s.write_tx().await?;
    let found: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, closed_at FROM review_sessions WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(session)
            .fetch_optional(&mut *tx)
            .await?;
    match found {
        None => return Err(StoreError::NotFound("review session")),
        Some((_, Some(_))) => {
            return Err(StoreError::Conflict(
                "this review session is closed; start a new one to go on".into(),
            ));
        }
        Some(_) => {}
    }
    if let Some(item) = n.item_id {
        let sampled: Option<i64> = sqlx::query_scalar(
            "SELECT item_id FROM review_session_items WHERE workspace_id = $1 AND session_id = $2 AND item_id = $3",
        )
        .bind(ws.0)
        .bind(session)
        .bind(item.0)
        .fetch_optional(&mut *tx)
        .await?;
        if sampled.is_none() {
            return Err(StoreError::NotFound("item in this session"));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO review_session_notes (workspace_id, session_id, item_id, user_id, kind, vote, action, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(ws.0)
    .bind(session)
    .bind(n.item_id.map(|i| i.0))
    .bind(n.user_id.0)
    .bind(&n.kind)
    .bind(n.vote.as_deref())
    .bind(n.action.as_deref())
    .bind(&n.body)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let out = read_note(&mut *tx, ws, id).await?;
    tx.commit().await?;
    Ok(out)
}

pub(super) async fn session_notes(s: &SqlStore, ws: WorkspaceId, session: i64) -> Result<Vec<SessionNote>> {
    let sql = format!(
        "SELECT {NOTE_COLUMNS} FROM review_session_notes n
         LEFT JOIN users u ON u.id = n.user_id AND u.workspace_id = n.workspace_id
         WHERE n.workspace_id = $1 AND n.session_id = $2 ORDER BY n.id"
    );
    let rows = sqlx::query(&sql)
        .bind(ws.0)
        .bind(session)
        .fetch_all(&s.reader)
        .await?;
    rows.iter().map(note).collect()
}

pub(super) async fn link_session_decision(
    s: &SqlStore,
    ws: WorkspaceId,
    note_id: i64,
    version: VersionId,
) -> Result<SessionNote> {
    let mut tx = s.write_tx().await?;
    // The version must belong to the session's automation.
    let n = sqlx::query(
        "UPDATE review_session_notes SET version_id = $1
         WHERE workspace_id = $2 AND id = $3 AND kind = 'decision'
           AND EXISTS (SELECT 1 FROM review_sessions rs JOIN automation_versions v
                         ON v.automation_id = rs.automation_id AND v.workspace_id = rs.workspace_id
                       WHERE rs.id = review_session_notes.session_id AND rs.workspace_id = $2 AND v.id = $1)",
    )
    .bind(version.0)
    .bind(ws.0)
    .bind(note_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound("decision of this automation's session"));
    }
    let out = read_note(&mut *tx, ws, note_id).await?;
    tx.commit().await?;
    Ok(out)
}
