//! Work by hand on the item page. By-hand mode hides the automation's answers and keeps
//! the time while a reviewer works the item out alone: each such item is one measurement
//! of the baseline (the median of them, with its count and spread, replaces the typed
//! minutes per item). "Did this one by hand" records an item the team did outside Tandem,
//! an adoption signal that also counts as rework in the hours.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;
use tandem_domain::{ItemId, ItemStatus, Role};
use tandem_service::ServiceError;
use tandem_service::measure::MIN_MEASURED;
use tandem_service::view::ItemView;

use super::{ItemMode, after_decision, form_decision, refused, typed_of};
use crate::AppState;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::format::datetime;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/items/{id}/by-hand", post(submit_by_hand))
        .route("/items/{id}/outside", post(done_outside))
}

/// What the item page shows about work by hand.
#[derive(Debug, Clone)]
pub struct HandBlock {
    /// Where the measured baseline stands (shown in by-hand mode).
    pub baseline: String,
    /// Open and the reviewer may decide it: by-hand mode can start here.
    pub can_time: bool,
    /// "Did this one by hand" is recorded: when.
    pub outside: Option<String>,
    pub can_mark_outside: bool,
}

pub(super) async fn item_block(
    s: &AppState,
    user: &PageUser,
    view: &ItemView,
    by_hand: bool,
) -> Result<HandBlock, PageError> {
    let ws = user.actor.workspace();
    let automation = s
        .tandem
        .store
        .automation_by_slug(ws, &view.automation.slug)
        .await?
        .ok_or(ServiceError::NotFound("automation"))?;
    let reviewer = user.actor.user.role.allows(Role::Reviewer);
    let outside = s.tandem.done_outside(ws, automation.id, view.id).await?.map(|h| {
        format!(
            "Recorded as done by hand outside Tandem on {}.",
            datetime(h.created_at)
        )
    });
    let baseline = if by_hand {
        let b = s.tandem.baseline(ws, &automation).await?;
        let timed = b.measured.as_ref().map_or(0, |m| m.count);
        let mut text = crate::measure::baseline_sentence(&b);
        if timed < MIN_MEASURED {
            text.push_str(&format!(
                " The median of the items timed by hand becomes the baseline once {MIN_MEASURED} are timed ({timed} so far)."
            ));
        }
        text
    } else {
        String::new()
    };
    Ok(HandBlock {
        baseline,
        can_time: reviewer && view.status.is_open(),
        can_mark_outside: reviewer && outside.is_none() && view.status != ItemStatus::Failed,
        outside,
    })
}

/// `POST /items/{id}/by-hand`: the fields worked out by hand, with the seconds it took.
async fn submit_by_hand(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let decision = form_decision(&user, &form)?;
    let item = ItemId(id);
    let mode = ItemMode {
        by_hand: true,
        notice: None,
        typed: typed_of(&form),
    };
    match s.tandem.decide_by_hand(&user.actor, item, decision).await {
        // By-hand mode carries on to the next item.
        Ok(_) => after_decision(&s, &user, item, "?by_hand=1").await,
        Err(e) => refused(&s, &user, item, e, &mode).await,
    }
}

#[derive(Deserialize)]
struct OutsideForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /items/{id}/outside`: "did this one by hand".
async fn done_outside(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<OutsideForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let item = ItemId(id);
    match s.tandem.did_by_hand(&user.actor, item, &f.note).await {
        Ok(_) => Ok(Redirect::to(&format!("/items/{id}?done_by_hand=1")).into_response()),
        Err(e) => refused(&s, &user, item, e, &ItemMode::default()).await,
    }
}
