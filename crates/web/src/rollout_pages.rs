//! The rollout page of an automation: its stage and how to move it, the readiness gate's
//! checklist, the champion and their sign-off, agreement in shadow, versions with their
//! diffs and rollback, edge cases to curate, and the history. Forms post back here; an
//! error is shown on the page with what to do.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tandem_domain::definition::redact_secrets;
use tandem_domain::{Role, Stage};
use tandem_service::ServiceError;
use tandem_service::auth::Actor;
use tandem_service::rollout::StageChange;
use tandem_service::rollout::versions::{diff_lines, diff_text};

use crate::AppState;
use crate::auth::PageUser;
use crate::error::{PageError, public_message, status_of};
use crate::format::{datetime, percent};
use crate::pages::templates::Nav;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/automations/{slug}/rollout", get(rollout_page))
        .route("/automations/{slug}/rollout/stage", post(change_stage))
        .route("/automations/{slug}/rollout/sign-off", post(sign_off))
        .route("/automations/{slug}/rollout/champion", post(set_champion))
        .route("/automations/{slug}/rollout/test", post(run_suite))
        .route(
            "/automations/{slug}/versions/{number}/activate",
            post(activate_version),
        )
        .route("/automations/{slug}/review-sessions", post(start_session))
}

pub struct Transition {
    pub stage: &'static str,
    pub label: &'static str,
    pub forceable: bool,
}

pub struct MeasureRow {
    pub name: String,
    pub required: bool,
    pub compared: u32,
    pub agreed: u32,
    pub rate: String,
}

pub struct VersionRow {
    pub number: i64,
    pub active: bool,
    pub created: String,
    pub by: String,
    pub diff: String,
}

/// A threshold candidate waiting to go live, as the page shows it.
pub struct CandidateRow {
    pub number: i64,
    /// What the threshold change was, in words.
    pub change: String,
    pub green: bool,
    pub checks: Vec<CheckRow>,
    /// The champion has signed this version off.
    pub signed_off: bool,
}

pub struct CheckRow {
    pub key: String,
    pub label: String,
    pub passed: bool,
    pub detail: String,
}

pub struct EventRow {
    pub when: String,
    pub kind: String,
    pub who: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "rollout.html")]
pub struct RolloutPage {
    pub nav: Nav,
    pub slug: String,
    pub name: String,
    pub version: i64,
    pub stage: String,
    pub stage_words: &'static str,
    pub error: Option<String>,
    pub details: Vec<String>,
    pub notice: Option<String>,
    pub gate_green: bool,
    pub checks: Vec<CheckRow>,
    pub champion: String,
    pub champion_email: String,
    pub sign_off: String,
    pub can_sign_off: bool,
    pub can_build: bool,
    pub can_curate: bool,
    pub transitions: Vec<Transition>,
    pub shadow_summary: String,
    pub measures: Vec<MeasureRow>,
    pub versions: Vec<VersionRow>,
    pub cases: Vec<crate::edge_case_pages::CaseRow>,
    /// A threshold candidate waiting for its gate and sign-off.
    pub candidate: Option<CandidateRow>,
    pub events: Vec<EventRow>,
    /// (id, title, items, closed) of the automation's review sessions, newest first.
    pub sessions: Vec<(i64, String, usize, bool)>,
}

fn stage_words(stage: Stage) -> &'static str {
    match stage {
        Stage::Draft => "Draft: items can be tried; each goes to the inbox and nothing is sent.",
        Stage::Shadow => {
            "Shadow: the automation runs on real input and sends nothing; every item is reviewed, the reviewers' decisions measure it, and decided shadow items are never delivered."
        }
        Stage::Live => "Live: results inside the reliable range are accepted and sent on their own.",
        Stage::Paused => {
            "Paused: automatic acceptance is off; every item goes to the inbox before anything is sent."
        }
    }
}

fn transitions(stage: Stage, admin: bool) -> Vec<Transition> {
    let t = |stage, label, forceable| Transition {
        stage,
        label,
        forceable,
    };
    match stage {
        Stage::Draft => vec![
            t("shadow", "Start shadow mode", false),
            t("live", "Go live", admin),
        ],
        Stage::Shadow => vec![t("live", "Go live", admin), t("draft", "Back to draft", false)],
        Stage::Live => vec![
            t("paused", "Pause automatic acceptance", false),
            t("shadow", "Back to shadow", false),
        ],
        Stage::Paused => vec![
            t("live", "Resume automatic acceptance", false),
            t("shadow", "Back to shadow", false),
        ],
    }
}

async fn page(
    s: &AppState,
    user: &PageUser,
    slug: &str,
    error: Option<&ServiceError>,
    notice: Option<String>,
) -> Result<RolloutPage, PageError> {
    let actor: &Actor = &user.actor;
    actor.require(Role::Viewer, "see rollouts")?;
    let ws = actor.workspace();
    let t = &s.tandem;
    let view = t.rollout(actor, slug).await?;
    let versions = t.store.list_versions(ws, view.automation.id).await?;
    let infos = t.versions(actor, slug).await?;
    let cases = t.edge_cases(actor, slug, None).await?;
    let results = t
        .store
        .latest_edge_case_results(ws, view.automation.id, None)
        .await?;
    let counts = t.store.inbox_counts(ws).await?;
    let sessions = t
        .store
        .list_review_sessions(ws, view.automation.id)
        .await?
        .into_iter()
        .map(|x| (x.id, x.title, x.items.len(), x.closed_at.is_some()))
        .collect();
    let is_champion = view.champion.as_ref().is_some_and(|c| c.id == actor.user.id);
    let (error, details) = match error {
        Some(e) => {
            let (m, d) = public_message(e);
            (Some(m), d)
        }
        None => (None, Vec::new()),
    };
    let sh = &view.shadow;
    let mut measures: Vec<MeasureRow> = sh
        .fields
        .iter()
        .chain(sh.route.iter())
        .map(|m| MeasureRow {
            name: m.name.clone(),
            required: m.required,
            compared: m.compared,
            agreed: m.agreed,
            rate: m.rate().map_or_else(|| "–".into(), percent),
        })
        .collect();
    measures.sort_by_key(|m| !m.required);
    let candidate = t.waiting_candidate(actor, slug).await?.map(|c| CandidateRow {
        number: c.change.version,
        change: c.change.sentence(),
        green: c.gate.green,
        signed_off: view.signed_off_version == Some(c.change.version),
        checks: c
            .gate
            .checks
            .iter()
            .map(|k| CheckRow {
                key: k.key.clone(),
                label: k.label.clone(),
                passed: k.passed,
                detail: k.detail.clone(),
            })
            .collect(),
    });
    Ok(RolloutPage {
        candidate,
        nav: Nav {
            user_name: actor.user.name.clone(),
            role: actor.user.role.to_string(),
            csrf: user.csrf.clone(),
            open_count: counts.open,
            section: "automations",
        },
        slug: slug.to_owned(),
        name: view.automation.name.clone(),
        version: view.version,
        stage: view.stage.to_string(),
        stage_words: stage_words(view.stage),
        error,
        details,
        notice,
        gate_green: view.gate.green,
        checks: view
            .gate
            .checks
            .iter()
            .map(|c| CheckRow {
                key: c.key.clone(),
                label: c.label.clone(),
                passed: c.passed,
                detail: c.detail.clone(),
            })
            .collect(),
        champion: view
            .champion
            .as_ref()
            .map_or_else(|| "none yet".into(), |c| format!("{} <{}>", c.name, c.email)),
        champion_email: view
            .champion
            .as_ref()
            .map(|c| c.email.clone())
            .unwrap_or_default(),
        sign_off: match (&view.signed_off_by, view.signed_off_version) {
            (Some(u), Some(v)) => format!("Signed off by {} for version {v}.", u.name),
            _ => "No sign-off yet.".into(),
        },
        can_sign_off: is_champion,
        can_build: actor.user.role.allows(Role::Builder),
        can_curate: is_champion || actor.user.role.allows(Role::Admin),
        transitions: transitions(view.stage, actor.user.role.allows(Role::Admin)),
        shadow_summary: format!(
            "{} shadow items decided ({} rejected); the automation alone would have sent {} to the inbox and accepted {}, of which people accepted {} unchanged.",
            sh.decided, sh.rejected, sh.would_review, sh.would_accept, sh.would_accept_agreed
        ),
        measures,
        versions: infos
            .iter()
            .map(|v| {
                let previous = versions.iter().find(|p| p.number == v.number - 1);
                let this = versions.iter().find(|p| p.number == v.number);
                let diff = match (previous, this) {
                    (Some(p), Some(t)) => {
                        let lines =
                            diff_lines(&redact_secrets(&p.definition), &redact_secrets(&t.definition));
                        diff_text(&lines.into_iter().filter(|l| l.op != ' ').collect::<Vec<_>>())
                    }
                    _ => String::new(),
                };
                VersionRow {
                    number: v.number,
                    active: v.active,
                    created: datetime(v.created_at),
                    by: v.created_by.clone().unwrap_or_default(),
                    diff,
                }
            })
            .collect(),
        cases: crate::edge_case_pages::case_rows(&cases, &results, &versions),
        events: view
            .events
            .iter()
            .map(|e| {
                let (kind, detail) = crate::rollout_words::event_words(&e.kind, &e.detail);
                EventRow {
                    when: datetime(e.created_at),
                    kind,
                    who: e.actor_name.clone().unwrap_or_else(|| "Tandem".into()),
                    detail,
                }
            })
            .collect(),
        sessions,
    })
}

fn render(p: &RolloutPage, status: StatusCode) -> Result<Response, PageError> {
    let html = p
        .render()
        .map_err(|e| PageError(ServiceError::Internal(format!("template: {e}"))))?;
    Ok((status, Html(html)).into_response())
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

async fn rollout_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    // After a threshold change: what it did, read back from the rollout history.
    let threshold_version = q.done.as_deref().and_then(|d| {
        d.strip_prefix("threshold-candidate-")
            .or_else(|| d.strip_prefix("threshold-active-"))
            .and_then(|n| n.parse::<i64>().ok())
    });
    let threshold_notice = match threshold_version {
        Some(n) => s
            .tandem
            .threshold_change(&user.actor, &slug, n)
            .await?
            .map(|c| c.sentence()),
        None => None,
    };
    let notice = threshold_notice.or_else(|| {
        q.done.map(|d| match d.as_str() {
            "stage" => "The stage was changed.".to_owned(),
            "sign-off" => "Signed off.".to_owned(),
            "champion" => "The champion was named.".to_owned(),
            "activate" => "The version was re-activated; new items use it.".to_owned(),
            "case" => "The edge case was decided.".to_owned(),
            "case-added" => "The edge case was added; the champion curates it below.".to_owned(),
            other => format!("Done: {other}."),
        })
    });
    let p = page(&s, &user, &slug, None, notice).await?;
    render(&p, StatusCode::OK)
}

/// After a form: back to the page on success; the page with the error otherwise.
pub(crate) async fn after<T>(
    s: &AppState,
    user: &PageUser,
    slug: &str,
    done: &str,
    r: Result<T, ServiceError>,
) -> Result<Response, PageError> {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/automations/{slug}/rollout?done={done}")).into_response()),
        Err(
            e @ (ServiceError::Invalid { .. } | ServiceError::Conflict(_) | ServiceError::Forbidden { .. }),
        ) => {
            let p = page(s, user, slug, Some(&e), None).await?;
            render(&p, status_of(&e))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct StageForm {
    csrf: String,
    stage: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    force: Option<String>,
}

async fn change_stage(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Form(f): Form<StageForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let r = match f.stage.parse::<Stage>() {
        Ok(to) => {
            s.tandem
                .change_stage(
                    &user.actor,
                    &slug,
                    StageChange {
                        to,
                        reason: Some(f.reason),
                        force: f.force.is_some(),
                    },
                )
                .await
        }
        Err(e) => Err(ServiceError::invalid(e)),
    };
    after(&s, &user, &slug, "stage", r).await
}

#[derive(Deserialize)]
struct NoteForm {
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    email: String,
    /// The version signed off (a threshold candidate); the active one when empty.
    #[serde(default)]
    version: String,
}

async fn sign_off(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let r = match f.version.trim() {
        "" => s.tandem.sign_off(&user.actor, &slug, Some(&f.note)).await,
        v => match v.trim_start_matches(['v', 'V']).parse::<i64>() {
            Ok(n) => {
                s.tandem
                    .sign_off_version(&user.actor, &slug, Some(n), Some(&f.note))
                    .await
            }
            Err(_) => Err(ServiceError::invalid(format!(
                "version: {v:?} is not a version number"
            ))),
        },
    };
    after(&s, &user, &slug, "sign-off", r).await
}

async fn set_champion(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let r = s.tandem.set_champion(&user.actor, &slug, Some(&f.email)).await;
    after(&s, &user, &slug, "champion", r).await
}

async fn run_suite(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let r = s.tandem.run_suite(&user.actor, &slug, None).await;
    let done = match &r {
        Ok(rep) => format!(
            "suite:+{}+passed,+{}+failed,+{}+changed",
            rep.passed, rep.failed, rep.changed
        ),
        Err(_) => "suite".into(),
    };
    after(&s, &user, &slug, &done, r).await
}

async fn activate_version(
    State(s): State<AppState>,
    user: PageUser,
    Path((slug, number)): Path<(String, i64)>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let r = s
        .tandem
        .activate_version(&user.actor, &slug, number, Some(&f.reason))
        .await;
    after(&s, &user, &slug, "activate", r).await
}

// --- review sessions (their own pages are in session_pages) ---------------------------

#[derive(Deserialize)]
struct StartForm {
    csrf: String,
    #[serde(default)]
    title: String,
}

async fn start_session(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Form(f): Form<StartForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    match s.tandem.start_review_session(&user.actor, &slug, &f.title).await {
        Ok(session) => Ok(Redirect::to(&format!("/review-sessions/{}", session.id)).into_response()),
        Err(e) => after(&s, &user, &slug, "session", Err::<(), _>(e)).await,
    }
}
