//! The measurement API under `/api/v1`: bearer token, scoped to its workspace.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tandem_domain::ItemId;
use tandem_service::ServiceError;
use tandem_store::HandWorkKind;

use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/checkin", get(weekly_figures))
        .route("/api/v1/automations/{slug}/baseline", get(baseline))
        .route("/api/v1/automations/{slug}/by-hand", post(record_by_hand))
        .route("/api/v1/items/{id}/escaped", post(report_escaped))
        .route("/api/v1/checkin/notes", post(add_note))
        .route("/metrics", get(metrics))
}

fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    r.map(|Json(v)| v).map_err(|e| {
        ApiError(ServiceError::invalid(format!(
            "the request body is not valid: {}",
            e.body_text()
        )))
    })
}

#[derive(Deserialize)]
struct WeeklyQuery {
    automation: Option<String>,
    weeks: Option<usize>,
}

/// `GET /api/v1/checkin?automation=SLUG&weeks=N`: the weekly figures, oldest week first,
/// the current week last. Without `automation`, the whole workspace.
async fn weekly_figures(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Query(q): Query<WeeklyQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let weekly = s
        .tandem
        .weekly(&actor, q.automation.as_deref(), q.weeks.unwrap_or(12))
        .await?;
    Ok(Json(weekly))
}

async fn baseline(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(tandem_domain::Role::Viewer, "see the baseline")?;
    let ws = actor.workspace();
    let a = s
        .tandem
        .store
        .automation_by_slug(ws, &slug)
        .await?
        .ok_or(ServiceError::NotFound("automation"))?;
    Ok(Json(s.tandem.baseline(ws, &a).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ByHand {
    /// `measured` (timed, without the automation's help) or `outside` (done outside Tandem).
    mode: String,
    #[serde(default)]
    item_id: Option<i64>,
    #[serde(default)]
    seconds: Option<f64>,
    #[serde(default)]
    note: String,
}

/// `POST /api/v1/automations/{slug}/by-hand`: `{"mode": "measured" | "outside",
/// "item_id": 12, "seconds": 240, "note": "..."}`.
async fn record_by_hand(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    req: Result<Json<ByHand>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let req = body(req)?;
    let kind = match req.mode.as_str() {
        "measured" => HandWorkKind::Measured,
        "outside" => HandWorkKind::Outside,
        other => {
            return Err(ApiError(ServiceError::invalid(format!(
                "mode: {other:?} is not measured or outside"
            ))));
        }
    };
    let done = s
        .tandem
        .record_by_hand(
            &actor,
            &slug,
            req.item_id.map(ItemId),
            kind,
            req.seconds,
            &req.note,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(done)))
}

#[derive(Deserialize, Default)]
struct Escaped {
    #[serde(default)]
    note: String,
}

/// `POST /api/v1/items/{id}/escaped`: an automatically accepted item was wrong. The same
/// report as "this looks wrong" (`POST /api/v1/items/{id}/wrong`): the item goes back to
/// the inbox and counts once as an escaped error in its week; the note is the reason.
async fn report_escaped(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    req: Result<Json<Escaped>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let req = body(req)?;
    s.tandem.report_wrong(&actor, ItemId(id), &req.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewNote {
    #[serde(default)]
    automation: Option<String>,
    /// The day the note is about, `YYYY-MM-DD`.
    date: String,
    body: String,
}

/// `POST /api/v1/checkin/notes`: `{"automation": "SLUG", "date": "2026-01-05", "body": "..."}`;
/// without `automation`, a note on the whole workspace's week.
async fn add_note(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    req: Result<Json<NewNote>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let req = body(req)?;
    let at = tandem_service::measure::parse_date(&req.date).map_err(ServiceError::invalid)? + 12 * 3_600_000;
    let note = s
        .tandem
        .add_week_note(&actor, req.automation.as_deref(), at, &req.body)
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

/// `GET /metrics`: Prometheus text for the token's workspace (a builder's token).
async fn metrics(State(s): State<AppState>, ApiUser(actor): ApiUser) -> Result<impl IntoResponse, ApiError> {
    let text = s.tandem.metrics_text(&actor).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}
