//! The rollout's JSON API: stages, champion and sign-off, the readiness gate, versions
//! (list, diff, re-activate), edge cases and the suite.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tandem_domain::{ItemId, Stage};
use tandem_service::ServiceError;
use tandem_service::rollout::StageChange;
use tandem_service::rollout::edge_cases::EdgeCaseInput;
use tandem_service::rollout::versions::diff_text;
use tandem_store::EdgeCaseStatus;

use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/automations/{slug}/rollout", get(get_rollout))
        .route("/api/v1/automations/{slug}/stage", post(change_stage))
        .route("/api/v1/automations/{slug}/champion", post(set_champion))
        .route("/api/v1/automations/{slug}/sign-off", post(sign_off))
        .route("/api/v1/automations/{slug}/versions", get(list_versions))
        .route(
            "/api/v1/automations/{slug}/versions/{from}/diff/{to}",
            get(diff_versions),
        )
        .route(
            "/api/v1/automations/{slug}/versions/{number}/activate",
            post(activate_version),
        )
        .route("/api/v1/automations/{slug}/edge-cases", get(list_edge_cases))
        .route(
            "/api/v1/automations/{slug}/edge-cases/import",
            post(import_edge_cases),
        )
        .route("/api/v1/automations/{slug}/test", post(run_suite))
        .route("/api/v1/items/{id}/edge-case", post(add_edge_case))
        .route("/api/v1/edge-cases/{id}/decision", post(decide_edge_case))
        .route("/api/v1/automations/{slug}/review-sessions", post(start_session))
        .route("/api/v1/review-sessions/{id}", get(get_session))
        .route("/api/v1/review-sessions/{id}/notes", post(add_note))
        .route("/api/v1/review-sessions/{id}/close", post(close_session))
        .route(
            "/api/v1/automations/{slug}/review-decisions/{note}/version",
            post(link_decision),
        )
}

fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    r.map(|Json(v)| v).map_err(|e| {
        ApiError(ServiceError::invalid(format!(
            "the request body is not valid: {}",
            e.body_text()
        )))
    })
}

async fn get_rollout(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.tandem.rollout(&actor, &slug).await?))
}

#[derive(Deserialize)]
struct StageBody {
    stage: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    force: bool,
}

async fn change_stage(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    b: Result<Json<StageBody>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let b = body(b)?;
    let to: Stage = b.stage.parse().map_err(|e: String| {
        ServiceError::invalid_with(format!("stage: {e}"), vec![format!("stage: {e}")])
    })?;
    let st = s
        .tandem
        .change_stage(
            &actor,
            &slug,
            StageChange {
                to,
                reason: b.reason,
                force: b.force,
            },
        )
        .await?;
    Ok(Json(st))
}

#[derive(Deserialize)]
struct ChampionBody {
    email: Option<String>,
}

async fn set_champion(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    b: Result<Json<ChampionBody>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let b = body(b)?;
    Ok(Json(
        s.tandem.set_champion(&actor, &slug, b.email.as_deref()).await?,
    ))
}

#[derive(Deserialize, Default)]
struct NoteBody {
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    /// For a sign-off: the version signed off (a candidate); the active one when absent.
    #[serde(default)]
    version: Option<i64>,
}

async fn sign_off(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    b: Option<Json<NoteBody>>,
) -> Result<impl IntoResponse, ApiError> {
    let (note, version) = b.map_or((None, None), |Json(b)| (b.note, b.version));
    Ok(Json(
        s.tandem
            .sign_off_version(&actor, &slug, version, note.as_deref())
            .await?,
    ))
}

async fn list_versions(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        json!({ "versions": s.tandem.versions(&actor, &slug).await? }),
    ))
}

async fn diff_versions(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((slug, from, to)): Path<(String, i64, i64)>,
) -> Result<impl IntoResponse, ApiError> {
    let lines = s.tandem.version_diff(&actor, &slug, from, to).await?;
    Ok(Json(
        json!({ "from": from, "to": to, "diff": diff_text(&lines), "lines": lines }),
    ))
}

async fn activate_version(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((slug, number)): Path<(String, i64)>,
    b: Option<Json<NoteBody>>,
) -> Result<impl IntoResponse, ApiError> {
    let reason = b.and_then(|Json(b)| b.reason);
    let a = s
        .tandem
        .activate_version(&actor, &slug, number, reason.as_deref())
        .await?;
    Ok(Json(json!({ "automation": a, "active_version": number })))
}

#[derive(Deserialize)]
struct CaseQuery {
    status: Option<String>,
}

async fn list_edge_cases(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(st) => Some(EdgeCaseStatus::parse(st).ok_or_else(|| {
            ServiceError::invalid(format!(
                "status: {st:?} is not one of proposed, accepted, declined"
            ))
        })?),
    };
    Ok(Json(
        json!({ "edge_cases": s.tandem.edge_cases(&actor, &slug, status).await? }),
    ))
}

async fn import_edge_cases(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    text: String,
) -> Result<impl IntoResponse, ApiError> {
    let (added, duplicates) = s.tandem.import_edge_cases(&actor, &slug, &text).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "added": added, "duplicates": duplicates })),
    ))
}

#[derive(Deserialize)]
struct TestQuery {
    version: Option<i64>,
}

async fn run_suite(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    Query(q): Query<TestQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.tandem.run_suite(&actor, &slug, q.version).await?))
}

async fn add_edge_case(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    b: Result<Json<EdgeCaseInput>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let b = body(b)?;
    let (case, created) = s.tandem.add_edge_case_from_item(&actor, ItemId(id), b).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "edge_case": case, "created": created }))))
}

#[derive(Deserialize)]
struct CaseDecision {
    accept: bool,
}

async fn decide_edge_case(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    b: Result<Json<CaseDecision>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let b = body(b)?;
    Ok(Json(s.tandem.decide_edge_case(&actor, id, b.accept).await?))
}

#[derive(Deserialize, Default)]
struct SessionBody {
    #[serde(default)]
    title: String,
}

async fn start_session(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    b: Option<Json<SessionBody>>,
) -> Result<impl IntoResponse, ApiError> {
    let title = b.map(|Json(b)| b.title).unwrap_or_default();
    let session = s.tandem.start_review_session(&actor, &slug, &title).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

async fn get_session(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.tandem.review_session(&actor, id).await?))
}

#[derive(Deserialize)]
struct NoteBodyIn {
    kind: String,
    #[serde(default)]
    item_id: Option<i64>,
    /// The vote (`agree`/`disagree`) or the decision's action.
    #[serde(default)]
    choice: Option<String>,
    #[serde(default)]
    body: String,
}

async fn add_note(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    b: Result<Json<NoteBodyIn>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let b = body(b)?;
    let note = s
        .tandem
        .add_session_note(
            &actor,
            id,
            b.item_id.map(ItemId),
            &b.kind,
            b.choice.as_deref(),
            &b.body,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

async fn close_session(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.tandem.close_review_session(&actor, id).await?))
}

#[derive(Deserialize)]
struct LinkBody {
    version: i64,
}

async fn link_decision(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((slug, note)): Path<(String, i64)>,
    b: Result<Json<LinkBody>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let b = body(b)?;
    Ok(Json(
        s.tandem
            .link_session_decision(&actor, &slug, note, b.version)
            .await?,
    ))
}
