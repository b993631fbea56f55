//! The automation card: the page every team member can open, and the first thing a new
//! reviewer sees. Why the automation exists and who asked, its champion, what it handles,
//! its reliable range in words, its known failure modes (the most frequent reasons for
//! review and for corrections, the edge cases that fail, how often it was right at each
//! confidence) and what to do when it is wrong. Everything but the words the builder
//! wrote is computed from the data each time the card is opened, so it cannot go stale.

use serde::Serialize;
use tandem_domain::{ItemStatus, Stage};
use tandem_engine::evidence::ThresholdEvidence;
use tandem_engine::pipeline::{Acceptance, Reason, acceptance, route_acceptance};
use tandem_store::{DecidedFilter, EdgeCaseStatus, User};

use super::simulate::pairs;
use crate::auth::Actor;
use crate::{ServiceResult, Tandem};

/// Decided items the card reads.
const CARD_HISTORY: u32 = 5_000;

#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub slug: String,
    pub name: String,
    pub version: i64,
    pub stage: Stage,
    pub why: String,
    pub asked_by: Option<String>,
    pub champion: Option<User>,
    pub handles: Vec<String>,
    pub reliable_range: Vec<String>,
    /// (reason in words, items) among items sent to the inbox, most frequent first.
    pub review_reasons: Vec<(String, i64)>,
    /// (field or route, times people changed it) among decided items.
    pub corrections: Vec<(String, u32)>,
    pub decided: u32,
    /// Notes of accepted edge cases failing on the active version.
    pub failing_edge_cases: Vec<String>,
    /// (confidence, right) for every output people decided: the reliability diagram.
    pub reliability: Vec<(f64, bool)>,
    pub when_wrong: Vec<String>,
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

impl Tandem {
    pub async fn card(&self, actor: &Actor, slug: &str) -> ServiceResult<Card> {
        let ws = actor.workspace();
        let (a, c) = self.active(ws, slug).await?;
        let def = &c.def;
        let state = self.store.rollout_state(ws, a.id).await?;
        let stage = state.as_ref().map_or(Stage::Live, |s| s.stage);
        let champion = match state.as_ref().and_then(|s| s.champion_id) {
            Some(id) => Some(self.store.user(ws, id).await?),
            None => None,
        };
        let mut handles: Vec<String> = def
            .fields
            .iter()
            .map(|f| {
                format!(
                    "Reads {} ({}){} from {}.",
                    f.name,
                    f.kind.as_str().replace('_', " "),
                    if f.required { ", required" } else { "" },
                    f.source
                )
            })
            .collect();
        if def.route.is_some() {
            handles.push(format!(
                "Routes each item to one of: {}.",
                def.route_labels().join(", ")
            ));
        }
        let mut range: Vec<String> = def
            .fields
            .iter()
            .map(|f| {
                let step = c.spec.fields.iter().find(|s| s.name == f.name);
                let rule = step.map(|s| acceptance(s, &c.models));
                let mut s = match rule {
                    Some(Acceptance::Nothing(why)) => {
                        format!("{} is never accepted on its own yet: {}", f.name, why.describe())
                    }
                    Some(Acceptance::From(t)) if t > f.threshold => format!(
                        "{} is accepted on its own from {} confidence (set at {}; its held-out answers back {} precision only from there)",
                        f.name,
                        pct(t),
                        pct(f.threshold),
                        pct(f.threshold)
                    ),
                    _ => format!(
                        "{} is accepted on its own from {} confidence",
                        f.name,
                        pct(f.threshold)
                    ),
                };
                if f.required {
                    s.push_str("; without it the item goes to a person");
                }
                if f.validate.pattern.is_some()
                    || f.validate.min.is_some()
                    || f.validate.max.is_some()
                    || !f.validate.one_of.is_empty()
                {
                    s.push_str("; values breaking its rules go to a person");
                }
                s.push('.');
                s
            })
            .collect();
        if let (Some(r), Some(step)) = (&def.route, c.spec.route.as_ref()) {
            range.push(match (&step.evidence, route_acceptance(step)) {
                (_, Acceptance::Nothing(why)) => {
                    format!("The route is never taken on its own yet: {}.", why.describe())
                }
                (Some(ThresholdEvidence::Supported { accepted, right, lower_bound, .. }), Acceptance::From(t)) => format!(
                    "The route is taken on its own from {} confidence: there, {right} of the router's {accepted} held-out answers were right, so its precision is at least {} with 95% confidence (set at {}, which is also the precision it must show). Inputs unlike the training examples go to a person.",
                    pct(t),
                    pct(*lower_bound),
                    pct(r.threshold)
                ),
                (_, Acceptance::From(t)) => format!(
                    "The route is taken on its own from {} confidence; inputs unlike the training examples go to a person.",
                    pct(t)
                ),
            });
        }
        if !c.models.ranges.is_empty() {
            range.push(
                "Inputs far outside what it learned from (much longer, repeating themselves, in another language or alphabet, binary) go to a person whatever their score."
                    .to_owned(),
            );
        }
        range.push(match stage {
            Stage::Live => "It is live: inside this range results are sent without a person.".to_owned(),
            other => format!("It is in {other}: every item goes to a person before anything is sent."),
        });
        let shadow = self.shadow_agreement(ws, a.id, &c).await?;
        for m in shadow.fields.iter().chain(shadow.route.iter()) {
            if let Some(r) = m.rate() {
                range.push(format!(
                    "In shadow, people agreed with its {} {} of the time ({} of {}).",
                    m.name,
                    pct(r),
                    m.agreed,
                    m.compared
                ));
            }
        }

        let review_reasons = self
            .store
            .reason_counts(ws, a.id)
            .await?
            .into_iter()
            .filter(|(code, _)| Stage::ALL.iter().all(|s| s.reason_code() != Some(code.as_str())))
            .take(5)
            .map(|(code, n)| (Reason::label(&code).to_owned(), n))
            .collect();
        let decided = self
            .store
            .decided_items(
                ws,
                &DecidedFilter {
                    automation: a.id,
                    version: None,
                    reason: None,
                    live_only: false,
                    limit: CARD_HISTORY,
                },
            )
            .await?;
        let all = super::agreement(def, &decided);
        let mut corrections: Vec<(String, u32)> = all
            .fields
            .iter()
            .chain(all.route.iter())
            .map(|m| (m.name.clone(), m.compared - m.agreed))
            .filter(|(_, n)| *n > 0)
            .collect();
        corrections.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        let mut reliability = Vec::new();
        for f in &def.fields {
            reliability.extend(pairs(&f.name, &decided));
        }
        if def.route.is_some() {
            reliability.extend(pairs("route", &decided));
        }

        let accepted = self
            .store
            .list_edge_cases(ws, a.id, Some(EdgeCaseStatus::Accepted))
            .await?;
        let results = self
            .store
            .latest_edge_case_results(ws, a.id, Some(c.version.id))
            .await?;
        let failing_edge_cases = accepted
            .iter()
            .filter(|case| {
                results
                    .iter()
                    .any(|r| r.edge_case_id == case.id && r.status == "fail")
            })
            .map(|case| case.note.clone())
            .collect();

        let mut when_wrong: Vec<String> = def.card.when_wrong.clone().into_iter().collect();
        when_wrong.push(
            "A result sent on its own looks wrong: open the item and send it back to the inbox, then correct it. Every correction is proposed as an edge case, so it is checked on every new version.".into(),
        );
        when_wrong.push(match &champion {
            Some(ch) => format!(
                "Tell {} ({}), the champion, when you see a pattern.",
                ch.name, ch.email
            ),
            None => "There is no champion yet: ask a builder to name one.".into(),
        });
        Ok(Card {
            slug: a.slug.clone(),
            name: a.name.clone(),
            version: c.version.number,
            stage,
            why: def.card.why.clone().unwrap_or_else(|| def.description.clone()),
            asked_by: def.card.asked_by.clone(),
            champion,
            handles,
            reliable_range: range,
            review_reasons,
            corrections,
            decided: u32::try_from(
                decided
                    .iter()
                    .filter(|d| d.status != ItemStatus::Rejected)
                    .count(),
            )
            .unwrap_or(u32::MAX),
            failing_edge_cases,
            reliability,
            when_wrong,
        })
    }
}
