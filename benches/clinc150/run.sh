#!/usr/bin/env bash
# CLINC150 routing benchmark: Tandem's router and a scikit-learn peer on the same split,
# in the same run, with the same metrics (threshold chosen on val for the target
# precision). Prints a JSON object per model, then both as Markdown table rows.
#
#   benches/clinc150/run.sh [DATA_DIR]     (default: ../shared/data/clinc150 beside the repo)
#
# Creates benches/.venv (gitignored) with scikit-learn on first run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${1:-$root/../shared/data/clinc150}"
venv="$root/benches/.venv"

if ! "$venv/bin/python" -c "import sklearn" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet scikit-learn
fi
# One thread everywhere, so both rows measure one core.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

split=(--train "$data/train.jsonl" --val "$data/val.jsonl" --test "$data/test.jsonl" --target-precision 0.99)

echo "== tandem model eval (release) ==" >&2
# --cpu-time: training and prediction timed in the thread's CPU seconds, so a busy shared
# machine does not inflate them (the scikit-learn peer is timed in wall-clock seconds).
ours="$(cd "$root" && cargo run --release --quiet -p tandem -- model eval "${split[@]}" --json --cpu-time)"
echo "$ours"
echo "== scikit-learn $("$venv/bin/python" -c 'import sklearn; print(sklearn.__version__)') ==" >&2
peer="$("$venv/bin/python" "$here/sklearn_peer.py" "${split[@]}")"
echo "$peer"

"$venv/bin/python" - "$ours" "$peer" <<'PY'
import json, sys
keys = ["in_scope_accuracy", "threshold", "coverage", "precision", "oos_recall",
        "oos_auroc", "ece", "train_seconds", "predictions_per_second"]
def cell(k, v):
    if v is None:
        return "—"
    if k == "predictions_per_second":
        return f"{v:,.0f}"
    if k == "train_seconds":
        return f"{v:.1f}"
    return f"{v:.3f}"
print("| model | " + " | ".join(keys) + " |")
print("|---|" + "---:|" * len(keys))
for name, row in (("Tandem router", sys.argv[1]), ("scikit-learn TF-IDF + LogisticRegression", sys.argv[2])):
    r = json.loads(row)
    print(f"| {name} | " + " | ".join(cell(k, r[k]) for k in keys) + " |")
PY
