//! Training a [`TextClassifier`]: cross-fitted calibration, hyperparameters chosen on
//! held-out folds, then one refit on everything.
//!
//! Training never looks outside the examples it is given: the regularisation strength is
//! picked on the first fold's held-out rows, the temperature and both signal models on the
//! held-out rows of every fold, and nothing is tuned by hand for a data set.

use super::confidence::{N_SIGNALS, SignalModel, signals};
use super::features::{Grams, SparseVec, Vocab, ngrams};
use super::folds::{Held, plan};
use super::inputs::{InputFeature, as_block, field_grams};
use super::io::Example;
use super::linear::{Compact, Linear, Scorer, SgdParams};
use super::model::{DenseHead, TextClassifier, TrainSummary, top_route};
use super::rng::Rng;
use super::wordvec;
use crate::calibration::fit_temperature;
use crate::metrics::Scored;
use std::collections::BTreeMap;
use thiserror::Error;

/// How to train. `Default` is what every data set should start with.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// The label that marks out-of-scope examples, if the training set has any. Such
    /// examples teach the detector; the label is never offered as a route.
    pub oos_label: Option<String>,
    /// Seed for every shuffle and split: same data and seed, same model, bit for bit.
    pub seed: u64,
    /// Number of cross-fitting folds (at least 2).
    pub folds: usize,
    /// SGD passes over the data per fit.
    pub epochs: usize,
    /// Expected share of out-of-scope inputs in production. It sets the base rate of the
    /// out-of-scope probability, and so how far confidence drops for inputs that look out
    /// of scope. Cross-fitting cannot know it (its share of pseudo out-of-scope rows is an
    /// artefact of the folds), so it is stated, not fitted.
    pub oos_prior: f64,
    /// Candidate weights of the static word vectors (see `wordvec`) against the n-grams,
    /// whose vector has unit norm; the first fold's held-out rows choose among them. 0 is
    /// the n-grams alone, so a data set on which the word vectors do not help trains
    /// without them; an empty list or `[0.0]` never uses them.
    pub word_vector_weights: Vec<f32>,
    /// Structured inputs to read beside the text, from each example's `fields` (see
    /// `inputs`). Empty: the text alone.
    pub inputs: Vec<InputFeature>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            oos_label: Some("oos".to_string()),
            seed: 42,
            folds: 4,
            epochs: 5,
            oos_prior: 0.1,
            word_vector_weights: WORD_VECTOR_WEIGHTS.to_vec(),
            inputs: Vec::new(),
        }
    }
}

/// Why a training set cannot be trained on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrainError {
    #[error("too few examples: {got}, at least {need} are needed")]
    TooFewExamples { got: usize, need: usize },
    #[error("only one route label ({label:?}): a router needs at least two to choose from")]
    OneLabel { label: String },
    #[error("no route labels: every example is labelled {oos_label:?} (out of scope)")]
    OnlyOutOfScope { oos_label: String },
    #[error("example {index} (counting from 0) has empty text and no structured input")]
    EmptyText { index: usize },
}

/// The smallest training set we accept; below it no held-out estimate means anything.
pub(crate) const MIN_EXAMPLES: usize = 4;
/// Candidate inverse regularisation strengths: `lambda = 1 / (C * n)`. Spaced by 3x
/// around the value that suits short texts with unit-norm TF-IDF vectors.
const C_GRID: [f64; 3] = [20.0, 60.0, 180.0];
/// First SGD step size; inputs have unit norm, so this is a scale-free choice.
const ETA0: f64 = 12.0;
/// Share of the centred weights kept in the compact model (see [`Compact`]).
const KEEP_WEIGHTS: f64 = 0.05;
/// Share of the class-centroid entries kept: the small ones barely move a cosine.
const KEEP_CENTROIDS: f64 = 0.02;
/// Default candidate weights of the word vectors (see [`TrainOptions`]).
/// 0.7 puts the dense block a little under the n-grams' unit norm; larger weights let the
/// 128 dense features, present in every input, dominate the SGD steps (CLINC150's first
/// training fold: 0.5 / 0.7 / 1 / 2 / 4 gave 0.961 / 0.963 / 0.961 / 0.957 / 0.910).
const WORD_VECTOR_WEIGHTS: [f32; 2] = [0.0, 0.7];
/// Held-out rows used to fit the temperature.
const TEMPERATURE_ROWS: usize = 3000;

/// One held-out row's scores, gathered across folds.
struct HeldRow {
    logits: Vec<f32>,
    sims: Vec<f32>,
    x: SparseVec,
    label: u32,
    kind: Held,
}

impl TextClassifier {
    /// Train on labelled examples.
    pub fn train(examples: &[Example], opts: &TrainOptions) -> Result<Self, TrainError> {
        Self::train_scored(examples, opts).map(|(model, _)| model)
    }

    /// Train, and also return the cross-fitted held-out answers as the evidence for a
    /// route threshold (see [`crate::evidence`]): one per held-out in-scope example, plus
    /// out-of-scope ones to the share `oos_prior` states; each with its confidence as the
    /// router would give it (0 when it would be called out of scope, which is never
    /// accepted) and whether routing it would have been right (never, when out of scope). The confidences come from
    /// cross-fitted scores; the two small signal models were fitted on these same rows,
    /// which a few parameters barely bias.
    pub fn train_scored(
        examples: &[Example],
        opts: &TrainOptions,
    ) -> Result<(Self, Vec<Scored>), TrainError> {
        if examples.len() < MIN_EXAMPLES {
            return Err(TrainError::TooFewExamples {
                got: examples.len(),
                need: MIN_EXAMPLES,
            });
        }
        let grams: Vec<Grams> = examples
            .iter()
            .map(|e| {
                let mut g = ngrams(&e.text);
                Vocab::merge(&mut g, as_block(&field_grams(&opts.inputs, &e.fields)));
                g
            })
            .collect();
        if let Some(index) =
            (0..examples.len()).position(|i| examples[i].text.trim().is_empty() && grams[i].list.is_empty())
        {
            return Err(TrainError::EmptyText { index });
        }
        let mut index: BTreeMap<&str, u32> = BTreeMap::new();
        for e in examples {
            index.insert(e.label.as_str(), 0);
        }
        for (i, v) in index.values_mut().enumerate() {
            *v = i as u32;
        }
        let labels: Vec<String> = index.keys().map(|s| s.to_string()).collect();
        let oos_class = opts.oos_label.as_deref().and_then(|l| index.get(l).copied());
        let routes = labels.len() - usize::from(oos_class.is_some());
        match routes {
            0 => {
                let oos_label = opts.oos_label.clone().unwrap_or_default();
                return Err(TrainError::OnlyOutOfScope { oos_label });
            }
            1 => {
                let label = labels.iter().find(|l| Some(index[l.as_str()]) != oos_class);
                return Err(TrainError::OneLabel {
                    label: label.cloned().unwrap_or_default(),
                });
            }
            _ => {}
        }
        let ys: Vec<u32> = examples.iter().map(|e| index[e.label.as_str()]).collect();
        let classes = labels.len();
        let mut rng = Rng::new(opts.seed);
        let folds = plan(&ys, classes, oos_class, opts.folds, &mut rng);

        // Static word vectors of every text, once: they do not depend on the fold.
        let wv = wordvec::table();
        let embs: Vec<Vec<f32>> = examples.iter().map(|e| wv.sentence(&e.text)).collect();
        let attach = |mut x: SparseVec, i: usize, s: f32| {
            if s > 0.0 {
                x.dense = embs[i].iter().map(|v| v * s).collect();
            }
            x
        };

        // Cross-fitting. The first fold also picks C and the dense block's weight; later
        // folds reuse them.
        let mut held_rows: Vec<HeldRow> = Vec::new();
        let mut c_scores: Vec<(f64, f64)> = Vec::new();
        let mut scale_scores: Vec<(f32, f64)> = Vec::new();
        let mut best_c = C_GRID[1];
        let mut dense_grid = opts.word_vector_weights.clone();
        dense_grid.retain(|s| s.is_finite() && *s >= 0.0);
        if dense_grid.is_empty() {
            dense_grid.push(0.0);
        }
        let mut best_s = *dense_grid.last().unwrap_or(&0.0);
        for (f, fold) in folds.iter().enumerate() {
            if fold.train.is_empty() || fold.held.is_empty() {
                continue;
            }
            let vocab = Vocab::fit(fold.train.iter().map(|&i| &grams[i]));
            let base: Vec<SparseVec> = fold.train.iter().map(|&i| vocab.vectorize(&grams[i])).collect();
            let held_base: Vec<SparseVec> = fold
                .held
                .iter()
                .map(|&(i, _)| vocab.vectorize(&grams[i]))
                .collect();
            let ty: Vec<u32> = fold.train.iter().map(|&i| ys[i]).collect();
            let with = |s: f32| -> (Vec<SparseVec>, Vec<SparseVec>) {
                (
                    base.iter()
                        .zip(&fold.train)
                        .map(|(x, &i)| attach(x.clone(), i, s))
                        .collect(),
                    held_base
                        .iter()
                        .zip(&fold.held)
                        .map(|(x, &(i, _))| attach(x.clone(), i, s))
                        .collect(),
                )
            };
            let fit = |xs: &[SparseVec], c: f64, rng: &mut Rng| {
                let lambda = 1.0 / (c * xs.len() as f64);
                let params = SgdParams {
                    lambda,
                    epochs: opts.epochs.max(1),
                    eta0: ETA0,
                };
                Scorer::from_linear(
                    &Linear::train(xs, &ty, vocab.len(), classes, params, rng),
                    KEEP_WEIGHTS,
                )
            };
            let (xs, held_x, model) = if f == 0 && !fold.held.iter().all(|h| h.1 != Held::InScope) {
                let mut best: Option<(f64, Scorer, Vec<SparseVec>, Vec<SparseVec>)> = None;
                for &s in &dense_grid {
                    let (xs, hx) = with(s);
                    let mut best_here: Option<(f64, f64, Scorer)> = None;
                    let mut here = Vec::new();
                    for &c in &C_GRID {
                        let m = fit(&xs, c, &mut rng);
                        let acc = in_scope_accuracy(&m, &hx, fold, &ys, oos_class);
                        here.push((c, acc));
                        // Ties go to the stronger regularisation (the earlier, smaller C).
                        if best_here.as_ref().is_none_or(|(a, _, _)| acc > *a) {
                            best_here = Some((acc, c, m));
                        }
                    }
                    let Some((acc, c, m)) = best_here else { continue };
                    scale_scores.push((s, acc));
                    // Ties go to the earlier (smaller) dense weight: no block unless it helps.
                    if best.as_ref().is_none_or(|(a, ..)| acc > *a) {
                        best_c = c;
                        best_s = s;
                        c_scores = here;
                        best = Some((acc, m, xs, hx));
                    }
                }
                match best {
                    Some((_, m, xs, hx)) => (xs, hx, m),
                    None => {
                        let (xs, hx) = with(best_s);
                        let m = fit(&xs, best_c, &mut rng);
                        (xs, hx, m)
                    }
                }
            } else {
                let (xs, hx) = with(best_s);
                let m = fit(&xs, best_c, &mut rng);
                (xs, hx, m)
            };
            let (cents, dense_cents) = Compact::centroids(&xs, &ty, vocab.len(), classes, KEEP_CENTROIDS);
            for (x, &(i, kind)) in held_x.into_iter().zip(&fold.held) {
                let mut logits = vec![0.0f32; classes];
                model.logits_into(&x, &mut logits);
                let mut sims = vec![0.0f32; classes];
                cents.logits_into(&x, &mut sims);
                dense_cents.add_into(&x.dense, &mut sims);
                held_rows.push(HeldRow {
                    logits,
                    sims,
                    x,
                    label: ys[i],
                    kind,
                });
            }
        }

        // Temperature on the in-scope held-out rows, then the two signal models.
        // One scalar needs no more than a few thousand rows; an even stride keeps every
        // fold's rows in the sample and the search cheap.
        let in_scope: Vec<&HeldRow> = held_rows.iter().filter(|r| r.kind == Held::InScope).collect();
        let stride = in_scope.len().div_ceil(TEMPERATURE_ROWS).max(1);
        let (t_logits, t_labels): (Vec<Vec<f64>>, Vec<usize>) = in_scope
            .iter()
            .step_by(stride)
            .map(|r| (r.logits.iter().map(|&v| f64::from(v)).collect(), r.label as usize))
            .unzip();
        let temperature = fit_temperature(&t_logits, &t_labels);
        let oos_idx = oos_class.map(|c| c as usize);
        let rows: Vec<[f64; N_SIGNALS]> = held_rows
            .iter()
            .map(|r| signals(&r.logits, temperature, oos_idx, &r.x, &r.sims))
            .collect();
        // Correctness is learned on in-scope rows only and the out-of-scope probability on
        // all of them; confidence = P(right | in scope) * P(in scope). Keeping the two
        // apart lets the out-of-scope base rate be set to a stated prior instead of the
        // arbitrary share of pseudo out-of-scope rows that cross-fitting produced.
        let in_rows: Vec<[f64; N_SIGNALS]> = rows
            .iter()
            .zip(&held_rows)
            .filter(|(_, r)| r.kind == Held::InScope)
            .map(|(s, _)| *s)
            .collect();
        let right: Vec<bool> = held_rows
            .iter()
            .filter(|r| r.kind == Held::InScope)
            .map(|r| top_route(&r.logits, oos_idx) == r.label as usize)
            .collect();
        let is_oos: Vec<bool> = held_rows.iter().map(|r| r.kind != Held::InScope).collect();
        let correct = SignalModel::fit(&in_rows, &right, &vec![1.0; in_rows.len()]);
        let oos_share = is_oos.iter().filter(|&&o| o).count() as f64 / is_oos.len().max(1) as f64;
        let count = |k: Held| held_rows.iter().filter(|r| r.kind == k).count();
        let held_out = (count(Held::InScope), count(Held::PseudoOos), count(Held::RealOos));
        // Real out-of-scope examples are the best evidence of what out of scope looks like
        // where the router will run, but they are usually few next to the pseudo ones:
        // together they weigh as much as all the pseudo rows.
        let real_weight = if held_out.2 > 0 {
            (held_out.1 as f64 / held_out.2 as f64).max(1.0)
        } else {
            1.0
        };
        let weights: Vec<f64> = held_rows
            .iter()
            .map(|r| if r.kind == Held::RealOos { real_weight } else { 1.0 })
            .collect();
        let oos = SignalModel::fit(&rows, &is_oos, &weights).with_prior(oos_share, opts.oos_prior);
        let score = |sig: &[f64; N_SIGNALS], r: &HeldRow| {
            let oos_score = oos.probability(sig);
            let argmax = (0..r.logits.len()).max_by(|&a, &b| r.logits[a].total_cmp(&r.logits[b]));
            let called_oos = oos_score >= 0.5 || (oos_idx.is_some() && argmax == oos_idx);
            let confidence = if called_oos {
                0.0
            } else {
                correct.probability(sig) * (1.0 - oos_score)
            };
            let right = r.kind == Held::InScope && top_route(&r.logits, oos_idx) == r.label as usize;
            Scored::new(confidence, right)
        };
        let mut scored: Vec<Scored> = rows
            .iter()
            .zip(&held_rows)
            .filter(|(_, r)| r.kind == Held::InScope)
            .map(|(sig, r)| score(sig, r))
            .collect();
        // Precision depends on how much out-of-scope traffic there is, which the training
        // set does not show (CLINC150's train holds 0.7% `oos`, its test 18%): the evidence
        // holds out-of-scope rows, real ones first, then pseudo ones (classes the fold never
        // saw) at an even stride, to the stated production share `oos_prior`.
        let want = (opts.oos_prior / (1.0 - opts.oos_prior).max(1e-9) * scored.len() as f64).round() as usize;
        let pool: Vec<(&[f64; N_SIGNALS], &HeldRow)> = [Held::RealOos, Held::PseudoOos]
            .iter()
            .flat_map(|&kind| rows.iter().zip(&held_rows).filter(move |(_, r)| r.kind == kind))
            .collect();
        let real = held_out.2.min(want);
        scored.extend(pool[..real].iter().map(|&(sig, r)| score(sig, r)));
        let pseudo = &pool[held_out.2..];
        let stride = pseudo.len().div_ceil((want - real).max(1)).max(1);
        scored.extend(
            pseudo
                .iter()
                .step_by(stride)
                .take(want - real)
                .map(|&(sig, r)| score(sig, r)),
        );

        // The final model sees everything.
        let vocab = Vocab::fit(grams.iter());
        let xs: Vec<SparseVec> = grams
            .iter()
            .enumerate()
            .map(|(i, g)| attach(vocab.vectorize(g), i, best_s))
            .collect();
        let (centroids, dense_centroids) = Compact::centroids(&xs, &ys, vocab.len(), classes, KEEP_CENTROIDS);
        let lambda = 1.0 / (best_c * xs.len() as f64);
        let params = SgdParams {
            lambda,
            epochs: opts.epochs.max(1),
            eta0: ETA0,
        };
        let Scorer {
            sparse: linear,
            dense: dense_linear,
        } = Scorer::from_linear(
            &Linear::train(&xs, &ys, vocab.len(), classes, params, &mut rng),
            KEEP_WEIGHTS,
        );
        let dense = (best_s > 0.0).then_some(DenseHead {
            table: wv.id,
            scale: best_s,
            scale_scores,
            linear: dense_linear,
            centroids: dense_centroids,
        });
        let summary = TrainSummary {
            examples: examples.len(),
            routes,
            oos_examples: oos_class.map_or(0, |c| ys.iter().filter(|&&y| y == c).count()),
            c: best_c,
            c_scores,
            temperature,
            held_out,
            features: vocab.len(),
            weights: linear.entries(),
        };
        let model = Self {
            labels,
            oos_class,
            vocab,
            linear,
            centroids,
            temperature,
            correct,
            oos,
            summary,
            dense,
            inputs: opts.inputs.clone(),
        };
        Ok((model, scored))
    }
}

fn in_scope_accuracy(
    m: &Scorer,
    held_x: &[SparseVec],
    fold: &super::folds::Fold,
    ys: &[u32],
    oos: Option<u32>,
) -> f64 {
    let mut logits = vec![0.0f32; m.sparse.classes];
    let (mut right, mut n) = (0usize, 0usize);
    for (x, &(i, kind)) in held_x.iter().zip(&fold.held) {
        if kind != Held::InScope {
            continue;
        }
        m.logits_into(x, &mut logits);
        n += 1;
        right += usize::from(top_route(&logits, oos.map(|c| c as usize)) == ys[i] as usize);
    }
    right as f64 / n.max(1) as f64
}

#[cfg(test)]
mod small_data_tests {
    //! A router trained from a handful of examples (a new automation's inline examples, or
    //! a first retrain) must still train: folds with no held-out rows of a class, a class
    //! with one example, fewer examples than folds.

    use super::*;

    fn ex(text: &str, label: &str) -> Example {
        Example::new(text, label)
    }

    fn sets() -> Vec<Vec<Example>> {
        vec![
            vec![
                ex("reset my password please", "it"),
                ex("my laptop will not start", "it"),
                ex("where is my refund", "billing"),
                ex("charge on my invoice is wrong", "billing"),
            ],
            vec![
                ex("reset my password", "it"),
                ex("refund for my order", "billing"),
                ex("book a meeting room", "facilities"),
                ex("the heating is broken", "facilities"),
                ex("what is the meaning of life", "oos"),
            ],
            vec![
                ex("reset my password", "it"),
                ex("refund for my order", "billing"),
                ex("book a meeting room", "facilities"),
                ex("new starter laptop", "hr"),
                ex("holiday allowance left", "hr_leave"),
            ],
        ]
    }

    #[test]
    fn tiny_training_sets_train_and_give_probabilities() {
        for (s, set) in sets().iter().enumerate() {
            for seed in 0..6 {
                let opts = TrainOptions {
                    seed,
                    ..TrainOptions::default()
                };
                let model =
                    TextClassifier::train(set, &opts).unwrap_or_else(|e| panic!("set {s}, seed {seed}: {e}"));
                for e in set {
                    let p = model.predict(&e.text);
                    assert!(!p.ranked.is_empty(), "set {s}, seed {seed}");
                    assert!(
                        p.confidence.is_finite() && (0.0..=1.0).contains(&p.confidence),
                        "set {s}, seed {seed}: {p:?}"
                    );
                    assert!(
                        p.ranked
                            .iter()
                            .all(|r| r.1.is_finite() && (0.0..=1.0).contains(&r.1))
                    );
                    assert_ne!(p.ranked[0].0, "oos", "the out-of-scope label is never a route");
                }
            }
        }
    }

    #[test]
    fn held_out_answers_hold_out_of_scope_at_the_stated_share() {
        let set = crate::classifier::model::tests::synthetic(40, 20, 7);
        let (model, scored) = TextClassifier::train_scored(&set, &TrainOptions::default()).unwrap();
        let (in_scope, pseudo, real) = model.summary().held_out;
        assert!(real == 20 && pseudo > 0, "{:?}", model.summary().held_out);
        // The stated prior is 0.1: out-of-scope rows are a tenth of the evidence, so
        // in_scope / 9 of them, all never right.
        let want = (in_scope as f64 / 9.0).round() as usize;
        assert_eq!(scored.len(), in_scope + want.min(real + pseudo));
        let wrong_oos = scored[in_scope..].iter().filter(|s| !s.correct).count();
        assert_eq!(wrong_oos, scored.len() - in_scope);
    }

    #[test]
    fn a_tiny_router_still_prefers_the_right_route() {
        let set = &sets()[0];
        let model = TextClassifier::train(set, &TrainOptions::default()).unwrap();
        assert_eq!(model.predict("please reset the password").ranked[0].0, "it");
        assert_eq!(
            model.predict("wrong charge on the invoice").ranked[0].0,
            "billing"
        );
    }
}

#[cfg(test)]
mod word_vector_tests {
    use super::*;
    use crate::classifier::{ExampleFormat, parse_examples};

    /// The bundled CLINC150 sample (ten domains and out-of-scope requests).
    fn sample() -> Vec<Example> {
        let text = include_str!("../../../../examples/data/customer-requests.train.jsonl");
        parse_examples(text, ExampleFormat::Jsonl).unwrap()
    }

    fn accuracy(model: &TextClassifier, test: &[Example]) -> f64 {
        let right = test
            .iter()
            .filter(|e| model.predict(&e.text).ranked[0].0 == e.label)
            .count();
        right as f64 / test.len() as f64
    }

    #[test]
    fn word_vectors_beat_ngrams_alone_on_held_out_requests() {
        // An eighth of each domain's requests to train on, the rest held out: few examples
        // per route, where knowing what words mean matters most.
        let (mut train, mut test) = (Vec::new(), Vec::new());
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for e in sample() {
            let n = seen.entry(e.label.clone()).or_default();
            *n += 1;
            if n.is_multiple_of(8) {
                train.push(e);
            } else if e.label != "oos" {
                test.push(e);
            }
        }
        let with = |w: &[f32]| TrainOptions {
            word_vector_weights: w.to_vec(),
            ..TrainOptions::default()
        };
        let ngrams = TextClassifier::train(&train, &with(&[0.0])).unwrap();
        let fused = TextClassifier::train(&train, &with(&[0.7])).unwrap();
        assert_eq!(ngrams.word_vectors().0, 0.0);
        assert_eq!(fused.word_vectors().0, 0.7);
        let (a, b) = (accuracy(&ngrams, &test), accuracy(&fused, &test));
        assert!(b > a + 0.02, "n-grams alone {a:.3}, with word vectors {b:.3}");
        // The default lets the held-out rows choose, and they choose the word vectors here.
        let chosen = TextClassifier::train(&train, &TrainOptions::default()).unwrap();
        assert_eq!(chosen.word_vectors().0, 0.7, "{:?}", chosen.word_vectors().1);
        // Saved and reloaded, the word-vector block comes back bit for bit.
        let back = TextClassifier::from_bytes(&fused.to_bytes()).unwrap();
        assert_eq!(back, fused);
    }
}
