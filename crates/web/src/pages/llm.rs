//! Pages for running extractors side by side: the comparison per field, with "keep the
//! better one", and the block of the item page that shows the LLM's cost and the shadow
//! extractors' answers.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tandem_domain::{ItemId, Role};
use tandem_service::llm::FieldComparison;

use super::{nav, render};
use crate::AppState;
use crate::auth::PageUser;
use crate::error::{PageError, public_message};
use crate::format::percent;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/automations/{slug}/extractors", get(compare_page))
        .route("/automations/{slug}/extractors/{field}/keep", post(keep_better))
}

/// One extractor's record, formatted.
#[derive(Debug, Clone)]
pub struct ScoreRow {
    pub extractor: String,
    pub agreed: String,
    pub rate: String,
    pub primary: bool,
}

#[derive(Debug, Clone)]
pub struct CompareRow {
    pub field: String,
    pub primary: String,
    pub shadow: String,
    pub reviewed: usize,
    pub scores: Vec<ScoreRow>,
    pub switch_to: Option<String>,
}

#[derive(Template)]
#[template(path = "llm_compare.html")]
pub struct ComparePage {
    pub nav: super::templates::Nav,
    pub slug: String,
    pub rows: Vec<CompareRow>,
    pub can_switch: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// The item page's block: the LLM's cost and each shadow's answer.
#[derive(Debug, Clone, Default)]
pub struct ItemLlmBlock {
    pub model: String,
    pub latency: String,
    pub tokens: String,
    pub requests: i64,
    pub error: String,
    pub has_run: bool,
    /// How the LLM's confidences were scored, in words ("token log-probabilities").
    pub scored_by: String,
    pub shadows: Vec<ShadowRow>,
}

#[derive(Debug, Clone)]
pub struct ShadowRow {
    pub field: String,
    pub extractor: String,
    pub value: String,
    pub confidence: String,
}

fn show(v: Option<&str>) -> String {
    let parsed: Option<serde_json::Value> = v.and_then(|s| serde_json::from_str(s).ok());
    match parsed {
        None | Some(serde_json::Value::Null) => "not found".into(),
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Array(a)) => {
            a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; ")
        }
        Some(other) => other.to_string(),
    }
}

/// The block for the item page, or `None` when the automation neither uses the LLM nor
/// runs a shadow extractor.
pub(super) async fn item_block(
    s: &AppState,
    user: &PageUser,
    id: ItemId,
) -> Result<Option<ItemLlmBlock>, PageError> {
    let Some(view) = s.tandem.item_llm_view(&user.actor, id).await? else {
        return Ok(None);
    };
    let mut block = ItemLlmBlock {
        shadows: view
            .shadows()
            .map(|f| ShadowRow {
                field: f.field.clone(),
                extractor: f.extractor.clone(),
                value: show(f.value.as_deref()),
                confidence: percent(f.confidence),
            })
            .collect(),
        ..Default::default()
    };
    if let Some(run) = &view.run {
        block.has_run = true;
        block.model = run.model.clone();
        block.latency = format!("{:.2} s", run.latency_ms as f64 / 1000.0);
        block.tokens = format!(
            "{} prompt + {} completion",
            run.prompt_tokens, run.completion_tokens
        );
        block.requests = run.requests;
        block.error = run.error.clone().unwrap_or_default();
    }
    let mut methods: Vec<&str> = view
        .fields
        .iter()
        .filter(|f| f.extractor == "llm")
        .filter_map(|f| f.score_method.as_deref())
        .map(|m| match m {
            "logprobs" => "token log-probabilities",
            "agreement" => "agreement between samples",
            "unscored" => "nothing (one answer, no log-probabilities)",
            other => other,
        })
        .collect();
    methods.sort_unstable();
    methods.dedup();
    block.scored_by = methods.join("; ");
    Ok(Some(block))
}

#[derive(Debug, Deserialize)]
struct CompareQuery {
    kept: Option<String>,
}

fn rows(comparison: Vec<FieldComparison>) -> Vec<CompareRow> {
    comparison
        .into_iter()
        .map(|c| CompareRow {
            scores: c
                .scores
                .iter()
                .map(|s| ScoreRow {
                    extractor: s.extractor.clone(),
                    agreed: format!("{} of {}", s.agreed, s.reviewed),
                    rate: percent(s.rate()),
                    primary: s.extractor == c.primary,
                })
                .collect(),
            field: c.field,
            primary: c.primary,
            shadow: c.shadow.unwrap_or_default(),
            reviewed: c.reviewed,
            switch_to: c.switch_to,
        })
        .collect()
}

async fn page(
    s: &AppState,
    user: &PageUser,
    slug: &str,
    notice: Option<String>,
    error: Option<String>,
) -> Result<ComparePage, PageError> {
    user.actor.require(Role::Viewer, "see automations")?;
    let comparison = s.tandem.compare_extractors(user.actor.workspace(), slug).await?;
    Ok(ComparePage {
        nav: nav(s, user, "automations").await?,
        slug: slug.to_owned(),
        rows: rows(comparison),
        can_switch: user.actor.user.role.allows(Role::Builder),
        notice,
        error,
    })
}

async fn compare_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Query(q): Query<CompareQuery>,
) -> Result<Html<String>, PageError> {
    let notice = q
        .kept
        .map(|v| format!("Version {v} is active: the better extractor now decides."));
    render(&page(&s, &user, &slug, notice, None).await?)
}

#[derive(Debug, Deserialize)]
struct KeepForm {
    csrf: String,
}

async fn keep_better(
    State(s): State<AppState>,
    user: PageUser,
    Path((slug, field)): Path<(String, String)>,
    Form(form): Form<KeepForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    user.actor.require(Role::Builder, "switch a field's extractor")?;
    let ws = user.actor.workspace();
    match s
        .tandem
        .keep_better_extractor(ws, &slug, &field, Some(user.actor.user.id))
        .await
    {
        Ok(applied) => Ok(Redirect::to(&format!(
            "/automations/{slug}/extractors?kept={}",
            applied.version.number
        ))
        .into_response()),
        Err(
            e @ (tandem_service::ServiceError::Conflict(_) | tandem_service::ServiceError::Invalid { .. }),
        ) => {
            let status = crate::error::status_of(&e);
            let (msg, _) = public_message(&e);
            let p = page(&s, &user, &slug, None, Some(msg)).await?;
            Ok((status, render(&p)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
