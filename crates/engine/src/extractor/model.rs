//! The scoring model: a linear function of hashed features, trained by AdaGrad.
//!
//! Two losses. A single-valued field uses a *listwise* (softmax) loss over a document's
//! candidates: the model only has to rank the right span above the others in the same
//! document, which is what choosing a value needs, and the softmax mass of the chosen value
//! is a natural raw confidence. A multi-valued field uses a *pointwise* logistic loss, so
//! every candidate gets its own probability and several can clear the cut.
//!
//! AdaGrad rather than plain SGD because it needs no learning-rate schedule: frequent
//! features (the bias, "first line") settle while rare ones (a shop's name) still move, on
//! any dataset. The number of epochs is the regulariser, chosen by validation in training.

use super::features::FeatureMatrix;

/// A weight per hash bucket.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Linear {
    pub bits: u8,
    pub weights: Vec<f32>,
}

impl Linear {
    pub fn new(bits: u8) -> Self {
        Self {
            bits,
            weights: vec![0.0; 1 << bits],
        }
    }

    pub fn score(&self, row: &[u32]) -> f32 {
        row.iter().map(|&i| self.weights[i as usize]).sum()
    }

    pub fn scores(&self, fm: &FeatureMatrix) -> Vec<f32> {
        (0..fm.len()).map(|i| self.score(fm.row(i))).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loss {
    Listwise,
    Pointwise,
}

/// One training document: its candidates' features and which candidates are right.
#[derive(Debug)]
pub(crate) struct TrainDoc<'a> {
    pub feats: &'a FeatureMatrix,
    pub positive: &'a [bool],
}

/// Updates smaller than this are skipped: after the first epochs most candidates of a
/// document are confidently wrong, and touching their features would be most of the cost.
const MIN_GRADIENT: f64 = 1e-4;

#[derive(Debug, Clone)]
pub(crate) struct Trainer {
    model: Linear,
    sum_sq: Vec<f32>,
    rate: f32,
    loss: Loss,
    rng: SplitMix,
}

impl Trainer {
    pub fn new(bits: u8, loss: Loss, seed: u64) -> Self {
        Self {
            model: Linear::new(bits),
            sum_sq: vec![0.0; 1 << bits],
            rate: 0.2,
            loss,
            rng: SplitMix(seed),
        }
    }

    /// A smaller step suits few examples with many features each (the verifier).
    pub fn with_rate(mut self, rate: f32) -> Self {
        self.rate = rate;
        self
    }

    pub fn model(&self) -> &Linear {
        &self.model
    }

    /// One pass over `docs` in a fresh seeded order.
    pub fn epoch(&mut self, docs: &[TrainDoc]) {
        self.epoch_with_offsets(docs, &[]);
    }

    /// [`Trainer::epoch`] where document `d`'s scores start from `offsets[d]` (0 when
    /// absent): the model learns a correction to a score it is given.
    pub fn epoch_with_offsets(&mut self, docs: &[TrainDoc], offsets: &[f32]) {
        let mut order: Vec<usize> = (0..docs.len()).collect();
        self.rng.shuffle(&mut order);
        let mut grads = Vec::new();
        for &d in &order {
            let doc = &docs[d];
            if doc.feats.len() == 0 {
                continue;
            }
            let offset = offsets.get(d).copied().unwrap_or(0.0);
            let scores: Vec<f32> = self.model.scores(doc.feats).iter().map(|s| s + offset).collect();
            grads.clear();
            match self.loss {
                Loss::Listwise => {
                    if !doc.positive.iter().any(|&p| p) {
                        continue;
                    }
                    // d(-log sum_pos p)/ds_i = p_i - [i positive] p_i / P(positive).
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
                    let exp: Vec<f64> = scores.iter().map(|&s| (s as f64 - max).exp()).collect();
                    let z: f64 = exp.iter().sum();
                    let z_pos: f64 = exp.iter().zip(doc.positive).filter(|p| *p.1).map(|p| p.0).sum();
                    for (i, e) in exp.iter().enumerate() {
                        let p = e / z;
                        let q = if doc.positive[i] { e / z_pos } else { 0.0 };
                        grads.push(p - q);
                    }
                }
                Loss::Pointwise => {
                    for (i, &s) in scores.iter().enumerate() {
                        let p = 1.0 / (1.0 + (-(s as f64)).exp());
                        grads.push(p - if doc.positive[i] { 1.0 } else { 0.0 });
                    }
                }
            }
            for (i, &g) in grads.iter().enumerate() {
                if g.abs() < MIN_GRADIENT {
                    continue;
                }
                let g = g as f32;
                for &f in doc.feats.row(i) {
                    let f = f as usize;
                    self.sum_sq[f] += g * g;
                    self.model.weights[f] -= self.rate * g / (self.sum_sq[f].sqrt() + 1e-6);
                }
            }
        }
    }
}

/// SplitMix64: a seeded generator for shuffles; the engine has no other randomness.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: &[&[u32]]) -> FeatureMatrix {
        let mut fm = FeatureMatrix {
            idx: Vec::new(),
            offsets: vec![0],
        };
        for r in rows {
            fm.idx.extend_from_slice(r);
            fm.offsets.push(fm.idx.len() as u32);
        }
        fm
    }

    #[test]
    fn listwise_learns_to_rank_the_marked_feature_first() {
        // Feature 7 marks the right candidate; 1 is noise present everywhere.
        let a = matrix(&[&[1, 2], &[1, 7], &[1, 3]]);
        let b = matrix(&[&[1, 7, 4], &[1, 4], &[1, 2]]);
        let pa = [false, true, false];
        let pb = [true, false, false];
        let docs = [
            TrainDoc {
                feats: &a,
                positive: &pa,
            },
            TrainDoc {
                feats: &b,
                positive: &pb,
            },
        ];
        let mut t = Trainer::new(4, Loss::Listwise, 1);
        for _ in 0..20 {
            t.epoch(&docs);
        }
        let s = t.model().scores(&a);
        assert!(s[1] > s[0] && s[1] > s[2], "{s:?}");
    }

    #[test]
    fn pointwise_gives_each_candidate_its_own_probability() {
        let a = matrix(&[&[1, 7], &[1, 7, 5], &[1, 3]]);
        let pa = [true, true, false];
        let docs = [TrainDoc {
            feats: &a,
            positive: &pa,
        }];
        let mut t = Trainer::new(4, Loss::Pointwise, 1);
        for _ in 0..50 {
            t.epoch(&docs);
        }
        let s = t.model().scores(&a);
        assert!(s[0] > 0.0 && s[1] > 0.0 && s[2] < 0.0, "{s:?}");
    }
}
