//! The one mapping from a use-case error to an HTTP answer: JSON for the API, a page for
//! the UI. A 5xx never shows internals; they go to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use tandem_service::ServiceError;

pub fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Conflict(_) => StatusCode::CONFLICT,
        ServiceError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::Unauthenticated => StatusCode::UNAUTHORIZED,
        ServiceError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::Forbidden { .. } => StatusCode::FORBIDDEN,
        ServiceError::Store(_) | ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// What a person may be told: the error itself, or a generic line for a 5xx.
pub fn public_message(e: &ServiceError) -> (String, Vec<String>) {
    if let ServiceError::Unavailable(m) = e {
        // What is missing on the server (a tool to install), not an internal detail.
        tracing::error!(error = %m, "request failed: the server lacks what it needs");
        return (m.clone(), Vec::new());
    }
    if status_of(e).is_server_error() {
        tracing::error!(error = %e, "request failed");
        return (
            "something went wrong on our side; it has been logged".into(),
            Vec::new(),
        );
    }
    match e {
        ServiceError::Invalid { message, details } => (message.clone(), details.clone()),
        other => (other.to_string(), Vec::new()),
    }
}

/// An error answered as JSON: `{"error": {"status", "message", "details"}}`.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl<E: Into<ServiceError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let (message, details) = public_message(&self.0);
        let body = serde_json::json!({ "error": { "status": status.as_u16(), "message": message, "details": details } });
        let mut resp = (status, Json(body)).into_response();
        if let ServiceError::TooManyAttempts { retry_after_secs } = self.0
            && let Ok(v) = retry_after_secs.to_string().parse()
        {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Under `/api/`, an error answer that is not JSON becomes the documented JSON error.
///
/// axum's own rejections (a malformed query, a path segment that is not a number, a body
/// that is not JSON) and tower-http's answers are plain text. One layer here rather than
/// a wrapper around every extractor of every handler, so a new handler cannot forget it.
/// The text is kept as the message for a 4xx (at most 4 KiB of it is read); a 5xx says
/// only the generic line.
pub async fn api_errors_as_json(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if status.is_server_error() {
        "something went wrong on our side; it has been logged".to_owned()
    } else if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.remove(axum::http::header::CONTENT_TYPE);
    let body =
        serde_json::json!({ "error": { "status": status.as_u16(), "message": message, "details": [] } });
    let mut fixed = Json(body).into_response();
    *fixed.status_mut() = status;
    for (name, value) in &parts.headers {
        fixed.headers_mut().entry(name.clone()).or_insert(value.clone());
    }
    fixed
}

/// An error answered as a page; an unauthenticated visitor is sent to sign in.
#[derive(Debug)]
pub struct PageError(pub ServiceError);

impl<E: Into<ServiceError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, ServiceError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let status = status_of(&self.0);
        let (message, details) = public_message(&self.0);
        let page = crate::pages::templates::ErrorPage {
            status: status.as_u16(),
            message,
            details,
        };
        match askama::Template::render(&page) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, "error").into_response(),
        }
    }
}
