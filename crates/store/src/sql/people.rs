//! Workspaces, users, sessions and API tokens.

use sqlx::Row;

use super::{SqlStore, rowmap};
use crate::*;

pub(super) async fn create_workspace(s: &SqlStore, slug: &str, name: &str, now: Millis) -> Result<Workspace> {
    let row = sqlx::query(
        "INSERT INTO workspaces (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id, slug, name, created_at",
    )
    .bind(slug)
    .bind(name)
    .bind(now)
    .fetch_one(&s.writer)
    .await
    .map_err(|e| StoreError::from_unique(e, &format!("a workspace named {slug:?} already exists")))?;
    rowmap::workspace(&row)
}

pub(super) async fn workspace_by_slug(s: &SqlStore, slug: &str) -> Result<Option<Workspace>> {
    let row = sqlx::query("SELECT id, slug, name, created_at FROM workspaces WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&s.reader)
        .await?;
    row.as_ref().map(rowmap::workspace).transpose()
}

pub(super) async fn workspace(s: &SqlStore, id: WorkspaceId) -> Result<Workspace> {
    let row = sqlx::query("SELECT id, slug, name, created_at FROM workspaces WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&s.reader)
        .await?
        .ok_or(StoreError::NotFound("workspace"))?;
    rowmap::workspace(&row)
}

pub(super) async fn create_user(s: &SqlStore, ws: WorkspaceId, user: &NewUser, now: Millis) -> Result<User> {
    let row = sqlx::query(
        "INSERT INTO users (workspace_id, email, name, role, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, workspace_id, email, name, role, created_at, disabled_at",
    )
    .bind(ws.0)
    .bind(user.email.to_lowercase())
    .bind(&user.name)
    .bind(user.role.as_str())
    .bind(&user.password_hash)
    .bind(now)
    .fetch_one(&s.writer)
    .await
    .map_err(|e| StoreError::from_unique(e, &format!("a user with e-mail {} already exists", user.email)))?;
    rowmap::user(&row)
}

pub(super) async fn user_credentials(s: &SqlStore, email: &str) -> Result<Option<(User, String)>> {
    let sql = format!(
        "SELECT {}, u.password_hash FROM users u WHERE u.email = $1 AND u.removed_at IS NULL",
        rowmap::USER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(email.trim().to_lowercase())
        .fetch_optional(&s.reader)
        .await?;
    match row {
        Some(row) => Ok(Some((rowmap::user(&row)?, row.try_get("password_hash")?))),
        None => Ok(None),
    }
}

pub(super) async fn user(s: &SqlStore, ws: WorkspaceId, id: UserId) -> Result<User> {
    let sql = format!(
        "SELECT {} FROM users u WHERE u.workspace_id = $1 AND u.id = $2",
        rowmap::USER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&s.reader)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    rowmap::user(&row)
}

pub(super) async fn list_users(s: &SqlStore, ws: WorkspaceId) -> Result<Vec<User>> {
    let sql = format!(
        "SELECT {} FROM users u WHERE u.workspace_id = $1 AND u.removed_at IS NULL ORDER BY u.name, u.id",
        rowmap::USER_COLUMNS
    );
    let rows = sqlx::query(&sql).bind(ws.0).fetch_all(&s.reader).await?;
    rows.iter().map(rowmap::user).collect()
}

pub(super) async fn create_session(s: &SqlStore, new: &NewSession, now: Millis) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (workspace_id, user_id, token_hash, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new.workspace_id.0)
    .bind(new.user_id.0)
    .bind(&new.token_hash)
    .bind(&new.csrf_token)
    .bind(now)
    .bind(new.expires_at)
    .execute(&s.writer)
    .await?;
    Ok(())
}

pub(super) async fn session(s: &SqlStore, token_hash: &str, now: Millis) -> Result<Option<Session>> {
    let sql = format!(
        "SELECT {}, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         AND u.workspace_id = s.workspace_id WHERE s.token_hash = $1 AND s.expires_at > $2
         AND u.disabled_at IS NULL AND u.removed_at IS NULL",
        rowmap::USER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&s.reader)
        .await?;
    match row {
        Some(row) => Ok(Some(Session {
            user: rowmap::user(&row)?,
            csrf_token: row.try_get("csrf_token")?,
            expires_at: row.try_get("expires_at")?,
        })),
        None => Ok(None),
    }
}

pub(super) async fn delete_session(s: &SqlStore, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&s.writer)
        .await?;
    Ok(())
}

pub(super) async fn create_api_token(
    s: &SqlStore,
    ws: WorkspaceId,
    user: UserId,
    name: &str,
    token_hash: &str,
    expires_at: Option<Millis>,
    now: Millis,
) -> Result<ApiToken> {
    // The user must belong to the workspace the token is for, and still be a member.
    let owner: Option<String> = sqlx::query_scalar(
        "SELECT email FROM users WHERE workspace_id = $1 AND id = $2 AND removed_at IS NULL",
    )
    .bind(ws.0)
    .bind(user.0)
    .fetch_optional(&s.writer)
    .await?;
    let Some(user_email) = owner else {
        return Err(StoreError::NotFound("user"));
    };
    let row = sqlx::query(
        "INSERT INTO api_tokens (workspace_id, user_id, name, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(ws.0)
    .bind(user.0)
    .bind(name)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&s.writer)
    .await?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        workspace_id: ws,
        user_id: user,
        user_email,
        name: name.to_owned(),
        created_at: now,
        last_used_at: None,
        expires_at,
        revoked_at: None,
    })
}

pub(super) async fn api_token_user(s: &SqlStore, token_hash: &str, now: Millis) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {}, t.id AS token_id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
         AND u.workspace_id = t.workspace_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL
         AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL AND u.removed_at IS NULL",
        rowmap::USER_COLUMNS
    );
    let Some(row) = sqlx::query(&sql)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&s.reader)
        .await?
    else {
        return Ok(None);
    };
    let user = rowmap::user(&row)?;
    // Record use at most once a minute: a write per API call would halve intake speed.
    let last: Option<i64> = row.try_get("last_used_at")?;
    if last.is_none_or(|t| now - t > 60_000) {
        let id: i64 = row.try_get("token_id")?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&s.writer)
            .await?;
    }
    Ok(Some(user))
}
