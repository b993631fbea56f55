//! Managing accounts after they are made: role, password, disabling, removal, and the
//! listing and revoking of API tokens. Every statement names the workspace, so an admin
//! of one workspace cannot touch another's people or tokens.

use super::{SqlStore, rowmap};
use crate::*;
use tandem_domain::Role;

pub(super) async fn user_by_email(s: &SqlStore, ws: WorkspaceId, email: &str) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {} FROM users u WHERE u.workspace_id = $1 AND u.email = $2 AND u.removed_at IS NULL",
        rowmap::USER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(email.trim().to_lowercase())
        .fetch_optional(&s.reader)
        .await?;
    row.as_ref().map(rowmap::user).transpose()
}

/// One change to one account, with the sessions and tokens it ends, in one transaction.
/// The workspace keeps at least one active admin: the check and the change commit
/// together, so two admins demoting each other at once cannot both succeed.
pub(super) async fn change_user(
    s: &SqlStore,
    ws: WorkspaceId,
    id: UserId,
    change: &UserChange,
    now: Millis,
) -> Result<User> {
    let mut tx = s.write_tx().await?;
    let sql = format!(
        "SELECT {} FROM users u WHERE u.workspace_id = $1 AND u.id = $2 AND u.removed_at IS NULL",
        rowmap::USER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let user = rowmap::user(&row)?;

    let loses_admin = user.role == Role::Admin
        && user.disabled_at.is_none()
        && match change {
            UserChange::Role(r) => *r != Role::Admin,
            UserChange::Disable | UserChange::Remove => true,
            UserChange::Password(_) | UserChange::Enable => false,
        };
    if loses_admin {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE workspace_id = $1 AND id <> $2 AND role = 'admin'
             AND disabled_at IS NULL AND removed_at IS NULL",
        )
        .bind(ws.0)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Err(StoreError::Conflict(format!(
                "{} is the workspace's only active admin; make someone else admin first",
                user.email
            )));
        }
    }

    let end_sessions = match change {
        UserChange::Role(role) => {
            sqlx::query("UPDATE users SET role = $1 WHERE workspace_id = $2 AND id = $3")
                .bind(role.as_str())
                .bind(ws.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            false
        }
        UserChange::Password(hash) => {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE workspace_id = $2 AND id = $3")
                .bind(hash)
                .bind(ws.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            true
        }
        UserChange::Disable => {
            sqlx::query(
                "UPDATE users SET disabled_at = $1 WHERE workspace_id = $2 AND id = $3 AND disabled_at IS NULL",
            )
            .bind(now)
            .bind(ws.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            true
        }
        UserChange::Enable => {
            sqlx::query("UPDATE users SET disabled_at = NULL WHERE workspace_id = $1 AND id = $2")
                .bind(ws.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            false
        }
        UserChange::Remove => {
            // The address is freed (it is UNIQUE) by keeping it under a name no one can
            // type at sign-in: an e-mail address cannot contain a space.
            sqlx::query("UPDATE users SET removed_at = $1, email = $2 WHERE workspace_id = $3 AND id = $4")
                .bind(now)
                .bind(format!("removed {} {}", id.0, user.email))
                .bind(ws.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE workspace_id = $2 AND user_id = $3
                 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(ws.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            true
        }
    };
    if end_sessions {
        sqlx::query("DELETE FROM sessions WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
    }
    let sql = format!(
        "SELECT {} FROM users u WHERE u.workspace_id = $1 AND u.id = $2",
        rowmap::USER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(ws.0)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
    let changed = rowmap::user(&row)?;
    tx.commit().await?;
    Ok(changed)
}

pub(super) async fn list_api_tokens(s: &SqlStore, ws: WorkspaceId) -> Result<Vec<ApiToken>> {
    let sql = format!(
        "SELECT {} FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.workspace_id = t.workspace_id
         WHERE t.workspace_id = $1 ORDER BY t.id",
        rowmap::API_TOKEN_COLUMNS
    );
    let rows = sqlx::query(&sql).bind(ws.0).fetch_all(&s.reader).await?;
    rows.iter().map(rowmap::api_token).collect()
}

/// Revoke a token of this workspace; revoking one already revoked keeps its first time.
pub(super) async fn revoke_api_token(
    s: &SqlStore,
    ws: WorkspaceId,
    id: i64,
    now: Millis,
) -> Result<ApiToken> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE workspace_id = $2 AND id = $3",
    )
    .bind(now)
    .bind(ws.0)
    .bind(id)
    .execute(&s.writer)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("token"));
    }
    let sql = format!(
        "SELECT {} FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.workspace_id = t.workspace_id
         WHERE t.workspace_id = $1 AND t.id = $2",
        rowmap::API_TOKEN_COLUMNS
    );
    let row = sqlx::query(&sql).bind(ws.0).bind(id).fetch_one(&s.writer).await?;
    rowmap::api_token(&row)
}
