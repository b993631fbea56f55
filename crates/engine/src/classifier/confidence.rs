//! From the linear model's raw scores to the two numbers a route decision needs: the
//! calibrated probability that routing to the top label is right, and how likely the input
//! is out of scope.
//!
//! Both are small logistic regressions over a handful of signals (top probability, margin,
//! energy, share of known n-grams, length...), fitted on cross-fitted held-out rows: rows
//! of known classes scored by a model that never saw them, and rows of whole classes the
//! model never saw ("pseudo out-of-scope"), plus any real out-of-scope examples. Holding
//! out whole classes is what lets the detector work with no out-of-scope examples at all:
//! an input from an unseen class is exactly what out of scope means. An isotonic step then
//! fixes what shape the logistic curve gets wrong. One signal alone fails in known ways:
//! the top probability is high on confident nonsense, similarity alone ignores ambiguity
//! between two close routes; the regression learns how much each counts on this data.

use super::features::SparseVec;
use crate::calibration::Calibrator;
use serde::{Deserialize, Serialize};

/// Number of signals per input.
pub(crate) const N_SIGNALS: usize = 10;

/// The signals for one input, from its logits over all classes. `oos_class` is the index
/// of the out-of-scope class when training had one; it is excluded from the routes.
pub(crate) fn signals(
    logits: &[f32],
    temperature: f64,
    oos_class: Option<usize>,
    x: &SparseVec,
    sims: &[f32],
) -> [f64; N_SIGNALS] {
    let t = temperature.max(1e-6);
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let log_z = logits
        .iter()
        .map(|&v| ((v as f64 - max) / t).exp())
        .sum::<f64>()
        .ln();
    // Top two routes (the out-of-scope class is not a route).
    let (mut z1, mut z2, mut top) = (f64::NEG_INFINITY, f64::NEG_INFINITY, 0);
    let mut sim_max = 0.0f32;
    for (k, &v) in logits.iter().enumerate() {
        if Some(k) == oos_class {
            continue;
        }
        sim_max = sim_max.max(sims[k]);
        let v = v as f64;
        if v > z1 {
            z2 = z1;
            z1 = v;
            top = k;
        } else if v > z2 {
            z2 = v;
        }
    }
    if !z2.is_finite() {
        z2 = z1;
    }
    let log_p1 = (z1 - max) / t - log_z;
    let log_p_oos = oos_class.map_or(-20.0, |k| (logits[k] as f64 - max) / t - log_z);
    // Energy: the log-sum-exp of the raw logits, high when some class fits strongly.
    let energy = max + (logits.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>()).ln();
    [
        log_p1.max(-20.0),
        ((z1 - z2) / t).min(50.0),
        z1,
        energy,
        f64::from(x.known),
        f64::from(x.known).sqrt(),
        (1.0 + f64::from(x.n_words)).ln(),
        log_p_oos.max(-20.0),
        f64::from(sim_max),
        f64::from(sims[top]),
    ]
}

/// A logistic regression over standardised signals, then an isotonic correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SignalModel {
    mean: Vec<f64>,
    std: Vec<f64>,
    weights: Vec<f64>,
    bias: f64,
    calibrator: Calibrator,
    /// Log-odds added after calibration, moving the fitted base rate to a stated prior.
    log_odds_shift: f64,
}

impl SignalModel {
    /// Fit `P(target | signals)` on held-out rows; `weight` per row lets rare kinds count
    /// as much as their expected share.
    pub(crate) fn fit(rows: &[[f64; N_SIGNALS]], target: &[bool], weight: &[f64]) -> Self {
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; N_SIGNALS];
        let mut std = vec![0.0; N_SIGNALS];
        for r in rows {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v / n;
            }
        }
        for r in rows {
            for ((s, v), m) in std.iter_mut().zip(r).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        for s in std.iter_mut() {
            // A constant signal (no out-of-scope class, say) gets a unit scale and a zero
            // weight from the regularised fit.
            *s = if *s > 1e-12 { s.sqrt() } else { 1.0 };
        }
        let xs: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&mean)
                    .zip(&std)
                    .map(|((v, m), s)| (v - m) / s)
                    .collect()
            })
            .collect();
        let (weights, bias) = newton_logistic(&xs, target, weight, 1e-3);
        let mut model = Self {
            mean,
            std,
            weights,
            bias,
            calibrator: Calibrator::Identity,
            log_odds_shift: 0.0,
        };
        let points: Vec<(f64, bool)> = rows.iter().zip(target).map(|(r, &y)| (model.raw(r), y)).collect();
        model.calibrator = Calibrator::fit(&points);
        model
    }

    fn raw(&self, r: &[f64; N_SIGNALS]) -> f64 {
        let terms = self.weights.iter().zip(r).zip(self.mean.iter().zip(&self.std));
        let z = self.bias + terms.map(|((w, v), (m, s))| w * (v - m) / s).sum::<f64>();
        sigmoid(z)
    }

    /// Re-base the model from the share of positives it was fitted on to `prior`: by
    /// Bayes, only the prior odds change, so the log-odds move by a constant.
    pub(crate) fn with_prior(mut self, fitted_share: f64, prior: f64) -> Self {
        let logit = |p: f64| {
            let p = p.clamp(1e-6, 1.0 - 1e-6);
            (p / (1.0 - p)).ln()
        };
        self.log_odds_shift = logit(prior) - logit(fitted_share);
        self
    }

    /// The calibrated probability for one input's signals.
    pub(crate) fn probability(&self, r: &[f64; N_SIGNALS]) -> f64 {
        let p = self.calibrator.apply(self.raw(r)).clamp(0.0, 1.0);
        if self.log_odds_shift == 0.0 {
            return p;
        }
        // Isotonic steps can reach exactly 0 or 1; keep them finite in log-odds.
        let p = p.clamp(1e-6, 1.0 - 1e-6);
        sigmoid((p / (1.0 - p)).ln() + self.log_odds_shift)
    }

    /// Shape checks for a loaded model.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let n = N_SIGNALS;
        if self.mean.len() == n && self.std.len() == n && self.weights.len() == n {
            Ok(())
        } else {
            Err("signal model has the wrong number of weights".into())
        }
    }
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Weighted L2-regularised logistic regression by Newton's method: a few dimensions and
/// thousands of rows, so each step is one pass plus a tiny linear solve.
fn newton_logistic(xs: &[Vec<f64>], y: &[bool], wt: &[f64], l2: f64) -> (Vec<f64>, f64) {
    let d = xs.first().map_or(0, Vec::len) + 1; // last column is the bias
    let mut beta = vec![0.0; d];
    let total_w: f64 = wt.iter().sum::<f64>().max(1e-12);
    for _ in 0..50 {
        let mut grad = vec![0.0; d];
        let mut hess = vec![vec![0.0; d]; d];
        let mut xa = vec![1.0; d];
        for ((x, &yi), &w) in xs.iter().zip(y).zip(wt) {
            // The row with a constant 1 appended for the bias.
            xa[..d - 1].copy_from_slice(x);
            let z: f64 = xa.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let p = sigmoid(z);
            let r = w * (p - if yi { 1.0 } else { 0.0 }) / total_w;
            let h = w * (p * (1.0 - p)).max(1e-9) / total_w;
            for ((g, hrow), &xi) in grad.iter_mut().zip(hess.iter_mut()).zip(&xa) {
                *g += r * xi;
                for (hv, &xj) in hrow.iter_mut().zip(&xa) {
                    *hv += h * xi * xj;
                }
            }
        }
        // Ridge on the weights, not on the bias (the last column).
        for (i, (g, hrow)) in grad.iter_mut().zip(hess.iter_mut()).enumerate().take(d - 1) {
            *g += l2 * beta[i];
            hrow[i] += l2;
        }
        let Some(step) = solve(hess, grad) else { break };
        let mut moved = 0.0f64;
        for (b, s) in beta.iter_mut().zip(&step) {
            *b -= s;
            moved = moved.max(s.abs());
        }
        if moved < 1e-8 {
            break;
        }
    }
    let bias = beta.pop().unwrap_or(0.0);
    (beta, bias)
}

/// Gaussian elimination with partial pivoting; `None` for a singular system.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-14 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let (top, below) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (r, row) in below.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (v, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *v -= f * p;
            }
            b[col + 1 + r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::rng::Rng;

    fn uniform(rng: &mut Rng) -> f64 {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn newton_recovers_known_coefficients() {
        // P(y) = sigmoid(2 x0 - 1 x1 + 0.5).
        let mut rng = Rng::new(3);
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for _ in 0..20000 {
            let x = vec![uniform(&mut rng) * 4.0 - 2.0, uniform(&mut rng) * 4.0 - 2.0];
            let p = sigmoid(2.0 * x[0] - x[1] + 0.5);
            ys.push(uniform(&mut rng) < p);
            xs.push(x);
        }
        let (w, b) = newton_logistic(&xs, &ys, &vec![1.0; xs.len()], 0.0);
        assert!((w[0] - 2.0).abs() < 0.15 && (w[1] + 1.0).abs() < 0.1, "{w:?}");
        assert!((b - 0.5).abs() < 0.1, "{b}");
    }

    #[test]
    fn signal_model_is_calibrated_on_fresh_data() {
        // The truth depends on signal 0 only; the others are noise the fit must ignore.
        let make = |seed| {
            let mut rng = Rng::new(seed);
            let mut rows = Vec::new();
            let mut ys = Vec::new();
            for _ in 0..5000 {
                let mut r = [0.0; N_SIGNALS];
                for v in r.iter_mut() {
                    *v = uniform(&mut rng) * 2.0 - 1.0;
                }
                ys.push(uniform(&mut rng) < sigmoid(3.0 * r[0]).powi(2));
                rows.push(r);
            }
            (rows, ys)
        };
        let (rows, ys) = make(5);
        let model = SignalModel::fit(&rows, &ys, &vec![1.0; rows.len()]);
        let (test, ty) = make(6);
        let scored: Vec<crate::metrics::Scored> = test
            .iter()
            .zip(&ty)
            .map(|(r, &y)| crate::metrics::Scored::new(model.probability(r), y))
            .collect();
        let e = crate::metrics::ece(&scored, 15);
        assert!(e < 0.03, "ece {e}");
    }
}
