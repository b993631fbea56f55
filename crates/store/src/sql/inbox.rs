//! The exception inbox beyond deciding: review policies (priority, SLA), claims,
//! escalations, the notification log, "this looks wrong" reports, reviewer statistics and
//! server-held secrets.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{SqlStore, items};
use crate::*;

pub(super) async fn set_review_policy(s: &SqlStore, p: &ReviewPolicyRow, now: Millis) -> Result<()> {
    // The automation must be this workspace's.
    let owned: Option<i64> =
        sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
            .bind(p.workspace_id.0)
            .bind(p.automation_id.0)
            .fetch_optional(&s.writer)
            .await?;
    if owned.is_none() {
        return Err(StoreError::NotFound("automation"));
    }
    sqlx::query(
        "INSERT INTO review_policies (automation_id, workspace_id, priority, sla_ms, escalate_to, notify, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (automation_id) DO UPDATE SET priority = excluded.priority, sla_ms = excluded.sla_ms,
             escalate_to = excluded.escalate_to, notify = excluded.notify, updated_at = excluded.updated_at",
    )
    .bind(p.automation_id.0)
    .bind(p.workspace_id.0)
    .bind(p.priority)
    .bind(p.sla_ms)
    .bind(&p.escalate_to)
    .bind(&p.notify)
    .bind(now)
    .execute(&s.writer)
    .await?;
    Ok(())
}

fn policy(row: &AnyRow) -> Result<ReviewPolicyRow> {
    Ok(ReviewPolicyRow {
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        automation_id: AutomationId(row.try_get("automation_id")?),
        priority: row.try_get("priority")?,
        sla_ms: row.try_get("sla_ms")?,
        escalate_to: row.try_get("escalate_to")?,
        notify: row.try_get("notify")?,
    })
}

const POLICY_COLUMNS: &str = "workspace_id, automation_id, priority, sla_ms, escalate_to, notify";

pub(super) async fn review_policy(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<Option<ReviewPolicyRow>> {
    let row = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM review_policies WHERE workspace_id = $1 AND automation_id = $2"
    ))
    .bind(ws.0)
    .bind(automation.0)
    .fetch_optional(&s.reader)
    .await?;
    row.as_ref().map(policy).transpose()
}

pub(super) async fn notifying_policies(s: &SqlStore) -> Result<Vec<ReviewPolicyRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM review_policies WHERE notify <> '[]' OR escalate_to <> '[]'
         ORDER BY workspace_id, automation_id"
    ))
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(policy).collect()
}

const CLAIM_SELECT: &str = "SELECT c.item_id, c.user_id, u.name AS user_name, c.claimed_at, c.expires_at
     FROM item_claims c JOIN users u ON u.id = c.user_id AND u.workspace_id = c.workspace_id";

fn claim(row: &AnyRow) -> Result<Claim> {
    Ok(Claim {
        item_id: ItemId(row.try_get("item_id")?),
        user_id: UserId(row.try_get("user_id")?),
        user_name: row.try_get("user_name")?,
        claimed_at: row.try_get("claimed_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub(super) async fn claim_item(
    s: &SqlStore,
    ws: WorkspaceId,
    item: ItemId,
    user: UserId,
    until: Millis,
    now: Millis,
) -> Result<ClaimOutcome> {
    let mut tx = s.write_tx().await?;
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM items WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(item.0)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(status) = status else {
        return Err(StoreError::NotFound("item"));
    };
    // A person holds at most one item: opening this one gives back any other they held.
    sqlx::query("DELETE FROM item_claims WHERE workspace_id = $1 AND user_id = $2 AND item_id <> $3")
        .bind(ws.0)
        .bind(user.0)
        .bind(item.0)
        .execute(&mut *tx)
        .await?;
    if !matches!(status.as_str(), "needs_review" | "failed") {
        tx.commit().await?;
        return Ok(ClaimOutcome::NotOpen);
    }
    // Take the claim when it is free, expired or already ours; the WHERE on the update
    // makes this one statement decide between two reviewers arriving together.
    let taken = sqlx::query(
        "INSERT INTO item_claims (item_id, workspace_id, user_id, claimed_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (item_id) DO UPDATE SET user_id = excluded.user_id,
             claimed_at = CASE WHEN item_claims.user_id = excluded.user_id AND item_claims.expires_at > $4
                               THEN item_claims.claimed_at ELSE excluded.claimed_at END,
             expires_at = excluded.expires_at
         WHERE item_claims.user_id = excluded.user_id OR item_claims.expires_at <= $4",
    )
    .bind(item.0)
    .bind(ws.0)
    .bind(user.0)
    .bind(now)
    .bind(until)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    let row = sqlx::query(&format!(
        "{CLAIM_SELECT} WHERE c.workspace_id = $1 AND c.item_id = $2"
    ))
    .bind(ws.0)
    .bind(item.0)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let c = claim(&row)?;
    Ok(if taken {
        ClaimOutcome::Claimed(c)
    } else {
        ClaimOutcome::HeldBy(c)
    })
}

pub(super) async fn release_claim(s: &SqlStore, ws: WorkspaceId, item: ItemId, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM item_claims WHERE workspace_id = $1 AND item_id = $2 AND user_id = $3")
        .bind(ws.0)
        .bind(item.0)
        .bind(user.0)
        .execute(&s.writer)
        .await?;
    Ok(())
}

/// Give back every item `user` holds (they went back to the inbox or signed out).
pub(super) async fn release_claims(s: &SqlStore, ws: WorkspaceId, user: UserId) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM item_claims WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws.0)
            .bind(user.0)
            .execute(&s.writer)
            .await?
            .rows_affected(),
    )
}

pub(super) async fn active_claims(
    s: &SqlStore,
    ws: WorkspaceId,
    ids: &[ItemId],
    now: Millis,
) -> Result<Vec<Claim>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = items::SqlBuilder::new(format!("{CLAIM_SELECT} WHERE c.workspace_id = "));
    b.int(ws.0)
        .push(" AND c.expires_at > ")
        .int(now)
        .push(" AND c.item_id IN (");
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            b.push(", ");
        }
        b.int(id.0);
    }
    // A claim on an item already decided holds nothing: it must not read as someone still
    // working on it beside "already decided".
    b.push(
        ") AND EXISTS (SELECT 1 FROM items i WHERE i.id = c.item_id AND i.workspace_id = c.workspace_id
           AND i.status IN ('needs_review', 'failed')) ORDER BY c.item_id",
    );
    b.query().fetch_all(&s.reader).await?.iter().map(claim).collect()
}

pub(super) async fn overdue_items(s: &SqlStore, now: Millis, limit: u32) -> Result<Vec<OverdueItem>> {
    let rows = sqlx::query(
        "SELECT i.workspace_id, i.id, i.automation_id, i.created_at + p.sla_ms AS due_at
         FROM items i JOIN review_policies p ON p.automation_id = i.automation_id AND p.workspace_id = i.workspace_id
         WHERE i.status IN ('needs_review', 'failed') AND p.sla_ms IS NOT NULL AND i.created_at + p.sla_ms <= $1
           AND NOT EXISTS (SELECT 1 FROM item_escalations e WHERE e.item_id = i.id)
         ORDER BY i.created_at + p.sla_ms, i.id LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OverdueItem {
                workspace_id: WorkspaceId(r.try_get("workspace_id")?),
                item_id: ItemId(r.try_get("id")?),
                automation_id: AutomationId(r.try_get("automation_id")?),
                due_at: r.try_get("due_at")?,
            })
        })
        .collect()
}

pub(super) async fn mark_escalated(
    s: &SqlStore,
    ws: WorkspaceId,
    item: ItemId,
    due_at: Millis,
    detail: &str,
    now: Millis,
) -> Result<bool> {
    let mut tx = s.write_tx().await?;
    let inserted = sqlx::query(
        "INSERT INTO item_escalations (item_id, workspace_id, due_at, escalated_at, detail)
         SELECT id, workspace_id, $3, $4, $5 FROM items WHERE workspace_id = $1 AND id = $2
         ON CONFLICT (item_id) DO NOTHING",
    )
    .bind(ws.0)
    .bind(item.0)
    .bind(due_at)
    .bind(now)
    .bind(detail)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    if inserted {
        sqlx::query(
            "INSERT INTO audit_events (workspace_id, item_id, actor_id, kind, detail, created_at)
             VALUES ($1, $2, NULL, 'escalated', $3, $4)",
        )
        .bind(ws.0)
        .bind(item.0)
        .bind(detail)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

pub(super) async fn escalated_items(s: &SqlStore, ws: WorkspaceId, ids: &[ItemId]) -> Result<Vec<ItemId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = items::SqlBuilder::new("SELECT item_id FROM item_escalations WHERE workspace_id = ");
    b.int(ws.0).push(" AND item_id IN (");
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            b.push(", ");
        }
        b.int(id.0);
    }
    b.push(")");
    b.query()
        .fetch_all(&s.reader)
        .await?
        .iter()
        .map(|r| Ok(ItemId(r.try_get("item_id")?)))
        .collect()
}

pub(super) async fn record_notification(
    s: &SqlStore,
    ws: WorkspaceId,
    n: &NewNotification,
    now: Millis,
) -> Result<i64> {
    let ids: Vec<i64> = n.item_ids.iter().map(|i| i.0).collect();
    let status = match (&n.error, &n.retry) {
        (None, _) => NotificationStatus::Sent,
        (Some(_), Some(_)) => NotificationStatus::Retrying,
        (Some(_), None) => NotificationStatus::Failed,
    };
    let (next, payload) = match (&n.error, &n.retry) {
        (Some(_), Some((at, payload))) => (Some(*at), Some(payload.as_str())),
        _ => (None, None),
    };
    Ok(sqlx::query_scalar(
        "INSERT INTO notifications (workspace_id, automation_id, kind, channel, item_ids, error,
             created_at, status, attempts, last_attempt_at, next_attempt_at, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $7, $9, $10) RETURNING id",
    )
    .bind(ws.0)
    .bind(n.automation_id.map(|a| a.0))
    .bind(&n.kind)
    .bind(&n.channel)
    .bind(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
    .bind(n.error.as_deref())
    .bind(now)
    .bind(status.as_str())
    .bind(next)
    .bind(payload)
    .fetch_one(&s.writer)
    .await?)
}

fn notification_row(r: &AnyRow) -> Result<NotificationRow> {
    let ids: String = r.try_get("item_ids")?;
    let ids: Vec<i64> = serde_json::from_str(&ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let status: String = r.try_get("status")?;
    Ok(NotificationRow {
        id: r.try_get("id")?,
        automation_id: r.try_get::<Option<i64>, _>("automation_id")?.map(AutomationId),
        kind: r.try_get("kind")?,
        channel: r.try_get("channel")?,
        item_ids: ids.into_iter().map(ItemId).collect(),
        status: NotificationStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("notification status {status:?}")))?,
        attempts: r.try_get("attempts")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        last_attempt_at: r.try_get("last_attempt_at")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
    })
}

pub(super) async fn list_notifications(
    s: &SqlStore,
    ws: WorkspaceId,
    status: Option<NotificationStatus>,
    limit: u32,
) -> Result<Vec<NotificationRow>> {
    let columns = "id, automation_id, kind, channel, item_ids, status, attempts, error, created_at,
         last_attempt_at, next_attempt_at";
    let limit = i64::from(limit.clamp(1, 1000));
    let rows = match status {
        None => {
            sqlx::query(&format!(
                "SELECT {columns} FROM notifications WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(ws.0)
            .bind(limit)
            .fetch_all(&s.reader)
            .await?
        }
        Some(st) => {
            sqlx::query(&format!(
                "SELECT {columns} FROM notifications WHERE workspace_id = $1 AND status = $2
                 ORDER BY id DESC LIMIT $3"
            ))
            .bind(ws.0)
            .bind(st.as_str())
            .bind(limit)
            .fetch_all(&s.reader)
            .await?
        }
    };
    rows.iter().map(notification_row).collect()
}

pub(super) async fn due_notifications(
    s: &SqlStore,
    ws: WorkspaceId,
    now: Millis,
    limit: u32,
) -> Result<Vec<DueNotification>> {
    let rows = sqlx::query(
        "SELECT id, attempts, next_attempt_at, payload FROM notifications
         WHERE workspace_id = $1 AND status = 'retrying' AND next_attempt_at <= $2
         ORDER BY next_attempt_at, id LIMIT $3",
    )
    .bind(ws.0)
    .bind(now)
    .bind(i64::from(limit.clamp(1, 1000)))
    .fetch_all(&s.writer)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DueNotification {
                id: r.try_get("id")?,
                attempts: r.try_get("attempts")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                payload: r.try_get::<Option<String>, _>("payload")?.unwrap_or_default(),
            })
        })
        .collect()
}

pub(super) async fn claim_notification(
    s: &SqlStore,
    ws: WorkspaceId,
    due: &DueNotification,
    lease_until: Millis,
    now: Millis,
) -> Result<bool> {
    // Compare-and-set on what was read: only one instance moves it on.
    let done = sqlx::query(
        "UPDATE notifications SET attempts = attempts + 1, last_attempt_at = $1, next_attempt_at = $2
         WHERE workspace_id = $3 AND id = $4 AND status = 'retrying' AND attempts = $5
           AND next_attempt_at = $6",
    )
    .bind(now)
    .bind(lease_until)
    .bind(ws.0)
    .bind(due.id)
    .bind(due.attempts)
    .bind(due.next_attempt_at)
    .execute(&s.writer)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn finish_notification(
    s: &SqlStore,
    ws: WorkspaceId,
    id: i64,
    error: Option<&str>,
    next: Option<Millis>,
) -> Result<()> {
    let status = match (error, next) {
        (None, _) => NotificationStatus::Sent,
        (Some(_), Some(_)) => NotificationStatus::Retrying,
        (Some(_), None) => NotificationStatus::Failed,
    };
    let keep_payload = status == NotificationStatus::Retrying;
    let done = sqlx::query(
        "UPDATE notifications SET status = $1, error = $2, next_attempt_at = $3,
             payload = CASE WHEN $4 = 1 THEN payload ELSE NULL END
         WHERE workspace_id = $5 AND id = $6",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(if keep_payload { next } else { None })
    .bind(i64::from(keep_payload))
    .bind(ws.0)
    .bind(id)
    .execute(&s.writer)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("notification"));
    }
    Ok(())
}

pub(super) async fn last_notification_at(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    kind: &str,
) -> Result<Option<Millis>> {
    Ok(sqlx::query_scalar(
        "SELECT MAX(created_at) FROM notifications WHERE workspace_id = $1 AND automation_id = $2 AND kind = $3",
    )
    .bind(ws.0)
    .bind(automation.0)
    .bind(kind)
    .fetch_one(&s.reader)
    .await?)
}

pub(super) async fn report_wrong(
    s: &SqlStore,
    ws: WorkspaceId,
    r: &NewWrongReport,
    now: Millis,
) -> Result<Item> {
    let mut tx = s.write_tx().await?;
    // Only a result nobody looked at can be an escaped error; the guard also makes two
    // reports of the same result count once.
    let automation: Option<i64> = sqlx::query_scalar(
        "UPDATE items SET status = 'needs_review', decided_at = NULL, decided_by = NULL
         WHERE workspace_id = $1 AND id = $2 AND status = 'auto_accepted' RETURNING automation_id",
    )
    .bind(ws.0)
    .bind(r.item_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(automation) = automation else {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM items WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(r.item_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        return Err(match status.as_deref() {
            None => StoreError::NotFound("item"),
            Some("needs_review" | "failed") => {
                StoreError::Conflict("this item is already in the inbox".into())
            }
            Some(_) => StoreError::Conflict(
                "only a result accepted automatically can be sent back; a person already decided this one"
                    .into(),
            ),
        });
    };
    sqlx::query(
        "INSERT INTO escaped_errors (workspace_id, item_id, automation_id, reporter_id, reporter, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ws.0)
    .bind(r.item_id.0)
    .bind(automation)
    .bind(r.reporter_id.map(|u| u.0))
    .bind(&r.reporter)
    .bind(&r.reason)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO item_reasons (item_id, workspace_id, code) VALUES ($1, $2, 'reported_wrong') ON CONFLICT DO NOTHING")
        .bind(r.item_id.0)
        .bind(ws.0)
        .execute(&mut *tx)
        .await?;
    // And on the item row, beside its other codes (the inbox counts by reason from there).
    sqlx::query(
        "UPDATE items SET reason_codes = CASE WHEN reason_codes = '' THEN 'reported_wrong'
                                              ELSE reason_codes || ' reported_wrong' END
         WHERE workspace_id = $1 AND id = $2
           AND ' ' || reason_codes || ' ' NOT LIKE '% reported_wrong %'",
    )
    .bind(ws.0)
    .bind(r.item_id.0)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({ "reason": r.reason, "reporter": r.reporter }).to_string();
    sqlx::query(
        "INSERT INTO audit_events (workspace_id, item_id, actor_id, kind, detail, created_at)
         VALUES ($1, $2, $3, 'reported_wrong', $4, $5)",
    )
    .bind(ws.0)
    .bind(r.item_id.0)
    .bind(r.reporter_id.map(|u| u.0))
    .bind(&detail)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let item = items::item(&mut *tx, ws, r.item_id).await?;
    tx.commit().await?;
    Ok(item)
}

/// The "this looks wrong" reports on these items, oldest first.
pub(super) async fn wrong_reports(
    s: &SqlStore,
    ws: WorkspaceId,
    ids: &[ItemId],
) -> Result<Vec<EscapedError>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = items::SqlBuilder::new(
        "SELECT id, item_id, automation_id, reporter_id, reporter, reason, created_at FROM escaped_errors
         WHERE workspace_id = ",
    );
    b.int(ws.0).push(" AND item_id IN (");
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            b.push(", ");
        }
        b.int(id.0);
    }
    b.push(") ORDER BY id");
    b.query()
        .fetch_all(&s.reader)
        .await?
        .iter()
        .map(escaped_row)
        .collect()
}

fn escaped_row(r: &AnyRow) -> Result<EscapedError> {
    Ok(EscapedError {
        id: r.try_get("id")?,
        item_id: ItemId(r.try_get("item_id")?),
        automation_id: AutomationId(r.try_get("automation_id")?),
        reporter_id: r.try_get::<Option<i64>, _>("reporter_id")?.map(UserId),
        reporter: r.try_get("reporter")?,
        reason: r.try_get("reason")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(super) async fn escaped_errors(
    s: &SqlStore,
    ws: WorkspaceId,
    since: Millis,
) -> Result<Vec<EscapedError>> {
    let rows = sqlx::query(
        "SELECT id, item_id, automation_id, reporter_id, reporter, reason, created_at FROM escaped_errors
         WHERE workspace_id = $1 AND created_at >= $2 ORDER BY id",
    )
    .bind(ws.0)
    .bind(since)
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(escaped_row).collect()
}

pub(super) async fn decision_stats(
    s: &SqlStore,
    ws: WorkspaceId,
    since: Millis,
) -> Result<Vec<DecisionStat>> {
    let rows = sqlx::query(
        "SELECT e.actor_id, u.name AS actor_name, e.kind, e.seconds, e.created_at
         FROM audit_events e JOIN users u ON u.id = e.actor_id AND u.workspace_id = e.workspace_id
         WHERE e.workspace_id = $1 AND e.created_at >= $2 AND e.kind IN ('approved', 'corrected', 'rejected')
         ORDER BY e.created_at, e.id",
    )
    .bind(ws.0)
    .bind(since)
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DecisionStat {
                actor_id: UserId(r.try_get("actor_id")?),
                actor_name: r.try_get("actor_name")?,
                kind: r.try_get("kind")?,
                seconds: r.try_get("seconds")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub(super) async fn server_secret(s: &SqlStore, name: &str, candidate: &str, now: Millis) -> Result<String> {
    // The first instance to ask stores its candidate; every later ask reads that one.
    sqlx::query("INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(candidate)
        .bind(now)
        .execute(&s.writer)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&s.writer)
            .await?,
    )
}

pub(super) async fn overdue_count(s: &SqlStore, ws: WorkspaceId, now: Millis) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM items i
         JOIN review_policies p ON p.automation_id = i.automation_id AND p.workspace_id = i.workspace_id
         WHERE i.workspace_id = $1 AND i.status IN ('needs_review', 'failed') AND p.sla_ms IS NOT NULL
           AND i.created_at + p.sla_ms <= $2",
    )
    .bind(ws.0)
    .bind(now)
    .fetch_one(&s.reader)
    .await?)
}
