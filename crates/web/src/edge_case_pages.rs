//! Edge cases on the pages: each case legible on the rollout page (its input, its
//! expected values, a link to the item it came from, and on a failed run expected against
//! actual), the champion's accept and decline (an accepted case can be declined later,
//! a declined one accepted again), and "Add as an edge case" from an item's page.

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::Value;
use tandem_domain::ItemId;
use tandem_service::rollout::edge_cases::EdgeCaseInput;
use tandem_store::{EdgeCase, EdgeCaseResult, Version};

use crate::AppState;
use crate::auth::PageUser;
use crate::error::PageError;
use crate::pages::review::show;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/edge-cases/{id}/decide", post(decide_edge_case))
        .route("/items/{id}/edge-case", post(add_from_item))
}

/// The most of a case's input the rollout page shows; the item page has the whole.
const INPUT_CHARS: usize = 400;

pub struct CaseRow {
    pub id: i64,
    pub note: String,
    pub origin: String,
    pub by: String,
    pub status: String,
    pub last_run: String,
    /// The case's input, its parts joined, cut at `INPUT_CHARS`.
    pub input: String,
    /// (field or "route", expected value)
    pub expected: Vec<(String, String)>,
    /// The item the case was made from.
    pub item: Option<i64>,
    /// On a failed last run: (field or "route", expected, actual) where they differ.
    pub mismatches: Vec<(String, String, String)>,
}

/// `text` cut at `max` characters, saying so.
fn cut(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// (key, value) of an expected or actual result: its fields, then the route.
fn values(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["fields"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, x)| (k.clone(), show(&Some(x.clone()))))
                .collect()
        })
        .unwrap_or_default();
    if let Some(r) = v.get("route").filter(|r| !r.is_null()) {
        out.push(("route".into(), show(&Some(r.clone()))));
    }
    out
}

pub fn case_rows(cases: &[EdgeCase], results: &[EdgeCaseResult], versions: &[Version]) -> Vec<CaseRow> {
    cases
        .iter()
        .map(|c| {
            let expected: Value = serde_json::from_str(&c.expected).unwrap_or(Value::Null);
            let input: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&c.input).unwrap_or_default();
            let input = input.values().cloned().collect::<Vec<_>>().join("\n");
            let last = results.iter().find(|r| r.edge_case_id == c.id);
            let mismatches = match last.filter(|r| r.status == "fail") {
                Some(r) => {
                    let actual: Value = serde_json::from_str(&r.output).unwrap_or(Value::Null);
                    let got = values(&actual);
                    values(&expected)
                        .into_iter()
                        .filter_map(|(k, want)| {
                            let have = got
                                .iter()
                                .find(|(g, _)| *g == k)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default();
                            (have != want).then(|| {
                                let have = if have.is_empty() {
                                    "(nothing)".to_owned()
                                } else {
                                    have
                                };
                                (k, want, have)
                            })
                        })
                        .collect()
                }
                None => Vec::new(),
            };
            CaseRow {
                id: c.id,
                note: c.note.clone(),
                origin: c.origin.clone(),
                by: c.added_by_name.clone().unwrap_or_default(),
                status: c.status.as_str().to_owned(),
                last_run: last.map_or_else(
                    || "not run".into(),
                    |r| {
                        let n = versions
                            .iter()
                            .find(|v| v.id == r.version_id)
                            .map_or(0, |v| v.number);
                        format!("{} on v{n}", r.status)
                    },
                ),
                input: cut(&input, INPUT_CHARS),
                expected: values(&expected)
                    .into_iter()
                    .map(|(k, v)| (k, if v.is_empty() { "(nothing)".into() } else { v }))
                    .collect(),
                item: c.source_item_id.map(|i| i.0),
                mismatches,
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct CaseForm {
    csrf: String,
    slug: String,
    accept: String,
}

async fn decide_edge_case(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<CaseForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let r = s.tandem.decide_edge_case(&user.actor, id, f.accept == "1").await;
    crate::rollout_pages::after(&s, &user, &f.slug, "case", r).await
}

#[derive(Deserialize)]
struct AddForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

/// "Add as an edge case" on an item: the item's input with its accepted result as the
/// expected one, and the note. A champion's case is accepted at once; anyone else's is
/// proposed to the champion. Back on the rollout page, which lists it.
async fn add_from_item(
    State(s): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(f): Form<AddForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    let item = ItemId(id);
    let view = s.tandem.item_view(&user.actor, item).await?;
    let add = EdgeCaseInput {
        note: f.note,
        expected: None,
    };
    // A refusal (no note, no accepted result yet) is the error page with what to do.
    let (case, _) = s.tandem.add_edge_case_from_item(&user.actor, item, add).await?;
    Ok(Redirect::to(&format!(
        "/automations/{}/rollout?done=case-added#case-{}",
        view.automation.slug, case.id
    ))
    .into_response())
}
