//! Turning raw model scores into probabilities that mean what they say: when a calibrated
//! confidence is 0.9, the answer is right about nine times in ten.
//!
//! Two calibrators, both fitted on held-out data that the model never trained on:
//! - [`Isotonic`]: a monotone step function fitted by pool-adjacent-violators. It makes no
//!   assumption about the shape of the score, which suits scores that are not
//!   probabilities at all (margins, similarities), but needs a few hundred points.
//! - [`Platt`]: a logistic curve `1 / (1 + exp(a*s + b))`; two parameters, so it behaves
//!   with little data.
//!
//! [`Calibrator::fit`] picks between them by the data available, so callers never tune it.

use serde::{Deserialize, Serialize};

/// A monotone map from a raw score to a probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Calibrator {
    Isotonic(Isotonic),
    Platt(Platt),
    /// Used when there is no held-out data at all: the score passes through, clamped.
    Identity,
}

/// Below this many held-out points, the isotonic fit is too jumpy to trust.
const MIN_POINTS_FOR_ISOTONIC: usize = 200;

impl Calibrator {
    /// Fit on `(score, correct)` pairs from held-out data.
    pub fn fit(points: &[(f64, bool)]) -> Self {
        if points.is_empty() {
            Calibrator::Identity
        } else if points.len() < MIN_POINTS_FOR_ISOTONIC {
            Calibrator::Platt(Platt::fit(points))
        } else {
            Calibrator::Isotonic(Isotonic::fit(points))
        }
    }

    pub fn apply(&self, score: f64) -> f64 {
        match self {
            Calibrator::Isotonic(c) => c.apply(score),
            Calibrator::Platt(c) => c.apply(score),
            Calibrator::Identity => score.clamp(0.0, 1.0),
        }
    }
}

/// Isotonic regression stored as knots `(score, probability)` with linear interpolation
/// between them. Interpolating (rather than stepping) keeps distinct scores distinct, which
/// a threshold chosen between two knots needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl Isotonic {
    pub fn fit(points: &[(f64, bool)]) -> Self {
        let mut sorted: Vec<(f64, f64)> = points
            .iter()
            .filter(|(s, _)| s.is_finite())
            .map(|&(s, ok)| (s, if ok { 1.0 } else { 0.0 }))
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        if sorted.is_empty() {
            return Self {
                xs: vec![0.0, 1.0],
                ys: vec![0.0, 1.0],
            };
        }
        // Pool-adjacent-violators over blocks (sum_x, sum_y, weight).
        let mut blocks: Vec<(f64, f64, f64)> = Vec::with_capacity(sorted.len());
        for (x, y) in sorted {
            blocks.push((x, y, 1.0));
            while blocks.len() >= 2 {
                let n = blocks.len();
                let (ax, ay, aw) = blocks[n - 2];
                let (bx, by, bw) = blocks[n - 1];
                // Equal means are pooled too: otherwise a run of right answers stays a
                // chain of one-point blocks, and the Laplace estimate below would judge
                // "certain" on the last point alone (one right answer reads as 0.75).
                if ay / aw < by / bw {
                    break;
                }
                blocks.truncate(n - 2);
                blocks.push((ax + bx, ay + by, aw + bw));
            }
        }
        // The top block decides what "certain" means. A Laplace estimate keeps a top
        // block of three perfect answers from claiming 1.0. When that estimate falls
        // below the block underneath (a lone right answer at the very top reads 0.75),
        // the two are pooled instead, so that one point cannot drag every block below it
        // down; the pooled block is then judged again.
        while blocks.len() >= 2 {
            let n = blocks.len();
            let (tx, ty, tw) = blocks[n - 1];
            let (px, py, pw) = blocks[n - 2];
            if (ty + 0.5) / (tw + 1.0) >= py / pw {
                break;
            }
            blocks.truncate(n - 2);
            blocks.push((tx + px, ty + py, tw + pw));
        }
        // Each block becomes one knot at its mean score.
        let mut xs = Vec::with_capacity(blocks.len());
        let mut ys = Vec::with_capacity(blocks.len());
        for &(sx, sy, w) in &blocks {
            xs.push(sx / w);
            ys.push(sy / w);
        }
        if let (Some(y), Some(&(_, sy, w))) = (ys.last_mut(), blocks.last()) {
            *y = y.min((sy + 0.5) / (w + 1.0));
        }
        Self { xs, ys }
    }

    pub fn apply(&self, score: f64) -> f64 {
        let (xs, ys) = (&self.xs, &self.ys);
        if xs.is_empty() || score.is_nan() {
            return 0.0;
        }
        if score <= xs[0] {
            return ys[0];
        }
        let last = xs.len() - 1;
        if score >= xs[last] {
            return ys[last];
        }
        // First knot strictly above the score.
        let hi = xs.partition_point(|&x| x <= score);
        let lo = hi - 1;
        let span = xs[hi] - xs[lo];
        if span <= 0.0 {
            return ys[hi];
        }
        let t = (score - xs[lo]) / span;
        ys[lo] + t * (ys[hi] - ys[lo])
    }
}

/// Platt scaling: `p = 1 / (1 + exp(a * s + b))`, fitted with Platt's smoothed targets
/// (so separable data does not drive the parameters to infinity) by Newton's method with
/// a backtracking line search (Lin, Lin and Weng, "A note on Platt's probabilistic outputs
/// for support vector machines", 2007). Plain Newton steps diverge when the scores are
/// nearly constant, as they are when a model is right about almost everything.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    pub fn fit(points: &[(f64, bool)]) -> Self {
        let pos = points.iter().filter(|p| p.1).count() as f64;
        let neg = points.len() as f64 - pos;
        let hi = (pos + 1.0) / (pos + 2.0);
        let lo = 1.0 / (neg + 2.0);
        let targets: Vec<f64> = points.iter().map(|p| if p.1 { hi } else { lo }).collect();
        // Negative log-likelihood, written to stay finite for large |a*s + b|.
        let objective = |a: f64, b: f64| -> f64 {
            points
                .iter()
                .zip(&targets)
                .map(|(&(s, _), &t)| {
                    let z = a * s + b;
                    if z >= 0.0 {
                        t * z + (-z).exp().ln_1p()
                    } else {
                        (t - 1.0) * z + z.exp().ln_1p()
                    }
                })
                .sum()
        };
        let (mut a, mut b) = (0.0f64, ((neg + 1.0) / (pos + 1.0)).ln());
        let mut value = objective(a, b);
        for _ in 0..100 {
            let (mut g_a, mut g_b, mut h_aa, mut h_ab, mut h_bb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
            for (&(s, _), &t) in points.iter().zip(&targets) {
                let p = sigmoid(-(a * s + b));
                let d = t - p;
                g_a += d * s;
                g_b += d;
                let w = p * (1.0 - p);
                h_aa += w * s * s;
                h_ab += w * s;
                h_bb += w;
            }
            if g_a.abs() < 1e-9 && g_b.abs() < 1e-9 {
                break;
            }
            let det = h_aa * h_bb - h_ab * h_ab;
            let da = -(h_bb * g_a - h_ab * g_b) / det;
            let db = -(h_aa * g_b - h_ab * g_a) / det;
            let slope = g_a * da + g_b * db;
            let mut step = 1.0;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let nv = objective(na, nb);
                if nv < value + 1e-4 * step * slope {
                    (a, b, value) = (na, nb, nv);
                    break;
                }
                step /= 2.0;
            }
            if step < 1e-10 {
                break;
            }
        }
        Self { a, b }
    }

    pub fn apply(&self, score: f64) -> f64 {
        sigmoid(-(self.a * score + self.b))
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The temperature `T` that minimises the negative log-likelihood of softmax(logits / T)
/// on held-out rows; `labels[i]` is the index of the right class in `logits[i]`.
/// Golden-section search over `[0.05, 20]`: the objective is convex in `1/T`.
pub fn fit_temperature(logits: &[Vec<f64>], labels: &[usize]) -> f64 {
    if logits.is_empty() {
        return 1.0;
    }
    let nll = |t: f64| -> f64 {
        logits
            .iter()
            .zip(labels)
            .map(|(row, &y)| {
                let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let log_z = row.iter().map(|v| ((v - max) / t).exp()).sum::<f64>().ln();
                log_z - (row[y] - max) / t
            })
            .sum()
    };
    let (mut lo, mut hi) = (0.05f64.ln(), 20f64.ln());
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = hi - phi * (hi - lo);
    let mut d = lo + phi * (hi - lo);
    let (mut fc, mut fd) = (nll(c.exp()), nll(d.exp()));
    for _ in 0..60 {
        if fc < fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - phi * (hi - lo);
            fc = nll(c.exp());
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + phi * (hi - lo);
            fd = nll(d.exp());
        }
    }
    ((lo + hi) / 2.0).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Scored, ece};

    /// Deterministic pseudo-random numbers for tests (SplitMix64).
    fn rng(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Scores whose true probability of being right is `score^3`: badly overconfident.
    fn overconfident(n: usize, seed: u64) -> Vec<(f64, bool)> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                let score = rng(&mut s);
                (score, rng(&mut s) < score.powi(3))
            })
            .collect()
    }

    #[test]
    fn isotonic_fixes_overconfidence_on_fresh_data() {
        let train = overconfident(5000, 1);
        let test = overconfident(5000, 2);
        let raw: Vec<Scored> = test.iter().map(|&(s, ok)| Scored::new(s, ok)).collect();
        let cal = Calibrator::fit(&train);
        assert!(matches!(cal, Calibrator::Isotonic(_)));
        let fixed: Vec<Scored> = test
            .iter()
            .map(|&(s, ok)| Scored::new(cal.apply(s), ok))
            .collect();
        assert!(ece(&raw, 15) > 0.15, "raw scores should be miscalibrated");
        assert!(ece(&fixed, 15) < 0.03, "calibrated ECE {}", ece(&fixed, 15));
    }

    #[test]
    fn isotonic_is_monotone_and_bounded() {
        let cal = Isotonic::fit(&overconfident(1000, 3));
        let mut prev = 0.0;
        for i in 0..=100 {
            let p = cal.apply(i as f64 / 100.0);
            assert!((0.0..=1.0).contains(&p));
            assert!(p + 1e-12 >= prev);
            prev = p;
        }
    }

    #[test]
    fn platt_recovers_a_logistic_relation() {
        // True p = sigmoid(4s - 2).
        let mut seed = 7;
        let pts: Vec<(f64, bool)> = (0..4000)
            .map(|_| {
                let s = rng(&mut seed);
                (s, rng(&mut seed) < sigmoid(4.0 * s - 2.0))
            })
            .collect();
        let p = Platt::fit(&pts);
        assert!((p.a + 4.0).abs() < 0.5, "a = {}", p.a);
        assert!((p.b - 2.0).abs() < 0.3, "b = {}", p.b);
    }

    #[test]
    fn a_long_run_of_right_answers_is_trusted() {
        // 300 right answers above 20 wrong ones: the top should read near 1, not 0.75.
        let mut pts: Vec<(f64, bool)> = (0..300).map(|i| (0.5 + i as f64 / 1000.0, true)).collect();
        pts.extend((0..20).map(|i| (i as f64 / 100.0, false)));
        let cal = Isotonic::fit(&pts);
        assert!(cal.apply(0.7) > 0.99, "{}", cal.apply(0.7));
        assert!(cal.apply(0.1) < 0.01);
    }

    #[test]
    fn platt_stays_sane_when_scores_barely_vary() {
        // Nearly constant scores, almost all right: the fit must not run off to huge
        // parameters that flip the curve.
        let mut pts: Vec<(f64, bool)> = (0..140).map(|i| (0.97 + i as f64 * 1e-4, true)).collect();
        pts.extend((0..3).map(|i| (0.95 + i as f64 * 1e-3, false)));
        let p = Platt::fit(&pts);
        assert!(p.apply(0.98) > 0.9, "{p:?} gives {}", p.apply(0.98));
        assert!(p.a.abs() < 1e4, "{p:?}");
    }

    #[test]
    fn small_samples_use_platt_and_empty_uses_identity() {
        assert!(matches!(
            Calibrator::fit(&overconfident(50, 4)),
            Calibrator::Platt(_)
        ));
        assert_eq!(Calibrator::fit(&[]).apply(1.7), 1.0);
    }

    #[test]
    fn temperature_softens_overconfident_logits() {
        // Logits scaled up by 3 from calibrated ones: the fit should find T near 3.
        let mut seed = 11;
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..3000 {
            let base = [rng(&mut seed) * 2.0, rng(&mut seed) * 2.0, rng(&mut seed) * 2.0];
            let z: f64 = base.iter().map(|v| v.exp()).sum();
            let u = rng(&mut seed);
            let mut acc = 0.0;
            let mut y = 2;
            for (k, v) in base.iter().enumerate() {
                acc += v.exp() / z;
                if u < acc {
                    y = k;
                    break;
                }
            }
            logits.push(base.iter().map(|v| v * 3.0).collect());
            labels.push(y);
        }
        let t = fit_temperature(&logits, &labels);
        assert!((t - 3.0).abs() < 0.5, "T = {t}");
    }
}
