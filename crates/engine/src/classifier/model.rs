//! [`TextClassifier`]: training (cross-fitted calibration, hyperparameters chosen on
//! held-out folds, then one refit on everything) and prediction.
//!
//! Training never looks outside the examples it is given: the regularisation strength is
//! picked on the first fold's held-out rows, the temperature and both signal models on the
//! held-out rows of every fold, and nothing is tuned by hand for a data set.

use super::confidence::{N_SIGNALS, SignalModel, signals};
use super::features::{Grams, SparseVec, Vocab, ngrams};
use super::folds::{Held, plan};
use super::io::Example;
use super::linear::{Compact, Linear, SgdParams, softmax_in_place};
use super::rng::Rng;
use crate::calibration::fit_temperature;
use serde::{Deserialize, Serialize};
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
    /// out-of-scope probability (and so the confidence); it does not change the ranking
    /// of inputs by confidence, so thresholds chosen on validation data are unaffected.
    pub oos_prior: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            oos_label: Some("oos".to_string()),
            seed: 42,
            folds: 4,
            epochs: 5,
            oos_prior: 0.1,
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
    #[error("example {index} has empty text")]
    EmptyText { index: usize },
}

/// The smallest training set we accept; below it no held-out estimate means anything.
const MIN_EXAMPLES: usize = 4;
/// Candidate inverse regularisation strengths: `lambda = 1 / (C * n)`. Spaced by 3x
/// around the value that suits short texts with unit-norm TF-IDF vectors.
const C_GRID: [f64; 3] = [20.0, 60.0, 180.0];
/// First SGD step size; inputs have unit norm, so this is a scale-free choice.
const ETA0: f64 = 12.0;
/// Share of the centred weights kept in the compact model (see [`Compact`]).
const KEEP_WEIGHTS: f64 = 0.05;
/// Share of the class-centroid entries kept: the small ones barely move a cosine.
const KEEP_CENTROIDS: f64 = 0.02;
/// How many routes a prediction lists.
const TOP_ROUTES: usize = 5;

/// One routing decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The best routes, best first (up to five), with calibrated probabilities;
    /// `ranked[0].1 == confidence`.
    pub ranked: Vec<(String, f64)>,
    /// Calibrated probability that routing to `ranked[0]` is right, which includes the
    /// input being in scope at all.
    pub confidence: f64,
    /// True when the input looks unlike anything the router was trained on (or the
    /// out-of-scope label scored highest): it belongs in the review inbox.
    pub out_of_scope: bool,
    /// Calibrated probability that the input is out of scope.
    pub oos_score: f64,
}

/// What training chose and measured on its own held-out rows, for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub examples: usize,
    pub routes: usize,
    pub oos_examples: usize,
    /// Inverse regularisation strength picked on the first fold.
    pub c: f64,
    /// In-scope accuracy of each candidate `c` on the first fold's held-out rows.
    pub c_scores: Vec<(f64, f64)>,
    /// Temperature fitted on all held-out rows.
    pub temperature: f64,
    /// Held-out rows behind the calibration: in scope, pseudo out-of-scope, real oos.
    pub held_out: (usize, usize, usize),
    pub features: usize,
    pub weights: usize,
}

/// A trained router. Build with [`TextClassifier::train`], persist with
/// [`TextClassifier::to_bytes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextClassifier {
    pub(crate) labels: Vec<String>,
    pub(crate) oos_class: Option<u32>,
    pub(crate) vocab: Vocab,
    pub(crate) linear: Compact,
    pub(crate) centroids: Compact,
    pub(crate) temperature: f64,
    pub(crate) correct: SignalModel,
    pub(crate) oos: SignalModel,
    pub(crate) summary: TrainSummary,
}

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
        if examples.len() < MIN_EXAMPLES {
            return Err(TrainError::TooFewExamples {
                got: examples.len(),
                need: MIN_EXAMPLES,
            });
        }
        if let Some(index) = examples.iter().position(|e| e.text.trim().is_empty()) {
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
        let grams: Vec<Grams> = examples.iter().map(|e| ngrams(&e.text)).collect();
        let classes = labels.len();
        let mut rng = Rng::new(opts.seed);
        let folds = plan(&ys, classes, oos_class, opts.folds, &mut rng);

        // Cross-fitting. The first fold also picks C; later folds reuse it.
        let mut held_rows: Vec<HeldRow> = Vec::new();
        let mut c_scores: Vec<(f64, f64)> = Vec::new();
        let mut best_c = C_GRID[1];
        for (f, fold) in folds.iter().enumerate() {
            if fold.train.is_empty() || fold.held.is_empty() {
                continue;
            }
            let vocab = Vocab::fit(fold.train.iter().map(|&i| &grams[i]));
            let xs: Vec<SparseVec> = fold.train.iter().map(|&i| vocab.vectorize(&grams[i])).collect();
            let ty: Vec<u32> = fold.train.iter().map(|&i| ys[i]).collect();
            let held_x: Vec<SparseVec> = fold
                .held
                .iter()
                .map(|&(i, _)| vocab.vectorize(&grams[i]))
                .collect();
            let fit = |c: f64, rng: &mut Rng| {
                let lambda = 1.0 / (c * xs.len() as f64);
                let params = SgdParams {
                    lambda,
                    epochs: opts.epochs,
                    eta0: ETA0,
                };
                Compact::from_linear(
                    &Linear::train(&xs, &ty, vocab.len(), classes, params, rng),
                    KEEP_WEIGHTS,
                )
            };
            let model = if f == 0 && !fold.held.iter().all(|h| h.1 != Held::InScope) {
                let mut best: Option<(f64, Compact)> = None;
                for &c in &C_GRID {
                    let m = fit(c, &mut rng);
                    let acc = in_scope_accuracy(&m, &held_x, fold, &ys, oos_class);
                    c_scores.push((c, acc));
                    // Ties go to the stronger regularisation (the earlier, smaller C).
                    if best.as_ref().is_none_or(|(a, _)| acc > *a) {
                        best_c = c;
                        best = Some((acc, m));
                    }
                }
                best.map(|b| b.1).unwrap_or_else(|| fit(best_c, &mut rng))
            } else {
                fit(best_c, &mut rng)
            };
            let cents = Compact::centroids(&xs, &ty, vocab.len(), classes, KEEP_CENTROIDS);
            for (x, &(i, kind)) in held_x.into_iter().zip(&fold.held) {
                let mut logits = vec![0.0f32; classes];
                model.logits_into(&x, &mut logits);
                let mut sims = vec![0.0f32; classes];
                cents.logits_into(&x, &mut sims);
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
        let oos =
            SignalModel::fit(&rows, &is_oos, &vec![1.0; rows.len()]).with_prior(oos_share, opts.oos_prior);
        let count = |k: Held| held_rows.iter().filter(|r| r.kind == k).count();
        let held_out = (count(Held::InScope), count(Held::PseudoOos), count(Held::RealOos));

        // The final model sees everything.
        let vocab = Vocab::fit(grams.iter());
        let xs: Vec<SparseVec> = grams.iter().map(|g| vocab.vectorize(g)).collect();
        let centroids = Compact::centroids(&xs, &ys, vocab.len(), classes, KEEP_CENTROIDS);
        let lambda = 1.0 / (best_c * xs.len() as f64);
        let params = SgdParams {
            lambda,
            epochs: opts.epochs,
            eta0: ETA0,
        };
        let linear = Compact::from_linear(
            &Linear::train(&xs, &ys, vocab.len(), classes, params, &mut rng),
            KEEP_WEIGHTS,
        );
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
        Ok(Self {
            labels,
            oos_class,
            vocab,
            linear,
            centroids,
            temperature,
            correct,
            oos,
            summary,
        })
    }

    /// Route one text.
    pub fn predict(&self, text: &str) -> Prediction {
        let x = self.vocab.transform(text);
        let mut logits = vec![0.0f32; self.labels.len()];
        self.linear.logits_into(&x, &mut logits);
        let oos_idx = self.oos_class.map(|c| c as usize);
        let mut sims = vec![0.0f32; self.labels.len()];
        self.centroids.logits_into(&x, &mut sims);
        let sig = signals(&logits, self.temperature, oos_idx, &x, &sims);
        let oos_score = self.oos.probability(&sig);
        let confidence = self.correct.probability(&sig) * (1.0 - oos_score);
        let argmax = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b]));
        let out_of_scope = oos_score >= 0.5 || (oos_idx.is_some() && argmax == oos_idx);
        // Class probabilities at the fitted temperature, rescaled so the top route carries
        // the calibrated confidence and the rest keep their proportions.
        let t = self.temperature as f32;
        for v in logits.iter_mut() {
            *v /= t;
        }
        softmax_in_place(&mut logits);
        let mut order: Vec<usize> = (0..logits.len()).filter(|&k| Some(k) != oos_idx).collect();
        // Only the top few are listed: select them, then sort just those.
        let by_prob = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]).then(a.cmp(b));
        if order.len() > TOP_ROUTES {
            order.select_nth_unstable_by(TOP_ROUTES - 1, by_prob);
            order.truncate(TOP_ROUTES);
        }
        order.sort_by(by_prob);
        let top = f64::from(logits[order[0]]).max(1e-12);
        let rest: f64 = order[1..].iter().map(|&k| f64::from(logits[k])).sum::<f64>() * confidence / top;
        let squeeze = if confidence + rest > 1.0 && rest > 0.0 {
            (1.0 - confidence) / rest
        } else {
            1.0
        };
        let ranked = order
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let p = if i == 0 {
                    confidence
                } else {
                    f64::from(logits[k]) * confidence / top * squeeze
                };
                (self.labels[k].clone(), p)
            })
            .collect();
        Prediction {
            ranked,
            confidence,
            out_of_scope,
            oos_score,
        }
    }

    /// Route many texts (one thread; the caller may split the batch across threads).
    pub fn predict_batch<S: AsRef<str>>(&self, texts: &[S]) -> Vec<Prediction> {
        texts.iter().map(|t| self.predict(t.as_ref())).collect()
    }

    /// Structural checks for a loaded model (see `artifact`).
    pub(crate) fn validate(&self) -> Result<(), String> {
        let v = &self.vocab;
        if self.labels.len() < 2 || self.linear.classes != self.labels.len() {
            return Err("label list does not match the weights".into());
        }
        if self.oos_class.is_some_and(|c| c as usize >= self.labels.len()) {
            return Err("out-of-scope class out of range".into());
        }
        if v.idf.len() != v.len() || v.is_char.len() != v.len() {
            return Err("vocabulary tables differ in length".into());
        }
        self.correct.validate()?;
        self.oos.validate()?;
        self.centroids.validate(v.len())?;
        self.linear.validate(v.len())
    }

    /// Every label the router knows, the out-of-scope label included.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// What training chose and measured.
    pub fn summary(&self) -> &TrainSummary {
        &self.summary
    }
}

/// Held-out rows used to fit the temperature.
const TEMPERATURE_ROWS: usize = 3000;

/// Index of the best route (the out-of-scope class excluded).
fn top_route(logits: &[f32], oos: Option<usize>) -> usize {
    (0..logits.len())
        .filter(|&k| Some(k) != oos)
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

fn in_scope_accuracy(
    m: &Compact,
    held_x: &[SparseVec],
    fold: &super::folds::Fold,
    ys: &[u32],
    oos: Option<u32>,
) -> f64 {
    let mut logits = vec![0.0f32; m.classes];
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
pub(crate) mod tests {
    use super::*;

    /// A small routing set built from templates: `per` examples for each of six intents,
    /// plus `oos` out-of-scope ones when asked. Seeded, so every test sees the same data.
    pub(crate) fn synthetic(per: usize, oos: usize, seed: u64) -> Vec<Example> {
        let intents: [(&str, &[&str], &[&str]); 6] = [
            (
                "billing",
                &["invoice", "bill", "charge", "payment"],
                &["wrong", "late", "double", "missing"],
            ),
            (
                "shipping",
                &["parcel", "package", "delivery", "shipment"],
                &["lost", "late", "damaged", "stuck"],
            ),
            (
                "login",
                &["password", "account", "login", "username"],
                &["locked", "forgotten", "reset", "blocked"],
            ),
            (
                "sales",
                &["quote", "pricing", "demo", "plan"],
                &["enterprise", "team", "annual", "new"],
            ),
            (
                "refund",
                &["refund", "money", "return", "reimbursement"],
                &["owed", "pending", "full", "partial"],
            ),
            (
                "careers",
                &["job", "position", "role", "internship"],
                &["open", "remote", "engineering", "summer"],
            ),
        ];
        let frames = [
            "my {a} is {b}",
            "i have a {b} {a}",
            "help with {b} {a} please",
            "{a} {b} question",
            "why is the {a} {b}",
        ];
        let mut rng = Rng::new(seed);
        let mut out = Vec::new();
        for (label, nouns, adjs) in intents {
            for _ in 0..per {
                let f = frames[rng.below(frames.len())];
                let text = f
                    .replace("{a}", nouns[rng.below(nouns.len())])
                    .replace("{b}", adjs[rng.below(adjs.len())]);
                out.push(Example {
                    text,
                    label: label.to_string(),
                });
            }
        }
        let chatter = [
            "what a lovely sunset",
            "tell me a joke about cats",
            "who won the football match",
            "recipe for banana bread",
            "how tall is mount everest",
        ];
        for i in 0..oos {
            out.push(Example {
                text: chatter[i % chatter.len()].to_string(),
                label: "oos".to_string(),
            });
        }
        out
    }

    #[test]
    fn routes_held_out_text_and_reloads_bit_identically() {
        let train = synthetic(40, 0, 1);
        let model = TextClassifier::train(&train, &TrainOptions::default()).unwrap();
        let test = synthetic(10, 0, 2);
        let preds = model.predict_batch(&test.iter().map(|e| e.text.as_str()).collect::<Vec<_>>());
        let right = preds
            .iter()
            .zip(&test)
            .filter(|(p, e)| p.ranked[0].0 == e.label)
            .count();
        assert!(right as f64 / test.len() as f64 > 0.95, "{right}/{}", test.len());
        for p in &preds {
            assert!(p.ranked.len() >= 3 && p.ranked[0].1 == p.confidence);
            assert!(p.ranked.windows(2).all(|w| w[0].1 >= w[1].1));
            assert!(p.ranked.iter().map(|r| r.1).sum::<f64>() <= 1.0 + 1e-9);
        }
        let bytes = model.to_bytes();
        let loaded = TextClassifier::from_bytes(&bytes).unwrap();
        assert_eq!(loaded, model);
        for e in &test {
            let (a, b) = (model.predict(&e.text), loaded.predict(&e.text));
            assert_eq!(a.confidence.to_bits(), b.confidence.to_bits());
            assert_eq!(a, b);
        }
        // Same data and seed, same model: training is deterministic.
        assert_eq!(
            TextClassifier::train(&train, &TrainOptions::default())
                .unwrap()
                .to_bytes(),
            bytes
        );
    }

    #[test]
    fn gibberish_is_out_of_scope_without_any_oos_examples() {
        let model = TextClassifier::train(&synthetic(40, 0, 3), &TrainOptions::default()).unwrap();
        assert_eq!(model.summary().oos_examples, 0);
        for text in ["qzxv wpfjk trrlm", "zzzz yyyy", "xkcd blorp snarf gleep"] {
            let p = model.predict(text);
            assert!(p.out_of_scope, "{text}: {p:?}");
            assert!(p.confidence < 0.5, "{text}: {p:?}");
        }
        let p = model.predict("my invoice is wrong");
        assert!(
            !p.out_of_scope && p.ranked[0].0 == "billing" && p.confidence > 0.8,
            "{p:?}"
        );
    }

    #[test]
    fn oos_examples_are_learned_but_never_a_route() {
        let model = TextClassifier::train(&synthetic(40, 40, 4), &TrainOptions::default()).unwrap();
        let p = model.predict("tell me a joke about cats");
        assert!(p.out_of_scope, "{p:?}");
        assert!(p.ranked.iter().all(|r| r.0 != "oos"));
    }

    #[test]
    fn bad_training_sets_are_rejected_clearly() {
        let ex = |t: &str, l: &str| Example {
            text: t.into(),
            label: l.into(),
        };
        let opts = TrainOptions::default();
        assert_eq!(
            TextClassifier::train(&[ex("a", "x")], &opts).unwrap_err(),
            TrainError::TooFewExamples {
                got: 1,
                need: MIN_EXAMPLES
            }
        );
        let one = vec![ex("a", "x"), ex("b", "x"), ex("c", "x"), ex("d", "oos")];
        assert_eq!(
            TextClassifier::train(&one, &opts).unwrap_err(),
            TrainError::OneLabel { label: "x".into() }
        );
        let none = vec![ex("a", "oos"); 4];
        assert!(matches!(
            TextClassifier::train(&none, &opts),
            Err(TrainError::OnlyOutOfScope { .. })
        ));
        let empty = vec![ex("a", "x"), ex("b", "y"), ex(" ", "x"), ex("d", "y")];
        assert_eq!(
            TextClassifier::train(&empty, &opts).unwrap_err(),
            TrainError::EmptyText { index: 2 }
        );
    }

    #[test]
    fn corrupt_artifacts_are_rejected() {
        use super::super::LoadError;
        let model = TextClassifier::train(&synthetic(10, 0, 5), &TrainOptions::default()).unwrap();
        let bytes = model.to_bytes();
        assert_eq!(
            TextClassifier::from_bytes(b"hello"),
            Err(LoadError::NotAnArtifact)
        );
        let mut newer = bytes.clone();
        newer[8] = 99;
        assert!(matches!(
            TextClassifier::from_bytes(&newer),
            Err(LoadError::Version { found: 99, .. })
        ));
        assert!(matches!(
            TextClassifier::from_bytes(&bytes[..bytes.len() / 2]),
            Err(LoadError::Corrupt(_))
        ));
    }
}
