//! The admin page: the workspace's people and API tokens, and the changes an admin makes
//! to them (issue 21, point 5). Admins only; every form carries the session's form token;
//! each change holds at once (the store ends the sessions and tokens it calls for).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tandem_domain::{Role, UserId};
use tandem_service::ServiceError;
use tandem_service::accounts::{AccountChange, token_status};

use crate::AppState;
use crate::auth::CsrfForm;
use crate::auth::PageUser;
use crate::error::{PageError, public_message, status_of};
use crate::format::{age, datetime};
use crate::pages::templates::Nav;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/people", get(people_page))
        .route("/admin/people/{id}", post(change_person))
        .route("/admin/tokens/{id}/revoke", post(revoke_token))
}

pub struct PersonRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub disabled: bool,
    /// The signed-in admin: only their password can be changed here.
    pub me: bool,
}

pub struct TokenRow {
    pub id: i64,
    pub person: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    /// active, expired or revoked.
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "admin_people.html")]
pub struct PeoplePage {
    pub nav: Nav,
    pub notice: Option<&'static str>,
    pub error: Option<String>,
    pub people: Vec<PersonRow>,
    pub tokens: Vec<TokenRow>,
    pub roles: Vec<&'static str>,
}

/// What a change did, by code: the page shows only these fixed sentences, never text
/// taken from the address.
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "role" => "The role was changed.",
        "password" => "The password was set; that person's sessions ended.",
        "disabled" => "The account was disabled; its sessions and tokens stopped working.",
        "enabled" => "The account was enabled.",
        "removed" => "The person was removed; their sessions ended and their tokens were revoked.",
        "revoked" => "The token was revoked; it answers 401 from now on.",
        _ => return None,
    })
}

async fn page_of(
    s: &AppState,
    user: &PageUser,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<PeoplePage, PageError> {
    let actor = &user.actor;
    actor.require(Role::Admin, "manage people")?;
    let ws = actor.workspace();
    let now = s.tandem.now();
    let people = s
        .tandem
        .store
        .list_users(ws)
        .await?
        .into_iter()
        .map(|u| PersonRow {
            id: u.id.0,
            me: u.id == actor.user.id,
            email: u.email,
            name: u.name,
            role: u.role.to_string(),
            disabled: u.disabled_at.is_some(),
        })
        .collect();
    let tokens = s
        .tandem
        .list_tokens(actor)
        .await?
        .into_iter()
        .rev()
        .map(|t| TokenRow {
            id: t.id,
            state: token_status(&t, now),
            person: t.user_email,
            name: t.name,
            created: datetime(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "never".into(), |at| age(at, now)),
            expires: t.expires_at.map_or_else(|| "never".into(), datetime),
        })
        .collect();
    let open_count = s.tandem.store.open_count(ws).await?;
    Ok(PeoplePage {
        nav: Nav {
            user_name: actor.user.name.clone(),
            role: actor.user.role.to_string(),
            csrf: user.csrf.clone(),
            open_count,
            section: "admin",
        },
        notice,
        error,
        people,
        tokens,
        roles: Role::ALL.iter().rev().map(|r| r.as_str()).collect(),
    })
}

fn render(p: &PeoplePage, status: StatusCode) -> Result<Response, PageError> {
    let html = p
        .render()
        .map_err(|e| PageError(ServiceError::Internal(format!("template: {e}"))))?;
    Ok((status, Html(html)).into_response())
}

#[derive(Deserialize, Default)]
struct PeopleQuery {
    done: Option<String>,
}

async fn people_page(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<PeopleQuery>,
) -> Result<Response, PageError> {
    let p = page_of(&s, &user, q.done.as_deref().and_then(notice), None).await?;
    render(&p, StatusCode::OK)
}

/// Back to the page with the change's notice, or the page again with the error when it is
/// one an admin can act on.
async fn after<T>(
    s: &AppState,
    user: &PageUser,
    done: &str,
    r: Result<T, ServiceError>,
) -> Result<Response, PageError> {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/admin/people?done={done}")).into_response()),
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict(_) | ServiceError::NotFound(_))) => {
            let status = status_of(&e);
            let (m, _) = public_message(&e);
            let p = page_of(s, user, None, Some(m)).await?;
            render(&p, status)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct PersonForm {
    csrf: String,
    /// role, password, disable, enable or remove.
    action: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn change_person(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<PersonForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    user.actor.require(Role::Admin, "manage people")?;
    let (change, done) = match f.action.as_str() {
        "role" => match f.role.parse::<Role>() {
            Ok(r) => (AccountChange::Role(r), "role"),
            Err(e) => {
                return after(
                    &s,
                    &user,
                    "",
                    Err::<(), _>(ServiceError::invalid(format!("role: {e}"))),
                )
                .await;
            }
        },
        "password" => (AccountChange::Password(f.password), "password"),
        "disable" => (AccountChange::Disable, "disabled"),
        "enable" => (AccountChange::Enable, "enabled"),
        "remove" => (AccountChange::Remove, "removed"),
        other => {
            let e = ServiceError::invalid(format!("action: {other:?} is not a change this page makes"));
            return after(&s, &user, "", Err::<(), _>(e)).await;
        }
    };
    let r = s
        .tandem
        .admin_change_account(&user.actor, UserId(id), change)
        .await;
    after(&s, &user, done, r).await
}

async fn revoke_token(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let r = s.tandem.revoke_token(&user.actor, id).await;
    after(&s, &user, "revoked", r).await
}
