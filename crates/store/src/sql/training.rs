//! Training data that grows in use: corrections made in the inbox, kept as examples, and
//! retrained candidate versions that wait beside the active one until someone activates
//! them, with the evaluation that compared the two.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{SqlStore, rowmap};
use crate::*;

const EXAMPLE_COLUMNS: &str =
    "id, workspace_id, automation_id, item_id, kind, example, created_by, created_at";

fn example(row: &AnyRow) -> Result<TrainingExample> {
    Ok(TrainingExample {
        id: row.try_get("id")?,
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        automation_id: AutomationId(row.try_get("automation_id")?),
        item_id: row.try_get::<Option<i64>, _>("item_id")?.map(ItemId),
        kind: row.try_get("kind")?,
        example: row.try_get("example")?,
        created_by: row.try_get::<Option<i64>, _>("created_by")?.map(UserId),
        created_at: row.try_get("created_at")?,
    })
}

/// Insert examples inside the caller's transaction (a review decision stores its
/// corrections as examples in the same commit as the decision). The caller has checked
/// that each example's automation is in `ws`.
pub(super) async fn insert_examples(
    conn: &mut sqlx::AnyConnection,
    ws: WorkspaceId,
    examples: &[NewTrainingExample],
    now: Millis,
) -> Result<()> {
    for e in examples {
        sqlx::query(
            "INSERT INTO training_examples (workspace_id, automation_id, item_id, kind, example, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(ws.0)
        .bind(e.automation_id.0)
        .bind(e.item_id.map(|i| i.0))
        .bind(&e.kind)
        .bind(&e.example)
        .bind(e.created_by.map(|u| u.0))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn add_training_examples(
    s: &SqlStore,
    ws: WorkspaceId,
    examples: &[NewTrainingExample],
    now: Millis,
) -> Result<()> {
    let mut tx = s.write_tx().await?;
    for e in examples {
        // The automation must be this workspace's: a foreign id is not found, not stored.
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(e.automation_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Err(StoreError::NotFound("automation"));
        }
    }
    insert_examples(&mut tx, ws, examples, now).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn training_examples(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    kind: Option<&str>,
) -> Result<Vec<TrainingExample>> {
    // Two statements rather than `$3 IS NULL OR kind = $3`: PostgreSQL cannot type a
    // parameter that is only compared with NULL.
    let rows = match kind {
        Some(kind) => {
            let sql = format!(
                "SELECT {EXAMPLE_COLUMNS} FROM training_examples
                 WHERE workspace_id = $1 AND automation_id = $2 AND kind = $3 ORDER BY id"
            );
            sqlx::query(&sql)
                .bind(ws.0)
                .bind(automation.0)
                .bind(kind)
                .fetch_all(&s.reader)
                .await?
        }
        None => {
            let sql = format!(
                "SELECT {EXAMPLE_COLUMNS} FROM training_examples
                 WHERE workspace_id = $1 AND automation_id = $2 ORDER BY id"
            );
            sqlx::query(&sql)
                .bind(ws.0)
                .bind(automation.0)
                .fetch_all(&s.reader)
                .await?
        }
    };
    rows.iter().map(example).collect()
}

pub(super) async fn save_candidate_version(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
    new: &NewCandidate,
    now: Millis,
) -> Result<Version> {
    let mut tx = s.write_tx().await?;
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM automations WHERE workspace_id = $1 AND id = $2")
            .bind(ws.0)
            .bind(automation.0)
            .fetch_optional(&mut *tx)
            .await?;
    if found.is_none() {
        return Err(StoreError::NotFound("automation"));
    }
    let number: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(number), 0) + 1 AS BIGINT) FROM automation_versions WHERE automation_id = $1",
    )
    .bind(automation.0)
    .fetch_one(&mut *tx)
    .await?;
    let sql = format!(
        "INSERT INTO automation_versions (workspace_id, automation_id, number, definition, content_hash, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {}",
        rowmap::VERSION_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(automation.0)
        .bind(number)
        .bind(&new.definition)
        .bind(&new.content_hash)
        .bind(new.created_by.map(|u| u.0))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
    let version = rowmap::version(&row)?;
    for a in &new.artifacts {
        sqlx::query(
            "INSERT INTO model_artifacts (workspace_id, version_id, kind, bytes, summary, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ws.0)
        .bind(version.id.0)
        .bind(&a.kind)
        .bind(&a.bytes)
        .bind(&a.summary)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO version_evaluations (workspace_id, version_id, compared_version_id, report, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ws.0)
    .bind(version.id.0)
    .bind(new.compared_with.map(|v| v.0))
    .bind(&new.evaluation)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(version)
}

pub(super) async fn version_evaluation(
    s: &SqlStore,
    ws: WorkspaceId,
    version: VersionId,
) -> Result<Option<VersionEvaluation>> {
    let row = sqlx::query(
        "SELECT version_id, compared_version_id, report, created_at FROM version_evaluations
         WHERE workspace_id = $1 AND version_id = $2",
    )
    .bind(ws.0)
    .bind(version.0)
    .fetch_optional(&s.reader)
    .await?;
    row.map(|r| {
        Ok(VersionEvaluation {
            version_id: VersionId(r.try_get("version_id")?),
            compared_version_id: r.try_get::<Option<i64>, _>("compared_version_id")?.map(VersionId),
            report: r.try_get("report")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}
