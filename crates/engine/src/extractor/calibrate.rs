//! Turning held-out answers into a field's decision rules: the cut below which the field
//! is reported absent (the one that maximises held-out F1), and the calibrators that turn
//! raw scores into probabilities, all fitted on the answers that cross-fitting produced
//! for documents their models never saw.
//!
//! Every calibrator reads log-odds (`decide::logit`): of a single answer's probability,
//! of a value's, of a whole set's, or of `1 - p` for "absent".

use super::decide;
use super::train::FieldModel;
use crate::calibration::Calibrator;
use crate::metrics::Scored;

/// One held-out answer: a single field's mass and rightness, or a multi field's ranked
/// values with their rightness.
pub(crate) enum HeldOut {
    Single {
        mass: f64,
        correct: bool,
        gold: bool,
        verify: Vec<u32>,
    },
    Multi {
        ranked: Vec<(f64, bool)>,
        gold: usize,
    },
}

/// The score cut that maximises held-out F1 (answer when the score is at least the cut),
/// and that F1. For single fields the score is the answer's mass; for multi fields each
/// value's probability. A cut above every score (answer nothing) is allowed.
pub(crate) fn best_cut(held: &[&HeldOut]) -> (f64, f64) {
    let mut points: Vec<(f64, bool)> = Vec::new();
    let mut gold = 0;
    for h in held {
        match h {
            HeldOut::Single {
                mass,
                correct,
                gold: g,
                ..
            } => {
                points.push((*mass, *correct));
                gold += usize::from(*g);
            }
            HeldOut::Multi { ranked, gold: g } => {
                points.extend(ranked.iter().copied());
                gold += g;
            }
        }
    }
    points.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Scores are probabilities, so a cut of 2 answers nothing (and survives serialisation,
    // which infinity would not).
    let (mut best_cut, mut best_f1) = (2.0, 0.0);
    let (mut right, mut i) = (0usize, 0);
    while i < points.len() {
        let t = points[i].0;
        while i < points.len() && points[i].0 == t {
            right += usize::from(points[i].1);
            i += 1;
        }
        let f1 = 2.0 * right as f64 / (i + gold) as f64;
        if f1 > best_f1 + 1e-12 {
            // Halfway to the next lower score: a cut right at the lowest accepted score
            // would turn away a new document that scores a hair lower. Nothing lower
            // means answer everything.
            let next = points.get(i).map_or(0.0, |p| p.0);
            (best_cut, best_f1) = ((t + next) / 2.0, f1);
        }
    }
    (best_cut, best_f1)
}

/// Fit the calibrators on the out-of-fold answers at the chosen epoch and cut, and record
/// the calibrated held-out points the final answers would have had.
pub(crate) fn fit_calibrators(model: &mut FieldModel, oof: &[&HeldOut]) {
    let cut = model.cut;
    let mut answer_pts = Vec::new();
    let mut absent_pts = Vec::new();
    let mut value_pts = Vec::new();
    for h in oof {
        match h {
            HeldOut::Single {
                mass, correct, gold, ..
            } => {
                answer_pts.push((decide::logit(*mass), *correct));
                absent_pts.push((-decide::logit(*mass), !gold));
            }
            HeldOut::Multi { ranked, gold } => {
                value_pts.extend(ranked.iter().map(|&(p, ok)| (decide::logit(p), ok)));
                answer_pts.push((
                    decide::logit(decide::set_score(&ranked_probs(ranked), cut)),
                    set_right(ranked, *gold, cut),
                ));
            }
        }
    }
    model.calib = Calibrator::fit(&answer_pts);
    model.value_calib = Calibrator::fit(&value_pts);
    model.absent_calib = Calibrator::fit(&absent_pts);
    model.held_out = oof
        .iter()
        .map(|h| match h {
            HeldOut::Single { mass, correct, .. } if *mass >= cut => {
                Scored::new(model.calib.apply(decide::logit(*mass)), *correct)
            }
            HeldOut::Single { mass, gold, .. } => {
                Scored::new(model.absent_calib.apply(-decide::logit(*mass)), !gold)
            }
            HeldOut::Multi { ranked, gold } => Scored::new(
                model
                    .calib
                    .apply(decide::logit(decide::set_score(&ranked_probs(ranked), cut))),
                set_right(ranked, *gold, cut),
            ),
        })
        .collect();
}

fn ranked_probs(ranked: &[(f64, bool)]) -> Vec<(usize, f64)> {
    ranked.iter().map(|&(p, _)| (0, p)).collect()
}

/// Whether keeping the values at or above `cut` gives exactly the gold set.
fn set_right(ranked: &[(f64, bool)], gold: usize, cut: f64) -> bool {
    let kept = ranked.iter().filter(|r| r.0 >= cut);
    let (mut right, mut wrong) = (0, 0);
    for &(_, ok) in kept {
        if ok {
            right += 1;
        } else {
            wrong += 1;
        }
    }
    wrong == 0 && right == gold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_cut_trades_precision_for_recall() {
        let held = [
            HeldOut::Single {
                mass: 0.9,
                correct: true,
                gold: true,
                verify: Vec::new(),
            },
            HeldOut::Single {
                mass: 0.8,
                correct: true,
                gold: true,
                verify: Vec::new(),
            },
            HeldOut::Single {
                mass: 0.3,
                correct: false,
                gold: true,
                verify: Vec::new(),
            },
            HeldOut::Single {
                mass: 0.2,
                correct: false,
                gold: true,
                verify: Vec::new(),
            },
        ];
        let refs: Vec<&HeldOut> = held.iter().collect();
        let (cut, f1) = best_cut(&refs);
        assert_eq!(cut, 0.55);
        assert!((f1 - 2.0 * 2.0 / 6.0).abs() < 1e-12);
    }
}
