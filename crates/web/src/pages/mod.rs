//! The server-rendered UI: sign-in, the exception inbox, the item page with its one-action
//! decisions, the item list, automations and deliveries. Every page needs a session;
//! every form carries the session's form token.

pub mod admin;
mod by_hand;
mod document;
pub mod links;
pub mod llm;
mod paging;
pub(crate) use paging::page_from;
pub mod review;
pub mod templates;
mod training;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use tandem_domain::definition::Priority;
use tandem_domain::{Decision, DecisionAction, DeliveryId, ItemId, ItemStatus, Role};
use tandem_domain::{Millis, UserId};
use tandem_service::ServiceError;
use tandem_service::inbox::{REPORTED_WRONG, held_message, reason_label};
use tandem_service::view::{ItemView, highlight};
use tandem_store::{Claim, DeliveryFilter, DeliveryStatus, EscapedError, ItemFilter, ItemSort, ItemSummary};

use self::templates::*;
use crate::AppState;
use crate::auth::CsrfForm;
use crate::auth::{PageUser, SESSION_COOKIE};
use crate::error::{PageError, public_message, status_of};
use crate::format::{age, datetime, percent, query_value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/inbox", get(inbox))
        .route("/items", get(items))
        .route("/items/{id}", get(item_page))
        .route("/items/{id}/decide", post(decide))
        .route("/automations", get(automations))
        .route("/deliveries", get(deliveries))
        .route("/deliveries/{id}/retry", post(retry_delivery))
        .merge(training::routes())
        .merge(by_hand::routes())
        .merge(document::routes())
        .merge(admin::routes())
}

fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(|e| PageError(ServiceError::Internal(format!("template: {e}"))))
}

async fn nav(s: &AppState, user: &PageUser, section: &'static str) -> Result<Nav, PageError> {
    let open = s.tandem.store.open_count(user.actor.workspace()).await?;
    Ok(nav_with(user, section, open))
}

/// The navigation when the open count is already known (the inbox counted it).
fn nav_with(user: &PageUser, section: &'static str, open_count: i64) -> Nav {
    Nav {
        user_name: user.actor.user.name.clone(),
        role: user.actor.user.role.to_string(),
        csrf: user.csrf.clone(),
        open_count,
        section,
    }
}

// --- sign in ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
}

/// Where to go after signing in: a path on this site (see [`crate::next_path`]), else the
/// inbox.
fn safe_next(next: Option<&str>) -> String {
    next.and_then(crate::next_path::local_path)
        .unwrap_or("/inbox")
        .to_owned()
}

/// The sign-in form's token travels in this cookie too (a double submit): there is no
/// session yet to keep it in, and another site cannot read the cookie to copy it into a
/// form of its own, so it cannot sign a visitor into an account of its choosing.
const LOGIN_CSRF_COOKIE: &str = "tandem_login";

/// The sign-in page with a fresh form token, set in its cookie as well.
fn login_form(
    s: &AppState,
    jar: CookieJar,
    status: StatusCode,
    error: Option<String>,
    email: String,
    next: String,
    extra: &[(axum::http::HeaderName, String)],
) -> Result<Response, PageError> {
    let csrf = tandem_service::auth::new_secret("");
    let cookie = Cookie::build((LOGIN_CSRF_COOKIE, csrf.clone()))
        .path("/login")
        .http_only(true)
        .secure(s.tandem.settings.public_url.starts_with("https://"))
        .same_site(SameSite::Strict)
        .build();
    let page = render(&LoginPage {
        error,
        email,
        next,
        csrf,
    })?;
    let mut resp = (status, jar.add(cookie), page).into_response();
    for (name, value) in extra {
        if let Ok(v) = value.parse() {
            resp.headers_mut().insert(name.clone(), v);
        }
    }
    Ok(resp)
}

async fn login_page(
    State(s): State<AppState>,
    jar: CookieJar,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PageError> {
    login_form(
        &s,
        jar,
        StatusCode::OK,
        None,
        String::new(),
        safe_next(q.next.as_deref()),
        &[],
    )
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(s): State<AppState>,
    crate::auth::Peer(from): crate::auth::Peer,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(f.next.as_deref());
    let sent = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    if !sent.is_some_and(|c| crate::auth::constant_time_eq(c.as_bytes(), f.csrf.as_bytes())) {
        let error = "the sign-in form expired; sign in again on this page".to_owned();
        return login_form(&s, jar, StatusCode::FORBIDDEN, Some(error), f.email, next, &[]);
    }
    match s.tandem.login_from(&f.email, &f.password, from).await {
        Ok(grant) => {
            let secure = s.tandem.settings.public_url.starts_with("https://");
            let cookie = Cookie::build((SESSION_COOKIE, grant.cookie))
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Lax)
                .build();
            Ok((jar.add(cookie), Redirect::to(&safe_next(f.next.as_deref()))).into_response())
        }
        Err(ServiceError::Invalid { message, .. }) => login_form(
            &s,
            jar,
            StatusCode::UNAUTHORIZED,
            Some(message),
            f.email,
            next,
            &[],
        ),
        Err(e @ ServiceError::TooManyAttempts { retry_after_secs }) => {
            let wait = [(axum::http::header::RETRY_AFTER, retry_after_secs.to_string())];
            login_form(
                &s,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                Some(e.to_string()),
                f.email,
                next,
                &wait,
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(
    State(s): State<AppState>,
    user: PageUser,
    jar: CookieJar,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    // Signing out gives back the item this person held, as the item's banner promises.
    s.tandem.release_items(&user.actor).await?;
    if let Some(c) = jar.get(SESSION_COOKIE) {
        s.tandem.logout(c.value()).await?;
    }
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/login"),
    )
        .into_response())
}

// --- inbox -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct InboxQuery {
    automation: Option<String>,
    reason: Option<String>,
    /// oldest (default), newest, priority, due.
    order: Option<String>,
    /// "1": only items past their due time.
    overdue: Option<String>,
    done: Option<i64>,
    /// After a bulk approval: how many were approved and how many were not. Only numbers
    /// come through the address; the words are the page's own.
    approved: Option<u32>,
    not_approved: Option<u32>,
    /// Keyset paging: the position the page starts after (or, going back, ends before).
    after: Option<String>,
    before: Option<String>,
}

/// The inbox's notice after a bulk approval, from its counts.
fn bulk_notice(approved: u32, not_approved: u32) -> String {
    let mut notice = format!(
        "Approved {approved} item{}.",
        if approved == 1 { "" } else { "s" }
    );
    if not_approved > 0 {
        notice.push_str(&format!(
            " {not_approved} could not be approved (decided meanwhile, or changed); they stay in the inbox."
        ));
    }
    notice
}

fn row(s: &AppState, i: &ItemSummary, claims: &[Claim], reports: &[EscapedError], me: UserId) -> InboxRow {
    let now = s.tandem.now();
    let held = claims.iter().find(|c| c.item_id == i.id);
    let report = reports.iter().rev().find(|r| r.item_id == i.id);
    InboxRow {
        id: i.id.0,
        automation: i.automation_name.clone(),
        preview: i.preview.clone(),
        reasons: i
            .reasons
            .iter()
            .map(|c| match report.filter(|_| c == REPORTED_WRONG) {
                Some(r) => format!(
                    "Reported wrong by {}: “{}”",
                    r.reporter,
                    r.reason.chars().take(80).collect::<String>()
                ),
                None => reason_label(c).to_owned(),
            })
            .collect(),
        confidence: match (i.confidence, report) {
            (Some(c), Some(_)) => format!("{}, then reported wrong", percent(c)),
            (c, _) => c.map_or_else(|| "–".into(), percent),
        },
        age: age(i.created_at, now),
        created: datetime(i.created_at),
        status: i.status.label().to_owned(),
        priority: Priority::from_rank(i.priority).as_str().to_owned(),
        due: i.due_at.map_or_else(String::new, |d| due_in(d, now)),
        overdue: i.due_at.is_some_and(|d| d <= now),
        held_by: held.filter(|c| c.user_id != me).map(|c| c.user_name.clone()),
        mine: held.is_some_and(|c| c.user_id == me),
    }
}

/// "due in 25 min", "overdue by 2 h".
fn due_in(due: Millis, now: Millis) -> String {
    let d = (due - now).abs() / 60_000;
    let amount = if d < 120 {
        format!("{d} min")
    } else if d < 48 * 60 {
        format!("{} h", d / 60)
    } else {
        format!("{} days", d / 1440)
    };
    if due > now {
        format!("due in {amount}")
    } else {
        format!("overdue by {amount}")
    }
}

async fn inbox(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<InboxQuery>,
) -> Result<Html<String>, PageError> {
    user.actor.require(Role::Viewer, "see the inbox")?;
    let ws = user.actor.workspace();
    // Back at the inbox, the reviewer has moved on: the item they held is free again.
    s.tandem.release_items(&user.actor).await?;
    let counts = s.tandem.store.inbox_counts(ws).await?;
    let automation_slug = q.automation.clone().filter(|a| !a.is_empty());
    let reason = q.reason.clone().filter(|r| !r.is_empty());
    let order = q.order.clone().unwrap_or_else(|| "oldest".into());
    let sort = match order.as_str() {
        "oldest" | "newest" => ItemSort::Age,
        other => ItemSort::parse(other).ok_or_else(|| {
            ServiceError::invalid(format!(
                "order: {other:?} is not one of oldest, newest, priority, due"
            ))
        })?,
    };
    let overdue = q.overdue.as_deref() == Some("1");
    let mut filter = ItemFilter {
        reason: reason.clone(),
        newest_first: order == "newest",
        sort,
        due_before: overdue.then(|| s.tandem.now()),
        limit: paging::PAGE_SIZE,
        from: paging::page_from(q.after.as_deref(), q.before.as_deref())?,
        ..Default::default()
    };
    if let Some(slug) = &automation_slug {
        filter.automation = s.tandem.store.automation_by_slug(ws, slug).await?.map(|a| a.id);
    }
    let page = s.tandem.page_items(ws, &filter).await?;
    let mut base = format!("/inbox?order={}&", query_value(&order));
    if let Some(a) = &automation_slug {
        base.push_str(&format!("automation={}&", query_value(a)));
    }
    if let Some(r) = &reason {
        base.push_str(&format!("reason={}&", query_value(r)));
    }
    if overdue {
        base.push_str("overdue=1&");
    }
    let pager = paging::pager(&page, &base, filter.from.is_some());
    let items = page.items;
    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    let claims = s.tandem.claims(ws, &ids).await?;
    let reports = s.tandem.store.wrong_reports(ws, &ids).await?;
    let overdue_count = s.tandem.store.overdue_count(ws, s.tandem.now()).await?;
    let page = InboxPage {
        nav: nav_with(&user, "inbox", counts.open),
        automations: counts
            .by_automation
            .iter()
            .map(|(slug, name, n)| CountLink {
                key: slug.clone(),
                label: name.clone(),
                count: *n,
                selected: automation_slug.as_deref() == Some(slug),
            })
            .collect(),
        reasons: counts
            .by_reason
            .iter()
            .map(|(code, n)| CountLink {
                key: code.clone(),
                label: reason_label(code).into(),
                count: *n,
                selected: reason.as_deref() == Some(code),
            })
            .collect(),
        rows: items
            .iter()
            .map(|i| row(&s, i, &claims, &reports, user.actor.user.id))
            .collect(),
        automation: automation_slug.unwrap_or_default(),
        reason: reason.unwrap_or_default(),
        order,
        overdue,
        overdue_count,
        can_decide: user.actor.user.role.allows(Role::Reviewer),
        oldest: counts
            .oldest_open_at
            .map_or_else(String::new, |t| age(t, s.tandem.now())),
        unread_cards: s
            .tandem
            .unread_cards(&user.actor)
            .await?
            .into_iter()
            .map(|a| (a.slug, a.name))
            .collect(),
        notice: q
            .approved
            .map(|n| bulk_notice(n, q.not_approved.unwrap_or(0)))
            .or_else(|| {
                q.done
                    .map(|id| format!("Item {id} decided. The inbox is clear for now."))
            }),
        pager,
    };
    render(&page)
}

// --- one item ---------------------------------------------------------------------------

async fn next_open(s: &AppState, user: &PageUser, after: ItemId) -> Result<Option<i64>, PageError> {
    let items = s
        .tandem
        .store
        .list_items(
            user.actor.workspace(),
            &ItemFilter {
                limit: 50,
                ..Default::default()
            },
        )
        .await?;
    // The next item nobody else is working on.
    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    let claims = s.tandem.claims(user.actor.workspace(), &ids).await?;
    let me = user.actor.user.id;
    Ok(ids
        .into_iter()
        .filter(|id| *id != after)
        .find(|id| !claims.iter().any(|c| c.item_id == *id && c.user_id != me))
        .map(|id| id.0))
}

#[derive(Deserialize, Default)]
struct ItemQuery {
    /// `1`: by-hand mode, the automation's answers hidden and the time kept.
    by_hand: Option<String>,
    /// Set after "did this one by hand" was recorded.
    done_by_hand: Option<String>,
}

async fn item_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<ItemQuery>,
) -> Result<Response, PageError> {
    let view = s.tandem.item_view(&user.actor, ItemId(id)).await?;
    let by_hand = q.by_hand.is_some_and(|v| v == "1");
    // A reviewer new to this automation reads its card first (and claims nothing yet).
    let here = format!("/items/{id}{}", if by_hand { "?by_hand=1" } else { "" });
    if let Some(to) = crate::rollout_card::card_first(&s, &user, &view.automation.slug, &here).await? {
        return Ok(to);
    }
    // Opening an item claims it for a few minutes, so two reviewers never work on it at once.
    s.tandem.open_item(&user.actor, view.id).await?;
    let mode = ItemMode {
        by_hand,
        notice: q.done_by_hand.map(|_| {
            "Recorded: this item was done by hand outside Tandem. It counts as rework in this week's hours and in the check-in's adoption signals.".to_owned()
        }),
        typed: Vec::new(),
    };
    let page = build_item_page(&s, &user, view, None, &mode).await?;
    Ok(render(&page)?.into_response())
}

/// How the item page is shown: normally, or in by-hand mode, with a notice on top.
#[derive(Default)]
struct ItemMode {
    by_hand: bool,
    notice: Option<String>,
    /// What a refused decision's form carried (its field names and values, no token), so
    /// the person who typed it gets it back.
    typed: Vec<(String, String)>,
}

/// A decide form's entries worth giving back when the decision is refused.
fn typed_of(form: &[(String, String)]) -> Vec<(String, String)> {
    form.iter()
        .filter(|(k, _)| k == "action" || k == "route" || k == "reason" || k.starts_with("field."))
        .cloned()
        .collect()
}

/// What a refused form carried, in words, for a page that cannot show the form again.
fn unsent_lines(typed: &[(String, String)]) -> Vec<(String, String)> {
    typed
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let label = match k.as_str() {
                "action" => "Your decision".to_owned(),
                "route" => "Route".to_owned(),
                "reason" => "Reason".to_owned(),
                other => other.strip_prefix("field.").unwrap_or(other).to_owned(),
            };
            (label, v.clone())
        })
        .collect()
}

async fn build_item_page(
    s: &AppState,
    user: &PageUser,
    view: ItemView,
    error: Option<(String, Vec<String>)>,
    mode: &ItemMode,
) -> Result<ItemPage, PageError> {
    let (events, deliveries) = s.tandem.item_history(&user.actor, view.id).await?;
    let open = view.status.is_open();
    let can_decide = user.actor.user.role.allows(Role::Reviewer);
    // By-hand mode shows the input alone: no answers, confidences, evidence or reasons.
    let by_hand = mode.by_hand && open && can_decide;
    let view = if by_hand { without_answers(view) } else { view };
    let inputs = view
        .input
        .iter()
        .map(|(name, text)| {
            let spans: Vec<(usize, usize, String)> = view
                .fields
                .iter()
                .flat_map(|f| {
                    f.evidence
                        .iter()
                        .filter(|e| &e.input == name)
                        .map(|e| (e.start, e.end, f.name.clone()))
                })
                .collect();
            InputBlock {
                name: name.clone(),
                segments: highlight(text, &spans)
                    .into_iter()
                    .map(|seg| SegmentView {
                        text: seg.text,
                        fields: seg.fields.join(" "),
                    })
                    .collect(),
            }
        })
        .collect();
    let show = |v: &Option<serde_json::Value>, sep: &str| match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) => {
            a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(sep)
        }
        Some(other) => other.to_string(),
    };
    let fields: Vec<FieldRow> = view
        .fields
        .iter()
        .map(|f| FieldRow {
            name: f.name.clone(),
            kind: f.kind.replace('_', " "),
            value: show(&f.value, "; "),
            edit: show(&f.value, "\n"),
            confidence: match (&f.value, &view.report) {
                // Not a plain 95%: that confidence is why it went out on its own.
                (Some(_), Some(_)) => format!(
                    "{}, accepted on its own, then reported wrong",
                    percent(f.confidence)
                ),
                (Some(_), None) => percent(f.confidence),
                (None, _) => "–".into(),
            },
            low: f.value.is_some() && f.confidence < f.threshold,
            found: f.value.is_some(),
            required: f.required,
            multi: f.multi,
            reasons: f.reasons.iter().map(|r| r.message.clone()).collect(),
        })
        .collect();
    let typed = |k: &str| mode.typed.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // A refused decision on an item still open shows the form again with what was typed.
    let fields: Vec<FieldRow> = fields
        .into_iter()
        .map(|mut f| {
            if let Some(v) = typed(&format!("field.{}", f.name)) {
                f.edit = v;
            }
            f
        })
        .collect();
    let route = view.route.as_ref().map(|r| RouteBlock {
        label: typed("route").unwrap_or_else(|| r.label.clone().unwrap_or_default()),
        confidence: if by_hand {
            "–".into()
        } else {
            percent(r.confidence)
        },
        low: !by_hand && (r.confidence < r.threshold || r.out_of_scope),
        top: r
            .top
            .iter()
            .map(|t| RouteRow {
                label: t.label.clone(),
                confidence: percent(t.confidence),
            })
            .collect(),
        labels: r.labels.clone(),
        reasons: r.reasons.iter().map(|x| x.message.clone()).collect(),
        because: if by_hand {
            Vec::new()
        } else {
            r.contributions.clone()
        },
        rule: if by_hand { None } else { r.rule.clone() },
    });
    let history = events
        .iter()
        .map(|e| HistoryRow {
            when: datetime(e.created_at),
            who: e.actor_name.clone().unwrap_or_else(|| "Tandem".into()),
            what: match e.kind.as_str() {
                "reported_wrong" => "Reported wrong (sent back to the inbox)".to_owned(),
                "escalated" => "Escalated: past its due time".to_owned(),
                other => other
                    .parse::<ItemStatus>()
                    .map_or_else(|_| other.to_owned(), |st| st.label().to_owned()),
            },
            detail: describe_event(&e.detail, e.seconds),
        })
        .collect();
    let deliveries = deliveries
        .iter()
        .map(|d| DeliveryRow {
            destination: d.destination.clone(),
            status: d.status.as_str().into(),
            attempts: d.attempts,
            error: d.last_error.clone().unwrap_or_default(),
            key: d.delivery_key.clone(),
        })
        .collect();
    let similar = s
        .tandem
        .similar_decided(&user.actor, view.id)
        .await?
        .into_iter()
        .map(similar_row)
        .collect();
    let next_id = next_open(s, user, view.id).await?;
    let llm = if by_hand {
        None
    } else {
        llm::item_block(s, user, view.id).await?
    };
    let hand = by_hand::item_block(s, user, &view, by_hand).await?;
    let now = s.tandem.now();
    let held = s
        .tandem
        .claims(user.actor.workspace(), &[view.id])
        .await?
        .into_iter()
        .find(|c| c.user_id != user.actor.user.id)
        .map(|c| held_message(&c, now));
    let (error, error_details) = match error {
        Some((m, d)) => (Some(m), d),
        None => (None, Vec::new()),
    };
    let layout = match &view.document {
        Some(_) => s.tandem.item_layout(user.actor.workspace(), view.id).await?,
        None => None,
    };
    let document = document::block(&view, layout.as_ref(), by_hand);
    Ok(ItemPage {
        nav: nav(s, user, "inbox").await?,
        id: view.id.0,
        automation: view.automation.name.clone(),
        automation_slug: view.automation.slug.clone(),
        status: view.status_label.to_owned(),
        status_code: view.status.as_str().to_owned(),
        open,
        can_decide: can_decide && held.is_none(),
        typed_reason: typed("reason").unwrap_or_default(),
        unsent: if open && can_decide && held.is_none() {
            Vec::new()
        } else {
            unsent_lines(&mode.typed)
        },
        can_report: view.status == ItemStatus::AutoAccepted,
        can_add_case: can_decide && !by_hand && view.result.is_some(),
        held,
        version: view.version.map_or_else(|| "–".into(), |v| format!("v{v}")),
        created: datetime(view.created_at),
        reasons: report_reason(&view)
            .into_iter()
            .chain(view.reasons.iter().map(|r| r.message.clone()))
            .collect(),
        inputs,
        fields,
        route,
        history,
        deliveries,
        similar,
        result: view
            .result
            .as_ref()
            .and_then(|r| serde_json::to_string_pretty(r).ok())
            .unwrap_or_default(),
        error,
        error_details,
        next_id,
        llm,
        by_hand,
        hand,
        notice: mode.notice.clone(),
        document,
    })
}

fn similar_row(x: tandem_service::similar::SimilarItem) -> SimilarRow {
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "(empty)".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut how: Vec<String> = x
        .corrections
        .iter()
        .map(|c| format!("{}: {} → {}", c.field, show(&c.before), show(&c.after)))
        .collect();
    if let Some(r) = &x.reason {
        how.push(format!("“{r}”"));
    }
    SimilarRow {
        id: x.id.0,
        similarity: percent(x.similarity),
        status: x.status_label.to_owned(),
        status_code: x.status.as_str().to_owned(),
        preview: x.preview,
        how: how.join("; "),
        who: x.decided_by.unwrap_or_default(),
        when: x.decided_at.map(datetime).unwrap_or_default(),
    }
}

/// The item as by-hand mode shows it: the input alone, every answer of the automation
/// (values, evidence, routes, reasons) taken out, so the time kept is the time by hand.
/// The "why this item needs a person" line for an item sent back with "this looks wrong":
/// who said so, when, and what they said.
fn report_reason(view: &ItemView) -> Option<String> {
    let r = view.report.as_ref()?;
    Some(format!(
        "Reported wrong by {} on {}: “{}”. It had been accepted automatically at the confidences shown; check what they describe.",
        r.reporter,
        datetime(r.created_at),
        r.reason
    ))
}

fn without_answers(mut view: ItemView) -> ItemView {
    view.report = None;
    for f in &mut view.fields {
        f.value = None;
        f.evidence.clear();
        f.reasons.clear();
    }
    if let Some(r) = &mut view.route {
        r.label = None;
        r.top.clear();
        r.reasons.clear();
    }
    view.reasons.clear();
    view
}

fn describe_event(detail: &str, seconds: Option<f64>) -> String {
    let v: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
    let mut parts = Vec::new();
    if let Some(changes) = v["corrections"].as_array() {
        for c in changes {
            let show = |x: &serde_json::Value| {
                if x.is_null() {
                    "(empty)".to_owned()
                } else {
                    x.as_str().map_or_else(|| x.to_string(), String::from)
                }
            };
            parts.push(format!(
                "{}: {} → {}",
                c["field"].as_str().unwrap_or("?"),
                show(&c["before"]),
                show(&c["after"])
            ));
        }
    }
    if let Some(r) = v["reason"].as_str() {
        parts.push(format!("“{r}”"));
    }
    if let Some(s) = seconds {
        parts.push(format!("{s:.0} s on the item"));
    }
    parts.join("; ")
}

/// The decision a decide form carries (checking its form token first).
fn form_decision(user: &PageUser, form: &[(String, String)]) -> Result<Decision, PageError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    user.check_csrf(get("csrf").unwrap_or(""))?;
    let action: DecisionAction = get("action")
        .unwrap_or("")
        .parse()
        .map_err(ServiceError::invalid)?;
    let mut decision = Decision {
        action,
        fields: Default::default(),
        route: None,
        reason: get("reason").map(String::from).filter(|r| !r.trim().is_empty()),
        seconds: get("seconds").and_then(|v| v.parse().ok()),
    };
    if action == DecisionAction::Correct {
        for (k, v) in form {
            if let Some(name) = k.strip_prefix("field.") {
                decision
                    .fields
                    .insert(name.to_owned(), serde_json::Value::String(v.clone()));
            }
        }
        decision.route = get("route").map(String::from).filter(|r| !r.is_empty());
    }
    Ok(decision)
}

/// Where to go once an item is decided: the next open item (in the same mode), or the inbox.
async fn after_decision(
    s: &AppState,
    user: &PageUser,
    item: ItemId,
    mode: &str,
) -> Result<Response, PageError> {
    let to = match next_open(s, user, item).await? {
        Some(next) => format!("/items/{next}{mode}"),
        None => format!("/inbox?done={item}"),
    };
    Ok(Redirect::to(&to).into_response())
}

/// A refused decision shows the item again with the reason; anything else is an error page.
async fn refused(
    s: &AppState,
    user: &PageUser,
    item: ItemId,
    e: ServiceError,
    mode: &ItemMode,
) -> Result<Response, PageError> {
    match e {
        e @ (ServiceError::Invalid { .. } | ServiceError::Conflict(_)) => {
            let status = status_of(&e);
            let msg = public_message(&e);
            let view = s.tandem.item_view(&user.actor, item).await?;
            let page = build_item_page(s, user, view, Some(msg), mode).await?;
            Ok((status, render(&page)?).into_response())
        }
        e => Err(e.into()),
    }
}

async fn decide(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let decision = form_decision(&user, &form)?;
    let item = ItemId(id);
    let mode = ItemMode {
        typed: typed_of(&form),
        ..ItemMode::default()
    };
    match s.tandem.decide(&user.actor, item, decision).await {
        Ok(_) => after_decision(&s, &user, item, "").await,
        Err(e) => refused(&s, &user, item, e, &mode).await,
    }
}

// --- lists -----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ItemsQuery {
    status: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

async fn items(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<ItemsQuery>,
) -> Result<Html<String>, PageError> {
    user.actor.require(Role::Viewer, "see items")?;
    let status = q.status.unwrap_or_else(|| "all".into());
    let statuses = if status == "all" {
        Vec::new()
    } else {
        vec![status.parse::<ItemStatus>().map_err(ServiceError::invalid)?]
    };
    let filter = ItemFilter {
        statuses,
        newest_first: true,
        limit: paging::PAGE_SIZE,
        from: paging::page_from(q.after.as_deref(), q.before.as_deref())?,
        ..Default::default()
    };
    let page = s.tandem.page_items(user.actor.workspace(), &filter).await?;
    let pager = paging::pager(
        &page,
        &format!("/items?status={}&", query_value(&status)),
        filter.from.is_some(),
    );
    let list = page.items;
    let mut options = vec![("all".to_owned(), "All".to_owned())];
    options.extend(
        ItemStatus::ALL
            .iter()
            .map(|st| (st.as_str().to_owned(), st.label().to_owned())),
    );
    render(&ItemsPage {
        nav: nav(&s, &user, "items").await?,
        rows: list
            .iter()
            .map(|i| row(&s, i, &[], &[], user.actor.user.id))
            .collect(),
        status,
        statuses: options,
        pager,
    })
}

async fn automations(State(s): State<AppState>, user: PageUser) -> Result<Html<String>, PageError> {
    user.actor.require(Role::Viewer, "see automations")?;
    let ws = user.actor.workspace();
    let counts = s.tandem.store.inbox_counts(ws).await?;
    let mut rows = Vec::new();
    for a in s.tandem.store.list_automations(ws).await? {
        let versions = s.tandem.store.list_versions(ws, a.id).await?;
        let Some(active) = a.active_version_id else {
            continue;
        };
        let c = s.tandem.compiled(ws, active).await?;
        rows.push(AutomationRow {
            slug: a.slug.clone(),
            name: a.name.clone(),
            version: format!("v{}", c.version.number),
            versions: versions.len(),
            updated: datetime(c.version.created_at),
            description: c.def.description.clone(),
            fields: c
                .def
                .fields
                .iter()
                .map(|f| format!("{} ({})", f.name, f.kind.as_str().replace('_', " ")))
                .collect::<Vec<_>>()
                .join(", "),
            routes: c.def.route_labels().join(", "),
            destinations: c
                .def
                .destinations
                .iter()
                .map(|d| d.describe())
                .collect::<Vec<_>>()
                .join("; "),
            open: counts
                .by_automation
                .iter()
                .find(|(slug, _, _)| *slug == a.slug)
                .map_or(0, |x| x.2),
        });
    }
    render(&AutomationsPage {
        nav: nav(&s, &user, "automations").await?,
        rows,
    })
}

#[derive(Deserialize, Default)]
struct DeliveriesQuery {
    status: Option<String>,
}

async fn deliveries(
    State(s): State<AppState>,
    user: PageUser,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Html<String>, PageError> {
    user.actor.require(Role::Viewer, "see deliveries")?;
    let ws = user.actor.workspace();
    let status = q.status.unwrap_or_else(|| "all".into());
    let filter_status = match status.as_str() {
        "pending" => Some(DeliveryStatus::Pending),
        "delivered" => Some(DeliveryStatus::Delivered),
        "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    };
    let list = s
        .tandem
        .store
        .list_deliveries(
            ws,
            &DeliveryFilter {
                status: filter_status,
                item: None,
                limit: 200,
            },
        )
        .await?;
    let failed = s
        .tandem
        .store
        .list_deliveries(
            ws,
            &DeliveryFilter {
                status: Some(DeliveryStatus::Failed),
                item: None,
                limit: 1000,
            },
        )
        .await?;
    let rows = list
        .iter()
        .map(|d| DeliveryListRow {
            id: d.id.0,
            item_id: d.item_id.0,
            destination: d.destination.clone(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            error: d.last_error.clone().unwrap_or_default(),
            when: datetime(d.delivered_at.unwrap_or(d.created_at)),
            failed: d.status == DeliveryStatus::Failed,
        })
        .collect();
    let notifications = s
        .tandem
        .store
        .list_notifications(ws, None, 50)
        .await?
        .into_iter()
        .map(|n| NotificationListRow {
            kind: n.kind,
            channel: n.channel,
            items: n
                .item_ids
                .iter()
                .map(|i| format!("#{}", i.0))
                .collect::<Vec<_>>()
                .join(" "),
            status: n.status.as_str().to_owned(),
            attempts: n.attempts,
            error: n.error.unwrap_or_default(),
            when: datetime(n.last_attempt_at.unwrap_or(n.created_at)),
            next: n
                .next_attempt_at
                .map(|t| format!("next attempt {}", datetime(t)))
                .unwrap_or_default(),
        })
        .collect();
    render(&DeliveriesPage {
        nav: nav(&s, &user, "deliveries").await?,
        rows,
        status,
        failed_count: failed.len(),
        notifications,
    })
}

async fn retry_delivery(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    user.actor.require(Role::Reviewer, "retry deliveries")?;
    s.tandem
        .store
        .retry_delivery(user.actor.workspace(), DeliveryId(id), s.tandem.now())
        .await?;
    s.tandem.work_ready.notify_waiters();
    Ok(Redirect::to("/deliveries?status=failed").into_response())
}
