//! The builder's training page for one automation: the corrections collected from the
//! inbox, the versions with the active one marked, a retrained candidate's figures beside
//! the version it was compared with, and the two buttons: retrain, and activate.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use tandem_domain::{Role, WorkspaceId};
use tandem_service::ServiceError;
use tandem_service::retrain::{Comparison, ExtractorScore, RouterScore};

use super::templates::Nav;
use super::{nav, render};
use crate::AppState;
use crate::auth::CsrfForm;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::format::{datetime, percent};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/automations/{slug}/training", get(training_page))
        .route("/automations/{slug}/retrain", post(retrain))
        .route("/automations/{slug}/training/activate/{number}", post(activate))
}

/// One row of a comparison table: what is measured, then the current and candidate figures.
#[derive(Debug, Clone)]
pub struct FigureRow {
    pub what: String,
    pub current: String,
    pub candidate: String,
}

#[derive(Debug, Clone)]
pub struct ComparedVersion {
    pub number: i64,
    pub current_number: i64,
    pub summary: String,
    pub routes: Vec<FigureRow>,
    pub fields: Vec<FigureRow>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub number: i64,
    pub created: String,
    pub active: bool,
    pub retrained: bool,
}

#[derive(Template)]
#[template(path = "training.html")]
pub struct TrainingPage {
    pub nav: Nav,
    pub slug: String,
    pub name: String,
    pub route_corrections: usize,
    pub document_corrections: usize,
    pub versions: Vec<VersionRow>,
    pub candidates: Vec<ComparedVersion>,
    pub can_build: bool,
    pub message: Option<String>,
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), percent)
}

fn router_rows(current: &RouterScore, candidate: &RouterScore) -> Vec<FigureRow> {
    let row = |what: &str, a: Option<f64>, b: Option<f64>| FigureRow {
        what: what.to_owned(),
        current: figure(a),
        candidate: figure(b),
    };
    vec![
        row("top route right", current.accuracy, candidate.accuracy),
        row("routed automatically", current.coverage, candidate.coverage),
        row("of those, right", current.precision, candidate.precision),
    ]
}

fn extractor_rows(current: &ExtractorScore, candidate: &ExtractorScore) -> Vec<FigureRow> {
    let mut rows = vec![
        FigureRow {
            what: "fields right".into(),
            current: figure(current.accuracy),
            candidate: figure(candidate.accuracy),
        },
        FigureRow {
            what: "accepted automatically".into(),
            current: figure(current.coverage),
            candidate: figure(candidate.coverage),
        },
        FigureRow {
            what: "of those, right".into(),
            current: figure(current.precision),
            candidate: figure(candidate.precision),
        },
    ];
    for (name, c) in &candidate.fields {
        rows.push(FigureRow {
            what: format!("{name} right"),
            current: figure(current.fields.get(name).copied().flatten()),
            candidate: figure(*c),
        });
    }
    rows
}

fn compared(number: i64, active: bool, c: &Comparison) -> ComparedVersion {
    let summary = format!(
        "Trained on the definition's {} examples plus {} corrections; compared on {} held-out corrections{}.",
        c.definition_examples,
        c.corrections_trained,
        c.corrections_held_out,
        if c.corrections_held_out == 0 {
            " (three or more corrections are needed for a fair comparison)"
        } else {
            ""
        }
    );
    ComparedVersion {
        number,
        current_number: c.current_version,
        summary,
        routes: c
            .router
            .as_ref()
            .map(|r| router_rows(&r.current, &r.candidate))
            .unwrap_or_default(),
        fields: c
            .extractor
            .as_ref()
            .map(|e| extractor_rows(&e.current, &e.candidate))
            .unwrap_or_default(),
        active,
    }
}

async fn build_page(
    s: &AppState,
    user: &PageUser,
    ws: WorkspaceId,
    slug: &str,
    message: Option<String>,
) -> Result<TrainingPage, PageError> {
    let a = s
        .tandem
        .store
        .automation_by_slug(ws, slug)
        .await?
        .ok_or(ServiceError::NotFound("automation"))?;
    let examples = s.tandem.store.training_examples(ws, a.id, None).await?;
    let count = |kind: &str| examples.iter().filter(|e| e.kind == kind).count();
    let mut versions = Vec::new();
    let mut candidates = Vec::new();
    for v in s.tandem.store.list_versions(ws, a.id).await? {
        let active = a.active_version_id == Some(v.id);
        let comparison = s.tandem.version_comparison(ws, &v).await?;
        if let Some(c) = &comparison
            && candidates.len() < 3
        {
            candidates.push(compared(v.number, active, c));
        }
        versions.push(VersionRow {
            number: v.number,
            created: datetime(v.created_at),
            active,
            retrained: comparison.is_some(),
        });
    }
    Ok(TrainingPage {
        nav: nav(s, user, "automations").await?,
        slug: a.slug,
        name: a.name,
        route_corrections: count(tandem_service::retrain::ROUTE),
        document_corrections: count(tandem_service::retrain::DOCUMENT),
        versions,
        candidates,
        can_build: user.actor.user.role >= Role::Builder,
        message,
    })
}

async fn training_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
) -> Result<Html<String>, PageError> {
    user.actor.require(Role::Viewer, "see automations")?;
    let page = build_page(&s, &user, user.actor.workspace(), &slug, None).await?;
    render(&page)
}

async fn retrain(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    match s.tandem.retrain_as(&user.actor, &slug, false).await {
        Ok(_) => Ok(Redirect::to(&format!("/automations/{slug}/training")).into_response()),
        // Nothing to learn from yet: say so on the page rather than on an error page.
        Err(ServiceError::Conflict(message)) => {
            let page = build_page(&s, &user, user.actor.workspace(), &slug, Some(message)).await?;
            Ok((StatusCode::CONFLICT, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn activate(
    State(s): State<AppState>,
    user: PageUser,
    Path((slug, number)): Path<(String, i64)>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    s.tandem
        .activate_version(
            &user.actor,
            &slug,
            number,
            Some("activated from the training page"),
        )
        .await?;
    Ok(Redirect::to(&format!("/automations/{slug}/training")).into_response())
}
