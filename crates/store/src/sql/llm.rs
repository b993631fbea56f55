//! The LLM step's records. Each item keeps the runs of its latest processing: a
//! reprocessed item (a lease taken over, a retry) replaces them in one transaction.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use crate::*;

pub(super) async fn record_extractor_runs(
    s: &SqlStore,
    ws: WorkspaceId,
    runs: &NewExtractorRuns,
    now: Millis,
) -> Result<()> {
    let mut tx = s.write_tx().await?;
    let owner: Option<i64> = sqlx::query_scalar("SELECT workspace_id FROM items WHERE id = $1")
        .bind(runs.item_id.0)
        .fetch_optional(&mut *tx)
        .await?;
    if owner != Some(ws.0) {
        return Err(StoreError::NotFound("item"));
    }
    for table in ["llm_runs", "field_runs"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE workspace_id = $1 AND item_id = $2"
        ))
        .bind(ws.0)
        .bind(runs.item_id.0)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(l) = &runs.llm {
        sqlx::query(
            "INSERT INTO llm_runs (item_id, workspace_id, version_id, model, latency_ms, prompt_tokens,
                                   completion_tokens, requests, error, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(runs.item_id.0)
        .bind(ws.0)
        .bind(runs.version_id.0)
        .bind(&l.model)
        .bind(l.latency_ms)
        .bind(l.prompt_tokens)
        .bind(l.completion_tokens)
        .bind(l.requests)
        .bind(&l.error)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for f in &runs.fields {
        // Two statements rather than binding a NULL score: through sqlx's Any driver a
        // NULL goes to PostgreSQL untyped, the prepared statement keeps that type, and the
        // next real number bound to it is refused.
        let sql = if f.raw_score.is_some() {
            "INSERT INTO field_runs (item_id, workspace_id, automation_id, version_id, field, role,
                                     extractor, value, confidence, created_at, score_method, raw_score)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        } else {
            "INSERT INTO field_runs (item_id, workspace_id, automation_id, version_id, field, role,
                                     extractor, value, confidence, created_at, score_method)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        };
        let mut q = sqlx::query(sql)
            .bind(runs.item_id.0)
            .bind(ws.0)
            .bind(runs.automation_id.0)
            .bind(runs.version_id.0)
            .bind(&f.field)
            .bind(f.role.as_str())
            .bind(&f.extractor)
            .bind(&f.value)
            .bind(f.confidence)
            .bind(now)
            .bind(&f.score_method);
        if let Some(score) = f.raw_score {
            q = q.bind(score);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn llm_run(s: &SqlStore, ws: WorkspaceId, item: ItemId) -> Result<Option<LlmRun>> {
    let row = sqlx::query(
        "SELECT item_id, version_id, model, latency_ms, prompt_tokens, completion_tokens, requests, error, created_at
         FROM llm_runs WHERE workspace_id = $1 AND item_id = $2",
    )
    .bind(ws.0)
    .bind(item.0)
    .fetch_optional(&s.reader)
    .await?;
    row.map(|r| {
        Ok(LlmRun {
            item_id: ItemId(r.try_get("item_id")?),
            version_id: VersionId(r.try_get("version_id")?),
            model: r.try_get("model")?,
            latency_ms: r.try_get("latency_ms")?,
            prompt_tokens: r.try_get("prompt_tokens")?,
            completion_tokens: r.try_get("completion_tokens")?,
            requests: r.try_get("requests")?,
            error: r.try_get("error")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

const FIELD_RUN_COLUMNS: &str =
    "f.field, f.role, f.extractor, f.value, f.raw_score, f.score_method, f.confidence";

fn field_run(r: &AnyRow) -> Result<FieldRun> {
    let role: String = r.try_get("role")?;
    Ok(FieldRun {
        field: r.try_get("field")?,
        role: match role.as_str() {
            "primary" => FieldRole::Primary,
            "shadow" => FieldRole::Shadow,
            other => return Err(StoreError::Corrupt(format!("unknown field run role {other:?}"))),
        },
        extractor: r.try_get("extractor")?,
        value: r.try_get("value")?,
        raw_score: r.try_get("raw_score")?,
        score_method: r.try_get("score_method")?,
        confidence: r.try_get("confidence")?,
    })
}

pub(super) async fn field_runs(s: &SqlStore, ws: WorkspaceId, item: ItemId) -> Result<Vec<FieldRun>> {
    let rows = sqlx::query(&format!(
        "SELECT {FIELD_RUN_COLUMNS} FROM field_runs f
         WHERE f.workspace_id = $1 AND f.item_id = $2 ORDER BY f.field, f.role"
    ))
    .bind(ws.0)
    .bind(item.0)
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(field_run).collect()
}

pub(super) async fn reviewed_field_runs(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<Vec<ReviewedFieldRun>> {
    let rows = sqlx::query(&format!(
        "SELECT f.item_id, i.status, i.final_result, {FIELD_RUN_COLUMNS}
         FROM field_runs f JOIN items i ON i.id = f.item_id AND i.workspace_id = f.workspace_id
         WHERE f.workspace_id = $1 AND f.automation_id = $2
           AND i.status IN ('approved', 'corrected') AND i.final_result IS NOT NULL
         ORDER BY f.item_id, f.field, f.role"
    ))
    .bind(ws.0)
    .bind(automation.0)
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(ReviewedFieldRun {
                item_id: ItemId(r.try_get("item_id")?),
                run: field_run(r)?,
                status: status.parse().map_err(StoreError::Corrupt)?,
                final_result: r.try_get("final_result")?,
            })
        })
        .collect()
}

pub(super) async fn save_llm_calibrations(
    s: &SqlStore,
    ws: WorkspaceId,
    fits: &[LlmCalibration],
    now: Millis,
) -> Result<()> {
    let mut tx = s.write_tx().await?;
    for c in fits {
        let owned: Option<i64> =
            sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(c.automation_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Err(StoreError::NotFound("automation"));
        }
        sqlx::query(
            "INSERT INTO llm_calibrations (workspace_id, automation_id, field, calibrator, points, correct,
                                           fitted_at, score_method)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (workspace_id, automation_id, field) DO UPDATE
                SET calibrator = excluded.calibrator, points = excluded.points,
                    correct = excluded.correct, fitted_at = excluded.fitted_at,
                    score_method = excluded.score_method",
        )
        .bind(ws.0)
        .bind(c.automation_id.0)
        .bind(&c.field)
        .bind(&c.calibrator)
        .bind(c.points)
        .bind(c.correct)
        .bind(now)
        .bind(&c.score_method)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn llm_calibrations(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<Vec<LlmCalibration>> {
    let rows = sqlx::query(
        "SELECT automation_id, field, calibrator, points, correct, fitted_at, score_method FROM llm_calibrations
         WHERE workspace_id = $1 AND automation_id = $2 ORDER BY field",
    )
    .bind(ws.0)
    .bind(automation.0)
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LlmCalibration {
                automation_id: AutomationId(r.try_get("automation_id")?),
                field: r.try_get("field")?,
                calibrator: r.try_get("calibrator")?,
                points: r.try_get("points")?,
                correct: r.try_get("correct")?,
                score_method: r.try_get("score_method")?,
                fitted_at: r.try_get("fitted_at")?,
            })
        })
        .collect()
}
