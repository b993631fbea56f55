//! The rollout's storage: stages, champion and sign-off with their event log, version
//! re-activation (rollback), the decided items that measure an automation, and edge cases.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{SqlStore, rowmap};
use crate::*;

const STATE_COLUMNS: &str = "automation_id, stage, champion_id, signed_off_by, signed_off_version_id, \
     signed_off_at, updated_at";

fn state(row: &AnyRow) -> Result<RolloutState> {
    let stage: String = row.try_get("stage")?;
    Ok(RolloutState {
        automation_id: AutomationId(row.try_get("automation_id")?),
        stage: stage.parse().map_err(StoreError::Corrupt)?,
        champion_id: row.try_get::<Option<i64>, _>("champion_id")?.map(UserId),
        signed_off_by: row.try_get::<Option<i64>, _>("signed_off_by")?.map(UserId),
        signed_off_version_id: row
            .try_get::<Option<i64>, _>("signed_off_version_id")?
            .map(VersionId),
        signed_off_at: row.try_get("signed_off_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

async fn read_state<'e, E>(e: E, ws: WorkspaceId, automation: AutomationId) -> Result<Option<RolloutState>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {STATE_COLUMNS} FROM automation_rollout WHERE workspace_id = $1 AND automation_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(automation.0)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(state).transpose()
}

pub(super) async fn rollout_state(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<Option<RolloutState>> {
    read_state(&s.reader, ws, automation).await
}

async fn ensure_automation(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(automation.0)
            .fetch_optional(&mut **tx)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound("automation"))
}

pub(super) async fn start_rollout(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    stage: Stage,
    now: Millis,
) -> Result<RolloutState> {
    let mut tx = s.write_tx().await?;
    ensure_automation(&mut tx, ws, automation).await?;
    sqlx::query(
        "INSERT INTO automation_rollout (automation_id, workspace_id, stage, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (automation_id) DO NOTHING",
    )
    .bind(automation.0)
    .bind(ws.0)
    .bind(stage.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let st = read_state(&mut *tx, ws, automation)
        .await?
        .ok_or(StoreError::NotFound("rollout"))?;
    tx.commit().await?;
    Ok(st)
}

pub(super) async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ws: WorkspaceId,
    automation: AutomationId,
    event: &NewRolloutEvent,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO rollout_events (workspace_id, automation_id, actor_id, kind, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ws.0)
    .bind(automation.0)
    .bind(event.actor.map(|u| u.0))
    .bind(&event.kind)
    .bind(&event.detail)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn update_rollout(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    u: &RolloutUpdate,
    event: &NewRolloutEvent,
    now: Millis,
) -> Result<RolloutState> {
    let mut tx = s.write_tx().await?;
    ensure_automation(&mut tx, ws, automation).await?;
    // An automation from before stages has no row and is live.
    let current = match read_state(&mut *tx, ws, automation).await? {
        Some(st) => st,
        None => RolloutState {
            automation_id: automation,
            stage: Stage::Live,
            champion_id: None,
            signed_off_by: None,
            signed_off_version_id: None,
            signed_off_at: None,
            updated_at: now,
        },
    };
    if let Some(expected) = u.only_if_stage
        && current.stage != expected
    {
        return Err(StoreError::Conflict(format!(
            "the automation is {} now, not {expected}",
            current.stage
        )));
    }
    if let Some(Some(champion)) = u.champion {
        let member: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(champion.0)
                .fetch_optional(&mut *tx)
                .await?;
        if member.is_none() {
            return Err(StoreError::NotFound("user"));
        }
    }
    let stage = u.stage.unwrap_or(current.stage);
    let champion = u.champion.unwrap_or(current.champion_id);
    let (signed_by, signed_version, signed_at) = match u.sign_off {
        None => (
            current.signed_off_by,
            current.signed_off_version_id,
            current.signed_off_at,
        ),
        Some(None) => (None, None, None),
        Some(Some((by, version))) => (Some(by), Some(version), Some(now)),
    };
    sqlx::query(
        "INSERT INTO automation_rollout (automation_id, workspace_id, stage, champion_id, signed_off_by,
                                         signed_off_version_id, signed_off_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (automation_id) DO UPDATE SET stage = $3, champion_id = $4, signed_off_by = $5,
             signed_off_version_id = $6, signed_off_at = $7, updated_at = $8",
    )
    .bind(automation.0)
    .bind(ws.0)
    .bind(stage.as_str())
    .bind(champion.map(|c| c.0))
    .bind(signed_by.map(|c| c.0))
    .bind(signed_version.map(|v| v.0))
    .bind(signed_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    insert_event(&mut tx, ws, automation, event, now).await?;
    let st = read_state(&mut *tx, ws, automation)
        .await?
        .ok_or(StoreError::NotFound("rollout"))?;
    tx.commit().await?;
    Ok(st)
}

pub(super) async fn add_rollout_event(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    event: &NewRolloutEvent,
    now: Millis,
) -> Result<()> {
    let mut tx = s.write_tx().await?;
    ensure_automation(&mut tx, ws, automation).await?;
    insert_event(&mut tx, ws, automation, event, now).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn rollout_events(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    limit: u32,
) -> Result<Vec<RolloutEvent>> {
    let rows = sqlx::query(
        "SELECT e.id, e.automation_id, e.actor_id, u.name AS actor_name, e.kind, e.detail, e.created_at
         FROM rollout_events e LEFT JOIN users u ON u.id = e.actor_id AND u.workspace_id = e.workspace_id
         WHERE e.workspace_id = $1 AND e.automation_id = $2 ORDER BY e.id DESC LIMIT $3",
    )
    .bind(ws.0)
    .bind(automation.0)
    .bind(i64::from(limit))
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RolloutEvent {
                id: r.try_get("id")?,
                automation_id: AutomationId(r.try_get("automation_id")?),
                actor_id: r.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
                actor_name: r.try_get("actor_name")?,
                kind: r.try_get("kind")?,
                detail: r.try_get("detail")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub(super) async fn activate_version(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    version: VersionId,
    event: &NewRolloutEvent,
    now: Millis,
) -> Result<Automation> {
    let mut tx = s.write_tx().await?;
    let owner: Option<i64> = sqlx::query_scalar(
        "SELECT automation_id FROM automation_versions WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws.0)
    .bind(version.0)
    .fetch_optional(&mut *tx)
    .await?;
    match owner {
        None => return Err(StoreError::NotFound("version")),
        Some(a) if a != automation.0 => {
            return Err(StoreError::Conflict(
                "that version belongs to another automation".into(),
            ));
        }
        Some(_) => {}
    }
    let sql = format!(
        "UPDATE automations SET active_version_id = $1 WHERE workspace_id = $2 AND id = $3 RETURNING {}",
        rowmap::AUTOMATION_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(version.0)
        .bind(ws.0)
        .bind(automation.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("automation"))?;
    let a = rowmap::automation(&row)?;
    insert_event(&mut tx, ws, automation, event, now).await?;
    tx.commit().await?;
    Ok(a)
}

/// The codes a non-live stage puts on an item it sends to the inbox.
const STAGE_CODES: &str = "'draft_mode', 'shadow_mode', 'paused'";

pub(super) async fn decided_items(
    s: &SqlStore,
    ws: WorkspaceId,
    f: &DecidedFilter,
) -> Result<Vec<DecidedItem>> {
    // Optional filters are added to the text rather than bound as NULL-able parameters:
    // PostgreSQL cannot type a parameter that is only ever compared with NULL.
    let mut sql = String::from(
        "SELECT i.id, i.version_id, i.status, i.input, i.outcome, i.final_result, i.decided_at, i.decided_by,
                (SELECT MAX(e.seconds) FROM audit_events e
                 WHERE e.workspace_id = i.workspace_id AND e.item_id = i.id) AS seconds
         FROM items i
         WHERE i.workspace_id = $1 AND i.automation_id = $2
           AND i.status IN ('approved', 'corrected', 'rejected')",
    );
    let mut next = 3;
    if f.version.is_some() {
        sql.push_str(&format!(" AND i.version_id = ${next}"));
        next += 1;
    }
    if f.reason.is_some() {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM item_reasons r WHERE r.workspace_id = i.workspace_id
                          AND r.item_id = i.id AND r.code = ${next})"
        ));
        next += 1;
    }
    if f.live_only {
        sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM item_reasons r WHERE r.workspace_id = i.workspace_id
                              AND r.item_id = i.id AND r.code IN ({STAGE_CODES}))"
        ));
    }
    sql.push_str(&format!(" ORDER BY i.decided_at DESC, i.id DESC LIMIT ${next}"));
    let mut q = sqlx::query(&sql).bind(ws.0).bind(f.automation.0);
    if let Some(v) = f.version {
        q = q.bind(v.0);
    }
    if let Some(r) = &f.reason {
        q = q.bind(r.clone());
    }
    let rows = q.bind(i64::from(f.limit)).fetch_all(&s.reader).await?;
    rows.iter()
        .map(|r| {
            let st: String = r.try_get("status")?;
            Ok(DecidedItem {
                id: ItemId(r.try_get("id")?),
                version_id: r.try_get::<Option<i64>, _>("version_id")?.map(VersionId),
                status: rowmap::status(&st)?,
                input: r.try_get("input")?,
                outcome: r.try_get("outcome")?,
                final_result: r.try_get("final_result")?,
                decided_at: r.try_get("decided_at")?,
                decided_by: r.try_get::<Option<i64>, _>("decided_by")?.map(UserId),
                seconds: r.try_get("seconds")?,
            })
        })
        .collect()
}

const CASE_COLUMNS: &str = "c.id, c.automation_id, c.input, c.expected, c.note, c.origin, c.source_item_id, \
     c.status, c.added_by, u.name AS added_by_name, c.created_at, c.decided_by, c.decided_at";

fn edge_case_row(r: &AnyRow) -> Result<EdgeCase> {
    let st: String = r.try_get("status")?;
    Ok(EdgeCase {
        id: r.try_get("id")?,
        automation_id: AutomationId(r.try_get("automation_id")?),
        input: r.try_get("input")?,
        expected: r.try_get("expected")?,
        note: r.try_get("note")?,
        origin: r.try_get("origin")?,
        source_item_id: r.try_get::<Option<i64>, _>("source_item_id")?.map(ItemId),
        status: EdgeCaseStatus::parse(&st)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown edge case status {st:?}")))?,
        added_by: r.try_get::<Option<i64>, _>("added_by")?.map(UserId),
        added_by_name: r.try_get("added_by_name")?,
        created_at: r.try_get("created_at")?,
        decided_by: r.try_get::<Option<i64>, _>("decided_by")?.map(UserId),
        decided_at: r.try_get("decided_at")?,
    })
}

async fn read_case<'e, E>(e: E, ws: WorkspaceId, id: i64) -> Result<EdgeCase>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM edge_cases c
         LEFT JOIN users u ON u.id = c.added_by AND u.workspace_id = c.workspace_id
         WHERE c.workspace_id = $1 AND c.id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id)
        .fetch_optional(e)
        .await?
        .ok_or(StoreError::NotFound("edge case"))?;
    edge_case_row(&row)
}

pub(super) async fn add_edge_case(
    s: &SqlStore,
    ws: WorkspaceId,
    c: &NewEdgeCase,
    now: Millis,
) -> Result<(EdgeCase, bool)> {
    let mut tx = s.write_tx().await?;
    ensure_automation(&mut tx, ws, c.automation_id).await?;
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM edge_cases WHERE workspace_id = $1 AND automation_id = $2 AND input_hash = $3",
    )
    .bind(ws.0)
    .bind(c.automation_id.0)
    .bind(&c.input_hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = existing {
        let case = read_case(&mut *tx, ws, id).await?;
        tx.commit().await?;
        return Ok((case, false));
    }
    let accepted = c.status == EdgeCaseStatus::Accepted;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO edge_cases (workspace_id, automation_id, input, input_hash, expected, note, origin,
                                 source_item_id, status, added_by, created_at, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(ws.0)
    .bind(c.automation_id.0)
    .bind(&c.input)
    .bind(&c.input_hash)
    .bind(&c.expected)
    .bind(&c.note)
    .bind(&c.origin)
    .bind(c.source_item.map(|i| i.0))
    .bind(c.status.as_str())
    .bind(c.added_by.map(|u| u.0))
    .bind(now)
    .bind(if accepted { c.added_by.map(|u| u.0) } else { None })
    .bind(accepted.then_some(now))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| StoreError::from_unique(e, "this input is already an edge case"))?;
    let case = read_case(&mut *tx, ws, id).await?;
    tx.commit().await?;
    Ok((case, true))
}

pub(super) async fn edge_case(s: &SqlStore, ws: WorkspaceId, id: i64) -> Result<EdgeCase> {
    read_case(&s.reader, ws, id).await
}

pub(super) async fn list_edge_cases(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    status: Option<EdgeCaseStatus>,
) -> Result<Vec<EdgeCase>> {
    let filter = if status.is_some() {
        " AND c.status = $3"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM edge_cases c
         LEFT JOIN users u ON u.id = c.added_by AND u.workspace_id = c.workspace_id
         WHERE c.workspace_id = $1 AND c.automation_id = $2{filter} ORDER BY c.id"
    );
    let mut q = sqlx::query(&sql).bind(ws.0).bind(automation.0);
    if let Some(st) = status {
        q = q.bind(st.as_str());
    }
    let rows = q.fetch_all(&s.reader).await?;
    rows.iter().map(edge_case_row).collect()
}

pub(super) async fn decide_edge_case(
    s: &SqlStore,
    ws: WorkspaceId,
    id: i64,
    status: EdgeCaseStatus,
    by: UserId,
    now: Millis,
) -> Result<EdgeCase> {
    let mut tx = s.write_tx().await?;
    let changed = sqlx::query(
        "UPDATE edge_cases SET status = $1, decided_by = $2, decided_at = $3 WHERE workspace_id = $4 AND id = $5",
    )
    .bind(status.as_str())
    .bind(by.0)
    .bind(now)
    .bind(ws.0)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("edge case"));
    }
    let case = read_case(&mut *tx, ws, id).await?;
    tx.commit().await?;
    Ok(case)
}

pub(super) async fn record_edge_case_results(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    results: &[NewEdgeCaseResult],
    now: Millis,
) -> Result<()> {
    let mut tx = s.write_tx().await?;
    for r in results {
        let n = sqlx::query(
            "INSERT INTO edge_case_results (workspace_id, automation_id, edge_case_id, version_id, status, output, created_at)
             SELECT $1, $2, c.id, $4, $5, $6, $7 FROM edge_cases c
             WHERE c.workspace_id = $1 AND c.automation_id = $2 AND c.id = $3",
        )
        .bind(ws.0)
        .bind(automation.0)
        .bind(r.edge_case_id)
        .bind(r.version_id.0)
        .bind(&r.status)
        .bind(&r.output)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("edge case"));
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn latest_edge_case_results(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    version: Option<VersionId>,
) -> Result<Vec<EdgeCaseResult>> {
    let (inner, outer) = if version.is_some() {
        (" AND x.version_id = $3", " AND r.version_id = $3")
    } else {
        ("", "")
    };
    let sql = format!(
        "SELECT r.edge_case_id, r.version_id, r.status, r.output, r.created_at FROM edge_case_results r
         WHERE r.workspace_id = $1 AND r.automation_id = $2{outer}
           AND r.id = (SELECT MAX(x.id) FROM edge_case_results x
                       WHERE x.workspace_id = $1 AND x.edge_case_id = r.edge_case_id{inner})
         ORDER BY r.edge_case_id"
    );
    let mut q = sqlx::query(&sql).bind(ws.0).bind(automation.0);
    if let Some(v) = version {
        q = q.bind(v.0);
    }
    let rows = q.fetch_all(&s.reader).await?;
    rows.iter()
        .map(|r| {
            Ok(EdgeCaseResult {
                edge_case_id: r.try_get("edge_case_id")?,
                version_id: VersionId(r.try_get("version_id")?),
                status: r.try_get("status")?,
                output: r.try_get("output")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub(super) async fn reason_counts(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.code, CAST(COUNT(*) AS BIGINT) AS n FROM item_reasons r
         JOIN items i ON i.id = r.item_id AND i.workspace_id = r.workspace_id
         WHERE r.workspace_id = $1 AND i.automation_id = $2
         GROUP BY r.code ORDER BY n DESC, r.code",
    )
    .bind(ws.0)
    .bind(automation.0)
    .fetch_all(&s.reader)
    .await?;
    Ok(rows)
}
