//! Who is calling. The API takes `Authorization: Bearer <token>`; the UI takes the session
//! cookie, and every form it posts must carry the session's form token (CSRF).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use tandem_service::ServiceError;
use tandem_service::auth::Actor;

use crate::AppState;
use crate::error::{ApiError, PageError};

pub const SESSION_COOKIE: &str = "tandem_session";

/// An API caller, by token.
#[derive(Debug)]
pub struct ApiUser(pub Actor);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim) else {
            return Err(ApiError(ServiceError::Unauthenticated));
        };
        match state.tandem.token_actor(token).await? {
            Some(actor) => Ok(ApiUser(actor)),
            None => Err(ApiError(ServiceError::Unauthenticated)),
        }
    }
}

/// A form that carries nothing but its CSRF token (a button: revoke, close, remove...).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// A signed-in person in the UI, with the form token their forms must send back.
#[derive(Debug)]
pub struct PageUser {
    pub actor: Actor,
    pub csrf: String,
}

impl PageUser {
    /// Refuse a form whose token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(PageError(ServiceError::Forbidden {
                have: "an expired form".into(),
                need: "a fresh page".into(),
                action: "submit this form (reload the page and try again)".into(),
            }))
        }
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(PageError(ServiceError::Unauthenticated));
        };
        match state.tandem.session_actor(cookie.value()).await? {
            Some((actor, csrf)) => Ok(PageUser { actor, csrf }),
            None => Err(PageError(ServiceError::Unauthenticated)),
        }
    }
}

/// The client's address, when the server recorded it ([`crate::serve`] does; a router
/// called in process has none). It is the peer of the TCP connection: behind a reverse
/// proxy, that is the proxy.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
