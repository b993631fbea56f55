//! The cross-fitting plan: which examples train each fold model and which it scores.
//!
//! Every example lands in one of `k` example folds (stratified by label, so each fold sees
//! every class), and every route label in one of `k` class folds. Fold `i` trains on the
//! examples outside example fold `i` whose class is outside class fold `i`, then scores:
//! - its held-out examples of the classes it knows: honest in-scope scores, for the
//!   temperature, the hyperparameters and the correctness calibration;
//! - its held-out examples of the classes it never saw: pseudo out-of-scope inputs, which
//!   teach the out-of-scope detector what "unlike the training data" looks like even when
//!   no one labelled a single out-of-scope example;
//! - held-out examples of the out-of-scope label itself, when there are any.
//!
//! Holding out only the diagonal (example fold `i` of class fold `i`) as pseudo
//! out-of-scope keeps those rows to about 1/k of the data instead of letting them swamp
//! the in-scope rows.

use super::rng::Rng;

/// What a held-out row is, for the fold that scores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    InScope,
    PseudoOos,
    RealOos,
}

/// One fold: the rows it trains on and the rows it scores.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fold {
    pub train: Vec<usize>,
    pub held: Vec<(usize, Held)>,
}

/// Below this many route labels, hiding a share of them would leave a model with too few
/// classes to say anything about the rest: only real out-of-scope examples are used.
const MIN_LABELS_FOR_CLASS_HOLDOUT: usize = 4;

/// Build `k` folds over examples with class indices `ys`; `oos` is the out-of-scope class.
pub(crate) fn plan(ys: &[u32], classes: usize, oos: Option<u32>, k: usize, rng: &mut Rng) -> Vec<Fold> {
    let k = k.max(2);
    let routes: Vec<u32> = (0..classes as u32).filter(|&c| Some(c) != oos).collect();
    // Class folds: a shuffled round-robin over route labels; the oos class has none.
    let mut class_fold = vec![usize::MAX; classes];
    if routes.len() >= MIN_LABELS_FOR_CLASS_HOLDOUT {
        let mut order = routes.clone();
        rng.shuffle(&mut order);
        for (i, &c) in order.iter().enumerate() {
            class_fold[c as usize] = i % k;
        }
    }
    // Example folds: per class, a shuffled round-robin from a random start, so that
    // classes with fewer than k examples do not all pile into fold 0.
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &y) in ys.iter().enumerate() {
        by_class[y as usize].push(i);
    }
    let mut example_fold = vec![0usize; ys.len()];
    for members in by_class.iter_mut() {
        rng.shuffle(members);
        let start = rng.below(k);
        for (j, &i) in members.iter().enumerate() {
            example_fold[i] = (start + j) % k;
        }
    }
    (0..k)
        .map(|f| {
            let mut fold = Fold::default();
            for (i, &y) in ys.iter().enumerate() {
                let ef = example_fold[i];
                let cf = class_fold[y as usize];
                if Some(y) == oos {
                    if ef == f {
                        fold.held.push((i, Held::RealOos));
                    } else {
                        fold.train.push(i);
                    }
                } else if cf == f {
                    if ef == f {
                        fold.held.push((i, Held::PseudoOos));
                    }
                } else if ef == f {
                    fold.held.push((i, Held::InScope));
                } else {
                    fold.train.push(i);
                }
            }
            fold
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_never_score_what_they_train_on() {
        let ys: Vec<u32> = (0..200).map(|i| (i % 9) as u32).collect();
        let folds = plan(&ys, 9, Some(8), 4, &mut Rng::new(7));
        let mut in_scope_scored = vec![0; ys.len()];
        for f in &folds {
            for &(i, kind) in &f.held {
                assert!(!f.train.contains(&i));
                if kind == Held::InScope {
                    in_scope_scored[i] += 1;
                    // The fold knows this example's class.
                    assert!(f.train.iter().any(|&t| ys[t] == ys[i]));
                }
                if kind == Held::PseudoOos {
                    // The fold never saw this example's class.
                    assert!(f.train.iter().all(|&t| ys[t] != ys[i]));
                }
                assert_eq!(kind == Held::RealOos, ys[i] == 8);
            }
        }
        assert!(in_scope_scored.iter().all(|&n| n <= 1));
        let scored = in_scope_scored.iter().filter(|&&n| n == 1).count();
        assert!(scored > 100, "{scored}");
    }
}
