//! Train on one labelled set, report on another: extraction quality, and what the
//! confidences are worth when they decide which fields skip the inbox.
//!
//! Scoring rules:
//! - A value is right when it matches a gold value by [`same_value`]: normalised forms
//!   when the kind normalises and both parse, else the whitespace-collapsed raw strings.
//!   Gold labels are often verbatim ("25/12/2018", "RM9.00") while the product stores the
//!   normalised value, so the comparison is made on the form both sides share. List fields
//!   match as sets (each gold value at most once).
//! - `extraction_precision`, `recall` and `f1` count values: predicted, gold and matched.
//!   A field the extractor reports absent predicts nothing.
//! - A field's *answer* (its whole value set, or "absent") is right when it is exactly the
//!   gold set. The confidence threshold for the target precision is chosen on the
//!   training set's cross-fitted held-out answers, never on the test set, and only where
//!   the one-sided 95% Wilson lower bound of their precision reaches the target
//!   ([`crate::evidence`]); where no threshold does, the field accepts nothing and
//!   `no_evidence` says why in words. The answers at or above the threshold (and the
//!   field's pipeline acceptance rule, [`crate::pipeline::acceptance`]) are *accepted*
//!   automatically. `coverage` is the share of gold-bearing
//!   fields accepted, and `precision` the share of accepted answers that are right.
//! - `ece` is the expected calibration error of the answers' confidences (15 bins).
//!
//! The engine has no clock, so the caller passes one (seconds as `f64`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    DateOrder, Extractor, FieldOutput, FieldSpec, LabelledDoc, TrainError, TrainOptions, same_value,
};
use crate::evidence::{ThresholdEvidence, threshold_with_evidence};
use crate::metrics::{Scored, ece};
use crate::pipeline::NoEvidence;

/// What to aim for and how to seed training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// The precision automatically accepted answers should have (0.99 by default).
    pub target_precision: f64,
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            target_precision: 0.99,
            seed: 0,
        }
    }
}

/// One field's figures on the test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldEval {
    /// Gold values, predicted values, predicted values that are right.
    pub gold: usize,
    pub predicted: usize,
    pub correct: usize,
    pub extraction_precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// The confidence at or above which answers are accepted; `None` when no threshold's
    /// 95% lower bound reached the target on held-out training data (nothing is accepted).
    pub threshold: Option<f64>,
    /// When nothing is accepted, why, in words ("not enough evidence for 99%: 14
    /// held-out answers ...").
    pub no_evidence: Option<String>,
    /// The held-out figures behind `threshold`.
    pub evidence: ThresholdEvidence,
    pub accepted: usize,
    pub coverage: f64,
    /// Realised precision of the accepted answers (1 when none were accepted).
    pub precision: f64,
    pub ece: f64,
}

/// The whole report; see the module documentation for each figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractEvalReport {
    pub fields: BTreeMap<String, FieldEval>,
    pub micro_precision: f64,
    pub micro_recall: f64,
    pub micro_f1: f64,
    pub coverage: f64,
    pub precision: f64,
    pub ece: f64,
    pub target_precision: f64,
    pub train_documents: usize,
    pub test_documents: usize,
    pub train_seconds: f64,
    /// Test documents extracted per second, all fields, one thread.
    pub documents_per_second: f64,
}

#[derive(Default)]
pub(crate) struct Tally {
    gold: usize,
    predicted: usize,
    correct: usize,
    gold_fields: usize,
    accepted: usize,
    accepted_gold: usize,
    accepted_right: usize,
    pub(crate) answers: Vec<Scored>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.gold += other.gold;
        self.predicted += other.predicted;
        self.correct += other.correct;
        self.gold_fields += other.gold_fields;
        self.accepted += other.accepted;
        self.accepted_gold += other.accepted_gold;
        self.accepted_right += other.accepted_right;
        self.answers.extend_from_slice(&other.answers);
    }

    pub(crate) fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }

    pub(crate) fn recall(&self) -> f64 {
        ratio(self.correct, self.gold)
    }

    pub(crate) fn f1(&self) -> f64 {
        ratio(2 * self.correct, self.predicted + self.gold)
    }

    pub(crate) fn coverage(&self) -> f64 {
        ratio(self.accepted_gold, self.gold_fields)
    }

    pub(crate) fn accepted_precision(&self) -> f64 {
        if self.accepted == 0 {
            1.0
        } else {
            ratio(self.accepted_right, self.accepted)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Train on `train`, report on `test`. `clock` returns seconds (any origin).
pub fn evaluate(
    fields: &[FieldSpec],
    train: &[LabelledDoc],
    test: &[LabelledDoc],
    opts: &EvalOptions,
    clock: &dyn Fn() -> f64,
) -> Result<ExtractEvalReport, TrainError> {
    let train_opts = TrainOptions {
        seed: opts.seed,
        ..TrainOptions::default()
    };
    let started = clock();
    let extractor = Extractor::train(train, fields, &train_opts)?;
    let train_seconds = clock() - started;

    let started = clock();
    let outputs: Vec<_> = test.iter().map(|d| extractor.extract(&d.text)).collect();
    let extract_seconds = clock() - started;

    let rules: Vec<Rule> = fields
        .iter()
        .map(|spec| {
            let held = extractor.held_out(&spec.name).unwrap_or(&[]);
            Rule {
                evidence: threshold_with_evidence(held, opts.target_precision),
                order: extractor.date_order(&spec.name).unwrap_or_default(),
            }
        })
        .collect();
    let (per_field, all) = score(fields, test, &outputs, &rules, opts.target_precision);
    Ok(ExtractEvalReport {
        fields: per_field,
        micro_precision: all.precision(),
        micro_recall: all.recall(),
        micro_f1: all.f1(),
        coverage: all.coverage(),
        precision: all.accepted_precision(),
        ece: ece(&all.answers, 15),
        target_precision: opts.target_precision,
        train_documents: train.len(),
        test_documents: test.len(),
        train_seconds,
        documents_per_second: if extract_seconds > 0.0 {
            test.len() as f64 / extract_seconds
        } else {
            0.0
        },
    })
}

/// How one field's answers are accepted, and how its dates are read.
pub(crate) struct Rule {
    pub evidence: ThresholdEvidence,
    pub order: DateOrder,
}

/// Score `outputs` (one per test document, fields in declared order) against the gold.
pub(crate) fn score(
    fields: &[FieldSpec],
    test: &[LabelledDoc],
    outputs: &[Vec<FieldOutput>],
    rules: &[Rule],
    target: f64,
) -> (BTreeMap<String, FieldEval>, Tally) {
    let mut per_field = BTreeMap::new();
    let mut all = Tally::default();
    for (f, (spec, rule)) in fields.iter().zip(rules).enumerate() {
        let evidence = rule.evidence.clone();
        let order = rule.order;
        // The pipeline's rule: never below the target itself as a confidence.
        let threshold = evidence.threshold().map(|t| t.max(target));
        let no_evidence = match &evidence {
            ThresholdEvidence::Supported { .. } => None,
            ThresholdEvidence::Insufficient {
                held_out,
                best_lower_bound,
                needed_at_least,
            } => Some(
                NoEvidence {
                    target,
                    held_out: *held_out,
                    best_lower_bound: *best_lower_bound,
                    needed_at_least: *needed_at_least,
                }
                .describe(),
            ),
        };
        let mut t = Tally::default();
        for (doc, out) in test.iter().zip(outputs) {
            let Some(gold) = doc.gold(&spec.name) else {
                continue;
            };
            let out = &out[f];
            let mut used = vec![false; gold.len()];
            let mut matched = 0;
            for v in &out.values {
                let hit =
                    (0..gold.len()).find(|&g| !used[g] && same_value(spec.kind, &v.raw, &gold[g], order));
                if let Some(g) = hit {
                    used[g] = true;
                    matched += 1;
                }
            }
            let right = matched == out.values.len() && matched == gold.len();
            t.gold += gold.len();
            t.predicted += out.values.len();
            t.correct += matched;
            t.gold_fields += usize::from(!gold.is_empty());
            t.answers.push(Scored::new(out.confidence, right));
            if threshold.is_some_and(|th| out.confidence >= th) {
                t.accepted += 1;
                t.accepted_gold += usize::from(!gold.is_empty());
                t.accepted_right += usize::from(right);
            }
        }
        all.add(&t);
        per_field.insert(
            spec.name.clone(),
            FieldEval {
                gold: t.gold,
                predicted: t.predicted,
                correct: t.correct,
                extraction_precision: t.precision(),
                recall: t.recall(),
                f1: t.f1(),
                threshold,
                no_evidence,
                evidence,
                accepted: t.accepted,
                coverage: t.coverage(),
                precision: t.accepted_precision(),
                ece: ece(&t.answers, 15),
            },
        );
    }
    (per_field, all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldKind;

    fn doc(id: usize, parties: &[&str], witness: &str) -> LabelledDoc {
        let mut text = String::from("AGREEMENT\nMade between:\n");
        for p in parties {
            text.push_str(&format!("Party: {p}\n"));
        }
        text.push_str(&format!("Witness: {witness}\nSigned."));
        LabelledDoc {
            id: id.to_string(),
            text,
            fields: [("parties".into(), parties.iter().map(|s| s.to_string()).collect())].into(),
        }
    }

    #[test]
    fn report_has_the_documented_shape_and_matches_lists_as_sets() {
        let names = ["Acme Corp", "Beta Ltd", "Gamma SA", "Delta LLP", "Zeta Inc"];
        let docs: Vec<LabelledDoc> = (0..60)
            .map(|i| {
                let n = 1 + i % 2;
                let parties: Vec<&str> = (0..n).map(|k| names[(i + k) % 5]).collect();
                doc(i, &parties, names[(i + 3) % 5])
            })
            .collect();
        let fields = [FieldSpec::multi("parties", FieldKind::Text)];
        let ticks = std::cell::Cell::new(0.0);
        let clock = || {
            ticks.set(ticks.get() + 0.5);
            ticks.get()
        };
        let report = evaluate(&fields, &docs[..40], &docs[40..], &EvalOptions::default(), &clock).unwrap();
        let f = &report.fields["parties"];
        assert_eq!(f.gold, 30, "10 documents with one party, 10 with two");
        assert!(f.f1 > 0.9, "{f:?}");
        assert_eq!(report.train_seconds, 0.5);
        assert_eq!(report.documents_per_second, 40.0, "20 documents in half a second");
        let json = serde_json::to_value(&report).unwrap();
        for key in [
            "fields",
            "micro_f1",
            "coverage",
            "precision",
            "ece",
            "train_seconds",
            "documents_per_second",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in ["precision", "recall", "f1", "threshold", "coverage", "ece"] {
            assert!(
                json["fields"]["parties"].get(key).is_some(),
                "missing fields.parties.{key}"
            );
        }
    }
}
