"""The scikit-learn peer for the CLINC150 routing benchmark.

TF-IDF word 1-2-grams plus character 2-5-grams, LogisticRegression, trained on the same
train split as Tandem's router, with the out-of-scope label as one more class (the paper's
"oos-train" setting). Every figure is computed the way `tandem model eval` computes it:

- the top route is the most probable label other than the out-of-scope one, and its
  probability is the confidence;
- an item is routed when the out-of-scope label is not the most probable one and the
  confidence is at or above the threshold;
- the threshold is the lowest at which routed items of the validation split reach the
  target precision (routing an out-of-scope item is always wrong);
- ECE uses 15 equal-width bins over all test items; AUROC separates in-scope from
  out-of-scope test items by confidence.

Prints one JSON object with the same keys as `tandem model eval --json`.
"""

import argparse
import json
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline, make_union


def load(path):
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["text"] for r in rows], np.array([r["label"] for r in rows])


def route(model, texts, oos_label):
    """Top non-oos route, its probability, and whether the oos class won outright."""
    proba = model.predict_proba(texts)
    classes = model.classes_
    oos_idx = np.where(classes == oos_label)[0]
    flagged = np.zeros(len(texts), dtype=bool)
    if len(oos_idx):
        flagged = proba.argmax(axis=1) == oos_idx[0]
        proba = proba.copy()
        proba[:, oos_idx[0]] = -1.0
    best = proba.argmax(axis=1)
    return classes[best], proba[np.arange(len(texts)), best], flagged


def threshold_for_precision(conf, right, target):
    """Lowest observed confidence at which the items at or above it reach `target`."""
    order = np.argsort(-conf, kind="stable")
    conf, right = conf[order], right[order]
    best = None
    cum = np.cumsum(right)
    for i in range(len(conf)):
        # Ties are accepted together: only evaluate at the last item of a tie group.
        if i + 1 < len(conf) and conf[i + 1] == conf[i]:
            continue
        if cum[i] / (i + 1) >= target:
            best = conf[i]
    return None if best is None else float(best)


def ece(conf, right, bins=15):
    idx = np.minimum((np.clip(conf, 0, 1) * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(conf) * abs(conf[m].mean() - right[m].mean())
    return float(total)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--target-precision", type=float, default=0.99)
    ap.add_argument("--oos-label", default="oos")
    ap.add_argument("--c", type=float, default=10.0)
    args = ap.parse_args()
    oos = args.oos_label

    xt, yt = load(args.train)
    xv, yv = load(args.val)
    xs, ys = load(args.test)

    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=args.c, max_iter=1000),
    )
    start = time.perf_counter()
    model.fit(xt, yt)
    train_seconds = time.perf_counter() - start

    label, conf, flagged = route(model, xv, oos)
    right = (label == yv) & (yv != oos)
    routable = ~flagged
    threshold = threshold_for_precision(conf[routable], right[routable], args.target_precision)

    start = time.perf_counter()
    label, conf, flagged = route(model, xs, oos)
    predict_seconds = time.perf_counter() - start
    right = (label == ys) & (ys != oos)
    is_oos = ys == oos
    routed = np.zeros(len(xs), dtype=bool) if threshold is None else (~flagged) & (conf >= threshold)
    report = {
        "in_scope_accuracy": float((label[~is_oos] == ys[~is_oos]).mean()),
        "threshold": threshold,
        "coverage": float(routed.mean()),
        "precision": float(right[routed].mean()) if routed.any() else None,
        "oos_recall": float((~routed[is_oos]).mean()) if is_oos.any() else None,
        "oos_auroc": float(roc_auc_score(~is_oos, conf)) if is_oos.any() else None,
        "ece": ece(conf, right.astype(float)),
        "train_seconds": train_seconds,
        "predictions_per_second": len(xs) / predict_seconds,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
