//! A second opinion on a single-valued answer: how likely is it to be exactly right?
//!
//! The ranking model only compares candidates *within* a document, so whatever makes a
//! whole document hard (a garbled header, an unusual layout, a value whose label writes
//! it differently from the text) cannot move its scores. The verifier is a logistic model
//! trained on the held-out answers of cross-fitting, labelled right or wrong by exact
//! match, that sees what the ranker cannot weigh: the answer's own features in a weight
//! space of their own, how clearly it beat the runner-up and the whole field, how many
//! values came close, and the answer's surface (a comma glued to the next word, a
//! trailing full stop), which is where labels and text most often disagree.
//!
//! It starts from the ranker's own confidence (a Platt curve on the raw share) and learns
//! only a correction to it, with a small step and an epoch count chosen by held-out
//! log-loss, where zero epochs (no correction) is allowed: with a few hundred answers and
//! a hundred features each, a free model overfits, and a correction that does not help on
//! held-out answers is not made. It is cross-fitted again over the held-out answers, so
//! the probabilities its calibrator is fitted on are themselves held out; the final
//! verifier is the average of its fold models, as for the ranker.

use super::decide::{Answer, logit};
use super::features::FeatureMatrix;
use super::model::{Linear, Loss, SplitMix, TrainDoc, Trainer};
use crate::calibration::Platt;

/// The base curve and the learned correction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verifier {
    pub base: Platt,
    pub linear: Linear,
}

/// AdaGrad step for the verifier: small, since every answer has ~100 active features.
const RATE: f32 = 0.01;

/// Hash buckets for the verifier: it sees a few hundred answers, not hundreds of
/// thousands of candidates.
pub(crate) const VERIFIER_BITS: u8 = 18;

// Namespaces, part of the saved-model format like the ranker's.
const ROW: u64 = 101;
const SHARE: u64 = 102;
const MASS: u64 = 103;
const CLOSE: u64 = 104;
const SURFACE: u64 = 105;
const ENDS: u64 = 106;
const BIAS: u64 = 107;

fn bucket_of(ns: u64, h: u64) -> u32 {
    let mut z = h ^ ns.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> (64 - VERIFIER_BITS)) as u32
}

fn class(c: char) -> u64 {
    if c.is_alphabetic() {
        'a' as u64
    } else if c.is_ascii_digit() {
        '0' as u64
    } else if c.is_whitespace() {
        ' ' as u64
    } else {
        c as u64
    }
}

/// The verifier's features for an answer whose best candidate has ranker features `row`
/// and whitespace-collapsed text `value`.
pub(crate) fn features(row: &[u32], value: &str, answer: &Answer) -> Vec<u32> {
    let mut out: Vec<u32> = row.iter().map(|&f| bucket_of(ROW, f as u64)).collect();
    out.push(bucket_of(BIAS, 0));
    out.push(bucket_of(
        SHARE,
        logit(answer.share).clamp(-4.0, 24.0).floor() as i64 as u64,
    ));
    out.push(bucket_of(MASS, (answer.mass * 10.0).floor() as u64));
    out.push(bucket_of(CLOSE, answer.close.min(4) as u64));
    // Transitions around punctuation and spaces: ",a" (glued), " ," (spaced), ".0"...
    let chars: Vec<char> = value.chars().collect();
    for pair in chars.windows(2) {
        let (a, b) = (class(pair[0]), class(pair[1]));
        let plain = |c: u64| c == 'a' as u64 || c == '0' as u64;
        if !(plain(a) && plain(b)) {
            out.push(bucket_of(SURFACE, a << 32 | b));
        }
    }
    let first = chars.first().map_or(0, |&c| class(c));
    let last = chars.last().map_or(0, |&c| class(c));
    out.push(bucket_of(ENDS, first << 32 | last));
    out
}

/// The verifier's probability that the answer is right.
pub(crate) fn probability(v: &Verifier, share: f64, feats: &[u32]) -> f64 {
    let base = -(v.base.a * logit(share) + v.base.b);
    1.0 / (1.0 + (-(base + v.linear.score(feats) as f64)).exp())
}

/// Train on `answers` (features, raw share, right?) with `folds`-fold cross-fitting.
/// Returns the verifier and the held-out probability of every answer.
pub(crate) fn train(
    answers: &[(Vec<u32>, f64, bool)],
    folds: usize,
    max_epochs: usize,
    seed: u64,
) -> (Verifier, Vec<f64>) {
    let n = answers.len();
    let base = Platt::fit(&answers.iter().map(|a| (logit(a.1), a.2)).collect::<Vec<_>>());
    let offsets: Vec<f32> = answers
        .iter()
        .map(|a| -(base.a * logit(a.1) + base.b) as f32)
        .collect();
    let rows: Vec<FeatureMatrix> = answers
        .iter()
        .map(|(f, ..)| FeatureMatrix {
            idx: f.clone(),
            offsets: vec![0, f.len() as u32],
        })
        .collect();
    let labels: Vec<[bool; 1]> = answers.iter().map(|a| [a.2]).collect();
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    // Epoch 0 is the base curve alone.
    let mut probs = vec![offsets.iter().map(|&o| sigmoid(o as f64)).collect::<Vec<f64>>()];
    let mut sums = vec![vec![0.0f32; 1 << VERIFIER_BITS]];
    let k = folds.min(n);
    if k >= 2 {
        probs.extend((0..max_epochs).map(|_| vec![0.5; n]));
        sums.extend((0..max_epochs).map(|_| vec![0.0f32; 1 << VERIFIER_BITS]));
        let mut fold_of: Vec<usize> = (0..n).collect();
        SplitMix(seed ^ 0xFE21).shuffle(&mut fold_of);
        for fold in 0..k {
            let inside: Vec<usize> = (0..n).filter(|&i| fold_of[i] % k != fold).collect();
            let docs: Vec<TrainDoc> = inside
                .iter()
                .map(|&i| TrainDoc {
                    feats: &rows[i],
                    positive: &labels[i],
                })
                .collect();
            let fold_offsets: Vec<f32> = inside.iter().map(|&i| offsets[i]).collect();
            let mut trainer =
                Trainer::new(VERIFIER_BITS, Loss::Pointwise, seed ^ fold as u64).with_rate(RATE);
            for (p, sum) in probs[1..].iter_mut().zip(&mut sums[1..]) {
                trainer.epoch_with_offsets(&docs, &fold_offsets);
                for i in (0..n).filter(|&i| fold_of[i] % k == fold) {
                    p[i] = sigmoid(offsets[i] as f64 + trainer.model().score(rows[i].row(0)) as f64);
                }
                sum.iter_mut()
                    .zip(&trainer.model().weights)
                    .for_each(|(s, w)| *s += w);
            }
        }
    }
    let log_loss = |p: &[f64]| -> f64 {
        p.iter()
            .zip(answers)
            .map(|(&p, a)| -(if a.2 { p } else { 1.0 - p }).clamp(1e-9, 1.0).ln())
            .sum()
    };
    let best = (0..probs.len())
        .map(|e| (e, log_loss(&probs[e])))
        .fold((0, f64::INFINITY), |b, x| if x.1 < b.1 - 1e-9 { x } else { b })
        .0;
    let mut linear = Linear::new(VERIFIER_BITS);
    if best > 0 {
        linear.weights = sums[best].iter().map(|w| w / k as f32).collect();
    }
    (Verifier { base, linear }, probs.swap_remove(best))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(share: f64) -> Answer {
        Answer {
            cand: 0,
            share,
            mass: share,
            close: 0,
        }
    }

    #[test]
    fn learns_which_answers_are_wrong_from_their_surface() {
        // Answers with a glued comma are wrong; everything else about them is alike.
        let answers: Vec<(Vec<u32>, f64, bool)> = (0..200)
            .map(|i| {
                let glued = i % 3 == 0;
                let value = if glued { "12,MAIN ROAD" } else { "12, MAIN ROAD" };
                (features(&[7, 9], value, &answer(0.9)), 0.9, !glued)
            })
            .collect();
        let (model, held) = train(&answers, 5, 16, 1);
        let right = probability(&model, 0.9, &features(&[7, 9], "3, HIGH STREET", &answer(0.9)));
        let wrong = probability(&model, 0.9, &features(&[7, 9], "3,HIGH STREET", &answer(0.9)));
        assert!(right > wrong + 0.25, "{right} {wrong}");
        // Held out, the glued answers score below the others.
        let mean = |glued: bool| {
            let ps: Vec<f64> = held
                .iter()
                .zip(&answers)
                .filter(|x| x.1.2 != glued)
                .map(|x| *x.0)
                .collect();
            ps.iter().sum::<f64>() / ps.len() as f64
        };
        assert!(mean(true) + 0.2 < mean(false), "{} {}", mean(true), mean(false));
    }
}
