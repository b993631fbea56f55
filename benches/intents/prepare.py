"""Turn two more public intent data sets into the router benchmark's JSONL splits.

    python3 benches/intents/prepare.py SNIPS_REPO HINT3_REPO OUT_DIR

SNIPS_REPO and HINT3_REPO are git directories of the two public repositories (a clone, or
a bare mirror: files are read with `git show HEAD:path`, so no work tree is needed):

- SNIPS 2017 custom-intent-engines benchmark (Coucke et al. 2018, arXiv:1805.10190),
  repository sonos/nlu-benchmark, CC0 1.0: 7 intents, train = the `train_*_full.json`
  files (about 13,800 queries), test = the `validate_*.json` files (700).
- HINT3 v2 (Arora et al. 2020, "HINT3: Raising the bar for Intent Detection in the Wild",
  Insights from Negative Results workshop at EMNLP 2020), repository hellohaptik/HINT3,
  Open Database License 1.0 (contents: Database Contents License 1.0): three real chatbot
  sets (sofmattress, curekart, powerplay11); its test files label out-of-scope queries
  NO_NODES_DETECTED, written here as `oos`; training has none.

Writes OUT_DIR/NAME/{train,val,test}.jsonl with {"text", "label"} rows for NAME in snips,
hint3-sofmattress, hint3-curekart, hint3-powerplay11. Neither set has a validation
split, so val is a seeded, stratified tenth (SNIPS) or fifth (HINT3) of train, removed
from train: both models in `benches/clinc150/run.sh OUT_DIR/NAME` see the same split.
"""

import csv
import io
import json
import os
import random
import subprocess
import sys
from collections import defaultdict

INTENTS = ["AddToPlaylist", "BookRestaurant", "GetWeather", "PlayMusic", "RateBook",
           "SearchCreativeWork", "SearchScreeningEvent"]


def show(repo, path):
    raw = subprocess.run(["git", "--git-dir", repo_git(repo), "show", f"HEAD:{path}"],
                         check=True, capture_output=True).stdout
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # A few SNIPS files are Latin-1.
        return raw.decode("latin-1")


def repo_git(repo):
    dotgit = os.path.join(repo, ".git")
    return dotgit if os.path.isdir(dotgit) else repo


def snips_rows(repo, name):
    rows = []
    for intent in INTENTS:
        path = f"2017-06-custom-intent-engines/{intent}/{name.format(intent=intent)}"
        for q in json.loads(show(repo, path))[intent]:
            text = "".join(part["text"] for part in q["data"]).strip()
            if text:
                rows.append({"text": text, "label": intent})
    return rows


def hint3_rows(repo, path):
    rows = []
    for r in csv.DictReader(io.StringIO(show(repo, path))):
        text = (r["sentence"] or "").strip()
        label = "oos" if r["label"] == "NO_NODES_DETECTED" else r["label"]
        if text:
            rows.append({"text": text, "label": label})
    return rows


def split(rows, share, seed):
    """A stratified `share` of each label (at least one of a label with two or more)."""
    rng = random.Random(seed)
    by_label = defaultdict(list)
    for r in rows:
        by_label[r["label"]].append(r)
    train, val = [], []
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        n = max(1, round(len(members) * share)) if len(members) >= 2 else 0
        val.extend(members[:n])
        train.extend(members[n:])
    return train, val


def write(out, name, train, val, test):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    for part, rows in (("train", train), ("val", val), ("test", test)):
        with open(os.path.join(d, f"{part}.jsonl"), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{name}: train {len(train)}, val {len(val)}, test {len(test)} "
          f"({sum(r['label'] == 'oos' for r in test)} oos)")


def main():
    snips, hint3, out = sys.argv[1:4]
    train, val = split(snips_rows(snips, "train_{intent}_full.json"), 0.1, 42)
    write(out, "snips", train, val, snips_rows(snips, "validate_{intent}.json"))
    for name in ("sofmattress", "curekart", "powerplay11"):
        rows = hint3_rows(hint3, f"dataset/v2/train/{name}_train.csv")
        train, val = split(rows, 0.2, 42)
        write(out, f"hint3-{name}", train, val, hint3_rows(hint3, f"dataset/v2/test/{name}_test.csv"))


if __name__ == "__main__":
    main()
