//! From candidate scores to a field's answer, before calibration. The same code runs on
//! held-out documents inside training (to fit the calibrators and cuts) and at extraction,
//! so the calibration is fitted on exactly the numbers it will later be applied to.
//!
//! A single-valued field pools the softmax mass of all candidates that denote one value
//! (the total printed three times is one answer, not three rivals) and answers with the
//! heaviest value; the mass is the raw confidence. A multi-valued field gives each value the
//! best probability among its candidates, drops values whose evidence overlaps a stronger
//! one, and keeps those above a learned cut; the raw confidence that the whole set is right
//! treats the values as independent, and calibration corrects what that gets wrong.

use std::collections::HashMap;

use super::candidates::Candidate;
use super::features::CandValue;

/// The heaviest value: its best candidate and its share of the mass it and the runner-up
/// value hold together (1 when there is no other value).
pub(crate) fn single(values: &[CandValue], scores: &[f32]) -> Option<(usize, f64)> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    if !max.is_finite() {
        return None;
    }
    // Per value: pooled mass and its best candidate (first one wins ties: deterministic).
    let mut pooled: HashMap<&str, (f64, usize)> = HashMap::new();
    for (i, (v, &s)) in values.iter().zip(scores).enumerate() {
        let e = (s as f64 - max).exp();
        let entry = pooled.entry(v.key.as_str()).or_insert((0.0, i));
        entry.0 += e;
        if scores[entry.1] < s {
            entry.1 = i;
        }
    }
    // The answer's mass against the runner-up's alone, not against all candidates: with the
    // whole softmax, a long document's thousands of unremarkable candidates would dilute
    // the confidence of an answer that is as clear as in a short one.
    let mut masses: Vec<(f64, usize)> = pooled.into_values().collect();
    masses.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let (top, i) = *masses.first()?;
    let second = masses.get(1).map_or(0.0, |m| m.0);
    Some((i, top / (top + second)))
}

/// Ranked values for a multi-valued field: `(best candidate, probability)`, strongest
/// first, without two values whose evidence overlaps. At most `limit` values.
pub(crate) fn ranked(
    cands: &[Candidate],
    values: &[CandValue],
    scores: &[f32],
    limit: usize,
) -> Vec<(usize, f64)> {
    let mut best: HashMap<&str, usize> = HashMap::new();
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
    fn single_pools_mass_of_one_value() {
        // "b" has the single best candidate, but "a" appears twice and wins on mass.
        let values = [value("a"), value("b"), value("a")];
        let (i, mass) = single(&values, &[1.0, 1.5, 1.0]).unwrap();
        assert_eq!(values[i].key, "a");
        // Both "a" candidates against "b", relative to the best score: 2 / (2 + e^0.5).
        assert!((mass - 2.0 / (2.0 + 0.5f64.exp())).abs() < 1e-6);
        // Unremarkable extra values do not dilute the answer.
        let more: Vec<CandValue> = (0..100)
            .map(|i| value(&format!("x{i}")))
            .chain([value("a")])
            .collect();
        let scores: Vec<f32> = (0..100).map(|_| 0.0).chain([5.0]).collect();
        let (_, mass) = single(&more, &scores).unwrap();
        assert!((mass - 1.0 / (1.0 + (-5.0f64).exp())).abs() < 1e-6);
        assert!(single(&[], &[]).is_none());
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
