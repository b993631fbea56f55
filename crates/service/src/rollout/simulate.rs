//! The threshold simulator. From decided items (where people said what was right), the
//! curve of automation rate against error rate for a field or the route as its threshold
//! moves; a target precision picks the lowest threshold that reaches it, and the expected
//! weekly inbox volume and review hours follow. Applying a threshold makes a new version
//! (same models, one number changed), so the change is versioned and reversible; on a live
//! automation that version is a candidate, which goes live only through the readiness gate
//! and the champion's sign-off (or an admin's logged override), like any other.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tandem_domain::{AutomationDef, ItemStatus, Role, Stage};
use tandem_engine::evidence::{ThresholdEvidence, threshold_with_evidence};
use tandem_engine::metrics::Scored;
use tandem_engine::pipeline::{Outcome, Reason};
use tandem_store::{DecidedFilter, DecidedItem, NewArtifact, NewCandidate, NewRolloutEvent, NewVersion};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// Decided items read for a simulation.
const HISTORY_LIMIT: u32 = 20_000;

/// A curve on fewer decided items than this comes with a warning: each item moves its
/// rates by several points.
pub const FEW_ITEMS: usize = 30;

/// The rollout event a threshold change writes: which threshold moved, from what to what,
/// on how many decided items, and whether its version waits as a candidate.
pub const THRESHOLD_EVENT: &str = "threshold";

/// What applying a threshold did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThresholdChange {
    /// The version made.
    pub version: i64,
    /// True when the automation is live (or paused): the version waits as a candidate and
    /// `active_version` keeps running until it passes the gate.
    pub candidate: bool,
    pub active_version: i64,
    /// A field name, or `route`.
    pub target: String,
    pub from: f64,
    pub to: f64,
    /// The decided items the simulation rested on.
    pub decided_items: usize,
}

impl ThresholdChange {
    /// What happened, in words, for the page that applied it.
    pub fn sentence(&self) -> String {
        let what = if self.target == "route" {
            "the route's threshold".to_owned()
        } else {
            format!("{}'s threshold", self.target)
        };
        if self.candidate {
            format!(
                "Version {} made with {what} moved from {} to {} (simulated on {} decided items). It is a candidate: version {} stays live until the readiness gate is green for version {} and the champion signs it off, or an admin activates it with a written reason.",
                self.version, self.from, self.to, self.decided_items, self.active_version, self.version
            )
        } else {
            format!(
                "Version {} is active with {what} moved from {} to {} (simulated on {} decided items).",
                self.version, self.from, self.to, self.decided_items
            )
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub threshold: f64,
    /// Share of items this field (or the route) would accept on its own.
    pub automation_rate: f64,
    /// Share of those automatic values that people changed.
    pub error_rate: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Simulation {
    /// A field name, or `route`.
    pub target: String,
    pub current_threshold: f64,
    pub samples: usize,
    pub curve: Vec<Point>,
    /// The threshold simulated: the one asked for, or the lowest reaching the precision.
    pub threshold: Option<f64>,
    pub target_precision: Option<f64>,
    pub automation_rate: Option<f64>,
    pub error_rate: Option<f64>,
    /// Share of items that would go to the inbox with this threshold (others unchanged).
    pub inbox_share: Option<f64>,
    pub weekly_inbox: Option<f64>,
    pub review_hours: Option<f64>,
    /// What the decided items say about the target precision (one-sided 95% Wilson lower
    /// bound): the proposal never goes below the threshold they back.
    pub evidence: Option<ThresholdEvidence>,
    /// Said when the curve rests on few items, or no threshold is backed.
    pub warning: Option<String>,
}

/// (confidence, right) for each decided item with an accepted result.
pub fn pairs(def_target: &str, items: &[DecidedItem]) -> Vec<(f64, bool)> {
    items
        .iter()
        .filter(|d| d.status != ItemStatus::Rejected)
        .filter_map(|d| {
            let o: Outcome = serde_json::from_str(d.outcome.as_deref()?).ok()?;
            let accepted: Value = serde_json::from_str(d.final_result.as_deref()?).ok()?;
            let said = o.result();
            if def_target == "route" {
                let r = o.route.as_ref()?;
                Some((r.confidence, said["route"] == accepted["route"]))
            } else {
                let f = o.fields.iter().find(|f| f.name == def_target)?;
                Some((
                    f.confidence,
                    said["fields"][def_target] == accepted["fields"][def_target],
                ))
            }
        })
        .collect()
}

/// The curve over every distinct confidence, from the lowest threshold to one above all.
pub fn curve(pairs: &[(f64, bool)]) -> Vec<Point> {
    let n = pairs.len();
    if n == 0 {
        return Vec::new();
    }
    let mut sorted: Vec<(f64, bool)> = pairs.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Walk from the most confident down: at each distinct confidence, everything at or
    // above it is automatic.
    let mut points = Vec::new();
    let (mut auto, mut wrong) = (0usize, 0usize);
    let mut i = 0;
    while i < n {
        let c = sorted[i].0;
        while i < n && sorted[i].0 == c {
            auto += 1;
            wrong += usize::from(!sorted[i].1);
            i += 1;
        }
        points.push(Point {
            threshold: c,
            automation_rate: auto as f64 / n as f64,
            error_rate: wrong as f64 / auto as f64,
        });
    }
    // Lowest threshold (everything automatic) first; last, a threshold above every
    // confidence (nothing automatic).
    points.reverse();
    points.push(Point {
        threshold: sorted[0].0 + 1e-6,
        automation_rate: 0.0,
        error_rate: 0.0,
    });
    points
}

/// The lowest threshold whose automatic values reach `precision` (1 - error rate).
pub fn threshold_for(curve: &[Point], precision: f64) -> Option<f64> {
    curve
        .iter()
        .filter(|p| p.automation_rate > 0.0 && 1.0 - p.error_rate >= precision - 1e-12)
        .map(|p| p.threshold)
        .reduce(f64::min)
}

/// The point of the curve in force at `threshold`.
fn at(curve: &[Point], threshold: f64) -> Option<&Point> {
    curve
        .iter()
        .filter(|p| p.threshold >= threshold - 1e-12)
        .min_by(|a, b| a.threshold.total_cmp(&b.threshold))
}

/// Whether an item would go to the inbox with `target`'s threshold at `threshold`.
fn would_review(def: &AutomationDef, o: &Outcome, target: &str, threshold: f64) -> bool {
    let other_reason = |reasons: &[Reason]| {
        reasons
            .iter()
            .any(|r| !matches!(r, Reason::LowConfidence { .. } | Reason::RouteUnsure { .. }))
    };
    let fields = o.fields.iter().any(|f| {
        let t = if f.name == target {
            threshold
        } else {
            def.field(&f.name).map_or(0.0, |d| d.threshold)
        };
        other_reason(&f.reasons) || (f.value.is_some() && f.confidence < t)
    });
    let route = o.route.as_ref().is_some_and(|r| {
        let t = if target == "route" {
            threshold
        } else {
            def.route.as_ref().map_or(0.0, |d| d.threshold)
        };
        other_reason(&r.reasons) || r.confidence < t
    });
    fields || route
}

/// Set a field's (or the route's) threshold in the definition text, keeping everything
/// else as written.
pub fn set_threshold(source: &str, target: &str, threshold: f64) -> Result<String, String> {
    let lines: Vec<&str> = source.lines().collect();
    let header = |l: &str| l.trim_start().starts_with('[');
    let value = format!("threshold = {threshold}");
    // Find the table the target lives in: [route], or the [[fields]] block naming it.
    let mut start = None;
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if target == "route" && t == "[route]" {
            start = Some(i);
            break;
        }
        if target != "route" && t == "[[fields]]" {
            let name_line = lines[i + 1..].iter().take_while(|x| !header(x)).any(|x| {
                let x = x.trim();
                x.starts_with("name")
                    && x.split_once('=')
                        .is_some_and(|(k, v)| k.trim() == "name" && v.trim().trim_matches('"') == target)
            });
            if name_line {
                start = Some(i);
                break;
            }
        }
    }
    let start = start.ok_or_else(|| format!("{target} is not a field or route of this definition"))?;
    let end = lines[start + 1..]
        .iter()
        .position(|x| header(x))
        .map_or(lines.len(), |p| start + 1 + p);
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    match (start + 1..end).find(|&i| {
        lines[i]
            .split_once('=')
            .is_some_and(|(k, _)| k.trim() == "threshold")
    }) {
        Some(i) => out[i] = value,
        None => {
            // After the field's name (or the [route] header), where people look for it.
            let at = (start + 1..end)
                .find(|&i| lines[i].split_once('=').is_some_and(|(k, _)| k.trim() == "name"))
                .map_or(start + 1, |i| i + 1);
            out.insert(at, value);
        }
    }
    let mut text = out.join("\n");
    if source.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

impl Tandem {
    /// The automation's decided items, newest first, up to `HISTORY_LIMIT`: what the
    /// simulator draws its curve from and what an applied threshold is counted against.
    async fn decided_history(
        &self,
        ws: tandem_domain::WorkspaceId,
        automation: tandem_domain::AutomationId,
    ) -> ServiceResult<Vec<DecidedItem>> {
        let filter = DecidedFilter {
            automation,
            version: None,
            reason: None,
            live_only: false,
            limit: HISTORY_LIMIT,
        };
        Ok(self.store.decided_items(ws, &filter).await?)
    }

    /// The threshold change that made version `number` of `slug`, if one did.
    pub async fn threshold_change(
        &self,
        actor: &Actor,
        slug: &str,
        number: i64,
    ) -> ServiceResult<Option<ThresholdChange>> {
        let ws = actor.workspace();
        let a = self.automation_named(ws, slug).await?;
        Ok(self
            .store
            .rollout_events(ws, a.id, 10_000)
            .await?
            .iter()
            .filter(|e| e.kind == THRESHOLD_EVENT)
            .filter_map(|e| serde_json::from_str::<ThresholdChange>(&e.detail).ok())
            .find(|c| c.version == number))
    }

    /// Simulate a threshold for `target` (a field name or `route`): the one given, or the
    /// lowest reaching `target_precision`.
    pub async fn simulate(
        &self,
        actor: &Actor,
        slug: &str,
        target: &str,
        target_precision: Option<f64>,
        threshold: Option<f64>,
    ) -> ServiceResult<Simulation> {
        let ws = actor.workspace();
        let (a, c) = self.active(ws, slug).await?;
        let current = if target == "route" {
            c.def.route.as_ref().map(|r| r.threshold)
        } else {
            c.def.field(target).map(|f| f.threshold)
        }
        .ok_or_else(|| ServiceError::invalid(format!("{target} is not a field or the route of {slug}")))?;
        for (name, v) in [("precision", target_precision), ("threshold", threshold)] {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(ServiceError::invalid(format!(
                    "{name} must be between 0 and 1, not {v}"
                )));
            }
        }
        let items = self.decided_history(ws, a.id).await?;
        let pairs = pairs(target, &items);
        let curve = curve(&pairs);
        // A target precision proposes the lowest threshold the decided items *back* (their
        // 95% lower bound reaches it), not the lowest whose point estimate does: on a few
        // lucky items the latter proposes far too low a threshold.
        let scored: Vec<Scored> = pairs.iter().map(|(c, r)| Scored::new(*c, *r)).collect();
        let evidence = target_precision.map(|p| threshold_with_evidence(&scored, p));
        let chosen = threshold.or_else(|| evidence.as_ref().and_then(ThresholdEvidence::threshold));
        let mut warnings = Vec::new();
        if pairs.len() < FEW_ITEMS {
            warnings.push(format!(
                "This curve rests on only {} decided item{}: each one moves its rates by {} points or more, so read it as a rough guide.",
                pairs.len(),
                if pairs.len() == 1 { "" } else { "s" },
                if pairs.is_empty() { 100 } else { 100 / pairs.len() }
            ));
        }
        if threshold.is_none()
            && let Some(ThresholdEvidence::Insufficient {
                held_out,
                best_lower_bound,
                needed_at_least,
            }) = &evidence
        {
            warnings.push(format!(
                "No threshold is backed for {:.0}% precision: on {held_out} decided items the best 95% lower bound is {:.1}%, and at least {needed_at_least} items, all right, are needed.",
                target_precision.unwrap_or_default() * 100.0,
                best_lower_bound * 100.0
            ));
        }
        let point = chosen.and_then(|t| at(&curve, t));
        let outcomes: Vec<Outcome> = items
            .iter()
            .filter_map(|d| serde_json::from_str(d.outcome.as_deref()?).ok())
            .collect();
        let inbox_share = chosen.filter(|_| !outcomes.is_empty()).map(|t| {
            outcomes
                .iter()
                .filter(|o| would_review(&c.def, o, target, t))
                .count() as f64
                / outcomes.len() as f64
        });
        let seconds = super::agreement(&c.def, &items).median_seconds;
        let minutes = seconds
            .map(|s| s / 60.0)
            .or(c.def.baseline.minutes_per_item)
            .unwrap_or(1.0);
        let weekly_inbox = inbox_share
            .zip(c.def.baseline.weekly_volume)
            .map(|(s, w)| s * f64::from(w));
        Ok(Simulation {
            target: target.to_owned(),
            current_threshold: current,
            samples: pairs.len(),
            threshold: chosen,
            target_precision,
            automation_rate: point.map(|p| p.automation_rate),
            error_rate: point.map(|p| p.error_rate),
            inbox_share,
            review_hours: weekly_inbox.map(|n| n * minutes / 60.0),
            weekly_inbox,
            curve,
            evidence,
            warning: (!warnings.is_empty()).then(|| warnings.join(" ")),
        })
    }

    /// Make a new version with `target`'s threshold set: the active version's models are
    /// reused (a threshold does not change what was learned). On a live (or paused)
    /// automation the version is a candidate that does not run until it passes the gate
    /// (see `activate_version`); before going live it becomes the active version at once.
    /// Either way the rollout history records the change.
    pub async fn apply_threshold(
        &self,
        actor: &Actor,
        slug: &str,
        target: &str,
        threshold: f64,
    ) -> ServiceResult<ThresholdChange> {
        actor.require(Role::Builder, "change thresholds")?;
        if !(0.0..=1.0).contains(&threshold) {
            return Err(ServiceError::invalid(format!(
                "threshold must be between 0 and 1, not {threshold}"
            )));
        }
        let ws = actor.workspace();
        let (a, c) = self.active(ws, slug).await?;
        let from = if target == "route" {
            c.def.route.as_ref().map(|r| r.threshold)
        } else {
            c.def.field(target).map(|f| f.threshold)
        }
        .ok_or_else(|| ServiceError::invalid(format!("{target} is not a field or the route of {slug}")))?;
        let source =
            set_threshold(&c.version.definition, target, threshold).map_err(ServiceError::invalid)?;
        let def = AutomationDef::parse(&source).map_err(|errs| {
            ServiceError::invalid_with(
                "the changed definition does not parse",
                errs.iter().map(ToString::to_string).collect(),
            )
        })?;
        let decided = self.decided_history(ws, a.id).await?;
        let decided_items = pairs(target, &decided).len();
        let artifacts = self
            .store
            .artifacts(ws, c.version.id)
            .await?
            .into_iter()
            .map(|x| NewArtifact {
                kind: x.kind,
                bytes: x.bytes,
                summary: x.summary,
            })
            .collect();
        let mut h = Sha256::new();
        h.update(c.version.content_hash.as_bytes());
        h.update([0u8]);
        h.update(source.as_bytes());
        let content_hash = hex::encode(h.finalize());
        let stage = self
            .store
            .rollout_state(ws, a.id)
            .await?
            .map_or(Stage::Live, |s| s.stage);
        let candidate = matches!(stage, Stage::Live | Stage::Paused);
        let version = if candidate {
            let change = serde_json::json!({ "threshold": { "target": target, "from": from, "to": threshold, "decided_items": decided_items } });
            self.store
                .save_candidate_version(
                    ws,
                    a.id,
                    &NewCandidate {
                        definition: source,
                        content_hash,
                        artifacts,
                        created_by: Some(actor.user.id),
                        compared_with: Some(c.version.id),
                        evaluation: change.to_string(),
                    },
                    self.now(),
                )
                .await?
        } else {
            let saved = self
                .store
                .save_version(
                    ws,
                    &NewVersion {
                        slug: a.slug.clone(),
                        name: def.name.clone(),
                        definition: source,
                        content_hash,
                        artifacts,
                        created_by: Some(actor.user.id),
                    },
                    self.now(),
                )
                .await?;
            if saved.created {
                self.after_new_version(&saved.automation, &saved.version, def.start_stage())
                    .await?;
            }
            saved.version
        };
        let change = ThresholdChange {
            version: version.number,
            candidate,
            active_version: if candidate {
                c.version.number
            } else {
                version.number
            },
            target: target.to_owned(),
            from,
            to: threshold,
            decided_items,
        };
        self.store
            .add_rollout_event(
                ws,
                a.id,
                &NewRolloutEvent {
                    actor: Some(actor.user.id),
                    kind: THRESHOLD_EVENT.into(),
                    detail: serde_json::to_string(&change)
                        .map_err(|e| ServiceError::Internal(e.to_string()))?,
                },
                self.now(),
            )
            .await?;
        if candidate {
            // The gate reads the suite's results on the candidate itself.
            if let Err(e) = self.run_suite_on(ws, &a, version.id).await {
                tracing::warn!(automation = %slug, error = %e, "edge-case suite did not run on the candidate");
            }
        }
        tracing::info!(automation = %slug, target, from, to = threshold, version = version.number, candidate, "threshold applied");
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_trades_automation_for_errors_and_a_precision_picks_a_threshold() {
        // Confidences with whether the value was right, by hand:
        // 0.95 ✓, 0.9 ✓, 0.8 ✗, 0.7 ✓, 0.6 ✗.
        let pairs = [(0.95, true), (0.9, true), (0.8, false), (0.7, true), (0.6, false)];
        let c = curve(&pairs);
        let at = |t: f64| c.iter().find(|p| (p.threshold - t).abs() < 1e-9).unwrap();
        assert_eq!(c.len(), 6, "one point per confidence plus none automatic");
        assert_eq!(c[0].automation_rate, 1.0, "lowest threshold first");
        assert_eq!(c[5].automation_rate, 0.0, "then up to nothing automatic");
        assert!(c.windows(2).all(|w| w[0].threshold < w[1].threshold));
        assert_eq!((at(0.9).automation_rate, at(0.9).error_rate), (0.4, 0.0));
        assert!((at(0.8).error_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((at(0.7).automation_rate, at(0.7).error_rate), (0.8, 0.25));
        assert_eq!((at(0.6).automation_rate, at(0.6).error_rate), (1.0, 0.4));
        assert_eq!(threshold_for(&c, 1.0), Some(0.9));
        assert_eq!(threshold_for(&c, 0.75), Some(0.7));
        assert_eq!(threshold_for(&c, 0.6), Some(0.6));
    }

    #[test]
    fn a_threshold_is_set_in_the_right_table_and_nothing_else_moves() {
        let src = "name = \"X\"\nslug = \"x\"\n\n[[fields]]\nname = \"a\"\ntype = \"email\"\nthreshold = 0.5\n\n[[fields]]\nname = \"b\"\ntype = \"email\"\n[fields.validate]\nmax_length = 9\n";
        let out = set_threshold(src, "b", 0.85).unwrap();
        assert_eq!(
            out,
            src.replace("name = \"b\"\n", "name = \"b\"\nthreshold = 0.85\n")
        );
        let out = set_threshold(&out, "a", 0.7).unwrap();
        assert!(
            out.contains("name = \"a\"\ntype = \"email\"\nthreshold = 0.7\n"),
            "{out}"
        );
        let def = AutomationDef::parse(&out).unwrap();
        assert_eq!((def.fields[0].threshold, def.fields[1].threshold), (0.7, 0.85));
        assert!(set_threshold(src, "nope", 0.5).is_err());
    }
}
