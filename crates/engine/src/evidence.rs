//! Thresholds the evidence supports. A point estimate of precision on a few held-out
//! answers promises far more than it knows: 14 right out of 14 is "100%", yet a field
//! that is right 90% of the time does that one time in four. So an automatic-acceptance
//! threshold for a target precision is set only where the *lower* end of a one-sided 95%
//! Wilson score interval on the held-out answers it would accept reaches the target;
//! where no threshold does, nothing is accepted automatically, and the caller says why
//! in words ([`ThresholdEvidence::Insufficient`] carries the figures).
//!
//! Wilson rather than Clopper–Pearson: both are honest at these sample sizes; Wilson has a
//! closed form, is monotone in the counts, and is slightly less conservative, which
//! matters when a team's whole pilot is a few hundred items. Searching every threshold
//! and keeping the lowest that passes is a mild multiple comparison; the lower bound
//! leaves far more margin than that costs at the targets we use (0.9 and up).

use serde::{Deserialize, Serialize};

use crate::metrics::{Scored, coverage_curve};

/// The z value of a one-sided 95% bound.
pub const Z_ONE_SIDED_95: f64 = 1.644_853_626_951_472;

/// The lower end of the Wilson score interval for `right` successes out of `n`, at the
/// normal quantile `z`. Zero when `n` is zero.
pub fn wilson_lower_bound(right: usize, n: usize, z: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n_f = n as f64;
    let p = right.min(n) as f64 / n_f;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n_f);
    let margin = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    ((centre - margin) / (1.0 + z2 / n_f)).clamp(0.0, 1.0)
}

/// The fewest held-out answers, all of them right, whose 95% lower bound reaches
/// `target`: the least evidence that could ever support it (268 for 0.99, 25 for 0.9).
pub fn min_answers_for(target: f64) -> usize {
    if target <= 0.0 {
        return 1;
    }
    if target >= 1.0 {
        return usize::MAX;
    }
    // With every answer right the bound is n / (n + z²); solve n / (n + z²) >= target.
    let z2 = Z_ONE_SIDED_95 * Z_ONE_SIDED_95;
    let n = (z2 * target / (1.0 - target)).ceil() as usize;
    // Guard the float edge: step up until the bound really reaches the target.
    (n.max(1)..)
        .find(|&k| wilson_lower_bound(k, k, Z_ONE_SIDED_95) >= target)
        .unwrap_or(n)
}

/// What the held-out answers say about accepting automatically at a target precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ThresholdEvidence {
    /// Accepting at `threshold` or above is backed: `right` of the `accepted` held-out
    /// answers were right, and the 95% lower bound on their precision is `lower_bound`.
    Supported {
        threshold: f64,
        accepted: usize,
        right: usize,
        lower_bound: f64,
    },
    /// No threshold is backed: accept nothing automatically. `held_out` answers were seen;
    /// `best_lower_bound` is the highest lower bound any threshold reached.
    Insufficient {
        held_out: usize,
        best_lower_bound: f64,
        needed_at_least: usize,
    },
}

impl ThresholdEvidence {
    /// The threshold to accept at, or `None` when nothing may be accepted automatically.
    pub fn threshold(&self) -> Option<f64> {
        match self {
            ThresholdEvidence::Supported { threshold, .. } => Some(*threshold),
            ThresholdEvidence::Insufficient { .. } => None,
        }
    }
}

/// The lowest threshold whose accepted held-out answers have a one-sided 95% Wilson lower
/// bound at or above `target` (so the most coverage the evidence allows), or why there is
/// none. Thresholds are observed confidences: accepting `confidence >= threshold`
/// reproduces the counts on this data.
pub fn threshold_with_evidence(scored: &[Scored], target: f64) -> ThresholdEvidence {
    let mut best: Option<(f64, usize, usize, f64)> = None;
    let mut best_lower = 0.0f64;
    for point in coverage_curve(scored, scored.len()) {
        let right = (point.precision * point.accepted as f64).round() as usize;
        let lower = wilson_lower_bound(right, point.accepted, Z_ONE_SIDED_95);
        best_lower = best_lower.max(lower);
        if lower >= target && best.is_none_or(|(t, ..)| point.threshold < t) {
            best = Some((point.threshold, point.accepted, right, lower));
        }
    }
    match best {
        Some((threshold, accepted, right, lower_bound)) => ThresholdEvidence::Supported {
            threshold,
            accepted,
            right,
            lower_bound,
        },
        None => ThresholdEvidence::Insufficient {
            held_out: scored.len(),
            best_lower_bound: best_lower,
            needed_at_least: min_answers_for(target),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_hand_computed_values() {
        // 14 of 14 at z = 1.645: 14 / (14 + 2.7055) = 0.8380.
        assert!((wilson_lower_bound(14, 14, Z_ONE_SIDED_95) - 0.83805).abs() < 1e-4);
        // 90 of 100: p = 0.9, centre 0.9 + 0.013528, margin 1.64485 * sqrt(0.0009 +
        // 0.0000676) = 0.051173; (0.913528 - 0.051173) / 1.027055 = 0.83966.
        assert!((wilson_lower_bound(90, 100, Z_ONE_SIDED_95) - 0.83966).abs() < 1e-4);
        assert_eq!(wilson_lower_bound(0, 0, Z_ONE_SIDED_95), 0.0);
        assert_eq!(wilson_lower_bound(0, 10, Z_ONE_SIDED_95), 0.0);
    }

    #[test]
    fn least_evidence_for_a_target() {
        // n / (n + 2.7055) >= 0.99 needs n >= 267.85; >= 0.9 needs n >= 24.35.
        assert_eq!(min_answers_for(0.99), 268);
        assert_eq!(min_answers_for(0.9), 25);
    }

    #[test]
    fn few_perfect_answers_support_nothing_at_99() {
        let scored: Vec<Scored> = (0..14)
            .map(|i| Scored::new(0.9 + i as f64 * 0.001, true))
            .collect();
        match threshold_with_evidence(&scored, 0.99) {
            ThresholdEvidence::Insufficient {
                held_out,
                needed_at_least,
                ..
            } => {
                assert_eq!(held_out, 14);
                assert_eq!(needed_at_least, 268);
            }
            other => panic!("14 answers cannot back 0.99: {other:?}"),
        }
    }

    #[test]
    fn the_lowest_backed_threshold_is_chosen() {
        // 300 right answers at 0.95..0.99, then 50 at 0.5 of which half are wrong.
        let mut scored: Vec<Scored> = (0..300)
            .map(|i| Scored::new(0.95 + (i % 5) as f64 * 0.01, true))
            .collect();
        scored.extend((0..50).map(|i| Scored::new(0.5, i % 2 == 0)));
        let evidence = threshold_with_evidence(&scored, 0.99);
        // All 300 at 0.95 and above: bound 300 / 302.7 = 0.9911. Adding the 0.5 block drops
        // precision to 325/350, far under.
        assert_eq!(evidence.threshold(), Some(0.95));
        if let ThresholdEvidence::Supported { accepted, right, .. } = evidence {
            assert_eq!((accepted, right), (300, 300));
        }
    }

    #[test]
    fn a_point_estimate_that_meets_the_target_is_not_enough() {
        // 99 right of 100 is 0.99 as a point estimate, but its lower bound is about 0.955.
        let mut scored: Vec<Scored> = (0..99).map(|_| Scored::new(0.97, true)).collect();
        scored.push(Scored::new(0.97, false));
        assert_eq!(threshold_with_evidence(&scored, 0.99).threshold(), None);
        assert_eq!(crate::metrics::threshold_for_precision(&scored, 0.99), Some(0.97));
    }
}
