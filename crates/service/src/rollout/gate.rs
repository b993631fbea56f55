//! The readiness gate: the checklist for going live, computed from evidence (shadow
//! decisions, agreement per required field and for the route, the edge-case suite, the
//! inbox volume the team can absorb) plus the champion's sign-off on this version. The
//! thresholds come from the definition's `[gate]` section, with defaults.

use serde::Serialize;
use tandem_domain::WorkspaceId;
use tandem_store::{Automation, EdgeCaseStatus, RolloutState};

use tandem_engine::pipeline::{Acceptance, Source, acceptance, route_acceptance};

use super::Agreement;
use crate::automations::Compiled;
use crate::{ServiceResult, Tandem};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub key: String,
    pub label: String,
    pub passed: bool,
    /// The evidence in words: what was measured against what was needed.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    pub green: bool,
    pub checks: Vec<Check>,
    /// The inbox volume expected at live thresholds, per week.
    pub expected_weekly_inbox: Option<f64>,
    /// The review hours that volume takes, per week.
    pub expected_review_hours: Option<f64>,
}

/// A minute per item when nothing better is known.
const DEFAULT_REVIEW_MINUTES: f64 = 1.0;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The checklist from the evidence. Pure, so its rules can be tested on their own.
pub fn evaluate(
    c: &Compiled,
    shadow: &Agreement,
    edge_cases: (usize, usize),
    signed_off: Option<bool>,
) -> Gate {
    let g = &c.def.gate;
    let mut checks = Vec::new();
    checks.push(Check {
        key: "shadow_decided".into(),
        label: "Shadow items decided".into(),
        passed: shadow.decided >= g.min_shadow_decided,
        detail: format!(
            "{} decided on version {} of {} needed",
            shadow.decided, c.version.number, g.min_shadow_decided
        ),
    });
    for m in shadow.fields.iter().filter(|m| m.required) {
        let rate = m.rate();
        checks.push(Check {
            key: format!("agreement.{}", m.name),
            label: format!("Agreement on {}", m.name),
            passed: rate.is_some_and(|r| r >= g.min_field_agreement),
            detail: match rate {
                Some(r) => format!(
                    "{} ({} of {}); needs {}",
                    pct(r),
                    m.agreed,
                    m.compared,
                    pct(g.min_field_agreement)
                ),
                None => format!("nothing decided yet; needs {}", pct(g.min_field_agreement)),
            },
        });
    }
    if let Some(m) = &shadow.route {
        let rate = m.rate();
        checks.push(Check {
            key: "agreement.route".into(),
            label: "Agreement on the route".into(),
            passed: rate.is_some_and(|r| r >= g.min_route_agreement),
            detail: match rate {
                Some(r) => format!(
                    "{} ({} of {}); needs {}",
                    pct(r),
                    m.agreed,
                    m.compared,
                    pct(g.min_route_agreement)
                ),
                None => format!("nothing decided yet; needs {}", pct(g.min_route_agreement)),
            },
        });
    }
    // A field the model's held-out answers cannot back is never accepted on its own:
    // every item would wait for a person on it, whatever the shadow agreement says.
    for step in c.spec.fields.iter().filter(|f| f.source == Source::Model) {
        let (passed, detail) = match acceptance(step, &c.models) {
            Acceptance::From(t) => (
                true,
                format!(
                    "accepted on its own from {} confidence; the held-out answers back {} precision",
                    pct(t),
                    pct(step.threshold)
                ),
            ),
            Acceptance::Nothing(why) => (false, why.describe()),
        };
        checks.push(Check {
            key: format!("evidence.{}", step.name),
            label: format!("Evidence for accepting {} on its own", step.name),
            passed,
            detail,
        });
    }
    // The route, the same way, when its router kept held-out answers.
    if let Some(step) = c.spec.route.as_ref().filter(|r| r.evidence.is_some()) {
        let (passed, detail) = match route_acceptance(step) {
            Acceptance::From(t) => (
                true,
                format!(
                    "routed on its own from {} confidence; the held-out answers back {} precision",
                    pct(t),
                    pct(step.threshold)
                ),
            ),
            Acceptance::Nothing(why) => (false, why.describe()),
        };
        checks.push(Check {
            key: "evidence.route".into(),
            label: "Evidence for routing on its own".into(),
            passed,
            detail,
        });
    }
    if g.edge_cases_must_pass {
        let (passing, accepted) = edge_cases;
        checks.push(Check {
            key: "edge_cases".into(),
            label: "Accepted edge cases pass".into(),
            passed: passing == accepted,
            detail: if accepted == 0 {
                "no accepted edge cases yet".into()
            } else {
                format!("{passing} of {accepted} pass on version {}", c.version.number)
            },
        });
    }
    // Volume: the share the engine would send to the inbox, times the weekly volume,
    // times the minutes a person takes per item.
    let share = (shadow.decided > 0).then(|| f64::from(shadow.would_review) / f64::from(shadow.decided));
    let weekly = c.def.baseline.weekly_volume.map(f64::from);
    let minutes = shadow
        .median_seconds
        .map(|s| s / 60.0)
        .or(c.def.baseline.minutes_per_item)
        .unwrap_or(DEFAULT_REVIEW_MINUTES);
    let inbox = share.zip(weekly).map(|(s, w)| s * w);
    let hours = inbox.map(|n| n * minutes / 60.0);
    let (passed, detail) = match (hours, g.team_hours_per_week, weekly) {
        (_, _, None) => (
            false,
            "set [baseline] weekly_volume so the inbox volume can be estimated".to_owned(),
        ),
        (None, _, Some(_)) => (false, "no shadow decisions to estimate from yet".to_owned()),
        (Some(_), None, Some(_)) => (
            false,
            "set [gate] team_hours_per_week: the review time the team says it has".to_owned(),
        ),
        (Some(h), Some(team), Some(_)) => (
            h <= team,
            format!(
                "about {:.0} items a week to review, {h:.1} h at {minutes:.1} min each; the team has {team:.1} h",
                inbox.unwrap_or(0.0)
            ),
        ),
    };
    checks.push(Check {
        key: "inbox_volume".into(),
        label: "Inbox volume within the team's hours".into(),
        passed,
        detail,
    });
    checks.push(Check {
        key: "sign_off".into(),
        label: "Champion's sign-off".into(),
        passed: signed_off == Some(true),
        detail: match signed_off {
            None => "no champion named yet".into(),
            Some(false) => format!("the champion has not signed off version {}", c.version.number),
            Some(true) => format!("signed off for version {}", c.version.number),
        },
    });
    Gate {
        green: checks.iter().all(|c| c.passed),
        checks,
        expected_weekly_inbox: inbox,
        expected_review_hours: hours,
    }
}

impl Tandem {
    pub(crate) async fn gate_for(
        &self,
        ws: WorkspaceId,
        automation: &Automation,
        c: &Compiled,
        state: Option<&RolloutState>,
        shadow: &Agreement,
    ) -> ServiceResult<Gate> {
        let accepted = self
            .store
            .list_edge_cases(ws, automation.id, Some(EdgeCaseStatus::Accepted))
            .await?;
        let results = self
            .store
            .latest_edge_case_results(ws, automation.id, Some(c.version.id))
            .await?;
        let passing = accepted
            .iter()
            .filter(|case| {
                results
                    .iter()
                    .any(|r| r.edge_case_id == case.id && r.status != "fail")
            })
            .count();
        let signed_off = state.and_then(|s| s.champion_id).map(|champion| {
            state.is_some_and(|s| {
                s.signed_off_by == Some(champion) && s.signed_off_version_id == Some(c.version.id)
            })
        });
        Ok(evaluate(c, shadow, (passing, accepted.len()), signed_off))
    }
}
