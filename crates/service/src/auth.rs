//! Who is asking, and may they. Passwords are argon2id hashes; session cookies and API
//! tokens are random secrets of which only a SHA-256 digest is stored, so a copy of the
//! database does not let anyone sign in.
//!
//! An argon2 hash takes tens of milliseconds of CPU and 19 MiB by design, so it never runs
//! on the async threads (where parallel sign-ins once held up every other request): each
//! goes to the blocking pool through [`off_thread`], at most one per core at a time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tandem_domain::{Role, WorkspaceId};
use tandem_store::{NewSession, NewUser, User, Workspace};

use crate::{ServiceError, ServiceResult, Tandem};

/// The person (or token) behind a request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
}

impl Actor {
    pub fn workspace(&self) -> WorkspaceId {
        self.user.workspace_id
    }

    /// Refuse unless the actor's role includes `needed`; `action` completes "cannot …".
    pub fn require(&self, needed: Role, action: &str) -> ServiceResult<()> {
        if self.user.role.allows(needed) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden {
                have: self.user.role.to_string(),
                need: needed.to_string(),
                action: action.to_owned(),
            })
        }
    }
}

/// A fresh random secret, URL-safe, with a readable prefix (`tdm_` for API tokens).
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What is stored for a secret: its SHA-256, hex.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn argon2(fast: bool) -> Argon2<'static> {
    // Tests create many users; full-strength hashing there only slows the suite down.
    let params = if fast {
        Params::new(8, 1, 1, None)
    } else {
        Ok(Params::default())
    };
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.unwrap_or_default())
}

pub fn hash_password(password: &str, fast: bool) -> ServiceResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ServiceError::Internal(format!("random source: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
    argon2(fast)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("password hashing: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    // The parameters are read from the stored hash, so old hashes keep verifying.
    PasswordHash::new(hash).is_ok_and(|h| argon2(false).verify_password(password.as_bytes(), &h).is_ok())
}

/// A signed-in browser session: the cookie value and the form token that must come back
/// with every form.
#[derive(Debug, Clone)]
pub struct SessionGrant {
    pub cookie: String,
    pub csrf_token: String,
    pub user: User,
}

pub const MIN_PASSWORD_LEN: usize = 10;

/// Hashes run at once: more would only queue for the same cores, each holding its memory.
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from))
});

/// Run a password hash or check on the blocking pool, one per core at a time.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    let _slot = HASHING
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(format!("hashing slots: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing task: {e}")))
}

/// Hash a new password off the async threads, after checking its length.
pub async fn hash_new_password(password: &str, fast: bool) -> ServiceResult<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ServiceError::invalid(format!(
            "the password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let password = password.to_owned();
    off_thread(move || hash_password(&password, fast)).await?
}

impl Tandem {
    /// The workspace with this slug, created if missing.
    pub async fn ensure_workspace(&self, slug: &str, name: &str) -> ServiceResult<Workspace> {
        let slug = tandem_domain::Slug::parse(slug).map_err(ServiceError::invalid)?;
        if let Some(ws) = self.store.workspace_by_slug(slug.as_str()).await? {
            return Ok(ws);
        }
        Ok(self
            .store
            .create_workspace(slug.as_str(), name, self.now())
            .await?)
    }

    pub async fn add_user(
        &self,
        ws: WorkspaceId,
        email: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> ServiceResult<User> {
        let email = email.trim();
        if !email.contains('@') || email.len() > 254 || email.contains(char::is_whitespace) {
            return Err(ServiceError::invalid(format!(
                "{email:?} is not an e-mail address"
            )));
        }
        let name = if name.trim().is_empty() {
            email.split('@').next().unwrap_or(email)
        } else {
            name.trim()
        };
        let hash = hash_new_password(password, self.settings.fast_password_hashing).await?;
        let new = NewUser {
            email: email.to_owned(),
            name: name.to_owned(),
            role,
            password_hash: hash,
        };
        Ok(self.store.create_user(ws, &new, self.now()).await?)
    }

    /// [`Tandem::login_from`] with no client address (the CLI, benchmarks).
    pub async fn login(&self, email: &str, password: &str) -> ServiceResult<SessionGrant> {
        self.login_from(email, password, None).await
    }

    /// Check a password and open a session. The same answer, after the same work, for an
    /// unknown e-mail and a wrong password, so neither reveals which accounts exist.
    /// After too many failures on the account or from `from`, the password is not even
    /// checked: [`ServiceError::TooManyAttempts`] says how long to wait.
    pub async fn login_from(
        &self,
        email: &str,
        password: &str,
        from: Option<std::net::IpAddr>,
    ) -> ServiceResult<SessionGrant> {
        let limits = self.settings.login_throttle;
        if let Some(retry_after_secs) = self.login_failures.check(limits, email, from, self.now()) {
            return Err(ServiceError::TooManyAttempts { retry_after_secs });
        }
        let found = self.store.user_credentials(email).await?;
        let fast = self.settings.fast_password_hashing;
        let password = password.to_owned();
        let hash = found.as_ref().map(|(_, h)| h.clone());
        let ok = off_thread(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                let _ = hash_password(&password, fast);
                false
            }
        })
        .await?;
        let Some((user, _)) = found.filter(|_| ok) else {
            self.login_failures.failed(limits, email, from, self.now());
            return Err(ServiceError::invalid("the e-mail or password is not right"));
        };
        self.login_failures.succeeded(email);
        if user.disabled_at.is_some() {
            // Said only after the right password, so it reveals nothing to a guesser.
            return Err(ServiceError::invalid(
                "this account is disabled; ask a workspace admin to enable it",
            ));
        }
        let cookie = new_secret("");
        let csrf_token = new_secret("");
        let now = self.now();
        let ttl = i64::try_from(self.settings.session_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        self.store
            .create_session(
                &NewSession {
                    workspace_id: user.workspace_id,
                    user_id: user.id,
                    token_hash: digest(&cookie),
                    csrf_token: csrf_token.clone(),
                    expires_at: now + ttl,
                },
                now,
            )
            .await?;
        Ok(SessionGrant {
            cookie,
            csrf_token,
            user,
        })
    }

    /// The actor behind a session cookie, with the session's form token.
    pub async fn session_actor(&self, cookie: &str) -> ServiceResult<Option<(Actor, String)>> {
        Ok(self
            .store
            .session(&digest(cookie), self.now())
            .await?
            .map(|s| (Actor { user: s.user }, s.csrf_token)))
    }

    pub async fn logout(&self, cookie: &str) -> ServiceResult<()> {
        Ok(self.store.delete_session(&digest(cookie)).await?)
    }

    /// Create an API token for a user that never expires (tests, the demo); the token is
    /// shown once and only its digest kept.
    pub async fn create_token(&self, user: &User, name: &str) -> ServiceResult<String> {
        Ok(self.create_token_expiring(user, name, None).await?.0)
    }

    /// Create an API token that stops working `expires_in` from now (`None`: never).
    pub async fn create_token_expiring(
        &self,
        user: &User,
        name: &str,
        expires_in: Option<std::time::Duration>,
    ) -> ServiceResult<(String, tandem_store::ApiToken)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid(
                "name: a token's name must have 1 to 100 characters",
            ));
        }
        let token = new_secret("tdm_");
        let now = self.now();
        let expires_at =
            expires_in.map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
        let row = self
            .store
            .create_api_token(user.workspace_id, user.id, name, &digest(&token), expires_at, now)
            .await?;
        Ok((token, row))
    }

    pub async fn token_actor(&self, token: &str) -> ServiceResult<Option<Actor>> {
        Ok(self
            .store
            .api_token_user(&digest(token), self.now())
            .await?
            .map(|user| Actor { user }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_secrets_differ() {
        let h = hash_password("correct horse battery", true).unwrap();
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("anything", "not a hash"));
        let a = new_secret("tdm_");
        assert!(a.starts_with("tdm_") && a.len() > 40);
        assert_ne!(a, new_secret("tdm_"));
        assert_eq!(digest("x").len(), 64);
    }
}
