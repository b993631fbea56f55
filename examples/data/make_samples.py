"""Build the demo's small samples from the full datasets in ../shared/data.

Run from the repository root:  python3 examples/data/make_samples.py ../shared/data
Deterministic: the same input files give the same samples.
"""
import json
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
out = Path(__file__).parent


def read(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# CLINC150 -> route requests to the ten domains (teams) of domains.json.
domains = json.loads((src / "clinc150/domains.json").read_text())
team = {intent: d for d, intents in domains.items() for intent in intents}
train = read(src / "clinc150/train.jsonl")
test = read(src / "clinc150/test.jsonl")
per_intent = {}
rows = []
for r in train:
    if r["label"] == "oos":
        continue
    n = per_intent.get(r["label"], 0)
    if n < 20:
        per_intent[r["label"]] = n + 1
        rows.append({"text": r["text"], "label": team[r["label"]]})
rows += [{"text": r["text"], "label": "oos"} for r in train if r["label"] == "oos"][:60]
with open(out / "customer-requests.train.jsonl", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")

seen = set()
items = []
for r in test:
    if r["label"] != "oos" and r["label"] not in seen:
        seen.add(r["label"])
        items.append({"text": r["text"]})
items += [{"text": r["text"]} for r in test if r["label"] == "oos"][:40]
# Interleave so out-of-scope requests arrive among the others, as they would.
items = [x for pair in zip(items[:150:1], items[150:] + [None] * 150) for x in pair if x is not None]
with open(out / "customer-requests.items.jsonl", "w", encoding="utf-8") as f:
    for r in items:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")

# SROIE -> receipts: company, date, address, total.
strain = read(src / "sroie/train.jsonl")
stest = read(src / "sroie/test.jsonl")
with open(out / "receipts.train.jsonl", "w", encoding="utf-8") as f:
    for r in strain[:300]:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
with open(out / "receipts.items.jsonl", "w", encoding="utf-8") as f:
    for r in stest[:80]:
        f.write(json.dumps({"text": r["text"]}, ensure_ascii=False) + "\n")
print("ok", len(rows), len(items), 300, 80)
