#!/usr/bin/env bash
# Side-by-side benchmark: learnable vs PyTorch (CPU), same workload, same thread count, one run.
# The two tools alternate for ROUNDS rounds (default 5) so that both see the same machine noise;
# the figures compared are each tool's median over the rounds.
#   MLP 784-256-256-10, ReLU, batch 128, AdamW lr 1e-3, float32, 2 threads.
# learnable's kernel path: LEARNABLE_ISA (avx512|avx2|portable; default the best the CPU has);
# every learnable line names the path taken ("isa"). Targets: issue 11.
# Creates bench/.venv with PyTorch from PyPI on first use (set VENV to reuse another venv).
# Prints both tools' figures and the ratios; append the output to bench/RESULTS.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
VENV=${VENV:-bench/.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch numpy
fi
cargo build --release -q -p learnable --example bench_mlp
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; threads=$THREADS; $(date -u +%F)"
echo "rustc: $(rustc --version); LEARNABLE_ISA=${LEARNABLE_ISA:-unset}"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
ROUNDS=${ROUNDS:-5}
LINES=()
for r in $(seq "$ROUNDS"); do
  LINES+=("$(RAYON_NUM_THREADS=$THREADS ./target/release/examples/bench_mlp)")
  LINES+=("$(THREADS=$THREADS OMP_NUM_THREADS=$THREADS "$VENV/bin/python" bench/torch_mlp.py)")
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${LINES[@]}"
printf '%s\n' "${LINES[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
def med(tool, key):
    return statistics.median(r[key] for r in rows if r["tool"] == tool)
n = sum(r["tool"] == "learnable" for r in rows)
isa = sorted({r.get("isa", "?") for r in rows if r["tool"] == "learnable"})
path = ",".join(isa)
print(f"medians over {n} alternating rounds; learnable kernel path: {path}")
for key, label, target in [
    ("train_steps_per_s", "training steps/s    ", ">= 1.5x"),
    ("batch1_latency_us", "batch-1 latency (us)", "<= 0.2x"),
    ("batch1024_rows_per_s", "batch-1024 rows/s   ", ">= 1.3x"),
]:
    l, p = med("learnable", key), med("pytorch", key)
    print(f"{label}  learnable {l:10.1f}  pytorch {p:10.1f}  ratio {l / p:.2f}x (target {target})")
l, p = med("learnable", "batch1024_unprepared_rows_per_s"), med("pytorch", "batch1024_rows_per_s")
print(f"batch-1024, packing weights on every call (Mlp::predict): learnable {l:10.1f}  ratio {l / p:.2f}x")
'
