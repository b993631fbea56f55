//! Evaluation measures shared by the router and the extractors: expected calibration
//! error, reliability bins, AUROC and the choice of a confidence threshold for a target
//! precision. Every function takes plain slices so the same code scores a benchmark, a
//! shadow period and the threshold simulator.

use serde::{Deserialize, Serialize};

/// One scored decision: the confidence the model gave and whether it turned out right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub confidence: f64,
    pub correct: bool,
}

impl Scored {
    pub fn new(confidence: f64, correct: bool) -> Self {
        Self { confidence, correct }
    }
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
}

/// Equal-width reliability bins over `[0, 1]`. Empty bins are kept (count 0) so that a
/// diagram always has `bins` columns.
pub fn reliability_bins(scored: &[Scored], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut sum_conf = vec![0.0; bins];
    let mut sum_right = vec![0.0; bins];
    let mut count = vec![0usize; bins];
    for s in scored {
        let c = s.confidence.clamp(0.0, 1.0);
        // The top edge belongs to the last bin.
        let b = ((c * bins as f64) as usize).min(bins - 1);
        sum_conf[b] += c;
        sum_right[b] += if s.correct { 1.0 } else { 0.0 };
        count[b] += 1;
    }
    (0..bins)
        .map(|b| {
            let n = count[b];
            ReliabilityBin {
                lower: b as f64 / bins as f64,
                upper: (b + 1) as f64 / bins as f64,
                count: n,
                mean_confidence: if n == 0 { 0.0 } else { sum_conf[b] / n as f64 },
                accuracy: if n == 0 { 0.0 } else { sum_right[b] / n as f64 },
            }
        })
        .collect()
}

/// Expected calibration error with `bins` equal-width bins (15 is the usual choice):
/// the count-weighted mean gap between confidence and accuracy. Zero for no data.
pub fn ece(scored: &[Scored], bins: usize) -> f64 {
    if scored.is_empty() {
        return 0.0;
    }
    let total = scored.len() as f64;
    reliability_bins(scored, bins)
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| (b.count as f64 / total) * (b.mean_confidence - b.accuracy).abs())
        .sum()
}

/// Area under the ROC curve for separating `positives` (should score high) from
/// `negatives`, by the Mann-Whitney statistic with ties counted as one half.
/// `None` when either side is empty.
pub fn auroc(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    // Rank all scores together; average ranks over ties.
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks are 1-based; the tie group i..=j shares the mean rank.
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += all[i..=j].iter().filter(|x| x.1).count() as f64 * mean_rank;
        i = j + 1;
    }
    let np = positives.len() as f64;
    let nn = negatives.len() as f64;
    Some((rank_sum_pos - np * (np + 1.0) / 2.0) / (np * nn))
}

/// One point of a coverage-versus-precision curve: accepting every decision with
/// confidence at or above `threshold` accepts `coverage` of them, `precision` of which are
/// right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub threshold: f64,
    pub coverage: f64,
    pub precision: f64,
    pub accepted: usize,
}

/// The coverage/precision trade-off at every distinct confidence, from the highest
/// threshold (least coverage) to the lowest. `total` is the denominator for coverage; it
/// may exceed `scored.len()` when some items were never candidates for acceptance.
pub fn coverage_curve(scored: &[Scored], total: usize) -> Vec<CurvePoint> {
    let mut sorted: Vec<Scored> = scored.to_vec();
    sorted.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let total = total.max(1) as f64;
    let mut points = Vec::new();
    let mut right = 0usize;
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].confidence;
        // Accepting at threshold t takes every item scoring t or more, ties included.
        while i < sorted.len() && sorted[i].confidence == t {
            right += usize::from(sorted[i].correct);
            i += 1;
        }
        points.push(CurvePoint {
            threshold: t,
            coverage: i as f64 / total,
            precision: right as f64 / i as f64,
            accepted: i,
        });
    }
    points
}

/// The lowest confidence threshold at which the accepted decisions reach
/// `target_precision`. `None` when no threshold does (then nothing should be accepted
/// automatically). The threshold is one of the observed confidences, so accepting
/// `confidence >= threshold` reproduces the measured precision exactly on this data.
pub fn threshold_for_precision(scored: &[Scored], target_precision: f64) -> Option<f64> {
    coverage_curve(scored, scored.len())
        .iter()
        .filter(|p| p.precision >= target_precision)
        .map(|p| p.threshold)
        .reduce(f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(c: f64, ok: bool) -> Scored {
        Scored::new(c, ok)
    }

    #[test]
    fn ece_is_zero_when_confidence_matches_accuracy() {
        // Four at 0.75, three right; two at 0.5, one right.
        let data = [
            s(0.75, true),
            s(0.75, true),
            s(0.75, true),
            s(0.75, false),
            s(0.5, true),
            s(0.5, false),
        ];
        assert!(ece(&data, 15) < 1e-12);
    }

    #[test]
    fn ece_measures_overconfidence() {
        // Always says 0.9, right half the time: gap 0.4.
        let data = [s(0.9, true), s(0.9, false), s(0.9, true), s(0.9, false)];
        assert!((ece(&data, 15) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn confidence_of_one_lands_in_last_bin() {
        let bins = reliability_bins(&[s(1.0, true)], 10);
        assert_eq!(bins[9].count, 1);
    }

    #[test]
    fn auroc_perfect_random_and_ties() {
        assert_eq!(auroc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(auroc(&[0.1, 0.2], &[0.9, 0.8]), Some(0.0));
        assert_eq!(auroc(&[0.5, 0.5], &[0.5, 0.5]), Some(0.5));
        // One of four pairs misordered.
        assert_eq!(auroc(&[0.9, 0.3], &[0.4, 0.1]), Some(0.75));
        assert_eq!(auroc(&[], &[0.1]), None);
    }

    #[test]
    fn threshold_is_lowest_reaching_target() {
        let data = [
            s(0.99, true),
            s(0.95, true),
            s(0.9, true),
            s(0.8, false),
            s(0.7, true),
            s(0.6, false),
        ];
        // At 0.9: 3/3. At 0.8: 3/4. At 0.7: 4/5 = 0.8. At 0.6: 4/6.
        assert_eq!(threshold_for_precision(&data, 1.0), Some(0.9));
        assert_eq!(threshold_for_precision(&data, 0.8), Some(0.7));
        assert_eq!(threshold_for_precision(&data, 0.5), Some(0.6));
        assert_eq!(threshold_for_precision(&[s(0.9, false)], 0.5), None);
    }

    #[test]
    fn curve_counts_ties_together() {
        let data = [s(0.8, true), s(0.8, false), s(0.5, true)];
        let curve = coverage_curve(&data, 4);
        assert_eq!(curve.len(), 2);
        assert_eq!(curve[0].accepted, 2);
        assert!((curve[0].coverage - 0.5).abs() < 1e-12);
        assert!((curve[1].precision - 2.0 / 3.0).abs() < 1e-12);
    }
}
