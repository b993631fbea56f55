//! The automation card page and the threshold simulator page (with their JSON twins):
//! the card says what the automation is and where it can be trusted, computed from the
//! data; the simulator turns decided history into a threshold and applies it as a new
//! version.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use tandem_domain::Role;
use tandem_service::ServiceError;
use tandem_service::rollout::simulate::Simulation;

/// The fewest decided outputs one point of the reliability diagram may rest on.
const MIN_PER_BIN: usize = 20;

use crate::AppState;
use crate::auth::{ApiUser, PageUser};
use crate::error::{ApiError, PageError};
use crate::format::percent;
use crate::pages::templates::Nav;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/automations/{slug}/card", get(card_page))
        .route("/automations/{slug}/card/read", post(read_card))
        .route("/automations/{slug}/simulate", get(simulate_page))
        .route("/automations/{slug}/simulate/apply", post(apply_threshold))
        .route("/api/v1/automations/{slug}/card", get(card_json))
        .route("/api/v1/automations/{slug}/card/read", post(read_card_json))
        .route("/api/v1/automations/{slug}/simulate", get(simulate_json))
        .route("/api/v1/automations/{slug}/thresholds", post(apply_json))
}

async fn nav(s: &AppState, user: &PageUser) -> Result<Nav, PageError> {
    let counts = s.tandem.store.inbox_counts(user.actor.workspace()).await?;
    Ok(Nav {
        user_name: user.actor.user.name.clone(),
        role: user.actor.user.role.to_string(),
        csrf: user.csrf.clone(),
        open_count: counts.open,
        section: "automations",
    })
}

fn html(t: &impl Template) -> Result<Response, PageError> {
    let body = t
        .render()
        .map_err(|e| PageError(ServiceError::Internal(format!("template: {e}"))))?;
    Ok((StatusCode::OK, Html(body)).into_response())
}

#[derive(Template)]
#[template(path = "card.html")]
pub struct CardPage {
    pub nav: Nav,
    pub slug: String,
    pub name: String,
    pub version: i64,
    pub stage: String,
    pub why: String,
    pub asked_by: String,
    pub champion: String,
    pub handles: Vec<String>,
    pub range: Vec<String>,
    pub review_reasons: Vec<(String, i64)>,
    pub corrections: Vec<(String, u32)>,
    pub decided: u32,
    pub failing: Vec<String>,
    /// An SVG drawn by tandem-charts, whose text is escaped there.
    pub reliability: String,
    /// What the diagram rests on, or why there is none.
    pub reliability_note: String,
    pub when_wrong: Vec<String>,
    /// A reviewer who has not acknowledged this card yet: it comes before their first
    /// decision, and the page says so.
    pub must_read: bool,
    /// When this member acknowledged the card, in words; empty when they have not.
    pub read_at: String,
    /// Where acknowledging leads (the item or link that brought them here).
    pub next: String,
}

#[derive(Deserialize, Default)]
struct CardQuery {
    next: Option<String>,
}

/// A path on this site to go on to, or nothing (see [`crate::next_path`]): a full URL or
/// `//host` could send a reviewer elsewhere after they acknowledge.
fn local_path(next: Option<&str>) -> Option<String> {
    next.and_then(crate::next_path::local_path).map(str::to_owned)
}

/// Where a reviewer who has not read the automation's card goes first, if anywhere:
/// the card, then back to `next`.
pub(crate) async fn card_first(
    s: &AppState,
    user: &PageUser,
    slug: &str,
    next: &str,
) -> Result<Option<Response>, PageError> {
    if !s.tandem.must_read_card(&user.actor, slug).await? {
        return Ok(None);
    }
    let to = format!(
        "/automations/{slug}/card?next={}",
        crate::format::query_value(next)
    );
    Ok(Some(Redirect::to(&to).into_response()))
}

async fn card_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Query(q): Query<CardQuery>,
) -> Result<Response, PageError> {
    user.actor.require(Role::Viewer, "see automation cards")?;
    let c = s.tandem.card(&user.actor, &slug).await?;
    let must_read = s.tandem.must_read_card(&user.actor, &slug).await?;
    let read_at = s
        .tandem
        .card_read_at(&user.actor, &slug)
        .await?
        .map_or_else(String::new, crate::format::datetime);
    // Each point of the diagram rests on at least MIN_PER_BIN outputs, and there are at
    // least two points; with fewer outputs the card says so instead of drawing a line
    // through two or three items.
    let bins =
        tandem_charts::merge_sparse_bins(&tandem_charts::reliability_bins(&c.reliability, 10), MIN_PER_BIN);
    let (reliability, reliability_note) = if bins.len() < 2 {
        let note = if c.reliability.is_empty() {
            "Nothing decided yet to draw from.".to_owned()
        } else {
            format!(
                "Only {} decided output{}: too few for a reliability diagram, which needs at least {} ({MIN_PER_BIN} in each of two confidence bins).",
                c.reliability.len(),
                if c.reliability.len() == 1 { "" } else { "s" },
                2 * MIN_PER_BIN
            )
        };
        (String::new(), note)
    } else {
        let svg = tandem_charts::reliability_diagram("Reliability from decided items", &bins).to_svg();
        let note = format!(
            "Each point is at least {MIN_PER_BIN} decided outputs; sparse confidence ranges are merged with their neighbours."
        );
        (svg, note)
    };
    let page = CardPage {
        nav: nav(&s, &user).await?,
        slug: c.slug,
        name: c.name,
        version: c.version,
        stage: c.stage.to_string(),
        why: c.why,
        asked_by: c.asked_by.unwrap_or_default(),
        champion: c
            .champion
            .map_or_else(|| "none yet".into(), |u| format!("{} <{}>", u.name, u.email)),
        handles: c.handles,
        range: c.reliable_range,
        review_reasons: c.review_reasons,
        corrections: c.corrections,
        decided: c.decided,
        failing: c.failing_edge_cases,
        reliability,
        reliability_note,
        when_wrong: c.when_wrong,
        must_read,
        read_at,
        next: local_path(q.next.as_deref()).unwrap_or_default(),
    };
    html(&page)
}

#[derive(Deserialize)]
struct ReadForm {
    csrf: String,
    next: Option<String>,
}

/// "I have read this card": kept for this member, then on to where they were going.
async fn read_card(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Form(f): Form<ReadForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    s.tandem.acknowledge_card(&user.actor, &slug).await?;
    let to = local_path(f.next.as_deref().filter(|n| !n.is_empty()))
        .unwrap_or_else(|| format!("/automations/{slug}/card"));
    Ok(Redirect::to(&to).into_response())
}

async fn read_card_json(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let first = s.tandem.acknowledge_card(&actor, &slug).await?;
    let read_at = s.tandem.card_read_at(&actor, &slug).await?;
    Ok(Json(serde_json::json!({ "first": first, "read_at": read_at })))
}

async fn card_json(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.tandem.card(&actor, &slug).await?))
}

#[derive(Deserialize, Default)]
struct SimQuery {
    target: Option<String>,
    precision: Option<String>,
    threshold: Option<String>,
}

/// A number from a form or query, with the parameter's name in the error.
fn number(name: &str, v: Option<&str>) -> Result<Option<f64>, ServiceError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(t) => {
            let t = t.trim_end_matches('%');
            let x: f64 = t
                .parse()
                .map_err(|_| ServiceError::invalid(format!("{name}: {t:?} is not a number")))?;
            // "95" and "95%" mean 0.95.
            Ok(Some(if x > 1.0 { x / 100.0 } else { x }))
        }
    }
}

async fn simulation(
    s: &AppState,
    actor: &tandem_service::auth::Actor,
    slug: &str,
    q: &SimQuery,
) -> Result<Simulation, ServiceError> {
    let (_, c) = s.tandem.active(actor.workspace(), slug).await?;
    let target = q
        .target
        .clone()
        .or_else(|| c.def.fields.first().map(|f| f.name.clone()))
        .unwrap_or_else(|| "route".into());
    let precision = number("precision", q.precision.as_deref())?;
    let threshold = number("threshold", q.threshold.as_deref())?;
    s.tandem
        .simulate(
            actor,
            slug,
            &target,
            precision.or(if threshold.is_none() { Some(0.95) } else { None }),
            threshold,
        )
        .await
}

async fn simulate_json(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    Query(q): Query<SimQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(simulation(&s, &actor, &slug, &q).await?))
}

#[derive(Template)]
#[template(path = "simulate.html")]
pub struct SimulatePage {
    pub nav: Nav,
    pub slug: String,
    pub name: String,
    pub version: i64,
    pub error: Option<String>,
    pub targets: Vec<String>,
    pub target: String,
    pub precision: String,
    pub samples: usize,
    /// Few items under the curve, or no threshold backed: said above the result.
    pub warning: Option<String>,
    pub current: String,
    pub chart: String,
    pub has_result: bool,
    pub threshold: String,
    /// The threshold as simulated, to apply exactly that (the shown one is rounded).
    pub exact_threshold: String,
    pub automation: String,
    pub errors: String,
    pub inbox: String,
    pub hours: String,
    pub can_apply: bool,
    /// (threshold, automatic share, error share), formatted.
    pub points: Vec<(String, String, String)>,
}

async fn simulate_page(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Query(q): Query<SimQuery>,
) -> Result<Response, PageError> {
    user.actor.require(Role::Viewer, "simulate thresholds")?;
    let (a, c) = s.tandem.active(user.actor.workspace(), &slug).await?;
    let mut targets: Vec<String> = c.def.fields.iter().map(|f| f.name.clone()).collect();
    if c.def.route.is_some() {
        targets.push("route".into());
    }
    let (sim, error) = match simulation(&s, &user.actor, &slug, &q).await {
        Ok(sim) => (Some(sim), None),
        Err(e @ ServiceError::Invalid { .. }) => (None, Some(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let chart = sim
        .as_ref()
        .filter(|x| !x.curve.is_empty())
        .map(|x| {
            use tandem_charts::{Axis, Chart, Series};
            let mut ch = Chart::new(
                format!("{}: automation against errors", x.target),
                Axis::new("Handled automatically").range(0.0, 1.0).percent(),
                Axis::new("Errors among them").range(0.0, 1.0).percent(),
            )
            .size(640, 360)
            .series(Series::line(
                "curve",
                x.curve
                    .iter()
                    .map(|p| (p.automation_rate, p.error_rate))
                    .collect(),
            ));
            let (points, links) = clickable_points(&slug, x);
            ch = ch.series(Series::linked_points("thresholds", points, links));
            ch.to_svg()
        })
        .unwrap_or_default();
    let fmt = |v: Option<f64>| v.map_or_else(|| "–".into(), percent);
    let page = SimulatePage {
        nav: nav(&s, &user).await?,
        slug: slug.clone(),
        name: a.name,
        version: c.version.number,
        error,
        target: sim
            .as_ref()
            .map(|x| x.target.clone())
            .or(q.target.clone())
            .unwrap_or_default(),
        targets,
        precision: sim
            .as_ref()
            .and_then(|x| x.target_precision)
            .map_or_else(String::new, |p| format!("{p}")),
        samples: sim.as_ref().map_or(0, |x| x.samples),
        warning: sim.as_ref().and_then(|x| x.warning.clone()),
        current: sim
            .as_ref()
            .map_or_else(String::new, |x| format!("{}", x.current_threshold)),
        chart,
        has_result: sim.as_ref().is_some_and(|x| x.threshold.is_some()),
        threshold: sim
            .as_ref()
            .and_then(|x| x.threshold)
            .map_or_else(String::new, short_threshold),
        exact_threshold: sim
            .as_ref()
            .and_then(|x| x.threshold)
            .map_or_else(String::new, |t| format!("{t}")),
        automation: fmt(sim.as_ref().and_then(|x| x.automation_rate)),
        errors: fmt(sim.as_ref().and_then(|x| x.error_rate)),
        inbox: match sim.as_ref().and_then(|x| x.weekly_inbox) {
            Some(n) => format!("about {n:.0} items a week"),
            None => match sim.as_ref().and_then(|x| x.inbox_share) {
                Some(sh) => format!(
                    "{} of items (set [baseline] weekly_volume for a weekly figure)",
                    percent(sh)
                ),
                None => "–".into(),
            },
        },
        hours: sim
            .as_ref()
            .and_then(|x| x.review_hours)
            .map_or_else(|| "–".into(), |h| format!("{h:.1} h a week")),
        can_apply: user.actor.user.role.allows(Role::Builder),
        points: sim
            .as_ref()
            .map(|x| {
                x.curve
                    .iter()
                    .filter(|p| p.threshold <= 1.0)
                    .map(|p| {
                        (
                            format!("{:.4}", p.threshold),
                            percent(p.automation_rate),
                            percent(p.error_rate),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    html(&page)
}

/// A threshold as people read it: at most four decimals, no trailing zeros.
fn short_threshold(t: f64) -> String {
    format!("{t:.4}")
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_owned()
}

/// The most points the curve offers to click; more would crowd the chart and the Tab order.
const MAX_CLICKABLE: usize = 60;

/// The curve's points as links: each selects its threshold on this page (the result, with
/// the weekly inbox volume and review hours, is shown and focused). At most
/// [`MAX_CLICKABLE`], evenly spread, always with the one selected now.
fn clickable_points(slug: &str, sim: &Simulation) -> (Vec<(f64, f64)>, Vec<tandem_charts::PointLink>) {
    let usable: Vec<&tandem_service::rollout::simulate::Point> =
        sim.curve.iter().filter(|p| p.threshold <= 1.0).collect();
    let selected = sim.threshold.and_then(|t| {
        usable
            .iter()
            .enumerate()
            .filter(|(_, p)| p.threshold >= t - 1e-12)
            .min_by(|a, b| a.1.threshold.total_cmp(&b.1.threshold))
            .map(|(i, _)| i)
    });
    let every = usable.len().div_ceil(MAX_CLICKABLE).max(1);
    let last = usable.len().saturating_sub(1);
    let target = crate::format::query_value(&sim.target);
    usable
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0 || *i == last || Some(*i) == selected)
        .map(|(i, p)| {
            let current = Some(i) == selected;
            let label = format!(
                "Threshold {}: {} handled automatically, {} of them wrong{}",
                short_threshold(p.threshold),
                percent(p.automation_rate),
                percent(p.error_rate),
                if current { " (selected)" } else { "" }
            );
            (
                (p.automation_rate, p.error_rate),
                tandem_charts::PointLink {
                    href: format!(
                        "/automations/{slug}/simulate?target={target}&threshold={}#result",
                        p.threshold
                    ),
                    label,
                    current,
                },
            )
        })
        .unzip()
}

#[derive(Deserialize)]
struct ApplyForm {
    csrf: String,
    target: String,
    threshold: String,
}

async fn apply_threshold(
    State(s): State<AppState>,
    user: PageUser,
    Path(slug): Path<String>,
    Form(f): Form<ApplyForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let t = number("threshold", Some(&f.threshold))?
        .ok_or_else(|| ServiceError::invalid("threshold is required"))?;
    let change = s.tandem.apply_threshold(&user.actor, &slug, &f.target, t).await?;
    // The rollout page says what happened: a candidate waiting for the gate, or active.
    let done = if change.candidate {
        format!("threshold-candidate-{}", change.version)
    } else {
        format!("threshold-active-{}", change.version)
    };
    Ok(Redirect::to(&format!("/automations/{slug}/rollout?done={done}")).into_response())
}

#[derive(Deserialize)]
struct ApplyBody {
    target: String,
    threshold: f64,
}

async fn apply_json(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(slug): Path<String>,
    Json(b): Json<ApplyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let change = s
        .tandem
        .apply_threshold(&actor, &slug, &b.target, b.threshold)
        .await?;
    let message = change.sentence();
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "change": change, "version": change.version, "message": message })),
    ))
}
