//! From candidate scores to a field's answer, before calibration. The same code runs on
//! held-out documents inside training (to fit the calibrators and cuts) and at extraction,
//! so the calibration is fitted on exactly the numbers it will later be applied to.
//!
//! A single-valued field weighs each *value* (a total printed three times is one answer
//! with three pieces of evidence, not three rivals) and answers with the heaviest; its raw
//! confidence is its share against the runner-up value only. Not against all candidates:
//! a long document's thousands of unremarkable candidates would dilute an answer that is
//! as clear as in a short one. A multi-valued field gives each value the
//! best probability among its candidates, drops values whose evidence overlaps a stronger
//! one, and keeps those above a learned cut; the raw confidence that the whole set is right
//! treats the values as independent, and calibration corrects what that gets wrong.

use std::collections::HashMap;

use super::candidates::Candidate;
use super::fasthash::FastHash;
use super::features::CandValue;

/// Evidence for one value counts from at most this many of its candidates: a total printed
/// twice or three times is more certain, a word repeated on every line of an annex is not.
const MAX_POOLED: usize = 3;

/// A single-valued field's answer and how it stands against the alternatives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Answer {
    /// The answer's best candidate.
    pub cand: usize,
    /// The answer's weight against the runner-up value's: the raw confidence.
    pub share: f64,
    /// The answer's weight against every value's (small when many values compete).
    pub mass: f64,
    /// How many other values are within a factor e of the answer's weight.
    pub close: usize,
}

/// The best value: its best candidate, and its share of the weight it and the runner-up
/// value hold together (1 when there is no other value). A value's weight pools the
/// softmax weights of its (at most three) best candidates.
pub(crate) fn single(values: &[CandValue], scores: &[f32]) -> Option<Answer> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    if !max.is_finite() {
        return None;
    }
    // Per value, the indices of its candidates.
    let mut by_value: HashMap<&str, Vec<usize>, FastHash> = HashMap::default();
    for (i, v) in values.iter().enumerate() {
        by_value.entry(v.key.as_str()).or_default().push(i);
    }
    let mut weighed: Vec<(f64, usize)> = by_value
        .into_values()
        .map(|mut ix| {
            // Best first; the earlier candidate wins a tie, so the answer is deterministic.
            ix.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
            let w = ix
                .iter()
                .take(MAX_POOLED)
                .map(|&i| (scores[i] as f64 - max).exp())
                .sum();
            (w, ix[0])
        })
        .collect();
    weighed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let (top, cand) = *weighed.first()?;
    let second = weighed.get(1).map_or(0.0, |w| w.0);
    let total: f64 = weighed.iter().map(|w| w.0).sum();
    let close = weighed[1..]
        .iter()
        .filter(|w| w.0 * std::f64::consts::E >= top)
        .count();
    Some(Answer {
        cand,
        share: top / (top + second),
        mass: top / total,
        close,
    })
}

/// Ranked values for a multi-valued field: `(best candidate, probability)`, strongest
/// first, without two values whose evidence overlaps. At most `limit` values.
pub(crate) fn ranked(
    cands: &[Candidate],
    values: &[CandValue],
    scores: &[f32],
    limit: usize,
) -> Vec<(usize, f64)> {
    let mut best: HashMap<&str, usize, FastHash> = HashMap::default();
    for (i, v) in values.iter().enumerate() {
        let e = best.entry(v.key.as_str()).or_insert(i);
        if scores[*e] < scores[i] {
            *e = i;
        }
    }
    let mut order: Vec<usize> = best.into_values().collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut kept: Vec<(usize, f64)> = Vec::new();
    for i in order {
        if kept.len() == limit {
            break;
        }
        let span = cands[i].span;
        let overlaps = kept.iter().any(|&(k, _)| {
            let o = cands[k].span;
            span.start < o.end && o.start < span.end
        });
        if !overlaps {
            let p = 1.0 / (1.0 + (-(scores[i] as f64)).exp());
            kept.push((i, p));
        }
    }
    kept
}

/// Raw score that a multi-valued answer (the values at or above `cut`) is exactly right:
/// the product of the kept probabilities and of the complements of the dropped ones.
pub(crate) fn set_score(ranked: &[(usize, f64)], cut: f64) -> f64 {
    ranked
        .iter()
        .map(|&(_, p)| {
            if p >= cut {
                p.max(1e-12).ln()
            } else {
                (1.0 - p).max(1e-12).ln()
            }
        })
        .sum::<f64>()
        .exp()
}

/// The log-odds of a probability, bounded: what the calibrators see. Masses pile up near 1,
/// where 0.999 and 0.99999 mean very different things; on the log-odds scale they are far
/// apart, which a two-parameter (Platt) curve needs.
pub(crate) fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;
    use crate::extractor::candidates::Origin;

    fn value(key: &str) -> CandValue {
        CandValue {
            collapsed: key.into(),
            normalised: Ok(key.into()),
            key: key.into(),
        }
    }

    fn cand(start: usize, end: usize) -> Candidate {
        Candidate {
            span: Span::new(start, end),
            first_line: 0,
            last_line: 0,
            origin: Origin::Shape,
        }
    }

    #[test]
    fn single_weighs_values_against_the_runner_up() {
        // "a" has two candidates against the single best "b": 2e^1 vs e^1.5.
        let values = [value("a"), value("b"), value("a")];
        let a = single(&values, &[1.0, 1.5, 1.0]).unwrap();
        assert_eq!(values[a.cand].key, "a");
        assert!((a.share - 2.0 / (2.0 + 0.5f64.exp())).abs() < 1e-6);
        assert_eq!(a.close, 1);
        assert!(single(&[], &[]).is_none());
        // Many unremarkable values, or one repeated everywhere, do not drown the answer.
        let more: Vec<CandValue> = (0..100)
            .map(|i| value(&format!("x{}", i % 2)))
            .chain([value("a")])
            .collect();
        let scores: Vec<f32> = (0..100).map(|_| 0.0).chain([5.0]).collect();
        let a = single(&more, &scores).unwrap();
        assert_eq!(more[a.cand].key, "a");
        assert!((a.share - 1.0 / (1.0 + 3.0 * (-5.0f64).exp())).abs() < 1e-6);
        assert!(a.mass < a.share);
        assert_eq!(single(&[value("a")], &[0.3]).unwrap().share, 1.0);
    }

    #[test]
    fn ranked_drops_overlapping_weaker_values() {
        let cands = [cand(0, 10), cand(0, 4), cand(20, 25)];
        let values = [value("ACME Corp"), value("ACME"), value("Beta")];
        let r = ranked(&cands, &values, &[3.0, 2.0, 1.0], 10);
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), [0, 2]);
        let s = set_score(&r, 0.5);
        assert!((s - r[0].1 * r[1].1).abs() < 1e-9);
    }
}
