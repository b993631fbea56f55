//! Decision links from notifications: `GET /decide/{token}` shows exactly what the link
//! would decide and a button; only `POST /decide/{token}` (that button, with the session's
//! form token) decides. A GET never changes anything, so a chat's link-preview bot that
//! fetches the link decides nothing.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tandem_domain::{Decision, Role};
use tandem_service::ServiceError;
use tandem_service::inbox::held_message;
use tandem_service::links::{DecisionLink, LinkAction, LinkError};

use super::{nav, render};
use crate::AppState;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::format::percent;

pub fn routes() -> Router<AppState> {
    Router::new().route("/decide/{token}", get(show_link).post(use_link))
}

#[derive(Debug)]
pub struct LinkItem {
    pub id: i64,
    pub automation: String,
    pub status: String,
    pub status_code: String,
    pub reasons: Vec<String>,
    /// (field, value, confidence)
    pub fields: Vec<(String, String, String)>,
    /// (input name, text)
    pub inputs: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "decide_link.html")]
pub struct LinkPage {
    pub nav: super::templates::Nav,
    pub title: String,
    pub token: String,
    pub action: &'static str,
    pub problem: Option<String>,
    pub item: Option<LinkItem>,
    pub can_decide: bool,
}

/// An unauthenticated visitor signs in first and comes back to the link.
fn sign_in_first(token: &str) -> Response {
    Redirect::to(&format!("/login?next=/decide/{token}")).into_response()
}

fn token_ok(token: &str) -> bool {
    !token.is_empty() && token.len() < 200 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

async fn page(
    s: &AppState,
    user: &PageUser,
    token: &str,
    problem: Option<String>,
) -> Result<(StatusCode, LinkPage), PageError> {
    let nav = nav(s, user, "inbox").await?;
    let blank = |title: &str, problem: String| LinkPage {
        nav: nav.clone(),
        title: title.to_owned(),
        token: String::new(),
        action: "approve",
        problem: Some(problem),
        item: None,
        can_decide: false,
    };
    if !token_ok(token) {
        return Ok((
            StatusCode::NOT_FOUND,
            blank("Link not valid", LinkError::Invalid.to_string()),
        ));
    }
    let (link, mut problem, status) = match s.tandem.read_link(user.actor.workspace(), token).await? {
        Ok(link) => (link, problem, StatusCode::OK),
        Err(LinkError::Invalid) => {
            return Ok((
                StatusCode::NOT_FOUND,
                blank("Link not valid", LinkError::Invalid.to_string()),
            ));
        }
        Err(e @ LinkError::Expired(link)) => (link, Some(e.to_string()), StatusCode::GONE),
    };
    let view = s.tandem.item_view(&user.actor, link.item).await?;
    let verb = match link.action {
        LinkAction::Approve => "Approve",
        LinkAction::Reject => "Reject",
    };
    let mut can_decide = status == StatusCode::OK && view.status.is_open();
    if status == StatusCode::OK && !view.status.is_open() {
        problem = Some(format!("This item was already decided: {}.", view.status_label));
    }
    if can_decide && !user.actor.user.role.allows(Role::Reviewer) {
        can_decide = false;
        problem = Some("Your role cannot decide items; ask a reviewer.".into());
    }
    if can_decide {
        // Reading the claims is not taking one: this page stays a pure read.
        let claims = s.tandem.claims(user.actor.workspace(), &[link.item]).await?;
        if let Some(c) = claims.iter().find(|c| c.user_id != user.actor.user.id) {
            can_decide = false;
            problem = Some(held_message(c, s.tandem.now()));
        }
    }
    if can_decide && link.action == LinkAction::Approve {
        // Say now what the decision would refuse, rather than offer a button that fails.
        let mut missing: Vec<String> = view
            .fields
            .iter()
            .filter(|f| f.required && f.value.is_none())
            .map(|f| f.name.clone())
            .collect();
        if view.route.as_ref().is_some_and(|r| r.label.is_none()) {
            missing.push("route".into());
        }
        if !missing.is_empty() {
            can_decide = false;
            let verb = if missing.len() == 1 { "is" } else { "are" };
            problem = Some(format!(
                "This item cannot be approved as it is: {} {verb} missing. Open the item to correct it, or reject it.",
                missing.join(", ")
            ));
        }
    }
    let show = |v: &Option<serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) => {
            a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; ")
        }
        Some(other) => other.to_string(),
    };
    let mut fields: Vec<(String, String, String)> = view
        .fields
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                show(&f.value),
                if f.value.is_some() {
                    percent(f.confidence)
                } else {
                    "–".into()
                },
            )
        })
        .collect();
    if let Some(r) = &view.route {
        fields.push((
            "route".into(),
            r.label.clone().unwrap_or_default(),
            percent(r.confidence),
        ));
    }
    let item = LinkItem {
        id: view.id.0,
        automation: view.automation.name.clone(),
        status: view.status_label.to_owned(),
        status_code: view.status.as_str().to_owned(),
        reasons: view.reasons.iter().map(|r| r.message.clone()).collect(),
        fields,
        inputs: view
            .input
            .iter()
            .map(|(k, v)| {
                let mut text: String = v.chars().take(4000).collect();
                if text.len() < v.len() {
                    text.push_str(" …");
                }
                (k.clone(), text)
            })
            .collect(),
    };
    Ok((
        status,
        LinkPage {
            nav,
            title: format!("{verb} item #{}?", view.id),
            token: token.to_owned(),
            action: link.action.as_str(),
            problem,
            item: Some(item),
            can_decide,
        },
    ))
}

async fn show_link(
    State(s): State<AppState>,
    user: Result<PageUser, PageError>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let user = match user {
        Ok(u) => u,
        Err(PageError(ServiceError::Unauthenticated)) if token_ok(&token) => {
            return Ok(sign_in_first(&token));
        }
        Err(e) => return Err(e),
    };
    // A reviewer new to the item's automation reads its card before deciding from a link.
    if token_ok(&token)
        && let Ok(link) = s.tandem.read_link(user.actor.workspace(), &token).await?
    {
        let view = s.tandem.item_view(&user.actor, link.item).await?;
        let next = format!("/decide/{token}");
        if let Some(to) = crate::rollout_card::card_first(&s, &user, &view.automation.slug, &next).await? {
            return Ok(to);
        }
    }
    let (status, p) = page(&s, &user, &token, None).await?;
    Ok((status, render(&p)?).into_response())
}

#[derive(Deserialize)]
struct LinkForm {
    csrf: String,
    reason: Option<String>,
}

async fn use_link(
    State(s): State<AppState>,
    user: PageUser,
    Path(token): Path<String>,
    Form(f): Form<LinkForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let link: DecisionLink = match s.tandem.read_link(user.actor.workspace(), &token).await? {
        Ok(l) => l,
        Err(e) => {
            let (_, p) = page(&s, &user, &token, Some(e.to_string())).await?;
            return Ok((StatusCode::GONE, render(&p)?).into_response());
        }
    };
    let decision = Decision {
        action: link.action.decision(),
        fields: Default::default(),
        route: None,
        reason: f.reason.filter(|r| !r.trim().is_empty()),
        seconds: None,
    };
    match s.tandem.decide(&user.actor, link.item, decision).await {
        Ok(_) => Ok(Redirect::to(&format!("/items/{}", link.item)).into_response()),
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict(_))) => {
            let status = crate::error::status_of(&e);
            let (_, p) = page(&s, &user, &token, Some(crate::error::public_message(&e).0)).await?;
            Ok((status, render(&p)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
