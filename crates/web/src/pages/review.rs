//! The inbox's other pages: "this looks wrong" on an automatically accepted result, bulk
//! approve behind a confirmation that lists exactly what will be approved, and reviewer
//! progress.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tandem_domain::{Decision, DecisionAction, ItemId, ItemStatus, Role};
use tandem_service::ServiceError;
use tandem_service::inbox::held_message;
use tandem_service::view::ItemView;

use super::templates::Nav;
use super::{nav, render};
use crate::AppState;
use crate::auth::PageUser;
use crate::error::{PageError, public_message, status_of};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/items/{id}/wrong", get(wrong_page).post(report_wrong))
        .route(
            "/inbox/bulk",
            post(bulk_confirm).layer(DefaultBodyLimit::max(BULK_FORM_LIMIT)),
        )
        .route(
            "/inbox/bulk/approve",
            post(bulk_approve).layer(DefaultBodyLimit::max(BULK_FORM_LIMIT)),
        )
        .route("/progress", get(progress))
}

/// The most of each input part the bulk confirmation shows beside the values.
const BULK_INPUT_CHARS: usize = 600;

/// The bulk form sends at most this many items; a bigger selection is refused.
const MAX_BULK: usize = 200;
/// The largest bulk form read, in bytes: 200 ids and the form token take about 5 KB, so a
/// bigger body is refused (413) before it is read whole, let alone parsed (four 2 MB forms
/// of ids once stalled the server, issue 21).
const BULK_FORM_LIMIT: usize = 64 * 1024;

/// A field's value as it reads on a page (several values joined with "; ").
pub(crate) fn show(v: &Option<serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) => {
            a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; ")
        }
        Some(other) => other.to_string(),
    }
}

/// (field, value) pairs of a view, the route last.
fn values(view: &ItemView) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = view
        .fields
        .iter()
        .map(|f| (f.name.clone(), show(&f.value)))
        .collect();
    if let Some(r) = &view.route {
        out.push(("route".into(), r.label.clone().unwrap_or_default()));
    }
    out
}

// --- this looks wrong ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "report_wrong.html")]
pub struct WrongPage {
    pub nav: Nav,
    pub id: i64,
    pub automation: String,
    pub status: String,
    pub fields: Vec<(String, String)>,
    pub can_report: bool,
    pub error: Option<String>,
}

async fn wrong_view(
    s: &AppState,
    user: &PageUser,
    id: ItemId,
    error: Option<String>,
) -> Result<WrongPage, PageError> {
    let view = s.tandem.item_view(&user.actor, id).await?;
    let can_report = view.status == ItemStatus::AutoAccepted;
    let error = error.or_else(|| {
        (!can_report).then(|| match view.status {
            ItemStatus::NeedsReview | ItemStatus::Failed => "This item is already in the inbox.".to_owned(),
            _ => {
                "Only a result accepted automatically can be sent back; a person decided this one.".to_owned()
            }
        })
    });
    Ok(WrongPage {
        nav: nav(s, user, "inbox").await?,
        id: view.id.0,
        automation: view.automation.name.clone(),
        status: view.status_label.to_owned(),
        fields: view
            .result
            .as_ref()
            .and_then(|r| r["fields"].as_object())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), show(&Some(v.clone()))))
                    .collect()
            })
            .unwrap_or_else(|| values(&view)),
        can_report,
        error,
    })
}

async fn wrong_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, PageError> {
    render(&wrong_view(&s, &user, ItemId(id), None).await?)
}

#[derive(Deserialize)]
struct WrongForm {
    csrf: String,
    reason: String,
}

async fn report_wrong(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<WrongForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    match s.tandem.report_wrong(&user.actor, ItemId(id), &f.reason).await {
        Ok(_) => Ok(Redirect::to(&format!("/items/{id}")).into_response()),
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict(_))) => {
            let status = status_of(&e);
            let page = wrong_view(&s, &user, ItemId(id), Some(public_message(&e).0)).await?;
            Ok((status, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// --- bulk approve ------------------------------------------------------------------------

#[derive(Debug)]
pub struct BulkRow {
    pub id: i64,
    pub automation: String,
    /// The item's input (each part, cut at `BULK_INPUT_CHARS`), to check the values
    /// against before approving them.
    pub input: Vec<(String, String)>,
    pub fields: Vec<(String, String)>,
    pub reasons: Vec<String>,
}

#[derive(Template)]
#[template(path = "bulk_confirm.html")]
pub struct BulkPage {
    pub nav: Nav,
    pub ready: Vec<BulkRow>,
    /// (item, why it is not included)
    pub skipped: Vec<(i64, String)>,
}

/// The selected items, once each, in the order sent. The limit is checked as the ids are
/// read, so a form of a hundred thousand ids costs no more than one of `MAX_BULK + 1`
/// (de-duplicating them all first was quadratic, issue 21).
fn picked(form: &[(String, String)]) -> Result<Vec<ItemId>, PageError> {
    let mut ids: Vec<ItemId> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in form {
        if k == "item" {
            let id = v
                .parse::<i64>()
                .map_err(|_| ServiceError::invalid(format!("item: {v:?} is not an item number")))?;
            if seen.insert(id) {
                if ids.len() == MAX_BULK {
                    return Err(
                        ServiceError::invalid(format!("select at most {MAX_BULK} items at once")).into(),
                    );
                }
                ids.push(ItemId(id));
            }
        }
    }
    if ids.is_empty() {
        return Err(ServiceError::invalid("select at least one item to approve").into());
    }
    Ok(ids)
}

/// Why an item cannot be approved as it is, if it cannot.
fn blocker(view: &ItemView, held: Option<String>) -> Option<String> {
    if !view.status.is_open() {
        return Some(format!("already decided ({})", view.status_label));
    }
    if let Some(h) = held {
        return Some(h);
    }
    let missing: Vec<&str> = view
        .fields
        .iter()
        .filter(|f| f.required && f.value.is_none())
        .map(|f| f.name.as_str())
        .chain(view.route.as_ref().filter(|r| r.label.is_none()).map(|_| "route"))
        .collect();
    if view.status == ItemStatus::Failed
        || (view.fields.iter().all(|f| f.value.is_none()) && view.route.is_none())
    {
        return Some("there is no result to approve; open it to correct or reject it".into());
    }
    (!missing.is_empty()).then(|| format!("{} missing; open it to correct it", missing.join(", ")))
}

async fn bulk_confirm(
    State(s): State<AppState>,
    user: PageUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    user.check_csrf(csrf)?;
    user.actor.require(Role::Reviewer, "approve items")?;
    let ids = picked(&form)?;
    let now = s.tandem.now();
    let claims = s.tandem.claims(user.actor.workspace(), &ids).await?;
    let mut ready = Vec::new();
    let mut skipped = Vec::new();
    for id in ids {
        let view = match s.tandem.item_view(&user.actor, id).await {
            Ok(v) => v,
            Err(ServiceError::NotFound(_)) => {
                skipped.push((id.0, "not found".to_owned()));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let held = claims
            .iter()
            .find(|c| c.item_id == id && c.user_id != user.actor.user.id)
            .map(|c| held_message(c, now));
        // A reviewer new to an automation reads its card before deciding its items.
        if s.tandem
            .must_read_card(&user.actor, &view.automation.slug)
            .await?
        {
            skipped.push((
                id.0,
                format!(
                    "you have not read the {} card yet; open the item to see it first",
                    view.automation.name
                ),
            ));
            continue;
        }
        match blocker(&view, held) {
            Some(why) => skipped.push((id.0, why)),
            None => ready.push(BulkRow {
                id: id.0,
                automation: view.automation.name.clone(),
                input: view
                    .input
                    .iter()
                    .map(|(name, text)| {
                        let mut cut: String = text.chars().take(BULK_INPUT_CHARS).collect();
                        if cut.len() < text.len() {
                            cut.push_str(" …");
                        }
                        (name.clone(), cut)
                    })
                    .collect(),
                fields: values(&view),
                reasons: view.reasons.iter().map(|r| r.message.clone()).collect(),
            }),
        }
    }
    let page = BulkPage {
        nav: nav(&s, &user, "inbox").await?,
        ready,
        skipped,
    };
    Ok(render(&page)?.into_response())
}

async fn bulk_approve(
    State(s): State<AppState>,
    user: PageUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    user.check_csrf(csrf)?;
    user.actor.require(Role::Reviewer, "approve items")?;
    let ids = picked(&form)?;
    let mut approved = 0;
    let mut not_approved = 0;
    for id in ids {
        let decision = Decision {
            action: DecisionAction::Approve,
            fields: Default::default(),
            route: None,
            reason: Some("bulk approve".into()),
            seconds: None,
        };
        match s.tandem.decide(&user.actor, id, decision).await {
            Ok(_) => approved += 1,
            Err(
                e @ (ServiceError::Invalid { .. } | ServiceError::Conflict(_) | ServiceError::NotFound(_)),
            ) => {
                not_approved += 1;
                tracing::info!(item = id.0, reason = %public_message(&e).0, "bulk approve skipped an item");
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Counts only: the inbox words them (an address must not carry a page's text).
    Ok((
        StatusCode::SEE_OTHER,
        [(
            "location",
            format!("/inbox?approved={approved}&not_approved={not_approved}"),
        )],
    )
        .into_response())
}

// --- reviewer progress -----------------------------------------------------------------------

#[derive(Debug)]
pub struct ProgressRow {
    pub name: String,
    pub today: usize,
    pub week: usize,
    pub median: String,
    pub agreement: String,
    pub quick: usize,
    pub rubber_stamping: bool,
}

#[derive(Template)]
#[template(path = "progress.html")]
pub struct ProgressPage {
    pub nav: Nav,
    pub rows: Vec<ProgressRow>,
}

async fn progress(State(s): State<AppState>, user: PageUser) -> Result<Html<String>, PageError> {
    let rows = s
        .tandem
        .reviewer_progress(&user.actor)
        .await?
        .into_iter()
        .map(|p| ProgressRow {
            name: p.name,
            today: p.today,
            week: p.week,
            median: p
                .median_seconds
                .map_or_else(|| "–".into(), |m| format!("{m:.1} s")),
            agreement: crate::format::counted_rate(
                i64::try_from(p.agreed).unwrap_or(i64::MAX),
                i64::try_from(p.compared).unwrap_or(i64::MAX),
            ),
            quick: p.quick_approvals,
            rubber_stamping: p.rubber_stamping,
        })
        .collect();
    render(&ProgressPage {
        nav: nav(&s, &user, "progress").await?,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(ids: impl Iterator<Item = i64>) -> Vec<(String, String)> {
        ids.map(|i| ("item".to_owned(), i.to_string())).collect()
    }

    #[test]
    fn the_bulk_limit_is_checked_while_reading_and_repeats_count_once() {
        let twice = form((1..=200).chain(1..=200));
        assert!(picked(&twice).is_ok_and(|ids| ids.len() == 200 && ids[0] == ItemId(1)));
        assert!(picked(&form(1..=201)).is_err());
        // Refused after reading the 201st distinct id, not after de-duplicating them all.
        assert!(picked(&form(1..=200_000)).is_err());
        assert!(picked(&[]).is_err());
    }
}
