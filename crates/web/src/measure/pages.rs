//! The check-in page: the weekly report with its charts (drawn as SVG on the server), the
//! notes, the week's edge cases, the CSV export, a printable version and read-only share
//! links for people outside Tandem.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tandem_service::ServiceError;
use tandem_service::measure::{Checkin, checkin_csv, parse_date};

use super::view::{CheckinView, checkin_view};
use crate::AppState;
use crate::auth::CsrfForm;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::pages::templates::Nav;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkin", get(checkin_page))
        .route("/checkin.csv", get(checkin_export))
        .route("/checkin/notes", post(add_note))
        .route("/checkin/share", post(share))
        .route("/checkin/share/{id}/revoke", post(revoke))
        .route("/shared/checkin/{token}", get(shared_page))
        .route("/shared/checkin/{token}/csv", get(shared_export))
}

#[derive(Template)]
#[template(path = "checkin.html")]
struct CheckinPage {
    nav: Nav,
    c: CheckinView,
    csrf: String,
    can_note: bool,
    can_share: bool,
    links: Vec<LinkRow>,
    notice: Option<String>,
}

/// The same report without the navigation or any form: for a share link and for print.
#[derive(Template)]
#[template(path = "checkin_public.html")]
struct PublicCheckinPage {
    c: CheckinView,
}

struct LinkRow {
    id: i64,
    label: String,
    scope: String,
    created: String,
    revoked: Option<String>,
}

fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(|e| PageError(ServiceError::Internal(format!("template: {e}"))))
}

#[derive(Deserialize, Default)]
struct CheckinQuery {
    automation: Option<String>,
    weeks: Option<usize>,
    #[serde(default)]
    print: Option<String>,
}

fn slug(q: &Option<String>) -> Option<&str> {
    q.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn load(s: &AppState, user: &PageUser, q: &CheckinQuery) -> Result<Checkin, PageError> {
    Ok(s.tandem
        .checkin(&user.actor, slug(&q.automation), q.weeks.unwrap_or(12))
        .await?)
}

async fn checkin_page(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<CheckinQuery>,
) -> Result<Response, PageError> {
    checkin_response(&s, &user, &q, None).await
}

/// The check-in page; `shared` is a new link's token, shown on this one answer only.
async fn checkin_response(
    s: &AppState,
    user: &PageUser,
    q: &CheckinQuery,
    shared: Option<&str>,
) -> Result<Response, PageError> {
    let checkin = load(s, user, q).await?;
    let automations = s.tandem.store.list_automations(user.actor.workspace()).await?;
    let view = checkin_view(&checkin, &automations, s.tandem.now());
    if q.print.is_some() {
        return Ok(render(&PublicCheckinPage { c: view })?.into_response());
    }
    let can_share = user.actor.user.role.allows(tandem_domain::Role::Builder);
    let links = if can_share {
        s.tandem
            .share_links(&user.actor)
            .await?
            .into_iter()
            .map(|l| LinkRow {
                id: l.id,
                label: if l.label.is_empty() {
                    "(no label)".into()
                } else {
                    l.label
                },
                scope: match l.automation_id {
                    Some(a) => automations
                        .iter()
                        .find(|x| x.id == a)
                        .map_or_else(|| a.to_string(), |x| x.name.clone()),
                    None => "Whole workspace".into(),
                },
                created: crate::format::datetime(l.created_at),
                revoked: l.revoked_at.map(crate::format::datetime),
            })
            .collect()
    } else {
        Vec::new()
    };
    let notice = shared.map(|t| {
        format!(
            "{}/shared/checkin/{t}",
            s.tandem.settings.public_url.trim_end_matches('/')
        )
    });
    let counts = s.tandem.store.inbox_counts(user.actor.workspace()).await?;
    let page = CheckinPage {
        nav: Nav {
            user_name: user.actor.user.name.clone(),
            role: user.actor.user.role.to_string(),
            csrf: user.csrf.clone(),
            open_count: counts.open,
            section: "checkin",
        },
        c: view,
        csrf: user.csrf.clone(),
        can_note: user.actor.user.role.allows(tandem_domain::Role::Reviewer),
        can_share,
        links,
        notice,
    };
    Ok(render(&page)?.into_response())
}

fn csv_response(c: &Checkin) -> Response {
    let name = format!(
        "checkin-{}.csv",
        c.weekly.automation.as_ref().map_or("workspace", |a| a.0.as_str())
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        checkin_csv(c),
    )
        .into_response()
}

async fn checkin_export(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<CheckinQuery>,
) -> Result<Response, PageError> {
    Ok(csv_response(&load(&s, &user, &q).await?))
}

#[derive(Deserialize)]
struct NoteForm {
    csrf: String,
    #[serde(default)]
    automation: String,
    /// The day the note is about, `YYYY-MM-DD`.
    date: String,
    body: String,
}

fn back(automation: &str) -> String {
    if automation.trim().is_empty() {
        "/checkin".into()
    } else {
        format!("/checkin?automation={}", automation.trim())
    }
}

async fn add_note(
    State(s): State<AppState>,
    user: PageUser,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let at = parse_date(&f.date).map_err(ServiceError::invalid)?;
    // Noon, so the marker sits inside the day on the chart.
    let at = at + 12 * 3_600_000;
    s.tandem
        .add_week_note(&user.actor, slug(&Some(f.automation.clone())), at, &f.body)
        .await?;
    Ok(Redirect::to(&back(&f.automation)).into_response())
}

#[derive(Deserialize)]
struct ShareForm {
    csrf: String,
    #[serde(default)]
    automation: String,
    #[serde(default)]
    label: String,
    /// `1`: the outside page may show example inputs (item text).
    #[serde(default)]
    examples: Option<String>,
}

async fn share(
    State(s): State<AppState>,
    user: PageUser,
    Form(f): Form<ShareForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let include_examples = f.examples.as_deref() == Some("1");
    let (_, token) = s
        .tandem
        .share_checkin(
            &user.actor,
            slug(&Some(f.automation.clone())),
            &f.label,
            include_examples,
        )
        .await?;
    // The token is shown once, in this answer: never in an address, where it would stay in
    // the history, in logs and in the Referer of whatever the page links to.
    let q = CheckinQuery {
        automation: Some(f.automation.clone()),
        ..CheckinQuery::default()
    };
    checkin_response(&s, &user, &q, Some(&token)).await
}

async fn revoke(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    s.tandem.revoke_share_link(&user.actor, id).await?;
    Ok(Redirect::to("/checkin").into_response())
}

async fn shared_page(State(s): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let checkin = s.tandem.shared_checkin(&token, 12).await?;
    let view = checkin_view(&checkin, &[], s.tandem.now());
    Ok(render(&PublicCheckinPage { c: view })?.into_response())
}

async fn shared_export(State(s): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    Ok(csv_response(&s.tandem.shared_checkin(&token, 12).await?))
}
