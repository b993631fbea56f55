//! Automations and their versions, with the trained models each version carries.

use sqlx::Row;

use super::{SqlStore, rowmap};
use crate::*;

pub(super) async fn save_version(
    s: &SqlStore,
    ws: WorkspaceId,
    new: &NewVersion,
    now: Millis,
) -> Result<SavedVersion> {
    let mut tx = s.write_tx().await?;
    let sql = format!(
        "SELECT {} FROM automations WHERE workspace_id = $1 AND slug = $2",
        rowmap::AUTOMATION_COLUMNS
    );
    let existing = sqlx::query(&sql)
        .bind(ws.0)
        .bind(&new.slug)
        .fetch_optional(&mut *tx)
        .await?;
    let automation = match existing {
        Some(row) => rowmap::automation(&row)?,
        None => {
            let sql = format!(
                "INSERT INTO automations (workspace_id, slug, name, created_at) VALUES ($1, $2, $3, $4) RETURNING {}",
                rowmap::AUTOMATION_COLUMNS
            );
            let row = sqlx::query(&sql)
                .bind(ws.0)
                .bind(&new.slug)
                .bind(&new.name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            rowmap::automation(&row)?
        }
    };
    if let Some(active) = automation.active_version_id {
        let sql = format!(
            "SELECT {} FROM automation_versions WHERE workspace_id = $1 AND id = $2",
            rowmap::VERSION_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(ws.0)
            .bind(active.0)
            .fetch_one(&mut *tx)
            .await?;
        let version = rowmap::version(&row)?;
        if version.content_hash == new.content_hash {
            tx.commit().await?;
            return Ok(SavedVersion {
                automation,
                version,
                created: false,
            });
        }
    }
    let number: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(number), 0) + 1 AS BIGINT) FROM automation_versions WHERE automation_id = $1",
    )
    .bind(automation.id.0)
    .fetch_one(&mut *tx)
    .await?;
    let sql = format!(
        "INSERT INTO automation_versions (workspace_id, automation_id, number, definition, content_hash, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {}",
        rowmap::VERSION_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(automation.id.0)
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
        "UPDATE automations SET active_version_id = $1, name = $2 WHERE workspace_id = $3 AND id = $4",
    )
    .bind(version.id.0)
    .bind(&new.name)
    .bind(ws.0)
    .bind(automation.id.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let automation = Automation {
        active_version_id: Some(version.id),
        name: new.name.clone(),
        ..automation
    };
    Ok(SavedVersion {
        automation,
        version,
        created: true,
    })
}

pub(super) async fn automation_by_slug(
    s: &SqlStore,
    ws: WorkspaceId,
    slug: &str,
) -> Result<Option<Automation>> {
    let sql = format!(
        "SELECT {} FROM automations WHERE workspace_id = $1 AND slug = $2",
        rowmap::AUTOMATION_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(slug)
        .fetch_optional(&s.reader)
        .await?;
    row.as_ref().map(rowmap::automation).transpose()
}

pub(super) async fn automation(s: &SqlStore, ws: WorkspaceId, id: AutomationId) -> Result<Automation> {
    let sql = format!(
        "SELECT {} FROM automations WHERE workspace_id = $1 AND id = $2",
        rowmap::AUTOMATION_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&s.reader)
        .await?
        .ok_or(StoreError::NotFound("automation"))?;
    rowmap::automation(&row)
}

pub(super) async fn list_automations(s: &SqlStore, ws: WorkspaceId) -> Result<Vec<Automation>> {
    let sql = format!(
        "SELECT {} FROM automations WHERE workspace_id = $1 ORDER BY name, id",
        rowmap::AUTOMATION_COLUMNS
    );
    let rows = sqlx::query(&sql).bind(ws.0).fetch_all(&s.reader).await?;
    rows.iter().map(rowmap::automation).collect()
}

pub(super) async fn version(s: &SqlStore, ws: WorkspaceId, id: VersionId) -> Result<Version> {
    let sql = format!(
        "SELECT {} FROM automation_versions WHERE workspace_id = $1 AND id = $2",
        rowmap::VERSION_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&s.reader)
        .await?
        .ok_or(StoreError::NotFound("version"))?;
    rowmap::version(&row)
}

pub(super) async fn list_versions(
    s: &SqlStore,
    ws: WorkspaceId,
    automation: AutomationId,
) -> Result<Vec<Version>> {
    let sql = format!(
        "SELECT {} FROM automation_versions WHERE workspace_id = $1 AND automation_id = $2 ORDER BY number DESC",
        rowmap::VERSION_COLUMNS
    );
    let rows = sqlx::query(&sql)
        .bind(ws.0)
        .bind(automation.0)
        .fetch_all(&s.reader)
        .await?;
    rows.iter().map(rowmap::version).collect()
}

pub(super) async fn artifacts(s: &SqlStore, ws: WorkspaceId, version: VersionId) -> Result<Vec<Artifact>> {
    let rows = sqlx::query(
        "SELECT kind, bytes, summary FROM model_artifacts WHERE workspace_id = $1 AND version_id = $2 ORDER BY kind",
    )
    .bind(ws.0)
    .bind(version.0)
    .fetch_all(&s.reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Artifact {
                kind: r.try_get("kind")?,
                bytes: r.try_get("bytes")?,
                summary: r.try_get("summary")?,
            })
        })
        .collect()
}
