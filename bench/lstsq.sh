#!/usr/bin/env bash
# Least squares side by side with scikit-learn, one run, alternating rounds:
#  1. the fit alone on N x D in-memory data (examples/bench_lstsq.rs vs bench/sklearn_lstsq.py);
#  2. the whole process from a CSV file (N rows, D features + target y, written once by numpy):
#     `learnable train --data F --target y --model linear` vs pandas.read_csv + train_test_split
#     + LinearRegression.fit + score (bench/sklearn_lstsq_csv.py): wall time and peak RSS.
# VENV must have numpy, pandas, scikit-learn (default /work/venv-torch). Threads: THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}; ROUNDS=${ROUNDS:-3}; N=${N:-100000}; D=${D:-100}
VENV=${VENV:-/work/venv-torch}
PY="$VENV/bin/python"
cargo build --release -q -p learnable --example bench_lstsq
cargo build --release -q -p learnable-cli
LEARNABLE_ISA_NOTE=$(./target/release/learnable --version 2>/dev/null | head -1 || true)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; threads=$THREADS; $(date -u +%F); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "learnable: $LEARNABLE_ISA_NOTE; rustc: $(rustc --version)"
CSV=${CSV:-/tmp/lstsq_${N}x${D}.csv}
if [ ! -f "$CSV" ]; then
  "$PY" -c "
import numpy as np, pandas as pd
rng = np.random.default_rng(0); x = rng.standard_normal(($N, $D))
y = x @ np.arange(1, $D + 1) + 0.1 * rng.standard_normal($N)
df = pd.DataFrame(x, columns=[f'x{j}' for j in range($D)]); df['y'] = y
df.to_csv('$CSV', index=False)"
fi
echo "csv: $CSV ($(du -m "$CSV" | cut -f1) MB)"
OUT=$(mktemp -d)
for r in $(seq "$ROUNDS"); do
  RAYON_NUM_THREADS=$THREADS ./target/release/examples/bench_lstsq "$N" "$D" 3
  OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS "$PY" bench/sklearn_lstsq.py "$N" "$D" 3
  /usr/bin/time -f "learnable whole process: %e s, peak RSS %M KB" env RAYON_NUM_THREADS=$THREADS \
    ./target/release/learnable train --data "$CSV" --target y --model linear --out "$OUT/m$r" 2>&1 \
    | grep -E "whole process|R²|r2|R2" || true
  /usr/bin/time -f "sklearn whole process: %e s, peak RSS %M KB" env OMP_NUM_THREADS=$THREADS \
    OPENBLAS_NUM_THREADS=$THREADS "$PY" bench/sklearn_lstsq_csv.py "$CSV" y 2>&1
done
rm -rf "$OUT"
