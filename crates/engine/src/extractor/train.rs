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
use super::candidates::{
    Candidate, CandidateConfig, Layout, covering, generate, learn_config, learn_edges, lower_words,
};
use super::decide::{self, Answer};
use super::features::{CandValue, FeatureMatrix, FeatureSet, describe, featurize};
use super::model::{Linear, Loss, SplitMix, TrainDoc, Trainer};
use super::normalise::{DateOrder, infer_date_order, kind_normalises, value_key};
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
    /// Whether the model reads the prose context (`prose`); false for models saved
    /// before it existed, which are featurised as they were trained.
    pub prose: bool,
    /// Whether the model reads the narrower line context (`features::FeatureSet`); false
    /// for models saved before it.
    pub narrow: bool,
}

/// Every candidate of one labelled document, described for the model.
struct Full {
    cands: Vec<Candidate>,
    values: Vec<CandValue>,
    feats: FeatureMatrix,
    /// Candidates whose value is exactly a gold value.
    positive: Vec<bool>,
    /// `positive`, or the nearest candidate when no candidate is exact.
    target: Vec<bool>,
}

/// One labelled document as training keeps it. A document with at most
/// [`MAX_TRAIN_CANDIDATES`] candidates is kept whole; a longer one keeps only the sample
/// the model trains on (every target and a seeded share of the rest), and is described
/// again, whole, when its held-out answers are scored. So memory is bounded by the number
/// of documents, not their length, while every held-out answer (what the calibrators and
/// thresholds are fitted on) still weighs the answer against every candidate, as
/// extraction will.
struct Prepared {
    whole: Option<Full>,
    /// The sample, when the document is too long to keep whole: features and targets.
    sample: Option<(FeatureMatrix, Vec<bool>)>,
    /// Whether any candidate is a training target.
    reachable: bool,
    /// Distinct gold values.
    gold_keys: Vec<String>,
}

impl Prepared {
    fn train_doc(&self) -> TrainDoc<'_> {
        match (&self.sample, &self.whole) {
            (Some((feats, target)), _) => TrainDoc {
                feats,
                positive: target,
            },
            (None, Some(w)) => TrainDoc {
                feats: &w.feats,
                positive: &w.target,
            },
            (None, None) => unreachable!("a prepared document keeps its sample or itself"),
        }
    }
}

/// Candidates of one document that training keeps at most (see [`Prepared`] and [`keep`]).
/// Receipts stay below it; a 100,000-character contract has tens of thousands.
const MAX_TRAIN_CANDIDATES: usize = 1024;

/// A non-target this close to a target, in bytes, is a hard negative (see [`keep`]).
const NEAR_TARGET_BYTES: usize = 200;

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

    // Learn how far candidate generation must reach from the widest scan, one document at
    // a time, keeping only the candidates that match a gold value, grouped by the value
    // they match: each value of a multi-valued field (a party's full name as well as its
    // short defined term) must be reachable, not only the easiest one of its document.
    let groups: Vec<(usize, Vec<Candidate>)> = labelled
        .iter()
        .enumerate()
        .flat_map(|(i, (d, l, _))| {
            // For kinds that only collapse whitespace, a span can equal a gold value only
            // if its length, with and without its whitespace, brackets the value's: a
            // test of bytes that spares most spans the allocation of their key.
            let lengths = (!kind_normalises(kind)).then(|| {
                let lens = gold_keys[i].iter().map(|k| k.len().saturating_sub(2));
                (lens.clone().min().unwrap_or(0), lens.max().unwrap_or(usize::MAX))
            });
            let mut by_key: Vec<Vec<Candidate>> = gold_keys[i].iter().map(|_| Vec::new()).collect();
            for c in generate(&d.text, l, kind, CandidateConfig::SCAN, order) {
                let raw = &d.text[c.span.start..c.span.end];
                if let Some((shortest, longest)) = lengths {
                    let solid = raw.bytes().filter(|b| !b.is_ascii_whitespace()).count();
                    if raw.len() < shortest || solid > longest {
                        continue;
                    }
                }
                let key = value_key(kind, raw, order);
                if let Some(k) = gold_keys[i].iter().position(|g| *g == key) {
                    by_key[k].push(c);
                }
            }
            by_key.into_iter().filter(|g| !g.is_empty()).map(move |g| (i, g))
        })
        .collect();
    let cfg = learn_config(
        groups.iter().enumerate().map(|(g, (_, c))| (g, c.as_slice())),
        |_, _| true,
    );
    let [starts, ends, before, after] = learn_edges(
        groups
            .iter()
            .map(|(i, c)| (labelled[*i].0.text.as_str(), c[0].span.start, c[0].span.end)),
    );
    let max_lower = covering(
        groups
            .iter()
            .map(|(i, c)| lower_words(&labelled[*i].0.text[c[0].span.start..c[0].span.end]))
            .collect(),
    );
    let cfg = CandidateConfig {
        starts,
        ends,
        before,
        after,
        max_lower: if groups.is_empty() { usize::MAX } else { max_lower },
        ..cfg
    };
    drop(groups);

    let prepared: Vec<Prepared> = labelled
        .iter()
        .zip(gold_keys)
        .enumerate()
        .map(|(i, ((d, l, g), keys))| {
            let full = describe_all(d, l, g, &keys, spec, cfg, order, opts.hash_bits);
            keep(
                full,
                keys,
                opts.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )
        })
        .collect();
    if !prepared.iter().any(|p| p.reachable) {
        return Err(TrainError::Unreachable(spec.name.clone()));
    }
    let loss = if spec.multi {
        Loss::Pointwise
    } else {
        Loss::Listwise
    };
    let train_docs: Vec<TrainDoc> = prepared.iter().map(Prepared::train_doc).collect();

    // Cross-fitting. The first fold chooses the epoch count: its model is scored on its
    // held-out documents after every epoch, and the count with the best held-out F1 (the
    // fewest on a tie) is what the other folds train for and are scored at, once. Scoring
    // every fold after every epoch would describe each long document whole `max_epochs`
    // times, which was most of training's cost on contracts; the router picks its
    // regularisation on the first fold the same way.
    let n = prepared.len();
    let k = opts.folds.min(n);
    let mut fold_of: Vec<usize> = (0..n).collect();
    SplitMix(opts.seed ^ 0xF01D).shuffle(&mut fold_of);
    let mut by_doc: Vec<Option<HeldOut>> = (0..n).map(|_| None).collect();
    // The sum of the fold models' weights at the chosen epoch: the final model is their
    // average.
    let mut sum: Vec<f32> = vec![0.0; 1 << opts.hash_bits];
    let full_of = |i: usize| -> Option<Full> {
        let p = &prepared[i];
        if p.whole.is_some() {
            return None;
        }
        let (d, l, g) = labelled[i];
        Some(describe_all(
            d,
            l,
            g,
            &p.gold_keys,
            spec,
            cfg,
            order,
            opts.hash_bits,
        ))
    };
    let mut epochs = opts.max_epochs;
    if k >= 2 {
        for fold in 0..k {
            let inside: Vec<usize> = (0..n).filter(|&i| fold_of[i] % k != fold).collect();
            let outside: Vec<usize> = (0..n).filter(|&i| fold_of[i] % k == fold).collect();
            let fold_docs: Vec<TrainDoc> = inside
                .iter()
                .map(|&i| TrainDoc {
                    feats: train_docs[i].feats,
                    positive: train_docs[i].positive,
                })
                .collect();
            let mut trainer = Trainer::new(opts.hash_bits, loss, opts.seed ^ fold as u64);
            if fold == 0 {
                // The model after each epoch; the fold's documents are scored after the
                // last, so a long document is described whole once.
                let mut snapshots: Vec<Linear> = Vec::with_capacity(opts.max_epochs);
                for _ in 0..opts.max_epochs {
                    trainer.epoch(&fold_docs);
                    snapshots.push(trainer.model().clone());
                }
                let mut per_epoch: Vec<Vec<HeldOut>> = (0..opts.max_epochs).map(|_| Vec::new()).collect();
                for &i in &outside {
                    let rebuilt = full_of(i);
                    let full = rebuilt
                        .as_ref()
                        .or(prepared[i].whole.as_ref())
                        .expect("whole or rebuilt");
                    for (slot, model) in per_epoch.iter_mut().zip(&snapshots) {
                        slot.push(held_out(model, full, prepared[i].gold_keys.len(), spec.multi));
                    }
                }
                epochs = (0..opts.max_epochs)
                    .map(|e| (e, best_cut(&per_epoch[e].iter().collect::<Vec<_>>()).1))
                    .fold((0, f64::NEG_INFINITY), |best, (e, f1)| {
                        if f1 > best.1 + 1e-12 { (e, f1) } else { best }
                    })
                    .0
                    + 1;
                let chosen = per_epoch.swap_remove(epochs - 1);
                for (&i, h) in outside.iter().zip(chosen) {
                    by_doc[i] = Some(h);
                }
                sum.iter_mut()
                    .zip(&snapshots[epochs - 1].weights)
                    .for_each(|(s, w)| *s += w);
            } else {
                for _ in 0..epochs {
                    trainer.epoch(&fold_docs);
                }
                let model = trainer.model();
                for &i in &outside {
                    let rebuilt = full_of(i);
                    let full = rebuilt
                        .as_ref()
                        .or(prepared[i].whole.as_ref())
                        .expect("whole or rebuilt");
                    by_doc[i] = Some(held_out(model, full, prepared[i].gold_keys.len(), spec.multi));
                }
                sum.iter_mut().zip(&model.weights).for_each(|(s, w)| *s += w);
            }
        }
    }
    // The final model is the average of the fold models at the chosen epoch (bagging)
    // rather than one more model on all documents: it costs no training, varies less, and
    // its held-out behaviour is what the calibrators were fitted on. Without folds (a
    // single document) one model trains on everything.
    let final_model = if k >= 2 {
        let mut m = Linear::new(opts.hash_bits);
        m.weights = sum.iter().map(|w| w / k as f32).collect();
        m
    } else {
        let mut trainer = Trainer::new(opts.hash_bits, loss, opts.seed);
        for _ in 0..epochs {
            trainer.epoch(&train_docs);
        }
        trainer.model().clone()
    };
    let oof: Vec<&HeldOut> = by_doc.iter().flatten().collect();
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
        prose: true,
        narrow: true,
    };
    fit_calibrators(&mut model, &oof);
    Ok(model)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
fn describe_all(
    doc: &LabelledDoc,
    layout: &Layout,
    gold: &[String],
    gold_keys: &[String],
    spec: &FieldSpec,
    cfg: CandidateConfig,
    order: DateOrder,
    bits: u8,
) -> Full {
    let cands = generate(&doc.text, layout, spec.kind, cfg, order);
    let values: Vec<CandValue> = cands
        .iter()
        .map(|c| describe(&doc.text, c, spec.kind, order))
        .collect();
    let feats = featurize(
        &doc.text,
        layout,
        &cands,
        &values,
        spec.kind,
        bits,
        FeatureSet::CURRENT,
    );
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
    Full {
        cands,
        values,
        feats,
        positive,
        target,
    }
}

/// A document as training keeps it: whole when it is short, else its sample: every
/// target, then half of the room left for hard negatives (non-targets that overlap a
/// target or lie within [`NEAR_TARGET_BYTES`] of one) and half for the other non-targets
/// (either kind taking what the other leaves unused), each drawn with `seed`; kept in
/// document order.
///
/// Hard negatives rather than a uniform draw: a uniform sample of a contract's thousands
/// of spans is mostly text far from any value, which the model scores low after one
/// epoch, while the spans beside a value share its sentence and differ from it only in
/// where they start and stop ("Birch First" beside "Birch First Global Investments
/// Inc."), which is what the model must learn and what it meets at extraction.
fn keep(full: Full, gold_keys: Vec<String>, seed: u64) -> Prepared {
    let reachable = full.target.iter().any(|&t| t);
    if full.cands.len() <= MAX_TRAIN_CANDIDATES {
        return Prepared {
            whole: Some(full),
            sample: None,
            reachable,
            gold_keys,
        };
    }
    let rows = sample_rows(&full.cands, &full.target, seed);
    let mut feats = FeatureMatrix {
        idx: Vec::new(),
        offsets: vec![0],
    };
    for &i in &rows {
        feats.idx.extend_from_slice(full.feats.row(i));
        feats.offsets.push(feats.idx.len() as u32);
    }
    let target = rows.iter().map(|&i| full.target[i]).collect();
    Prepared {
        whole: None,
        sample: Some((feats, target)),
        reachable,
        gold_keys,
    }
}

/// The candidates a long document's sample keeps (see [`keep`]), in document order.
fn sample_rows(cands: &[Candidate], target: &[bool], seed: u64) -> Vec<usize> {
    let mut targets: Vec<(usize, usize)> = (0..cands.len())
        .filter(|&i| target[i])
        .map(|i| (cands[i].span.start, cands[i].span.end))
        .collect();
    targets.sort_unstable();
    // The targets by start, and the furthest end among those before: a span is near a
    // target if some target starting before its end (plus the margin) ends after its start
    // (minus the margin).
    let reach: Vec<usize> = targets
        .iter()
        .scan(0, |m, t| {
            *m = (*m).max(t.1);
            Some(*m)
        })
        .collect();
    let near = |i: usize| {
        let span = cands[i].span;
        let before = targets.partition_point(|t| t.0 < span.end + NEAR_TARGET_BYTES);
        before > 0 && reach[before - 1] + NEAR_TARGET_BYTES > span.start
    };
    let (mut hard, mut others): (Vec<usize>, Vec<usize>) =
        (0..cands.len()).filter(|&i| !target[i]).partition(|&i| near(i));
    let mut rng = SplitMix(seed);
    rng.shuffle(&mut hard);
    rng.shuffle(&mut others);
    // Half the room for each kind, and what one kind leaves unused to the other.
    let room = MAX_TRAIN_CANDIDATES.saturating_sub(targets.len());
    others.truncate(room - hard.len().min(room / 2));
    hard.truncate(room - others.len());
    let mut rows: Vec<usize> = (0..cands.len())
        .filter(|&i| target[i])
        .chain(hard)
        .chain(others)
        .collect();
    rows.sort_unstable();
    rows
}

/// 1 - Levenshtein distance / longer length, on the strings without whitespace. Pairs
/// whose lengths differ by more than the tolerance are 0 without computing anything.
fn similarity(gold: &[char], cand: &str) -> f64 {
    // The length test first, without allocating: most of a contract's spans are far
    // longer or shorter than the value.
    let solid = cand.chars().filter(|c| !c.is_whitespace()).count();
    let longest = gold.len().max(solid);
    if longest == 0 || (gold.len().abs_diff(solid) as f64) > (1.0 - NEAR_MATCH) * longest as f64 {
        return 0.0;
    }
    let c: Vec<char> = cand.chars().filter(|c| !c.is_whitespace()).collect();
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

fn held_out(model: &Linear, p: &Full, gold: usize, multi: bool) -> HeldOut {
    let scores = model.scores(&p.feats);
    if multi {
        let ranked = decide::ranked(&p.cands, &p.values, &scores, MAX_VALUES)
            .into_iter()
            .map(|(i, prob)| (prob, p.positive[i]))
            .collect();
        HeldOut::Multi { ranked, gold }
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
            gold: gold > 0,
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

    fn span_cands(spans: impl Iterator<Item = (usize, usize)>) -> Vec<Candidate> {
        spans
            .map(|(a, b)| Candidate {
                span: crate::Span::new(a, b),
                first_line: 0,
                last_line: 0,
                origin: super::super::candidates::Origin::Shape,
            })
            .collect()
    }

    #[test]
    fn a_long_documents_sample_keeps_the_spans_beside_its_value() {
        // 10,000 one-word spans 10 bytes apart; the value is the 5,000th. Spans within
        // NEAR_TARGET_BYTES of it are the hard negatives: a uniform draw of 1,023 of 9,999
        // would keep about 4 of the 40 beside it, the sample keeps them all.
        let cands = span_cands((0..10_000).map(|i| (i * 10, i * 10 + 5)));
        let mut target = vec![false; cands.len()];
        target[5_000] = true;
        let rows = sample_rows(&cands, &target, 7);
        assert_eq!(rows.len(), MAX_TRAIN_CANDIDATES);
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "in document order, no repeats"
        );
        assert!(rows.contains(&5_000));
        let near: Vec<usize> = (0..cands.len())
            .filter(|&i| {
                i != 5_000
                    && cands[i].span.end + NEAR_TARGET_BYTES > 50_000
                    && cands[i].span.start < 50_005 + NEAR_TARGET_BYTES
            })
            .collect();
        assert_eq!(near.len(), 40);
        assert!(near.iter().all(|i| rows.contains(i)), "every near span is kept");
        // The rest is spread over the document, not only near the value.
        assert!(rows.iter().filter(|&&i| i < 2_500).count() > 100);
        // Deterministic for a seed, different for another.
        assert_eq!(rows, sample_rows(&cands, &target, 7));
        assert_ne!(rows, sample_rows(&cands, &target, 8));
    }

    #[test]
    fn the_sample_is_full_when_every_span_is_near_a_value() {
        // Every span is near one of the many values: there is no rest to draw from, so
        // the hard negatives fill the room.
        let cands = span_cands((0..5_000).map(|i| (i * 10, i * 10 + 5)));
        let target: Vec<bool> = (0..cands.len()).map(|i| i % 20 == 0).collect();
        let rows = sample_rows(&cands, &target, 1);
        assert_eq!(rows.len(), MAX_TRAIN_CANDIDATES);
        assert_eq!(rows.iter().filter(|&&i| target[i]).count(), 250);
    }
}
