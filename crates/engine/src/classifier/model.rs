//! [`TextClassifier`]: the trained router and how it predicts. Training lives in
//! `train`; saving and loading in `artifact`.
//!
//! A prediction runs the n-gram vector through the linear model (which route) and the
//! class centroids (how typical the wording is), turns both into signals, and reads the
//! calibrated confidence and out-of-scope probability off the two signal models.

use super::confidence::{SignalModel, signals};
use super::explain::{Contribution, contributions};
use super::features::{Vocab, ngrams};
use super::inputs::{InputFeature, as_block, field_grams};
use super::linear::{Compact, DenseWeights, softmax_in_place};
use super::wordvec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// The inputs that weighed most towards the best route, in words (see `explain`).
    #[serde(default)]
    pub contributions: Vec<Contribution>,
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

/// The dense block of a router trained with the static word vectors: their weight against
/// the n-grams, and the weights and centroids of their dimensions. Stored after the rest of
/// the model (see `artifact`), so routers saved before it existed still load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DenseHead {
    /// Fingerprint of the word-vector table trained with (see `wordvec`).
    pub table: u64,
    /// The text's unit word vector is multiplied by this before scoring.
    pub scale: f32,
    /// In-scope accuracy on the first fold's held-out rows for each candidate scale.
    pub scale_scores: Vec<(f32, f64)>,
    pub linear: DenseWeights,
    pub centroids: DenseWeights,
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
    /// Present when training found the word vectors helped on held-out rows.
    #[serde(skip)]
    pub(crate) dense: Option<DenseHead>,
    /// The structured inputs read beside the text (see `inputs`); stored after the dense
    /// block (see `artifact`), empty for routers that read text only.
    #[serde(skip)]
    pub(crate) inputs: Vec<InputFeature>,
}

impl TextClassifier {
    /// Route one text.
    pub fn predict(&self, text: &str) -> Prediction {
        self.predict_inputs("text", text, &BTreeMap::new())
    }

    /// Route one item from its text (named `text_name` in explanations) and its
    /// structured inputs by name; inputs the router was not trained to read are ignored.
    pub fn predict_inputs(
        &self,
        text_name: &str,
        text: &str,
        values: &BTreeMap<String, String>,
    ) -> Prediction {
        let fields = field_grams(&self.inputs, values);
        let mut grams = ngrams(text);
        Vocab::merge(&mut grams, as_block(&fields));
        let mut x = self.vocab.vectorize(&grams);
        let mut logits = vec![0.0f32; self.labels.len()];
        self.linear.logits_into(&x, &mut logits);
        let oos_idx = self.oos_class.map(|c| c as usize);
        let mut sims = vec![0.0f32; self.labels.len()];
        self.centroids.logits_into(&x, &mut sims);
        if let Some(d) = &self.dense {
            x.dense = wordvec::table().sentence(text);
            for v in x.dense.iter_mut() {
                *v *= d.scale;
            }
            d.linear.add_into(&x.dense, &mut logits);
            d.centroids.add_into(&x.dense, &mut sims);
        }
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
        let contributions = contributions(&self.vocab, &self.linear, &x, order[0], text_name, text, &fields);
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
            contributions,
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
        self.linear.validate(v.len())?;
        if let Some(d) = &self.dense {
            if d.table != wordvec::table().id {
                return Err(
                    "trained with other word vectors than this build carries; retrain the model".into(),
                );
            }
            let dim = wordvec::table().dim();
            let fits = |w: &DenseWeights| w.classes == self.labels.len() && w.w.len() == dim * w.classes;
            if !fits(&d.linear) || !fits(&d.centroids) || !d.scale.is_finite() {
                return Err("word-vector weights do not match the labels".into());
            }
        }
        Ok(())
    }

    /// The weight training gave the static word vectors (0 when it left them out), and the
    /// held-out accuracy of each candidate weight.
    pub fn word_vectors(&self) -> (f32, Vec<(f32, f64)>) {
        self.dense
            .as_ref()
            .map_or((0.0, Vec::new()), |d| (d.scale, d.scale_scores.clone()))
    }

    /// The structured inputs the router reads beside the text.
    pub fn inputs(&self) -> &[InputFeature] {
        &self.inputs
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

/// Index of the best route (the out-of-scope class excluded).
pub(crate) fn top_route(logits: &[f32], oos: Option<usize>) -> usize {
    (0..logits.len())
        .filter(|&k| Some(k) != oos)
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::classifier::io::Example;
    use crate::classifier::rng::Rng;
    use crate::classifier::train::{MIN_EXAMPLES, TrainError, TrainOptions};

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
                out.push(Example::new(text, label));
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
            out.push(Example::new(chatter[i % chatter.len()], "oos"));
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
        for text in [
            "qzxv wpfjk trrlm",
            "zzzz yyyy",
            "xkcd blorp snarf gleep",
            "",
            "?!",
        ] {
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
    fn the_words_that_decided_a_route_are_named() {
        let model = TextClassifier::train(&synthetic(40, 0, 3), &TrainOptions::default()).unwrap();
        let p = model.predict_inputs("message", "my invoice is wrong", &BTreeMap::new());
        assert_eq!(p.ranked[0].0, "billing");
        let top: Vec<&str> = p.contributions.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(top[0], "message mentions \u{201c}invoice\u{201d}", "{top:?}");
        assert!(p.contributions.windows(2).all(|w| w[0].weight >= w[1].weight));
        assert!(p.contributions.iter().all(|c| c.weight > 0.0));
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
        let ex = |t: &str, l: &str| Example::new(t, l);
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
    fn routers_saved_before_word_vectors_still_load() {
        let opts = TrainOptions {
            word_vector_weights: vec![0.0],
            ..TrainOptions::default()
        };
        let model = TextClassifier::train(&synthetic(10, 0, 6), &opts).unwrap();
        assert!(model.dense.is_none());
        // Version 1 was the same body without the trailing word-vector block (here `None`,
        // one zero byte) and the structured inputs (here none, one zero byte).
        let mut v1 = model.to_bytes();
        assert_eq!(v1.pop(), Some(0));
        assert_eq!(v1.pop(), Some(0));
        v1[8..10].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(TextClassifier::from_bytes(&v1).unwrap(), model);
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
