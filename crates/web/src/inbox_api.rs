//! The inbox's API: "this looks wrong" for systems that consume results, reviewer
//! progress, and escaped errors. Bearer token; scoped to the token's workspace.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tandem_domain::{ItemId, Role};
use tandem_service::ServiceError;
use tandem_store::NotificationStatus;

use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/items/{id}/wrong", post(report_wrong))
        .route("/api/v1/items/{id}/similar", get(similar_items))
        .route("/api/v1/reviewers/progress", get(progress))
        .route("/api/v1/escaped-errors", get(escaped_errors))
        .route("/api/v1/notifications", get(notifications))
}

/// The decided items most like this one, with how each was decided.
async fn similar_items(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.tandem.similar_decided(&actor, ItemId(id)).await?))
}

#[derive(Deserialize)]
struct WrongBody {
    reason: String,
}

async fn report_wrong(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<WrongBody>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(body) = body.map_err(|e| {
        ServiceError::invalid(format!(
            "the request body is not valid: {} (send {{\"reason\": \"what looks wrong\"}})",
            e.body_text()
        ))
    })?;
    s.tandem.report_wrong(&actor, ItemId(id), &body.reason).await?;
    Ok(Json(s.tandem.item_view(&actor, ItemId(id)).await?))
}

async fn progress(State(s): State<AppState>, ApiUser(actor): ApiUser) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        serde_json::json!({ "reviewers": s.tandem.reviewer_progress(&actor).await? }),
    ))
}

#[derive(Deserialize)]
struct SinceQuery {
    /// Milliseconds since the epoch; default: everything.
    since: Option<i64>,
}

async fn escaped_errors(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Query(q): Query<SinceQuery>,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Viewer, "see escaped errors")?;
    let list = s
        .tandem
        .store
        .escaped_errors(actor.workspace(), q.since.unwrap_or(0))
        .await?;
    Ok(Json(serde_json::json!({ "escaped_errors": list })))
}

#[derive(Deserialize)]
struct NotificationQuery {
    /// `sent`, `retrying`, `failed` or `all` (the default).
    status: Option<String>,
    limit: Option<u32>,
}

/// The notification log, newest first: digests and escalations, where each went, whether
/// it was sent, how many attempts it took, and the next attempt of one still retrying.
async fn notifications(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Query(q): Query<NotificationQuery>,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Viewer, "see notifications")?;
    let status = match q.status.as_deref() {
        None | Some("all") => None,
        Some(other) => Some(NotificationStatus::parse(other).ok_or_else(|| {
            ServiceError::invalid(format!(
                "unknown notification status {other:?} (use sent, retrying, failed or all)"
            ))
        })?),
    };
    let list = s
        .tandem
        .store
        .list_notifications(actor.workspace(), status, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(serde_json::json!({ "notifications": list })))
}
