//! The LLM step and side-by-side extractors in the JSON API: an item's LLM cost and
//! extractor answers, and an automation's comparison with the reviewers.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tandem_domain::{ItemId, Role};

use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/items/{id}/extractors", get(item_extractors))
        .route("/api/v1/automations/{slug}/extractors", get(compare_extractors))
}

/// `{"llm": {model, latency_ms, prompt_tokens, ...} | null, "fields": [...]}`.
async fn item_extractors(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    // 404 for an item of another workspace, as for every item route.
    s.tandem.item_view(&actor, ItemId(id)).await?;
    let view = s.tandem.item_llm_view(&actor, ItemId(id)).await?;
    Ok(Json(match view {
        Some(v) => json!({ "llm": v.run, "fields": v.fields }),
        None => json!({ "llm": null, "fields": [] }),
    }))
}

async fn compare_extractors(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Viewer, "see automations")?;
    let fields = s.tandem.compare_extractors(actor.workspace(), &slug).await?;
    Ok(Json(json!({ "fields": fields })))
}
