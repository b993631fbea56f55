//! Evaluating a router the way `tandem model eval` reports it: train, choose the
//! confidence threshold on validation data for a target precision, then measure on the
//! test set what a builder needs to decide on going live.
//!
//! The engine has no clock, so the caller passes one (`seconds since some origin`); the
//! timing figures are then as honest as that clock, and tests can pass a fake one.

use super::io::Example;
use super::model::{Prediction, TextClassifier};
use super::rng::Rng;
use super::train::{TrainError, TrainOptions};
use crate::evidence::threshold_with_evidence;
use crate::metrics::{
    CurvePoint, ReliabilityBin, Scored, auroc, coverage_curve, ece, reliability_bins, threshold_for_precision,
};
use crate::range::InputRange;
use serde::Serialize;

/// Settings for [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// The threshold is the lowest at which routed validation items reach this precision.
    pub target_precision: f64,
    /// The label of out-of-scope examples in all three sets.
    pub oos_label: String,
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            target_precision: 0.99,
            oos_label: "oos".to_string(),
            seed: 42,
        }
    }
}

/// The figures `tandem model eval --json` prints, exactly these keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Share of in-scope test items whose top route is right (no threshold).
    pub in_scope_accuracy: f64,
    /// The chosen confidence threshold; null when no threshold reached the target on the
    /// validation data (then nothing is routed automatically).
    pub threshold: Option<f64>,
    /// Share of all test items routed automatically at the threshold.
    pub coverage: f64,
    /// Share of routed test items routed right; null when nothing was routed.
    pub precision: Option<f64>,
    /// Share of out-of-scope test items sent to review; null without any.
    pub oos_recall: Option<f64>,
    /// In-scope versus out-of-scope separation by confidence; null without any oos item.
    pub oos_auroc: Option<f64>,
    /// Expected calibration error, 15 equal-width bins, over all test items.
    pub ece: f64,
    pub train_seconds: f64,
    /// Predictions per second on one thread, over the whole test set.
    pub predictions_per_second: f64,
    /// The threshold the product would use for the target precision: the lowest whose
    /// training held-out answers have a 95% lower bound at the target (see
    /// [`crate::evidence`]); null when they back none.
    pub evidence_threshold: Option<f64>,
    /// Coverage and precision on the test set at `evidence_threshold`.
    pub evidence_coverage: f64,
    pub evidence_precision: Option<f64>,
    /// Share of in-scope test items that the input range learned from the training texts
    /// (see [`crate::range`]) calls out of range: inputs a person would see needlessly.
    pub out_of_range_in_scope: f64,
    /// The same share among out-of-scope test items; null without any.
    pub out_of_range_oos: Option<f64>,
}

/// The report plus what the charts need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalOutput {
    pub report: EvalReport,
    /// 15 equal-width reliability bins over all test items.
    pub reliability: Vec<ReliabilityBin>,
    /// Coverage and precision on the test set at every confidence threshold.
    pub curve: Vec<CurvePoint>,
    /// The trained model, so the caller can save it or look at its summary.
    #[serde(skip)]
    pub model: TextClassifier,
}

/// Share of the training set held out for the threshold when no validation set is given.
const HOLDOUT_SHARE: f64 = 0.2;
/// Bins for ECE and the reliability diagram (the usual choice in the literature).
const ECE_BINS: usize = 15;

/// Train on `train`, choose the threshold on `val` (or on a held-out fifth of `train`,
/// stratified by label, when `val` is `None`), and measure on `test`. `clock` returns
/// seconds from any fixed origin.
pub fn evaluate(
    train: &[Example],
    test: &[Example],
    val: Option<&[Example]>,
    opts: &EvalOptions,
    clock: &dyn Fn() -> f64,
) -> Result<EvalOutput, TrainError> {
    let train_opts = TrainOptions {
        oos_label: Some(opts.oos_label.clone()),
        seed: opts.seed,
        ..TrainOptions::default()
    };
    let (fit_on, held): (Vec<Example>, Vec<Example>) = match val {
        Some(v) => (train.to_vec(), v.to_vec()),
        None => split_stratified(train, HOLDOUT_SHARE, opts.seed),
    };
    let start = clock();
    let (model, held_out) = TextClassifier::train_scored(&fit_on, &train_opts)?;
    let train_seconds = clock() - start;
    let evidence_threshold = threshold_with_evidence(&held_out, opts.target_precision).threshold();
    let range = InputRange::learn(&fit_on.iter().map(|e| e.text.as_str()).collect::<Vec<_>>());

    let val_preds = model.predict_batch(&held.iter().map(|e| e.text.as_str()).collect::<Vec<_>>());
    let threshold = choose_threshold(&held, &val_preds, &opts.oos_label, opts.target_precision);

    let texts: Vec<&str> = test.iter().map(|e| e.text.as_str()).collect();
    let start = clock();
    let preds = model.predict_batch(&texts);
    let predict_seconds = clock() - start;

    let oos = |e: &Example| e.label == opts.oos_label;
    let right = |e: &Example, p: &Prediction| !oos(e) && p.ranked.first().is_some_and(|r| r.0 == e.label);
    let in_scope: Vec<bool> = test
        .iter()
        .zip(&preds)
        .filter(|(e, _)| !oos(e))
        .map(|(e, p)| right(e, p))
        .collect();
    let routed: Vec<bool> = preds
        .iter()
        .map(|p| threshold.is_some_and(|t| !p.out_of_scope && p.confidence >= t))
        .collect();
    let n_routed = routed.iter().filter(|&&r| r).count();
    let n_routed_right = test
        .iter()
        .zip(&preds)
        .zip(&routed)
        .filter(|((e, p), r)| **r && right(e, p))
        .count();
    let n_oos = test.iter().filter(|e| oos(e)).count();
    let oos_to_review = test.iter().zip(&routed).filter(|(e, r)| oos(e) && !**r).count();
    let all_scored: Vec<Scored> = test
        .iter()
        .zip(&preds)
        .map(|(e, p)| Scored::new(p.confidence, right(e, p)))
        .collect();
    // AUROC: in-scope items should score above out-of-scope ones.
    let confidences = |want_oos: bool| -> Vec<f64> {
        test.iter()
            .zip(&preds)
            .filter(|(e, _)| oos(e) == want_oos)
            .map(|(_, p)| p.confidence)
            .collect()
    };
    let (pos, neg) = (confidences(false), confidences(true));
    let at_evidence: Vec<bool> = preds
        .iter()
        .map(|p| evidence_threshold.is_some_and(|t| !p.out_of_scope && p.confidence >= t))
        .collect();
    let n_evidence = at_evidence.iter().filter(|&&r| r).count();
    let n_evidence_right = test
        .iter()
        .zip(&preds)
        .zip(&at_evidence)
        .filter(|((e, p), r)| **r && right(e, p))
        .count();
    let flagged = |want_oos: bool| {
        let set: Vec<&Example> = test.iter().filter(|e| oos(e) == want_oos).collect();
        let n = set
            .iter()
            .filter(|e| range.as_ref().is_some_and(|r| !r.check(&e.text).is_empty()))
            .count();
        ratio(n, set.len())
    };

    let report = EvalReport {
        in_scope_accuracy: ratio(in_scope.iter().filter(|&&r| r).count(), in_scope.len()).unwrap_or(0.0),
        threshold,
        coverage: ratio(n_routed, test.len()).unwrap_or(0.0),
        precision: ratio(n_routed_right, n_routed),
        oos_recall: ratio(oos_to_review, n_oos),
        oos_auroc: auroc(&pos, &neg),
        ece: ece(&all_scored, ECE_BINS),
        train_seconds,
        predictions_per_second: if predict_seconds > 0.0 {
            test.len() as f64 / predict_seconds
        } else {
            0.0
        },
        evidence_threshold,
        evidence_coverage: ratio(n_evidence, test.len()).unwrap_or(0.0),
        evidence_precision: ratio(n_evidence_right, n_evidence),
        out_of_range_in_scope: flagged(false).unwrap_or(0.0),
        out_of_range_oos: flagged(true),
    };
    let test_scored = routable(test, &preds, &opts.oos_label);
    Ok(EvalOutput {
        report,
        reliability: reliability_bins(&all_scored, ECE_BINS),
        curve: coverage_curve(&test_scored, test.len()),
        model,
    })
}

/// The lowest confidence threshold at which the routed items reach `target` precision,
/// where an item is routed when it is not flagged out of scope and its confidence is at or
/// above the threshold, and routing an out-of-scope item is always wrong.
pub fn choose_threshold(
    items: &[Example],
    preds: &[Prediction],
    oos_label: &str,
    target: f64,
) -> Option<f64> {
    threshold_for_precision(&routable(items, preds, oos_label), target)
}

/// The items a threshold could route (not flagged out of scope), scored by whether routing
/// them would be right. Flagged items are never routed, whatever the threshold.
fn routable(items: &[Example], preds: &[Prediction], oos_label: &str) -> Vec<Scored> {
    items
        .iter()
        .zip(preds)
        .filter(|(_, p)| !p.out_of_scope)
        .map(|(e, p)| {
            let right = e.label != oos_label && p.ranked.first().is_some_and(|r| r.0 == e.label);
            Scored::new(p.confidence, right)
        })
        .collect()
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Split off `share` of each label's examples (at least one when a label has two or more),
/// shuffled with `seed`. Returns (rest, held out).
fn split_stratified(items: &[Example], share: f64, seed: u64) -> (Vec<Example>, Vec<Example>) {
    let mut rng = Rng::new(seed ^ 0xE7A1);
    let mut by_label: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, e) in items.iter().enumerate() {
        by_label.entry(e.label.as_str()).or_default().push(i);
    }
    let mut held = vec![false; items.len()];
    for members in by_label.values_mut() {
        rng.shuffle(members);
        let n = if members.len() >= 2 {
            ((members.len() as f64 * share).round() as usize).max(1)
        } else {
            0
        };
        for &i in &members[..n] {
            held[i] = true;
        }
    }
    let (h, r): (Vec<_>, Vec<_>) = items.iter().zip(&held).partition(|(_, h)| **h);
    (
        r.into_iter().map(|x| x.0.clone()).collect(),
        h.into_iter().map(|x| x.0.clone()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::model::tests::synthetic;

    fn pred(label: &str, confidence: f64, out_of_scope: bool) -> Prediction {
        Prediction {
            ranked: vec![
                (label.to_string(), confidence),
                ("x".into(), 0.0),
                ("y".into(), 0.0),
            ],
            confidence,
            out_of_scope,
            oos_score: if out_of_scope { 0.9 } else { 0.1 },
            contributions: Vec::new(),
        }
    }

    fn ex(label: &str) -> Example {
        Example::new("t", label)
    }

    #[test]
    fn threshold_is_the_lowest_reaching_the_target() {
        // By confidence: 0.95 a right, 0.9 oos routed (wrong), 0.85 right, 0.8 right,
        // 0.7 wrong route, 0.6 flagged out of scope (never routed, whatever its score).
        let items = [ex("a"), ex("oos"), ex("b"), ex("c"), ex("d"), ex("e")];
        let preds = [
            pred("a", 0.95, false),
            pred("a", 0.9, false),
            pred("b", 0.85, false),
            pred("c", 0.8, false),
            pred("z", 0.7, false),
            pred("e", 0.6, true),
        ];
        // Precision at 0.95: 1/1; 0.9: 1/2; 0.85: 2/3; 0.8: 3/4; 0.7: 3/5.
        assert_eq!(choose_threshold(&items, &preds, "oos", 0.99), Some(0.95));
        assert_eq!(choose_threshold(&items, &preds, "oos", 0.75), Some(0.8));
        assert_eq!(choose_threshold(&items, &preds, "oos", 0.6), Some(0.7));
        assert_eq!(choose_threshold(&items[1..2], &preds[1..2], "oos", 0.5), None);
    }

    #[test]
    fn report_has_every_key_and_nulls_without_oos() {
        let ticks = std::cell::Cell::new(0.0);
        let clock = || {
            // A fake clock: each reading is one second after the last.
            let t = ticks.get() + 1.0;
            ticks.set(t);
            t
        };
        let train = synthetic(30, 20, 11);
        let test = synthetic(8, 10, 12);
        let out = evaluate(&train, &test, None, &EvalOptions::default(), &clock).unwrap();
        let json: serde_json::Value = serde_json::to_value(&out.report).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut want = [
            "in_scope_accuracy",
            "threshold",
            "coverage",
            "precision",
            "oos_recall",
            "oos_auroc",
            "ece",
            "train_seconds",
            "predictions_per_second",
            "evidence_threshold",
            "evidence_coverage",
            "evidence_precision",
            "out_of_range_in_scope",
            "out_of_range_oos",
        ];
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want);
        let r = &out.report;
        assert!(r.in_scope_accuracy > 0.9, "{r:?}");
        assert!(r.oos_recall.is_some() && r.oos_auroc.unwrap() > 0.9, "{r:?}");
        assert_eq!(r.train_seconds, 1.0);
        assert_eq!(r.predictions_per_second, test.len() as f64);
        assert_eq!(out.reliability.len(), 15);
        assert!(!out.curve.is_empty());

        let in_scope_only = synthetic(8, 0, 13);
        let out = evaluate(
            &train,
            &in_scope_only,
            Some(&test),
            &EvalOptions::default(),
            &clock,
        )
        .unwrap();
        let json = serde_json::to_value(&out.report).unwrap();
        assert!(json["oos_recall"].is_null() && json["oos_auroc"].is_null());
        assert!(json["out_of_range_oos"].is_null());
    }
}
