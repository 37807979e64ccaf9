#!/usr/bin/env bash
# Side-by-side benchmark: learnable vs PyTorch (CPU), same workload, same thread count, one run.
#   MLP 784-256-256-10, ReLU, batch 128, AdamW lr 1e-3, float32, 2 threads.
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
echo "rustc: $(rustc --version)"
L=$(RAYON_NUM_THREADS=$THREADS ./target/release/examples/bench_mlp)
P=$(THREADS=$THREADS OMP_NUM_THREADS=$THREADS "$VENV/bin/python" bench/torch_mlp.py)
echo "$L"
echo "$P"
python3 - "$L" "$P" <<'PY'
import json, sys
l, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"training steps/s      learnable {l['train_steps_per_s']:9.1f}  pytorch {p['train_steps_per_s']:9.1f}  ratio {l['train_steps_per_s']/p['train_steps_per_s']:.2f}x (target >= 1.2x)")
print(f"batch-1 latency (us)  learnable {l['batch1_latency_us']:9.1f}  pytorch {p['batch1_latency_us']:9.1f}  ratio {l['batch1_latency_us']/p['batch1_latency_us']:.2f}x (target <= 0.5x)")
print(f"batch-1024 rows/s     learnable {l['batch1024_rows_per_s']:9.0f}  pytorch {p['batch1024_rows_per_s']:9.0f}  ratio {l['batch1024_rows_per_s']/p['batch1024_rows_per_s']:.2f}x (target >= 1.1x)")
PY
