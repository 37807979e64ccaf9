#!/usr/bin/env bash
# GPT training throughput side by side: learnable vs PyTorch (nanoGPT's model, bench/torch_gpt.py),
# tiny Shakespeare, 4 layers x 4 heads x 128 wide, context 64, batch 12, AdamW, clipping, same
# threads; tools alternate for ROUNDS rounds, medians compared. learnable's figure is the
# tokens/s of `learnable train --model gpt` over one evaluation round of STEPS steps (it
# includes one validation pass of --eval-iters 1 batch and the first steps).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
VENV=${VENV:-bench/.venv}
STEPS=${STEPS:-200}
ROUNDS=${ROUNDS:-3}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch numpy
fi
cargo build --release -q -p learnable-cli
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, avx512f: $(grep -qm1 avx512f /proc/cpuinfo && echo yes || echo no); threads=$THREADS; $(date -u +%F)"
echo "learnable $(./target/release/learnable --version); LEARNABLE_ISA=${LEARNABLE_ISA:-unset}; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
tmp=$(mktemp -d)
L=() P=()
for r in $(seq "$ROUNDS"); do
  l=$(RAYON_NUM_THREADS=$THREADS ./target/release/learnable train --model gpt --max-steps "$STEPS" \
      --eval-interval "$STEPS" --eval-iters 1 --out "$tmp/m" --force --quiet | grep -o '[0-9]* tok/s' | head -1 | cut -d' ' -f1)
  p=$(THREADS=$THREADS OMP_NUM_THREADS=$THREADS "$VENV/bin/python" bench/torch_gpt.py "$STEPS" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["tokens_per_s"]))')
  echo "round $r: learnable $l tok/s, pytorch $p tok/s"
  L+=("$l"); P+=("$p")
done
rm -rf "$tmp"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 -c "
import statistics
l = statistics.median([${L[*]/%/,}]); p = statistics.median([${P[*]/%/,}])
print(f'medians over $ROUNDS rounds: learnable {l:.0f} tok/s, pytorch {p:.0f} tok/s, ratio {l/p:.2f}x (target >= 1.5x)')
"
