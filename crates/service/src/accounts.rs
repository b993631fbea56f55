//! Managing people and tokens once they exist (issue 21, point 5): roles, passwords,
//! disabling, removal; listing and revoking API tokens. The CLI acts as the operator (it
//! holds the database); the admin page acts as an [`Actor`] who must be an admin. Either
//! way the change takes effect at once: the store ends the sessions and tokens it calls
//! for in the same transaction, and every session or token check reads the account.

use std::time::Duration;

use tandem_domain::{Role, UserId, WorkspaceId};
use tandem_store::{ApiToken, User, UserChange};

use crate::auth::{Actor, hash_new_password};
use crate::{ServiceError, ServiceResult, Tandem};

/// How long a token made without `--expires-in` lasts.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// One change to an account, as asked (a password in clear, hashed here).
#[derive(Debug, Clone)]
pub enum AccountChange {
    Role(Role),
    Password(String),
    Disable,
    Enable,
    Remove,
}

impl AccountChange {
    /// What was done, for a message: "disabled", "given the role builder", ...
    pub fn done(&self) -> String {
        match self {
            AccountChange::Role(r) => format!("given the role {r}"),
            AccountChange::Password(_) => "given a new password (their sessions ended)".into(),
            AccountChange::Disable => "disabled (their sessions and tokens stopped working)".into(),
            AccountChange::Enable => "enabled".into(),
            AccountChange::Remove => "removed (their sessions ended and tokens were revoked)".into(),
        }
    }
}

/// A token's state as a person reads it, at `now`.
pub fn token_status(t: &ApiToken, now: tandem_domain::Millis) -> &'static str {
    if t.revoked_at.is_some() {
        "revoked"
    } else if t.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

/// Read a lifetime such as `90d`, `12h`, `30m` or `never` (`None`).
pub fn parse_lifetime(text: &str) -> ServiceResult<Option<Duration>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let bad = || {
        ServiceError::invalid(format!(
            "expires-in: {t:?} is not a lifetime; write a number of days, hours or minutes \
             such as 90d, 12h or 30m, or `never`"
        ))
    };
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "d" => n.checked_mul(86_400),
        "h" => n.checked_mul(3_600),
        "m" => n.checked_mul(60),
        _ => None,
    }
    .filter(|s| *s > 0 && *s <= 10 * 366 * 86_400)
    .ok_or_else(bad)?;
    Ok(Some(Duration::from_secs(secs)))
}

impl Tandem {
    /// Change an account of `ws` as the operator (the CLI).
    pub async fn change_account(
        &self,
        ws: WorkspaceId,
        id: UserId,
        change: AccountChange,
    ) -> ServiceResult<User> {
        let change = match change {
            AccountChange::Role(r) => UserChange::Role(r),
            AccountChange::Password(p) => {
                UserChange::Password(hash_new_password(&p, self.settings.fast_password_hashing).await?)
            }
            AccountChange::Disable => UserChange::Disable,
            AccountChange::Enable => UserChange::Enable,
            AccountChange::Remove => UserChange::Remove,
        };
        Ok(self.store.change_user(ws, id, &change, self.now()).await?)
    }

    /// Change an account of the actor's workspace; only an admin may, and not their own
    /// role, access or membership (another admin must, so no one locks themself out).
    pub async fn admin_change_account(
        &self,
        actor: &Actor,
        id: UserId,
        change: AccountChange,
    ) -> ServiceResult<User> {
        actor.require(Role::Admin, "manage people")?;
        if id == actor.user.id && !matches!(change, AccountChange::Password(_)) {
            return Err(ServiceError::Conflict(
                "you cannot change your own role or access; ask another admin".into(),
            ));
        }
        self.change_account(actor.workspace(), id, change).await
    }

    /// A member of `ws` by e-mail, or an error that says who was not found.
    pub async fn member(&self, ws: WorkspaceId, email: &str) -> ServiceResult<User> {
        self.store.user_by_email(ws, email).await?.ok_or_else(|| {
            ServiceError::invalid(format!("nobody with e-mail {:?} in this workspace", email.trim()))
        })
    }

    pub async fn list_tokens(&self, actor: &Actor) -> ServiceResult<Vec<ApiToken>> {
        actor.require(Role::Admin, "see API tokens")?;
        Ok(self.store.list_api_tokens(actor.workspace()).await?)
    }

    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> ServiceResult<ApiToken> {
        actor.require(Role::Admin, "revoke API tokens")?;
        Ok(self
            .store
            .revoke_api_token(actor.workspace(), id, self.now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_days_hours_minutes_and_never() {
        assert_eq!(
            parse_lifetime("90d").unwrap(),
            Some(Duration::from_secs(90 * 86_400))
        );
        assert_eq!(parse_lifetime(" 12h").unwrap(), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_lifetime("30m").unwrap(), Some(Duration::from_secs(1_800)));
        assert_eq!(parse_lifetime("never").unwrap(), None);
        for bad in ["", "d", "90", "0d", "-1d", "9999999999999d", "1w", "1.5d"] {
            let e = parse_lifetime(bad).unwrap_err().to_string();
            assert!(e.contains("expires-in"), "{bad:?}: {e}");
        }
    }
}
