//! A review session's page: the sampled items to vote and comment on (each with its
//! input, the automation's answer and confidence, and the decision taken), the decisions
//! logged, and closing the session (after a confirmation), after which the page shows its
//! summary and each decision's link to the version that carries it out.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tandem_domain::Role;
use tandem_service::ServiceError;

use crate::AppState;
use crate::auth::PageUser;
use crate::error::{PageError, public_message, status_of};
use crate::format::{datetime, percent};
use crate::pages::templates::Nav;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review-sessions/{id}", get(session_page))
        .route("/review-sessions/{id}/notes", post(add_session_note))
        .route("/review-sessions/{id}/close", post(close_session))
        .route(
            "/review-sessions/{id}/decisions/{note}/version",
            post(link_decision),
        )
}

pub struct SampleRow {
    pub id: i64,
    pub stratum: String,
    /// The item's input, each part named, each cut at `INPUT_CHARS`.
    pub input: Vec<(String, String)>,
    /// What the automation answered: (field or "route", value, confidence).
    pub answer: Vec<(String, String, String)>,
    /// The decision on the item, in words.
    pub decision: String,
    pub votes: String,
}

/// The most of each input part a session shows; the item page has the whole.
const INPUT_CHARS: usize = 1500;

/// `text` cut at `INPUT_CHARS`, saying so.
fn bounded(text: &str) -> String {
    let mut out: String = text.chars().take(INPUT_CHARS).collect();
    if out.len() < text.len() {
        out.push_str(" … (cut; the item page shows all of it)");
    }
    out
}

pub struct DecisionRow {
    pub note: i64,
    pub text: String,
    /// The version number that carries it out, if one is linked.
    pub version: Option<i64>,
}

/// What the session came to, as the page shows it once closed.
pub struct SummaryView {
    pub closed: String,
    pub totals: String,
    /// (stratum, agree, disagree)
    pub by_stratum: Vec<(String, u32, u32)>,
    pub disputed: Vec<i64>,
    pub participants: String,
}

#[derive(Template)]
#[template(path = "session.html")]
pub struct SessionPage {
    pub nav: Nav,
    pub id: i64,
    pub title: String,
    pub name: String,
    pub error: Option<String>,
    pub items: Vec<SampleRow>,
    pub decisions: Vec<DecisionRow>,
    pub comments: Vec<String>,
    pub summary: Option<SummaryView>,
    pub can_close: bool,
    pub can_link: bool,
    /// Closing was asked for: the page asks to confirm it.
    pub confirm_close: bool,
    /// "3 of 12 items have votes", for the confirmation.
    pub progress: String,
}

async fn session_page_of(
    s: &AppState,
    user: &PageUser,
    id: i64,
    error: Option<String>,
) -> Result<SessionPage, PageError> {
    let actor = &user.actor;
    actor.require(Role::Viewer, "see review sessions")?;
    let ws = actor.workspace();
    let view = s.tandem.review_session(actor, id).await?;
    let automation = s.tandem.store.automation(ws, view.session.automation_id).await?;
    let counts = s.tandem.store.inbox_counts(ws).await?;
    let mut items = Vec::new();
    let mut names: std::collections::HashMap<tandem_domain::UserId, String> = Default::default();
    for it in &view.session.items {
        let item = s.tandem.store.item(ws, it.item_id).await?;
        let shown = s.tandem.item_view(actor, it.item_id).await?;
        let mut answer: Vec<(String, String, String)> = shown
            .fields
            .iter()
            .map(|f| {
                let value = crate::pages::review::show(&f.value);
                let value = if value.is_empty() {
                    "(not found)".to_owned()
                } else {
                    value
                };
                (f.name.clone(), value, percent(f.confidence))
            })
            .collect();
        if let Some(r) = &shown.route {
            let label = r.label.clone().unwrap_or_else(|| "(none)".into());
            answer.push(("route".into(), label, percent(r.confidence)));
        }
        let decider = match item.decided_by {
            Some(u) if !names.contains_key(&u) => {
                let name = s
                    .tandem
                    .store
                    .user(ws, u)
                    .await
                    .map(|u| u.name)
                    .unwrap_or_default();
                names.insert(u, name.clone());
                Some(name)
            }
            Some(u) => names.get(&u).cloned(),
            None => None,
        };
        let decision = if shown.status.is_open() {
            "Not decided yet: it waits in the inbox.".to_owned()
        } else {
            let mut d = shown.status_label.to_owned();
            if let Some(name) = decider.filter(|n| !n.is_empty()) {
                d.push_str(&format!(" by {name}"));
            }
            if let Some(at) = item.decided_at {
                d.push_str(&format!(", {}", datetime(at)));
            }
            d
        };
        let votes: Vec<String> = view
            .notes
            .iter()
            .filter(|n| n.item_id == Some(it.item_id) && n.kind == "vote")
            .map(|n| {
                let who = n.user_name.clone().unwrap_or_default();
                let vote = n.vote.clone().unwrap_or_default();
                if n.body.is_empty() {
                    format!("{who}: {vote}")
                } else {
                    format!("{who}: {vote} ({})", n.body)
                }
            })
            .collect();
        items.push(SampleRow {
            id: it.item_id.0,
            stratum: it.stratum.replace('_', " "),
            input: shown
                .input
                .iter()
                .map(|(name, text)| (name.clone(), bounded(text)))
                .collect(),
            answer,
            decision,
            votes: votes.join("; "),
        });
    }
    let voted = view
        .session
        .items
        .iter()
        .filter(|it| {
            view.notes
                .iter()
                .any(|n| n.item_id == Some(it.item_id) && n.kind == "vote")
        })
        .count();
    let progress = format!(
        "{voted} of {} item{} {} votes",
        view.session.items.len(),
        if view.session.items.len() == 1 { "" } else { "s" },
        if view.session.items.len() == 1 {
            "has"
        } else {
            "have"
        },
    );
    let closed_by = match view.session.closed_by {
        Some(u) => Some(s.tandem.store.user(ws, u).await?.name),
        None => None,
    };
    let summary = view.summary.as_ref().map(|x| SummaryView {
        closed: format!(
            "Closed {}{}.",
            view.session.closed_at.map(datetime).unwrap_or_default(),
            closed_by.map(|n| format!(" by {n}")).unwrap_or_default()
        ),
        totals: format!(
            "{} of {} items voted on: {} agree and {} disagree with the automation; {} comment(s); {} decision(s).",
            x.items_voted,
            x.items,
            x.agree,
            x.disagree,
            x.comments,
            x.decisions.len()
        ),
        by_stratum: x
            .by_stratum
            .iter()
            .map(|(k, a, d)| (k.replace('_', " "), *a, *d))
            .collect(),
        disputed: x.disputed.clone(),
        participants: x.participants.join(", "),
    });
    let is_champion = s
        .tandem
        .store
        .rollout_state(ws, automation.id)
        .await?
        .and_then(|st| st.champion_id)
        == Some(actor.user.id);
    let can_close = view.session.closed_at.is_none()
        && (actor.user.role.allows(Role::Builder)
            || is_champion
            || view.session.created_by == Some(actor.user.id));
    Ok(SessionPage {
        nav: Nav {
            user_name: actor.user.name.clone(),
            role: actor.user.role.to_string(),
            csrf: user.csrf.clone(),
            open_count: counts.open,
            section: "automations",
        },
        id,
        title: view.session.title.clone(),
        name: automation.name,
        error,
        items,
        decisions: view
            .decisions
            .iter()
            .map(|(n, v)| DecisionRow {
                note: n.id,
                text: format!(
                    "{}: {} ({})",
                    n.action.clone().unwrap_or_default().replace('_', " "),
                    n.body,
                    n.user_name.clone().unwrap_or_default(),
                ),
                version: *v,
            })
            .collect(),
        comments: view
            .notes
            .iter()
            .filter(|n| n.kind == "comment")
            .map(|n| format!("{}: {}", n.user_name.clone().unwrap_or_default(), n.body))
            .collect(),
        summary,
        can_close,
        can_link: actor.user.role.allows(Role::Builder),
        confirm_close: false,
        progress,
    })
}

fn render(p: &SessionPage, status: axum::http::StatusCode) -> Result<Response, PageError> {
    let html = p
        .render()
        .map_err(|e| PageError(ServiceError::Internal(format!("template: {e}"))))?;
    Ok((status, Html(html)).into_response())
}

/// Back to the session page, or the page again with the error when it is one a person
/// can fix.
async fn after<T>(
    s: &AppState,
    user: &PageUser,
    id: i64,
    r: Result<T, ServiceError>,
) -> Result<Response, PageError> {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/review-sessions/{id}")).into_response()),
        Err(
            e @ (ServiceError::Invalid { .. }
            | ServiceError::Forbidden { .. }
            | ServiceError::Conflict(_)
            | ServiceError::NotFound(_)),
        ) => {
            let status = status_of(&e);
            let (m, _) = public_message(&e);
            let p = session_page_of(s, user, id, Some(m)).await?;
            render(&p, status)
        }
        Err(e) => Err(e.into()),
    }
}

async fn session_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let p = session_page_of(&s, &user, id, None).await?;
    render(&p, axum::http::StatusCode::OK)
}

#[derive(Deserialize)]
struct SessionNoteForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    item_id: Option<i64>,
    #[serde(default)]
    choice: Option<String>,
    #[serde(default)]
    body: String,
}

async fn add_session_note(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<SessionNoteForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    // A vote with a comment is one note; a comment alone has kind "comment".
    let r = s
        .tandem
        .add_session_note(
            &user.actor,
            id,
            f.item_id.map(tandem_domain::ItemId),
            &f.kind,
            f.choice.as_deref(),
            &f.body,
        )
        .await;
    // A vote keeps the reviewer's place: back to the item after the one voted on (the
    // page focuses it), not to the top of the page.
    if let (Ok(_), "vote", Some(voted)) = (&r, f.kind.as_str(), f.item_id) {
        let session = s.tandem.store.review_session(user.actor.workspace(), id).await?;
        let order: Vec<i64> = session.items.iter().map(|i| i.item_id.0).collect();
        let at = order.iter().position(|i| *i == voted);
        let next = at.and_then(|k| order.get(k + 1)).copied().unwrap_or(voted);
        return Ok(Redirect::to(&format!("/review-sessions/{id}#sample-{next}")).into_response());
    }
    after(&s, &user, id, r).await
}

#[derive(Deserialize)]
struct CloseForm {
    csrf: String,
    /// `yes` once the person confirmed; anything else asks them first.
    #[serde(default)]
    confirm: Option<String>,
}

async fn close_session(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    if f.confirm.as_deref() != Some("yes") {
        let mut p = session_page_of(&s, &user, id, None).await?;
        // Someone who may not close it (or a closed session) gets the service's reason.
        if p.can_close {
            p.confirm_close = true;
            return render(&p, axum::http::StatusCode::OK);
        }
    }
    let r = s.tandem.close_review_session(&user.actor, id).await;
    after(&s, &user, id, r).await
}

#[derive(Deserialize)]
struct LinkForm {
    csrf: String,
    version: String,
}

async fn link_decision(
    State(s): State<AppState>,
    user: PageUser,
    Path((id, note)): Path<(i64, i64)>,
    Form(f): Form<LinkForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let ws = user.actor.workspace();
    let session = s.tandem.store.review_session(ws, id).await?;
    let automation = s.tandem.store.automation(ws, session.automation_id).await?;
    let r = match f.version.trim().trim_start_matches(['v', 'V']).parse::<i64>() {
        Ok(n) => {
            s.tandem
                .link_session_decision(&user.actor, &automation.slug, note, n)
                .await
        }
        Err(_) => Err(ServiceError::invalid(format!(
            "version: {:?} is not a version number",
            f.version
        ))),
    };
    after(&s, &user, id, r).await
}
