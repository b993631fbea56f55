//! Who is asking, and may they. Passwords are argon2id hashes; session cookies and API
//! tokens are random secrets of which only a SHA-256 digest is stored, so a copy of the
//! database does not let anyone sign in.

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
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(ServiceError::invalid(format!(
                "the password must have at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        let name = if name.trim().is_empty() {
            email.split('@').next().unwrap_or(email)
        } else {
            name.trim()
        };
        let hash = hash_password(password, self.settings.fast_password_hashing)?;
        let new = NewUser {
            email: email.to_owned(),
            name: name.to_owned(),
            role,
            password_hash: hash,
        };
        Ok(self.store.create_user(ws, &new, self.now()).await?)
    }

    /// Check a password and open a session. The same answer, after the same work, for an
    /// unknown e-mail and a wrong password, so neither reveals which accounts exist.
    pub async fn login(&self, email: &str, password: &str) -> ServiceResult<SessionGrant> {
        let found = self.store.user_credentials(email).await?;
        let ok = match &found {
            Some((_, hash)) => verify_password(password, hash),
            None => {
                let _ = hash_password(password, self.settings.fast_password_hashing);
                false
            }
        };
        let Some((user, _)) = found.filter(|_| ok) else {
            return Err(ServiceError::invalid("the e-mail or password is not right"));
        };
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

    /// Create an API token for a user; the token is shown once and only its digest kept.
    pub async fn create_token(&self, user: &User, name: &str) -> ServiceResult<String> {
        let token = new_secret("tdm_");
        self.store
            .create_api_token(user.workspace_id, user.id, name, &digest(&token), self.now())
            .await?;
        Ok(token)
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
