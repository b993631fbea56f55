//! The linear model: multinomial logistic regression over the sparse TF-IDF vectors,
//! trained by stochastic gradient descent with L2 regularisation.
//!
//! Weights are stored row-major by feature (`w[row * classes + class]`), so scoring an
//! input adds one contiguous row per n-gram and the update touches the same rows: both are
//! straight loops the compiler vectorises. L2 decay is applied through one global scale
//! (`w = scale * v`, Bottou's trick), so each step costs only the input's rows instead of
//! the whole matrix. Softmax rather than one-vs-rest hinge: its scores are already on a
//! log-probability scale, which temperature scaling then only has to stretch.

use super::features::SparseVec;
use super::rng::Rng;
use serde::{Deserialize, Serialize};

/// A trained linear scorer: `logits = W x + b`. The rows of `w` are the `rows` sparse
/// features, then one row per entry of the inputs' dense block (if any).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Linear {
    pub classes: usize,
    pub rows: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// Training settings for one fit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SgdParams {
    /// L2 strength per example (the `alpha` of scikit-learn's SGDClassifier).
    pub lambda: f64,
    pub epochs: usize,
    /// First step size of the "optimal" schedule `eta0 / (1 + eta0 * lambda * t)`.
    pub eta0: f64,
}

impl Linear {
    /// Fit on `xs` with labels `ys` (class indices below `classes`), over `rows` sparse
    /// features and the inputs' dense block (every input's `dense` has the same length).
    pub(crate) fn train(
        xs: &[SparseVec],
        ys: &[u32],
        rows: usize,
        classes: usize,
        params: SgdParams,
        rng: &mut Rng,
    ) -> Self {
        let c = classes;
        let dense_len = xs.first().map_or(0, |x| x.dense.len());
        let mut v = vec![0.0f32; (rows + dense_len) * c];
        let mut b = vec![0.0f32; c];
        // Class priors as the starting bias: early steps then learn features, not counts.
        let mut counts = vec![1.0f64; c];
        for &y in ys {
            counts[y as usize] += 1.0;
        }
        let total: f64 = counts.iter().sum();
        for (bi, n) in b.iter_mut().zip(&counts) {
            *bi = (n / total).ln() as f32;
        }
        let lambda = params.lambda;
        // Learning rate eta_t = eta0 / (1 + eta0 * lambda * t): the "optimal" schedule for
        // strongly convex losses.
        let eta0 = params.eta0;
        let mut scale = 1.0f64;
        let mut t = 0.0f64;
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut scores = vec![0.0f32; c];
        let mut active: Vec<(usize, f32)> = Vec::with_capacity(c);
        for _ in 0..params.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let x = &xs[i];
                let eta = eta0 / (1.0 + eta0 * lambda * t);
                t += 1.0;
                // Forward with the current scale.
                scores.copy_from_slice(&b);
                forward(&v, c, x, scale as f32, &mut scores);
                dense_forward(&v[rows * c..], c, &x.dense, scale as f32, &mut scores);
                softmax_in_place(&mut scores);
                scores[ys[i] as usize] -= 1.0;
                // Decay everything through the scale, then step on the touched rows. Once
                // the model fits, most classes get a gradient of almost nothing; updating
                // only the classes that matter halves the cost, and what is skipped is
                // below the noise of one stochastic step.
                scale *= 1.0 - eta * lambda;
                let step = (eta / scale) as f32;
                active.clear();
                active.extend(
                    scores
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| g.abs() > GRAD_SKIP)
                        .map(|(k, g)| (k, *g)),
                );
                let dense = active.len() * 4 > c;
                let dense_rows = (rows..rows + x.dense.len()).map(|r| r as u32);
                for (row, &xv) in x
                    .idx
                    .iter()
                    .copied()
                    .chain(dense_rows)
                    .zip(x.val.iter().chain(&x.dense))
                {
                    let r = &mut v[row as usize * c..row as usize * c + c];
                    let k = step * xv;
                    if dense {
                        for (wv, g) in r.iter_mut().zip(&scores) {
                            *wv -= k * g;
                        }
                    } else {
                        for &(cls, g) in &active {
                            r[cls] -= k * g;
                        }
                    }
                }
                // The bias is not regularised and moves more slowly: it sees every step.
                let kb = (eta * 0.1) as f32;
                for (bi, g) in b.iter_mut().zip(&scores) {
                    *bi -= kb * g;
                }
                if scale < 1e-6 {
                    fold_scale(&mut v, &mut scale);
                }
            }
        }
        fold_scale(&mut v, &mut scale);
        Self {
            classes: c,
            rows,
            w: v,
            b,
        }
    }
}

/// `scores += scale * W_dense x_dense`: every row is used, so a plain loop over rows.
pub(crate) fn dense_forward(w: &[f32], c: usize, x: &[f32], scale: f32, scores: &mut [f32]) {
    for (row, &xv) in w.chunks_exact(c).zip(x) {
        let a = xv * scale;
        for (o, w) in scores.iter_mut().zip(row) {
            *o += a * w;
        }
    }
}

/// `scores += scale * W x` over the input's rows. Four rows per pass: the loads of four
/// rows are independent, so their cache misses overlap (training is bound by fetching
/// weight rows, not by arithmetic), and `scores` is read and written once per four rows.
fn forward(v: &[f32], c: usize, x: &SparseVec, scale: f32, scores: &mut [f32]) {
    let mut idx = x.idx.chunks_exact(4);
    let mut val = x.val.chunks_exact(4);
    for (rows, vals) in idx.by_ref().zip(val.by_ref()) {
        let r = |k: usize| &v[rows[k] as usize * c..rows[k] as usize * c + c];
        let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
        let (a0, a1, a2, a3) = (vals[0] * scale, vals[1] * scale, vals[2] * scale, vals[3] * scale);
        for ((((o, w0), w1), w2), w3) in scores.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *o += a0 * w0 + a1 * w1 + a2 * w2 + a3 * w3;
        }
    }
    for (&row, &xv) in idx.remainder().iter().zip(val.remainder()) {
        let a = xv * scale;
        for (o, w) in scores.iter_mut().zip(&v[row as usize * c..row as usize * c + c]) {
            *o += a * w;
        }
    }
}

/// Gradients smaller than this are skipped in the sparse update.
const GRAD_SKIP: f32 = 1e-4;

/// The linear model as it is kept after training: each feature row centred on its median
/// (softmax ignores a per-row shift, so this changes no probability) and only the entries
/// that matter kept, as 16-bit integers. A dense float matrix for CLINC's 100k n-grams and
/// 151 classes would be 60 MB; most of it is near-zero weights that never change a
/// decision. Fold models go through the same step, so calibration sees the same scores
/// the saved model gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Compact {
    pub classes: usize,
    /// `row_start[r]..row_start[r + 1]` indexes the kept entries of row `r`.
    row_start: Vec<u32>,
    class_of: Vec<u16>,
    q: Vec<i16>,
    /// Weight = `q * step`.
    step: f32,
    pub b: Vec<f32>,
}

impl Compact {
    /// Keep the largest `keep` share of the centred sparse-feature weights (by magnitude);
    /// the dense block's rows go to [`DenseWeights::from_linear`].
    pub(crate) fn from_linear(m: &Linear, keep: f64) -> Self {
        let c = m.classes;
        let centred = centre_rows(&m.w[..m.rows * c], c);
        Self::from_dense(&centred, m.b.clone(), c, keep)
    }

    /// Unit-length class centroids of the training vectors (sparse and dense parts
    /// together), so that "logits" are cosine similarities to each class's typical wording.
    /// Unlike the discriminative weights, these say how much an input looks like the
    /// examples, not which class it is closest to: an out-of-scope input can be nearest to
    /// some class yet like none.
    pub(crate) fn centroids(
        xs: &[SparseVec],
        ys: &[u32],
        rows: usize,
        classes: usize,
        keep: f64,
    ) -> (Self, DenseWeights) {
        let c = classes;
        let dense_len = xs.first().map_or(0, |x| x.dense.len());
        let mut w = vec![0.0f32; (rows + dense_len) * c];
        for (x, &y) in xs.iter().zip(ys) {
            for (&row, &v) in x.idx.iter().zip(&x.val) {
                w[row as usize * c + y as usize] += v;
            }
            for (j, &v) in x.dense.iter().enumerate() {
                w[(rows + j) * c + y as usize] += v;
            }
        }
        let mut norm = vec![0.0f32; c];
        for r in w.chunks(c) {
            for (n, v) in norm.iter_mut().zip(r) {
                *n += v * v;
            }
        }
        for r in w.chunks_mut(c) {
            for (v, n) in r.iter_mut().zip(&norm) {
                *v /= n.sqrt().max(1e-12);
            }
        }
        let dense = DenseWeights {
            classes: c,
            w: w[rows * c..].to_vec(),
        };
        (Self::from_dense(&w[..rows * c], vec![0.0; c], c, keep), dense)
    }

    /// Keep the largest `keep` share of a dense row-major matrix, quantised.
    fn from_dense(centred: &[f32], b: Vec<f32>, c: usize, keep: f64) -> Self {
        let rows = centred.len() / c.max(1);
        // The magnitude threshold for the wanted share, found by selection, not sorting.
        let mut mags: Vec<f32> = centred.iter().map(|v| v.abs()).collect();
        let n_keep = ((mags.len() as f64 * keep) as usize).clamp(1, mags.len().max(1));
        let cut = if mags.is_empty() {
            0.0
        } else {
            let k = mags.len() - n_keep;
            *mags.select_nth_unstable_by(k, f32::total_cmp).1
        };
        let max = centred.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let step = if max > 0.0 { max / 32767.0 } else { 1.0 };
        let mut row_start = Vec::with_capacity(rows + 1);
        let mut class_of = Vec::with_capacity(n_keep);
        let mut q = Vec::with_capacity(n_keep);
        row_start.push(0);
        for r in centred.chunks(c) {
            for (k, &v) in r.iter().enumerate() {
                if v.abs() >= cut && v != 0.0 {
                    class_of.push(k as u16);
                    q.push((v / step).round() as i16);
                }
            }
            row_start.push(q.len() as u32);
        }
        Self {
            classes: c,
            row_start,
            class_of,
            q,
            step,
            b,
        }
    }

    /// Logits for one input, written into `out` (length `classes`).
    pub(crate) fn logits_into(&self, x: &SparseVec, out: &mut [f32]) {
        out.copy_from_slice(&self.b);
        for (&row, &v) in x.idx.iter().zip(&x.val) {
            let (lo, hi) = (
                self.row_start[row as usize] as usize,
                self.row_start[row as usize + 1] as usize,
            );
            let k = v * self.step;
            for (&cls, &q) in self.class_of[lo..hi].iter().zip(&self.q[lo..hi]) {
                out[cls as usize] += k * f32::from(q);
            }
        }
    }

    /// Check the shape a loaded model must have, so prediction cannot index out of bounds.
    pub(crate) fn validate(&self, rows: usize) -> Result<(), String> {
        let ok = self.row_start.len() == rows + 1
            && self.row_start.first() == Some(&0)
            && self.row_start.windows(2).all(|w| w[0] <= w[1])
            && self.row_start.last().map(|&e| e as usize) == Some(self.q.len())
            && self.class_of.len() == self.q.len()
            && self.class_of.iter().all(|&c| (c as usize) < self.classes)
            && self.b.len() == self.classes;
        if ok {
            Ok(())
        } else {
            Err("weights do not match the vocabulary or the labels".into())
        }
    }

    /// The kept weight of one feature row for one class (0 when it was dropped).
    pub(crate) fn weight(&self, row: usize, class: usize) -> f32 {
        let (lo, hi) = (self.row_start[row] as usize, self.row_start[row + 1] as usize);
        self.class_of[lo..hi]
            .iter()
            .zip(&self.q[lo..hi])
            .find(|(c, _)| **c as usize == class)
            .map_or(0.0, |(_, &q)| self.step * f32::from(q))
    }

    pub(crate) fn entries(&self) -> usize {
        self.q.len()
    }
}

/// A trained linear model as used for scoring: the pruned sparse part and the whole
/// dense block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scorer {
    pub sparse: Compact,
    pub dense: DenseWeights,
}

impl Scorer {
    pub(crate) fn from_linear(m: &Linear, keep: f64) -> Self {
        Self {
            sparse: Compact::from_linear(m, keep),
            dense: DenseWeights::from_linear(m),
        }
    }

    /// Logits for one input, written into `out` (length `classes`).
    pub(crate) fn logits_into(&self, x: &SparseVec, out: &mut [f32]) {
        self.sparse.logits_into(x, out);
        self.dense.add_into(&x.dense, out);
    }
}

/// Each row of a row-major matrix centred on its median: softmax ignores a per-row
/// shift (it adds the same to every class), and centred rows have more small entries to
/// drop.
fn centre_rows(w: &[f32], c: usize) -> Vec<f32> {
    let mut centred = w.to_vec();
    let mut buf = Vec::with_capacity(c);
    for r in centred.chunks_mut(c) {
        buf.clear();
        buf.extend_from_slice(r);
        let mid = buf.len() / 2;
        let (_, median, _) = buf.select_nth_unstable_by(mid, f32::total_cmp);
        let median = *median;
        for v in r.iter_mut() {
            *v -= median;
        }
    }
    centred
}

/// The weights of the dense block (static word vectors), kept whole and in f32: every
/// input uses every row, so there is nothing sparse to prune, and the block is small
/// (dimensions x classes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct DenseWeights {
    pub classes: usize,
    /// Row-major, one row of `classes` per dimension.
    pub w: Vec<f32>,
}

impl DenseWeights {
    /// The dense rows of a trained model, centred like the sparse ones.
    pub(crate) fn from_linear(m: &Linear) -> Self {
        let c = m.classes;
        Self {
            classes: c,
            w: centre_rows(&m.w[m.rows * c..], c),
        }
    }

    /// `out += W x`.
    pub(crate) fn add_into(&self, x: &[f32], out: &mut [f32]) {
        dense_forward(&self.w, self.classes, x, 1.0, out);
    }
}

fn fold_scale(v: &mut [f32], scale: &mut f64) {
    let s = *scale as f32;
    for x in v.iter_mut() {
        *x *= s;
    }
    *scale = 1.0;
}

/// Numerically stable softmax.
pub(crate) fn softmax_in_place(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(idx: &[u32]) -> SparseVec {
        let n = (idx.len() as f32).sqrt();
        SparseVec {
            idx: idx.to_vec(),
            val: vec![1.0 / n; idx.len()],
            known: 1.0,
            n_words: 1,
            dense: Vec::new(),
        }
    }

    #[test]
    fn learns_a_separable_problem() {
        // Class k owns features 2k and 2k+1; feature 6 is shared noise.
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for k in 0..3u32 {
            for j in 0..20 {
                let own = 2 * k + (j % 2);
                xs.push(x(&[own, 6]));
                ys.push(k);
            }
        }
        let m = Linear::train(
            &xs,
            &ys,
            7,
            3,
            SgdParams {
                lambda: 1e-4,
                epochs: 20,
                eta0: 1.0,
            },
            &mut Rng::new(1),
        );
        let m = Compact::from_linear(&m, 1.0);
        let mut out = vec![0.0; 3];
        for (xi, &y) in xs.iter().zip(&ys) {
            m.logits_into(xi, &mut out);
            let best = (0..3).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap();
            assert_eq!(best as u32, y);
        }
    }
}
