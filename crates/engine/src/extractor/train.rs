//! Training one field: learn the candidate bounds from the labels, featurise, choose the
//! number of epochs and fit every calibrator and cut on held-out documents; the final
//! model is the average of the fold models.
//!
//! Cross-fitting: the labelled documents are split into k folds; k models each train on
//! k-1 folds and score the fold they did not see. Those out-of-fold answers are honest
//! (no document is scored by a model that trained on it) and cover every document, so the
//! epoch count, the calibration curves, the cut below which the field is reported absent
//! and the held-out points the threshold simulator uses all come from data the size of the
//! training set. Nothing is tuned by hand for a dataset: the only constants are generic
//! (fold count, epoch ceiling, hash size, the near-match similarity).
//!
//! A gold value that no candidate matches exactly (an OCR error, a reformatted label) still
//! teaches *where* the value is: the most similar candidate, if close enough, is the
//! training target. Evaluation and calibration use exact matches only.

use serde::{Deserialize, Serialize};

use super::calibrate::{HeldOut, best_cut, fit_calibrators};
use super::candidates::{Candidate, CandidateConfig, Layout, generate, learn_config};
use super::decide::{self, Answer};
use super::features::{CandValue, FeatureMatrix, describe, featurize};
use super::model::{Linear, Loss, SplitMix, TrainDoc, Trainer};
use super::normalise::{DateOrder, infer_date_order, value_key};
use super::verify;
use super::{FieldSpec, LabelledDoc};
use crate::FieldKind;
use crate::calibration::Calibrator;
use crate::metrics::Scored;

/// Knobs with generic defaults; none of them should need changing per dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Seeds every shuffle and split: the same data and seed give the same model.
    pub seed: u64,
    /// Folds for cross-fitting (at least 2).
    pub folds: usize,
    /// The most epochs validation may choose.
    pub max_epochs: usize,
    /// log2 of the number of feature buckets (10 to 24).
    pub hash_bits: u8,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            folds: 5,
            max_epochs: 8,
            hash_bits: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainError {
    #[error("no fields to train")]
    NoFields,
    #[error("field \"{0}\" is declared twice")]
    DuplicateField(String),
    #[error("field \"{0}\": no training document labels it")]
    Unlabelled(String),
    #[error(
        "field \"{0}\": no labelled value was found in its document's text, so there is nothing to learn from"
    )]
    Unreachable(String),
    #[error("invalid training option: {0}")]
    InvalidOption(String),
}

/// Everything a trained field needs at extraction time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldModel {
    pub spec: FieldSpec,
    pub order: DateOrder,
    pub cfg: CandidateConfig,
    pub epochs: usize,
    pub linear: Linear,
    /// Probability that an answer is right: the value (single) or the whole set (multi).
    pub calib: Calibrator,
    /// Multi-valued fields: probability that one value is right.
    pub value_calib: Calibrator,
    /// Single-valued fields: probability that "absent" is right. Every calibrator reads
    /// log-odds (`decide::logit`): of the mass, of a value's probability, of `1 - mass`.
    pub absent_calib: Calibrator,
    /// Single: the least mass to answer at all. Multi: the least probability to keep a value.
    pub cut: f64,
    /// Out-of-fold (confidence, right) of the final answers, for choosing thresholds.
    pub held_out: Vec<Scored>,
    /// Single-valued fields: the second opinion whose probability the cut and calibrators
    /// read instead of the ranker's raw share (see `verify`).
    pub verifier: Option<verify::Verifier>,
}

/// One labelled document, ready for the model.
struct Prepared {
    cands: Vec<Candidate>,
    values: Vec<CandValue>,
    feats: FeatureMatrix,
    /// Candidates whose value is exactly a gold value.
    positive: Vec<bool>,
    /// `positive`, or the nearest candidate when no candidate is exact.
    target: Vec<bool>,
    /// Distinct gold values.
    gold_keys: Vec<String>,
}

/// A candidate this similar to a gold value (1 - edit distance / length, ignoring spaces)
/// is the training target when none matches exactly.
const NEAR_MATCH: f64 = 0.8;
/// Multi-valued fields: values considered per document.
pub(crate) const MAX_VALUES: usize = 32;

pub(crate) fn validate(opts: &TrainOptions) -> Result<(), TrainError> {
    if opts.folds < 2 {
        return Err(TrainError::InvalidOption("folds must be at least 2".into()));
    }
    if opts.max_epochs == 0 {
        return Err(TrainError::InvalidOption("max_epochs must be at least 1".into()));
    }
    if !(10..=24).contains(&opts.hash_bits) {
        return Err(TrainError::InvalidOption(
            "hash_bits must be between 10 and 24".into(),
        ));
    }
    Ok(())
}

pub(crate) fn train_field(
    spec: &FieldSpec,
    docs: &[(&LabelledDoc, &Layout)],
    opts: &TrainOptions,
) -> Result<FieldModel, TrainError> {
    let labelled: Vec<(&LabelledDoc, &Layout, &[String])> = docs
        .iter()
        .filter_map(|(d, l)| d.gold(&spec.name).map(|g| (*d, *l, g)))
        .collect();
    if labelled.is_empty() {
        return Err(TrainError::Unlabelled(spec.name.clone()));
    }
    let kind = spec.kind;
    let order = if kind == FieldKind::Date {
        infer_date_order(labelled.iter().flat_map(|x| x.2.iter().map(String::as_str)))
    } else {
        DateOrder::default()
    };
    let gold_keys: Vec<Vec<String>> = labelled
        .iter()
        .map(|(_, _, g)| {
            let mut keys: Vec<String> = g.iter().map(|v| value_key(kind, v, order)).collect();
            keys.sort();
            keys.dedup();
            keys
        })
        .collect();

    // Learn how far candidate generation must reach from the widest scan.
    let scans: Vec<Vec<Candidate>> = labelled
        .iter()
        .map(|(d, l, _)| generate(&d.text, l, kind, CandidateConfig::SCAN, order))
        .collect();
    let cfg = learn_config(
        scans.iter().enumerate().map(|(i, c)| (i, c.as_slice())),
        |i, c| {
            let raw = &labelled[i].0.text[c.span.start..c.span.end];
            gold_keys[i].contains(&value_key(kind, raw, order))
        },
    );
    drop(scans);

    let prepared: Vec<Prepared> = labelled
        .iter()
        .zip(gold_keys)
        .map(|((d, l, g), keys)| prepare(d, l, g, keys, spec, cfg, order, opts.hash_bits))
        .collect();
    if !prepared.iter().any(|p| p.target.iter().any(|&t| t)) {
        return Err(TrainError::Unreachable(spec.name.clone()));
    }
    let loss = if spec.multi {
        Loss::Pointwise
    } else {
        Loss::Listwise
    };
    let train_docs: Vec<TrainDoc> = prepared
        .iter()
        .map(|p| TrainDoc {
            feats: &p.feats,
            positive: &p.target,
        })
        .collect();

    // Cross-fitting: out-of-fold answers after every epoch.
    let n = prepared.len();
    let k = opts.folds.min(n);
    let mut fold_of: Vec<usize> = (0..n).collect();
    SplitMix(opts.seed ^ 0xF01D).shuffle(&mut fold_of);
    // Per epoch, the sum of the fold models' weights: the final model is their average.
    let mut sums: Vec<Vec<f32>> = (0..opts.max_epochs)
        .map(|_| vec![0.0; 1 << opts.hash_bits])
        .collect();
    let mut by_epoch: Vec<Vec<Option<HeldOut>>> = (0..opts.max_epochs)
        .map(|_| (0..n).map(|_| None).collect())
        .collect();
    if k >= 2 {
        for fold in 0..k {
            let inside: Vec<usize> = (0..n).filter(|&i| fold_of[i] % k != fold).collect();
            let fold_docs: Vec<TrainDoc> = inside
                .iter()
                .map(|&i| TrainDoc {
                    feats: train_docs[i].feats,
                    positive: train_docs[i].positive,
                })
                .collect();
            let mut trainer = Trainer::new(opts.hash_bits, loss, opts.seed ^ fold as u64);
            for (slot, sum) in by_epoch.iter_mut().zip(&mut sums) {
                trainer.epoch(&fold_docs);
                for i in (0..n).filter(|&i| fold_of[i] % k == fold) {
                    slot[i] = Some(held_out(trainer.model(), &prepared[i], spec.multi));
                }
                sum.iter_mut()
                    .zip(&trainer.model().weights)
                    .for_each(|(s, w)| *s += w);
            }
        }
    }
    let scores_of = |e: usize| -> Vec<&HeldOut> { by_epoch[e].iter().flatten().collect() };
    let epochs = if k >= 2 {
        // The epoch count with the best held-out F1 (the fewest on a tie).
        (0..opts.max_epochs)
            .map(|e| (e, best_cut(&scores_of(e)).1))
            .fold((0, f64::NEG_INFINITY), |best, (e, f1)| {
                if f1 > best.1 + 1e-12 { (e, f1) } else { best }
            })
            .0
            + 1
    } else {
        opts.max_epochs
    };
    // The final model is the average of the fold models at the chosen epoch (bagging)
    // rather than one more model on all documents: it costs no training, varies less, and
    // its held-out behaviour is what the calibrators were fitted on. Without folds (a
    // single document) one model trains on everything.
    let final_model = if k >= 2 {
        let mut m = Linear::new(opts.hash_bits);
        m.weights = sums[epochs - 1].iter().map(|w| w / k as f32).collect();
        m
    } else {
        let mut trainer = Trainer::new(opts.hash_bits, loss, opts.seed);
        for _ in 0..epochs {
            trainer.epoch(&train_docs);
        }
        trainer.model().clone()
    };
    let oof = if k >= 2 { scores_of(epochs - 1) } else { Vec::new() };
    // Single-valued fields: the verifier's held-out probabilities replace the raw shares.
    let mut verifier = None;
    let verified: Vec<HeldOut>;
    let oof = if !spec.multi && k >= 2 {
        let answers: Vec<(Vec<u32>, f64, bool)> = oof
            .iter()
            .filter_map(|h| match h {
                HeldOut::Single {
                    verify,
                    mass,
                    correct,
                    ..
                } => Some((verify.clone(), *mass, *correct)),
                HeldOut::Multi { .. } => None,
            })
            .collect();
        let (model, probs) = verify::train(&answers, k, opts.max_epochs, opts.seed);
        verifier = Some(model);
        verified = oof
            .iter()
            .zip(probs)
            .filter_map(|(h, p)| match h {
                HeldOut::Single { correct, gold, .. } => Some(HeldOut::Single {
                    mass: p,
                    correct: *correct,
                    gold: *gold,
                    verify: Vec::new(),
                }),
                HeldOut::Multi { .. } => None,
            })
            .collect();
        verified.iter().collect()
    } else {
        oof
    };
    let (cut, _) = best_cut(&oof);
    let mut model = FieldModel {
        spec: spec.clone(),
        order,
        cfg,
        epochs,
        linear: final_model,
        calib: Calibrator::Identity,
        value_calib: Calibrator::Identity,
        absent_calib: Calibrator::Identity,
        cut: if k >= 2 { cut } else { 0.0 },
        held_out: Vec::new(),
        verifier,
    };
    fit_calibrators(&mut model, &oof);
    Ok(model)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
fn prepare(
    doc: &LabelledDoc,
    layout: &Layout,
    gold: &[String],
    gold_keys: Vec<String>,
    spec: &FieldSpec,
    cfg: CandidateConfig,
    order: DateOrder,
    bits: u8,
) -> Prepared {
    let cands = generate(&doc.text, layout, spec.kind, cfg, order);
    let values: Vec<CandValue> = cands
        .iter()
        .map(|c| describe(&doc.text, c, spec.kind, order))
        .collect();
    let feats = featurize(&doc.text, layout, &cands, &values, spec.kind, bits);
    let positive: Vec<bool> = values.iter().map(|v| gold_keys.contains(&v.key)).collect();
    let mut target = positive.clone();
    for (g, key) in gold
        .iter()
        .zip(gold.iter().map(|g| value_key(spec.kind, g, order)))
    {
        if values.iter().any(|v| v.key == key) {
            continue;
        }
        let g: Vec<char> = g.chars().filter(|c| !c.is_whitespace()).collect();
        let best = values
            .iter()
            .enumerate()
            .map(|(i, v)| (i, similarity(&g, &v.collapsed)))
            .fold(None, |best: Option<(usize, f64)>, x| match best {
                Some(b) if b.1 >= x.1 => Some(b),
                _ => Some(x),
            });
        if let Some((i, s)) = best
            && s >= NEAR_MATCH
        {
            target[i] = true;
        }
    }
    Prepared {
        cands,
        values,
        feats,
        positive,
        target,
        gold_keys,
    }
}

/// 1 - Levenshtein distance / longer length, on the strings without whitespace. Pairs
/// whose lengths differ by more than the tolerance are 0 without computing anything.
fn similarity(gold: &[char], cand: &str) -> f64 {
    let c: Vec<char> = cand.chars().filter(|c| !c.is_whitespace()).collect();
    let longest = gold.len().max(c.len());
    if longest == 0 || (gold.len().abs_diff(c.len()) as f64) > (1.0 - NEAR_MATCH) * longest as f64 {
        return 0.0;
    }
    let mut prev: Vec<usize> = (0..=c.len()).collect();
    let mut cur = vec![0; c.len() + 1];
    for (i, a) in gold.iter().enumerate() {
        cur[0] = i + 1;
        for (j, b) in c.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(a != b))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    1.0 - prev[c.len()] as f64 / longest as f64
}

fn held_out(model: &Linear, p: &Prepared, multi: bool) -> HeldOut {
    let scores = model.scores(&p.feats);
    if multi {
        let ranked = decide::ranked(&p.cands, &p.values, &scores, MAX_VALUES)
            .into_iter()
            .map(|(i, prob)| (prob, p.positive[i]))
            .collect();
        HeldOut::Multi {
            ranked,
            gold: p.gold_keys.len(),
        }
    } else {
        let none = Answer {
            cand: 0,
            share: 0.0,
            mass: 0.0,
            close: 0,
        };
        let (answer, row, text, correct) = match decide::single(&p.values, &scores) {
            Some(a) => (
                a,
                p.feats.row(a.cand),
                p.values[a.cand].collapsed.as_str(),
                p.positive[a.cand],
            ),
            None => (none, &[][..], "", false),
        };
        HeldOut::Single {
            mass: answer.share,
            correct,
            gold: !p.gold_keys.is_empty(),
            verify: verify::features(row, text, &answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_ignores_spaces_and_rejects_far_lengths() {
        let g: Vec<char> = "27, JALAN DEDAP".chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(similarity(&g, "27,JALAN DEDAP"), 1.0);
        assert!(similarity(&g, "27,JALAN DEDAF") > 0.9);
        assert_eq!(similarity(&g, "27"), 0.0);
    }
}
