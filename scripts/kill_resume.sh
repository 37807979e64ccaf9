#!/usr/bin/env bash
# Kill loop: SIGKILL `learnable train` at random moments, resume it, and check that every
# resumed model is byte-identical to an uninterrupted run (issue: a killed run must never resume
# into a different model). Usage: scripts/kill_resume.sh [KILLS=30] [EPOCHS=60]
# Prints one line per kill and a summary; exits 1 if any resumed model differs.
set -euo pipefail
KILLS=${1:-30}
EPOCHS=${2:-60}
cd "$(dirname "$0")/.."
cargo build --release -q
BIN=$PWD/target/release/learnable
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
ARGS=(train --dataset digits --epochs "$EPOCHS" --quiet)
"$BIN" "${ARGS[@]}" --out whole >/dev/null
start=$(date +%s%N); "$BIN" "${ARGS[@]}" --out timing --force >/dev/null; end=$(date +%s%N)
total_ms=$(( (end - start) / 1000000 ))
equal=0; differ=0; fresh=0
for i in $(seq 1 "$KILLS"); do
  delay_ms=$(( RANDOM % (total_ms + 1) ))
  "$BIN" "${ARGS[@]}" --out "k$i" >/dev/null 2>&1 & pid=$!
  sleep "$(printf '0.%03d' $((delay_ms % 1000)))"; sleep $((delay_ms / 1000))
  kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  if "$BIN" "${ARGS[@]}" --out "k$i" --resume >/dev/null 2>"k$i.err"; then how=resumed
  else "$BIN" "${ARGS[@]}" --out "k$i" --force >/dev/null; how=fresh; fresh=$((fresh + 1)); fi
  if cmp -s whole/model.safetensors "k$i/model.safetensors"; then equal=$((equal + 1)); r=equal
  else differ=$((differ + 1)); r=DIFFERENT; fi
  leftovers=$(find "k$i" -name '.*' | wc -l)
  echo "kill $i at ${delay_ms} ms of ${total_ms}: $how, $r, $leftovers leftover files"
done
echo "kills: $KILLS, resumed equal: $equal, different: $differ, (no checkpoint yet, rerun: $fresh)"
[ "$differ" -eq 0 ]
