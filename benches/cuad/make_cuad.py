#!/usr/bin/env python3
"""Build Tandem's labelled prose set from CUAD v1 (CC BY 4.0, The Atticus Project).

Reads CUAD's `master_clauses.csv` and `full_contract_txt/` and writes JSONL documents in
the learned extractor's format, `{"id", "text", "fields"}`, split by a hash of the file
name into train (about 80%) and test (about 20%). Fields (see README.md for why):

- `agreement_date` (date): the "Agreement Date-Answer" (written M/D/YY by the
  annotators; the extractor compares normalised dates, so "May 8, 2014" matches it).
- `governing_law` (text): the "Governing Law-Answer" ("Nevada", "New York").
- `parties` (several values): every distinct span the annotators marked in "Parties",
  verbatim from the contract ("BIRCH FIRST GLOBAL INVESTMENTS INC.", "Company").
- `renewal_term` (duration): the "Renewal Term-Answer" when it reads as a plain length
  ("successive 1 year" -> "1 year"); left unlabelled otherwise ("Perpetual").

A field CUAD leaves empty is labelled absent (null). Nothing is edited by hand.

Usage: make_cuad.py CUAD_DIR OUT_DIR [--sample N]
"""

import ast
import csv
import hashlib
import json
import os
import re
import sys

DURATION = re.compile(
    r"^(?:successive\s+|additional\s+|consecutive\s+|renewal\s+)*(\d+)\s*(day|week|month|year)s?$",
    re.I,
)


def spans(cell):
    cell = cell.strip()
    if not cell:
        return []
    try:
        items = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return [cell]
    return [s for s in items if isinstance(s, str) and s.strip()]


def split_of(name):
    h = int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:8], 16)
    return "test" if h % 5 == 0 else "train"


def main():
    args = sys.argv[1:]
    sample = None
    if "--sample" in args:
        i = args.index("--sample")
        sample = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    cuad, out = args
    os.makedirs(out, exist_ok=True)
    rows = list(csv.reader(open(os.path.join(cuad, "master_clauses.csv"), encoding="utf-8")))
    head = rows[0]
    col = {name: i for i, name in enumerate(head)}
    docs = {"train": [], "test": []}
    missing = 0
    for row in rows[1:]:
        stem = os.path.splitext(row[col["Filename"]])[0]
        path = os.path.join(cuad, "full_contract_txt", stem + ".txt")
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            missing += 1
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        fields = {}
        date = row[col["Agreement Date-Answer"]].strip()
        fields["agreement_date"] = date or None
        law = row[col["Governing Law-Answer"]].strip()
        fields["governing_law"] = law or None
        parties = []
        for p in spans(row[col["Parties"]]):
            p = " ".join(p.split())
            if p not in parties:
                parties.append(p)
        fields["parties"] = parties
        renewal = " ".join(row[col["Renewal Term-Answer"]].split())
        m = DURATION.match(renewal)
        if not renewal:
            fields["renewal_term"] = None
        elif m:
            n, unit = m.group(1), m.group(2).lower()
            fields["renewal_term"] = f"{n} {unit}{'' if n == '1' else 's'}"
        docs[split_of(stem)].append({"id": stem, "text": text, "fields": fields})
    for name, ds in docs.items():
        ds.sort(key=lambda d: d["id"])
        with open(os.path.join(out, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for d in ds:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
    if sample:
        # The shortest training contracts: a small sample the repository can carry.
        short = sorted(docs["train"], key=lambda d: len(d["text"]))[:sample]
        with open(os.path.join(out, "sample.jsonl"), "w", encoding="utf-8") as f:
            for d in short:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
    print(
        f"train {len(docs['train'])}, test {len(docs['test'])}, skipped {missing} without text",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
