//! Measurement: the facts of a week read from items and the audit trail, rollups of closed
//! weeks, work done by hand, escaped errors, notes on weeks, share links and
//! reliable-range checks.
//!
//! `automation` 0 in a query means "every automation of the workspace"; binding 0 instead
//! of NULL keeps the SQL one text on both backends (PostgreSQL cannot type `$2 IS NULL`).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use crate::*;

/// Audit kinds that are a reviewer's decision.
const DECISION_KINDS: &str = "('approved', 'corrected', 'rejected')";
/// Audit kinds that count as a reviewer touching an item in the inbox.
const TOUCH_KINDS: &str = "('approved', 'corrected', 'rejected', 'claimed')";
/// An item reported wrong after it was accepted automatically ("this looks wrong"): it is
/// back in the inbox now, but it was accepted automatically when processed, and it was not
/// open before the report.
const REPORTED: &str =
    "SELECT 1 FROM escaped_errors x WHERE x.workspace_id = i.workspace_id AND x.item_id = i.id";

fn auto_id(a: Option<AutomationId>) -> i64 {
    a.map_or(0, |a| a.0)
}

async fn count(s: &SqlStore, sql: &str, ws: WorkspaceId, a: i64, from: Millis, to: Millis) -> Result<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(ws.0)
        .bind(a)
        .bind(from)
        .bind(to)
        .fetch_one(&s.reader)
        .await?)
}

pub(super) async fn week_facts(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: Option<AutomationId>,
    from: Millis,
    to: Millis,
) -> Result<WeekFacts> {
    let a = auto_id(automation);
    let items_in = count(
        s,
        "SELECT COUNT(*) FROM items WHERE workspace_id = $1 AND ($2 = 0 OR automation_id = $2)
         AND created_at >= $3 AND created_at < $4",
        ws,
        a,
        from,
        to,
    )
    .await?;
    let processed = count(
        s,
        "SELECT COUNT(*) FROM items WHERE workspace_id = $1 AND ($2 = 0 OR automation_id = $2)
         AND processed_at >= $3 AND processed_at < $4",
        ws,
        a,
        from,
        to,
    )
    .await?;
    let auto_accepted = count(
        s,
        &format!(
            "SELECT COUNT(*) FROM items i WHERE i.workspace_id = $1 AND ($2 = 0 OR i.automation_id = $2)
             AND i.processed_at >= $3 AND i.processed_at < $4
             AND (i.status = 'auto_accepted' OR EXISTS ({REPORTED}))"
        ),
        ws,
        a,
        from,
        to,
    )
    .await?;
    let out_of_scope = count(
        s,
        "SELECT COUNT(*) FROM items i JOIN item_reasons r ON r.item_id = i.id AND r.workspace_id = i.workspace_id
         WHERE i.workspace_id = $1 AND ($2 = 0 OR i.automation_id = $2)
         AND i.processed_at >= $3 AND i.processed_at < $4 AND r.code = 'out_of_scope'",
        ws,
        a,
        from,
        to,
    )
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT e.kind, e.seconds FROM audit_events e
         JOIN items i ON i.id = e.item_id AND i.workspace_id = e.workspace_id
         WHERE e.workspace_id = $1 AND ($2 = 0 OR i.automation_id = $2)
         AND e.created_at >= $3 AND e.created_at < $4 AND e.kind IN {DECISION_KINDS}
         ORDER BY e.id"
    ))
    .bind(ws.0)
    .bind(a)
    .bind(from)
    .bind(to)
    .fetch_all(&s.reader)
    .await?;
    let decisions = rows
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok((
                super::rowmap::status(&kind)?,
                r.try_get::<Option<f64>, _>("seconds")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    // One row per report ("this looks wrong", from the page, a delivered result's link or
    // either API endpoint), written with the item's move back to the inbox.
    let escaped = count(
        s,
        "SELECT COUNT(*) FROM escaped_errors WHERE workspace_id = $1 AND ($2 = 0 OR automation_id = $2)
         AND created_at >= $3 AND created_at < $4",
        ws,
        a,
        from,
        to,
    )
    .await?;
    // A report sends an automatic acceptance back to the inbox, where it is decided again;
    // the service must not count that decision as a second result from Tandem. Only an
    // automatic acceptance can be reported and only an item in the inbox decided, so the
    // report comes first anyway; the query says so rather than rely on it.
    let decided_after_report = count(
        s,
        "SELECT COUNT(*) FROM audit_events e
         JOIN items i ON i.id = e.item_id AND i.workspace_id = e.workspace_id
         WHERE e.workspace_id = $1 AND ($2 = 0 OR i.automation_id = $2)
         AND e.created_at >= $3 AND e.created_at < $4 AND e.kind IN ('approved', 'corrected')
         AND EXISTS (SELECT 1 FROM escaped_errors x
                     WHERE x.workspace_id = e.workspace_id AND x.item_id = e.item_id
                     AND x.created_at <= e.created_at)",
        ws,
        a,
        from,
        to,
    )
    .await?;
    // The first touch of an item is its earliest touching event; only those falling in
    // the week count for it.
    let first_touch_seconds: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT e.created_at - i.processed_at FROM audit_events e
         JOIN items i ON i.id = e.item_id AND i.workspace_id = e.workspace_id
         WHERE e.workspace_id = $1 AND ($2 = 0 OR i.automation_id = $2)
         AND e.created_at >= $3 AND e.created_at < $4 AND e.kind IN {TOUCH_KINDS}
         AND i.processed_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM audit_events p
                         WHERE p.workspace_id = e.workspace_id AND p.item_id = e.item_id
                         AND p.kind IN {TOUCH_KINDS}
                         AND (p.created_at < e.created_at OR (p.created_at = e.created_at AND p.id < e.id)))"
    ))
    .bind(ws.0)
    .bind(a)
    .bind(from)
    .bind(to)
    .fetch_all(&s.reader)
    .await?;
    // Open at the end of the week: in the inbox by then, and not decided before it ended.
    // An item reported wrong entered the inbox when it was reported: not open before, and
    // waiting since the report.
    let row = sqlx::query(&format!(
        "SELECT COUNT(*) AS n,
                MIN(COALESCE((SELECT MAX(x.created_at) FROM escaped_errors x
                              WHERE x.workspace_id = i.workspace_id AND x.item_id = i.id), i.created_at)) AS oldest
         FROM items i
         WHERE i.workspace_id = $1 AND ($2 = 0 OR i.automation_id = $2) AND i.created_at < $3
         AND i.processed_at < $3
         AND (i.status IN ('needs_review', 'failed') OR (i.decided_at IS NOT NULL AND i.decided_at >= $3))
         AND NOT EXISTS ({REPORTED} AND x.created_at >= $3)"
    ))
    .bind(ws.0)
    .bind(a)
    .bind(to)
    .fetch_one(&s.reader)
    .await?;
    let hand_outside = count(
        s,
        "SELECT COUNT(*) FROM hand_work WHERE workspace_id = $1 AND ($2 = 0 OR automation_id = $2)
         AND created_at >= $3 AND created_at < $4 AND kind = 'outside'",
        ws,
        a,
        from,
        to,
    )
    .await?;
    Ok(WeekFacts {
        items_in,
        processed,
        auto_accepted,
        out_of_scope,
        decisions,
        escaped,
        decided_after_report,
        first_touch_seconds: first_touch_seconds
            .into_iter()
            .map(|ms| ms as f64 / 1000.0)
            .collect(),
        open_at_end: row.try_get("n")?,
        oldest_open_at: row.try_get("oldest")?,
        hand_outside,
    })
}

pub(super) async fn first_item_at(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: Option<AutomationId>,
) -> Result<Option<Millis>> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(created_at) FROM items WHERE workspace_id = $1 AND ($2 = 0 OR automation_id = $2)",
    )
    .bind(ws.0)
    .bind(auto_id(automation))
    .fetch_one(&s.reader)
    .await?)
}

pub(super) async fn save_rollup(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: Option<AutomationId>,
    week_start: Millis,
    figures: &str,
    now: Millis,
) -> Result<()> {
    // First writer wins: two processes closing the same week compute the same figures.
    sqlx::query(
        "INSERT INTO weekly_rollups (workspace_id, automation_id, week_start, figures, computed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (workspace_id, automation_id, week_start) DO NOTHING",
    )
    .bind(ws.0)
    .bind(auto_id(automation))
    .bind(week_start)
    .bind(figures)
    .bind(now)
    .execute(&s.writer)
    .await?;
    Ok(())
}

pub(super) async fn rollups(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: Option<AutomationId>,
    from: Millis,
    to: Millis,
) -> Result<Vec<(Millis, String)>> {
    let rows = sqlx::query(
        "SELECT week_start, figures FROM weekly_rollups
         WHERE workspace_id = $1 AND automation_id = $2 AND week_start >= $3 AND week_start < $4
         ORDER BY week_start",
    )
    .bind(ws.0)
    .bind(auto_id(automation))
    .bind(from)
    .bind(to)
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("week_start")?, r.try_get("figures")?)))
        .collect()
}

async fn owned_automation<'e, E>(e: E, ws: WorkspaceId, a: AutomationId) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(a.0)
            .fetch_optional(e)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound("automation"))
}

fn hand_work_row(r: &AnyRow) -> Result<HandWork> {
    let kind: String = r.try_get("kind")?;
    Ok(HandWork {
        id: r.try_get("id")?,
        workspace_id: WorkspaceId(r.try_get("workspace_id")?),
        automation_id: AutomationId(r.try_get("automation_id")?),
        item_id: r.try_get::<Option<i64>, _>("item_id")?.map(ItemId),
        user_id: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
        kind: HandWorkKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("hand work kind {kind:?}")))?,
        seconds: r.try_get("seconds")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
    })
}

const HAND_WORK_COLUMNS: &str =
    "id, workspace_id, automation_id, item_id, user_id, kind, seconds, note, created_at";

pub(super) async fn record_hand_work(
    s: &SqlStore,
    ws: WorkspaceId,
    new: &NewHandWork,
    now: Millis,
) -> Result<HandWork> {
    let mut tx = s.write_tx().await?;
    owned_automation(&mut *tx, ws, new.automation_id).await?;
    if let Some(item) = new.item_id {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM items WHERE workspace_id = $1 AND id = $2 AND automation_id = $3",
        )
        .bind(ws.0)
        .bind(item.0)
        .bind(new.automation_id.0)
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Err(StoreError::NotFound("item"));
        }
        // Once per item and kind: a second click must not count the work twice.
        let seen: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM hand_work WHERE workspace_id = $1 AND item_id = $2 AND kind = $3",
        )
        .bind(ws.0)
        .bind(item.0)
        .bind(new.kind.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if seen.is_some() {
            return Err(StoreError::Conflict(
                "this item's work by hand is already recorded".into(),
            ));
        }
    }
    let row = sqlx::query(&format!(
        "INSERT INTO hand_work (workspace_id, automation_id, item_id, user_id, kind, seconds, note, created_at)
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $9 THEN $6 ELSE NULL END, $7, $8) RETURNING {HAND_WORK_COLUMNS}"
    ))
    .bind(ws.0)
    .bind(new.automation_id.0)
    .bind(new.item_id.map(|i| i.0))
    .bind(new.user_id.map(|u| u.0))
    .bind(new.kind.as_str())
    // sqlx's Any driver types a NULL float so that PostgreSQL refuses the same cached
    // statement when a later call binds a number ("incorrect binary data format"), so a
    // number is always bound and a flag says whether it counts.
    .bind(new.seconds.unwrap_or(0.0))
    .bind(&new.note)
    .bind(now)
    .bind(new.seconds.is_some())
    .fetch_one(&mut *tx)
    .await?;
    let out = hand_work_row(&row)?;
    tx.commit().await?;
    Ok(out)
}

pub(super) async fn list_hand_work(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    kind: HandWorkKind,
) -> Result<Vec<HandWork>> {
    let rows = sqlx::query(&format!(
        "SELECT {HAND_WORK_COLUMNS} FROM hand_work
         WHERE workspace_id = $1 AND automation_id = $2 AND kind = $3 ORDER BY id"
    ))
    .bind(ws.0)
    .bind(automation.0)
    .bind(kind.as_str())
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(hand_work_row).collect()
}

fn note_row(r: &AnyRow) -> Result<Note> {
    let a: i64 = r.try_get("automation_id")?;
    Ok(Note {
        id: r.try_get("id")?,
        automation_id: (a != 0).then_some(AutomationId(a)),
        week_start: r.try_get("week_start")?,
        at: r.try_get("at")?,
        kind: r.try_get("kind")?,
        body: r.try_get("body")?,
        author_id: r.try_get::<Option<i64>, _>("author_id")?.map(UserId),
        author_name: r.try_get("author_name")?,
        created_at: r.try_get("created_at")?,
    })
}

const NOTE_COLUMNS: &str = "n.id, n.automation_id, n.week_start, n.at, n.kind, n.body, n.author_id, u.name AS author_name, n.created_at";

pub(super) async fn add_note(
    s: &SqlStore,
    ws: WorkspaceId,
    new: &NewNote,
    now: Millis,
) -> Result<Option<Note>> {
    let mut tx = s.write_tx().await?;
    if let Some(a) = new.automation_id {
        owned_automation(&mut *tx, ws, a).await?;
    }
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO week_notes (workspace_id, automation_id, week_start, at, kind, body, author_id, dedup_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (workspace_id, dedup_key) DO NOTHING RETURNING id",
    )
    .bind(ws.0)
    .bind(auto_id(new.automation_id))
    .bind(new.week_start)
    .bind(new.at)
    .bind(&new.kind)
    .bind(&new.body)
    .bind(new.author_id.map(|u| u.0))
    .bind(new.dedup_key.as_deref())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let row = sqlx::query(&format!(
        "SELECT {NOTE_COLUMNS} FROM week_notes n LEFT JOIN users u ON u.id = n.author_id AND u.workspace_id = n.workspace_id
         WHERE n.workspace_id = $1 AND n.id = $2"
    ))
    .bind(ws.0)
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let note = note_row(&row)?;
    tx.commit().await?;
    Ok(Some(note))
}

pub(super) async fn notes(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: Option<AutomationId>,
    from: Millis,
    to: Millis,
) -> Result<Vec<Note>> {
    // An automation's check-in shows its own notes and the workspace's; the workspace's
    // check-in shows every note.
    let rows = sqlx::query(&format!(
        "SELECT {NOTE_COLUMNS} FROM week_notes n LEFT JOIN users u ON u.id = n.author_id AND u.workspace_id = n.workspace_id
         WHERE n.workspace_id = $1 AND ($2 = 0 OR n.automation_id = $2 OR n.automation_id = 0)
         AND n.week_start >= $3 AND n.week_start < $4 ORDER BY n.at, n.id"
    ))
    .bind(ws.0)
    .bind(auto_id(automation))
    .bind(from)
    .bind(to)
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(note_row).collect()
}

fn share_row(r: &AnyRow) -> Result<ShareLink> {
    let a: i64 = r.try_get("automation_id")?;
    Ok(ShareLink {
        id: r.try_get("id")?,
        workspace_id: WorkspaceId(r.try_get("workspace_id")?),
        automation_id: (a != 0).then_some(AutomationId(a)),
        label: r.try_get("label")?,
        include_examples: r.try_get::<i64, _>("include_examples")? != 0,
        created_by: r.try_get::<Option<i64>, _>("created_by")?.map(UserId),
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

const SHARE_COLUMNS: &str =
    "id, workspace_id, automation_id, label, include_examples, created_by, created_at, revoked_at";

pub(super) async fn create_share_link(
    s: &SqlStore,
    ws: WorkspaceId,
    new: &NewShareLink,
    now: Millis,
) -> Result<ShareLink> {
    let mut tx = s.write_tx().await?;
    if let Some(a) = new.automation {
        owned_automation(&mut *tx, ws, a).await?;
    }
    let row = sqlx::query(&format!(
        "INSERT INTO share_links (workspace_id, automation_id, token_hash, label, include_examples, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {SHARE_COLUMNS}"
    ))
    .bind(ws.0)
    .bind(auto_id(new.automation))
    .bind(&new.token_hash)
    .bind(&new.label)
    .bind(i64::from(new.include_examples))
    .bind(new.created_by.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let link = share_row(&row)?;
    tx.commit().await?;
    Ok(link)
}

pub(super) async fn share_link(s: &SqlStore, token_hash: &str) -> Result<Option<ShareLink>> {
    let row = sqlx::query(&format!(
        "SELECT {SHARE_COLUMNS} FROM share_links WHERE token_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(token_hash)
    .fetch_optional(&s.reader)
    .await?;
    row.as_ref().map(share_row).transpose()
}

pub(super) async fn list_share_links(s: &SqlStore, ws: WorkspaceId) -> Result<Vec<ShareLink>> {
    let rows = sqlx::query(&format!(
        "SELECT {SHARE_COLUMNS} FROM share_links WHERE workspace_id = $1 ORDER BY id"
    ))
    .bind(ws.0)
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(share_row).collect()
}

pub(super) async fn revoke_share_link(s: &SqlStore, ws: WorkspaceId, id: i64, now: Millis) -> Result<()> {
    let done = sqlx::query(
        "UPDATE share_links SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(ws.0)
    .bind(id)
    .execute(&s.writer)
    .await?;
    if done.rows_affected() == 0 {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM share_links WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id)
                .fetch_optional(&s.reader)
                .await?;
        return Err(match exists {
            None => StoreError::NotFound("share link"),
            Some(_) => StoreError::Conflict("this link is already revoked".into()),
        });
    }
    Ok(())
}

pub(super) async fn confidences(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    from: Millis,
    to: Millis,
) -> Result<Vec<(Option<f64>, bool)>> {
    let rows = sqlx::query(
        "SELECT i.confidence,
                (SELECT COUNT(*) FROM item_reasons r
                 WHERE r.item_id = i.id AND r.workspace_id = i.workspace_id AND r.code = 'out_of_scope') AS oos
         FROM items i WHERE i.workspace_id = $1 AND i.automation_id = $2
         AND i.processed_at >= $3 AND i.processed_at < $4 AND i.status <> 'failed'",
    )
    .bind(ws.0)
    .bind(automation.0)
    .bind(from)
    .bind(to)
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("confidence")?, r.try_get::<i64, _>("oos")? > 0)))
        .collect()
}

pub(super) async fn save_drift_check(s: &SqlStore, ws: WorkspaceId, c: &DriftCheck) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO drift_checks (workspace_id, automation_id, week_start, psi, oos_rate, reference_oos_rate,
                                   items, drifted, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (workspace_id, automation_id, week_start) DO NOTHING",
    )
    .bind(ws.0)
    .bind(c.automation_id.0)
    .bind(c.week_start)
    .bind(c.psi)
    .bind(c.oos_rate)
    .bind(c.reference_oos_rate)
    .bind(c.items)
    .bind(i64::from(c.drifted))
    .bind(&c.detail)
    .bind(c.created_at)
    .execute(&s.writer)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn drift_checks(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<Vec<DriftCheck>> {
    let rows = sqlx::query(
        "SELECT automation_id, week_start, psi, oos_rate, reference_oos_rate, items, drifted, detail, created_at
         FROM drift_checks WHERE workspace_id = $1 AND automation_id = $2 ORDER BY week_start",
    )
    .bind(ws.0)
    .bind(automation.0)
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DriftCheck {
                automation_id: AutomationId(r.try_get("automation_id")?),
                week_start: r.try_get("week_start")?,
                psi: r.try_get("psi")?,
                oos_rate: r.try_get("oos_rate")?,
                reference_oos_rate: r.try_get("reference_oos_rate")?,
                items: r.try_get("items")?,
                drifted: r.try_get::<i64, _>("drifted")? != 0,
                detail: r.try_get("detail")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub(super) async fn metrics_snapshot(
    s: &SqlStore,
    ws: WorkspaceId,
    since: Millis,
) -> Result<MetricsSnapshot> {
    let rows = sqlx::query(
        "SELECT a.slug, i.status, COUNT(*) AS n FROM items i JOIN automations a ON a.id = i.automation_id
         WHERE i.workspace_id = $1 GROUP BY a.slug, i.status ORDER BY a.slug, i.status",
    )
    .bind(ws.0)
    .fetch_all(&s.reader)
    .await?;
    let items = rows
        .iter()
        .map(|r| Ok((r.try_get("slug")?, r.try_get("status")?, r.try_get("n")?)))
        .collect::<Result<Vec<_>>>()?;
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS n FROM deliveries WHERE workspace_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(ws.0)
    .fetch_all(&s.reader)
    .await?;
    let deliveries = rows
        .iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect::<Result<Vec<_>>>()?;
    let rows = sqlx::query(
        "SELECT kind, COUNT(*) AS n FROM jobs WHERE workspace_id = $1 GROUP BY kind ORDER BY kind",
    )
    .bind(ws.0)
    .fetch_all(&s.reader)
    .await?;
    let jobs = rows
        .iter()
        .map(|r| Ok((r.try_get("kind")?, r.try_get("n")?)))
        .collect::<Result<Vec<_>>>()?;
    let latencies_ms: Vec<i64> = sqlx::query_scalar(
        "SELECT processed_at - created_at FROM items
         WHERE workspace_id = $1 AND processed_at >= $2 AND processed_at IS NOT NULL",
    )
    .bind(ws.0)
    .bind(since)
    .fetch_all(&s.reader)
    .await?;
    Ok(MetricsSnapshot {
        items,
        deliveries,
        jobs,
        latencies_ms,
    })
}
