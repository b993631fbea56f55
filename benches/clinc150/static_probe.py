"""Static word-piece vectors from all-MiniLM-L6-v2: fast enough for the router's budget?

A probe, not part of the product. Each word piece that occurs in CLINC150 is passed alone
through MiniLM (`[CLS] piece [SEP]`, mean-pooled), once, offline; a sentence is then the
normalised mean of its pieces' vectors (the Model2Vec idea, without its PCA and
re-weighting). Prediction is a table look-up and an average, as cheap as our n-grams.
Prints in-scope accuracy of LogisticRegression on these vectors, of TF-IDF
LogisticRegression, and of their late fusion (C and weight chosen on val).

Same explicit download as `minilm_probe.py`; then

    benches/.venv/bin/python benches/clinc150/static_probe.py MODEL_DIR ../shared/data/clinc150
"""

import json
import sys
import time

import numpy as np

import minilm_probe as mp


def pieces(data, split):
    rows = [json.loads(line) for line in open(f"{data}/{split}.jsonl", encoding="utf-8")]
    rows = [r for r in rows if r["label"] != "oos"]
    encs = mp.TOK.encode_batch([r["text"] for r in rows])
    # Drop [CLS] and [SEP].
    return [e.ids[1:-1] for e in encs], np.array([r["label"] for r in rows]), [r["text"] for r in rows]


def main():
    model_dir, data = sys.argv[1], sys.argv[2]
    mp.load_model(model_dir)
    splits = {s: pieces(data, s) for s in ("train", "val", "test")}
    used = sorted({i for s in splits.values() for ids in s[0] for i in ids})
    start = time.perf_counter()
    table = np.zeros((mp.W["embeddings.word_embeddings.weight"].shape[0], 384), np.float32)
    for i in range(0, len(used), 256):
        batch = used[i : i + 256]
        ids = np.array([[101, p, 102] for p in batch])
        table[batch] = mp.encode(ids, np.ones(ids.shape, np.float32))
    print(f"{len(used)} word pieces embedded in {time.perf_counter() - start:.0f} s (once, offline)")

    def sentences(ids_list):
        out = np.zeros((len(ids_list), 384), np.float32)
        for j, ids in enumerate(ids_list):
            if ids:
                v = table[ids].sum(0)
                out[j] = v / (np.linalg.norm(v) + 1e-9)
        return out

    (pt, yt, xt), (pv, yv, xv), (ps, ys, xs) = (splits[s] for s in ("train", "val", "test"))
    mp.fuse_report("static vectors", sentences(pt), sentences(pv), sentences(ps), yt, yv, ys, xt, xv, xs)


if __name__ == "__main__":
    main()
