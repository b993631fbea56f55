//! The reliable-range monitor: each closed week's confidences and out-of-scope rate
//! against the reference period, with the population stability index (PSI). The reference
//! is the automation's shadow period, read from its stage history (the latest one that
//! ended: the evidence it went live on); only an automation that never had one is compared
//! with its first two weeks instead. The note says which. When the stream drifts outside,
//! the week is flagged, a note explains it on the check-in, and the automation's
//! notification channels hear about it.

use tandem_domain::{Millis, Stage, WorkspaceId};
use tandem_store::{Automation, DriftCheck, NewNote};

use super::{WEEK_MS, date_label, week_start};
use crate::notify::{Line, Message};
use crate::{ServiceResult, Tandem};

/// Weeks from the first item that make the reference period when there was no shadow.
pub const REFERENCE_WEEKS: i64 = 2;
/// Stage changes read to find the shadow period.
const STAGE_HISTORY: u32 = 10_000;
/// Confidence bins for the PSI.
const BINS: usize = 10;
/// PSI above this is a significant shift (the usual rule of thumb: under 0.1 stable,
/// 0.1–0.25 moderate, above 0.25 significant).
pub const PSI_DRIFT: f64 = 0.25;
/// An out-of-scope rate this far from the reference's is drift on its own.
pub const OOS_DRIFT: f64 = 0.15;
/// Fewer items than this in the week or the reference and nothing is concluded.
pub const MIN_ITEMS: usize = 20;
/// An empty bin counts as this share, so the logarithm stays finite.
const EMPTY_SHARE: f64 = 1e-4;

/// The share of items in each confidence bin (no confidence counts as 0).
pub fn distribution(values: &[(Option<f64>, bool)]) -> Vec<f64> {
    let mut counts = [0usize; BINS];
    for (c, _) in values {
        let c = c.filter(|c| c.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0);
        counts[((c * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let n = values.len().max(1) as f64;
    counts.iter().map(|k| *k as f64 / n).collect()
}

/// The population stability index of `current` against `reference`:
/// Σ (cᵢ − rᵢ) · ln(cᵢ / rᵢ) over the bins.
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    reference
        .iter()
        .zip(current)
        .map(|(r, c)| {
            let (r, c) = (r.max(EMPTY_SHARE), c.max(EMPTY_SHARE));
            (c - r) * (c / r).ln()
        })
        .sum()
}

fn oos_rate(values: &[(Option<f64>, bool)]) -> f64 {
    values.iter().filter(|v| v.1).count() as f64 / values.len().max(1) as f64
}

/// What a week is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    pub kind: ReferenceKind,
    pub from: Millis,
    pub to: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    /// The automation's shadow period, from its stage history.
    Shadow,
    /// No shadow period: the first [`REFERENCE_WEEKS`] weeks of items.
    FirstWeeks,
}

impl Reference {
    pub fn as_str(&self) -> &'static str {
        match self.kind {
            ReferenceKind::Shadow => "shadow",
            ReferenceKind::FirstWeeks => "first_weeks",
        }
    }

    /// "the shadow period (2026-01-12 to 2026-01-26)", for the note.
    pub fn describe(&self) -> String {
        match self.kind {
            ReferenceKind::Shadow => format!(
                "the shadow period ({} to {})",
                date_label(self.from),
                date_label(self.to)
            ),
            ReferenceKind::FirstWeeks => format!(
                "the first {REFERENCE_WEEKS} weeks ({} to {}; there was no shadow period to compare with)",
                date_label(self.from),
                date_label(self.to)
            ),
        }
    }

    /// The first week checked against it: the first whole week after it ended.
    pub fn first_week(&self) -> Millis {
        week_start(self.to - 1) + WEEK_MS
    }
}

/// The shadow periods in a stage history: `changes` are (when, from, to), oldest first;
/// `current` is the stage now. A period still going on has no end.
pub fn shadow_periods(changes: &[(Millis, Stage, Stage)], current: Stage) -> Vec<(Millis, Option<Millis>)> {
    let mut stage = changes.first().map_or(current, |c| c.1);
    let mut since = Millis::MIN;
    let mut out = Vec::new();
    for &(at, _, to) in changes {
        if stage == Stage::Shadow && to != Stage::Shadow {
            out.push((since, Some(at)));
        }
        if to == Stage::Shadow && stage != Stage::Shadow {
            since = at;
        }
        stage = to;
    }
    if stage == Stage::Shadow {
        out.push((since, None));
    }
    out
}

impl Tandem {
    /// Check every closed week after the reference period that has not been checked yet.
    /// Returns the checks made now.
    pub async fn check_drift(&self, ws: WorkspaceId, a: &Automation) -> ServiceResult<Vec<DriftCheck>> {
        let Some(basis) = self.drift_reference(ws, a).await? else {
            return Ok(Vec::new());
        };
        let now = self.now();
        let (ref_from, ref_to) = (basis.from, basis.to);
        let done: Vec<Millis> = self
            .store
            .drift_checks(ws, a.id)
            .await?
            .iter()
            .map(|c| c.week_start)
            .collect();
        let mut week = basis.first_week();
        let mut reference: Option<Vec<(Option<f64>, bool)>> = None;
        let mut out = Vec::new();
        while week + WEEK_MS <= now {
            if !done.contains(&week) {
                let refs = match &reference {
                    Some(r) => r,
                    None => reference.insert(self.store.confidences(ws, a.id, ref_from, ref_to).await?),
                };
                let current = self.store.confidences(ws, a.id, week, week + WEEK_MS).await?;
                if refs.len() >= MIN_ITEMS && current.len() >= MIN_ITEMS {
                    let (rd, cd) = (distribution(refs), distribution(&current));
                    let p = psi(&rd, &cd);
                    let (ro, co) = (oos_rate(refs), oos_rate(&current));
                    let check = DriftCheck {
                        automation_id: a.id,
                        week_start: week,
                        psi: p,
                        oos_rate: co,
                        reference_oos_rate: ro,
                        items: current.len() as i64,
                        drifted: p > PSI_DRIFT || (co - ro).abs() > OOS_DRIFT,
                        detail: serde_json::json!({
                            "reference": rd,
                            "week": cd,
                            "reference_period": basis.as_str(),
                            "reference_from": ref_from,
                            "reference_to": ref_to,
                        })
                        .to_string(),
                        created_at: now,
                    };
                    if self.store.save_drift_check(ws, &check).await? {
                        if check.drifted {
                            self.drifted(ws, a, &check, &basis).await?;
                        }
                        out.push(check);
                    }
                }
            }
            week += WEEK_MS;
        }
        Ok(out)
    }

    /// What the automation's weeks are compared with: its latest shadow period that ended
    /// (from the stage history); the first weeks of items when it never had one; nothing
    /// while its first shadow period is still going on, or before it has any item.
    pub async fn drift_reference(&self, ws: WorkspaceId, a: &Automation) -> ServiceResult<Option<Reference>> {
        let mut changes: Vec<(Millis, Stage, Stage)> = self
            .store
            .rollout_events(ws, a.id, STAGE_HISTORY)
            .await?
            .iter()
            .filter_map(|e| {
                let d: serde_json::Value = serde_json::from_str(&e.detail).ok()?;
                let from = serde_json::from_value(d.get("from")?.clone()).ok()?;
                let to = serde_json::from_value(d.get("to")?.clone()).ok()?;
                Some((e.created_at, from, to))
            })
            .collect();
        // The store gives the newest first.
        changes.reverse();
        let current = self.stage_of(ws, a.id).await?;
        let periods = shadow_periods(&changes, current);
        if let Some(&(from, Some(to))) = periods.iter().rev().find(|p| p.1.is_some()) {
            // A shadow period that began before any item starts at the first item.
            let first = self.store.first_item_at(ws, Some(a.id)).await?.unwrap_or(to);
            return Ok(Some(Reference {
                kind: ReferenceKind::Shadow,
                from: from.max(first.min(to)),
                to,
            }));
        }
        if !periods.is_empty() {
            return Ok(None);
        }
        Ok(self.store.first_item_at(ws, Some(a.id)).await?.map(|first| {
            let from = week_start(first);
            Reference {
                kind: ReferenceKind::FirstWeeks,
                from,
                to: from + REFERENCE_WEEKS * WEEK_MS,
            }
        }))
    }

    /// Flag, note and notify a drifted week.
    async fn drifted(
        &self,
        ws: WorkspaceId,
        a: &Automation,
        c: &DriftCheck,
        reference: &Reference,
    ) -> ServiceResult<()> {
        let words = format!(
            "Drift: the stream left the reliable range (PSI {:.2} on confidences; out of scope {:.0}% against {:.0}% in {}). Check recent items before trusting automatic acceptance.",
            c.psi,
            c.oos_rate * 100.0,
            c.reference_oos_rate * 100.0,
            reference.describe()
        );
        let note = NewNote {
            automation_id: Some(a.id),
            week_start: c.week_start,
            at: c.week_start + WEEK_MS - 1,
            kind: "drift".into(),
            body: words.clone(),
            author_id: None,
            dedup_key: Some(format!("drift:{}:{}", a.id, c.week_start)),
        };
        self.store.add_note(ws, &note, self.now()).await?;
        tracing::warn!(automation = %a.slug, psi = c.psi, "drift detected");
        if let Some(v) = a.active_version_id {
            let def = &self.compiled(ws, v).await?.def;
            let msg = Message {
                subject: format!("{}: drift detected", a.name),
                intro: words,
                lines: vec![Line {
                    text: format!("Check-in for {}", a.name),
                    links: vec![(
                        "open".into(),
                        format!(
                            "{}/checkin?automation={}",
                            self.settings.public_url.trim_end_matches('/'),
                            a.slug
                        ),
                    )],
                }],
            };
            for channel in &def.review.notify {
                if let Err(e) = self.notify(channel, &msg).await {
                    tracing::warn!(automation = %a.slug, error = %e, "drift notification failed");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_is_zero_for_the_same_stream_and_large_for_a_shift() {
        let high: Vec<(Option<f64>, bool)> = (0..100)
            .map(|i| (Some(0.9 + f64::from(i % 10) / 100.0), false))
            .collect();
        let low: Vec<(Option<f64>, bool)> = (0..100)
            .map(|i| (Some(0.3 + f64::from(i % 10) / 100.0), false))
            .collect();
        let d = distribution(&high);
        assert!(psi(&d, &d).abs() < 1e-12);
        assert!(psi(&d, &distribution(&low)) > PSI_DRIFT);
        // Hand computation: reference half in bin 9, half in bin 5; current all in bin 9.
        // (1 − .5)·ln(1/.5) + (ε − .5)·ln(ε/.5) ≈ 0.3466 + 4.2581
        let r = distribution(&[(Some(0.95), false), (Some(0.55), false)]);
        let c = distribution(&[(Some(0.95), false)]);
        let expected = 0.5 * 2f64.ln() + (1e-4 - 0.5) * (1e-4f64 / 0.5).ln();
        assert!((psi(&r, &c) - expected).abs() < 1e-9);
        assert_eq!(oos_rate(&[(None, true), (Some(0.9), false)]), 0.5);
    }

    #[test]
    fn shadow_periods_from_the_stage_history() {
        use Stage::*;
        // Live from the start, shadow from 10 to 30, live, paused, shadow again from 50.
        let changes = [
            (10, Live, Shadow),
            (30, Shadow, Live),
            (40, Live, Paused),
            (50, Paused, Shadow),
        ];
        assert_eq!(shadow_periods(&changes, Shadow), vec![(10, Some(30)), (50, None)]);
        // Created in shadow, live at 20.
        assert_eq!(
            shadow_periods(&[(20, Shadow, Live)], Live),
            vec![(Millis::MIN, Some(20))]
        );
        // Never a stage change: shadow if it is in shadow now, else none.
        assert_eq!(shadow_periods(&[], Live), vec![]);
        assert_eq!(shadow_periods(&[], Shadow), vec![(Millis::MIN, None)]);
    }

    #[test]
    fn the_first_week_checked_is_the_first_whole_week_after_the_reference() {
        // 2026-01-05 is a Monday.
        let monday = 1_767_571_200_000;
        let r = |to| Reference {
            kind: ReferenceKind::Shadow,
            from: monday,
            to,
        };
        assert_eq!(r(monday + 2 * WEEK_MS).first_week(), monday + 2 * WEEK_MS);
        assert_eq!(r(monday + 2 * WEEK_MS + 1).first_week(), monday + 3 * WEEK_MS);
        assert_eq!(
            r(monday + WEEK_MS + 3 * super::super::DAY_MS).first_week(),
            monday + 2 * WEEK_MS
        );
    }
}
