#!/usr/bin/env bash
# Hostile-input campaign: N deterministic hostile inputs (the core list of every category, then
# seeded random mutations of CSV files, flag values and model files) run on the real binary,
# each with a 20 s timeout and a 4 GiB address-space limit, classified as accepted, clean error,
# silent error, panic, abort (signal), hang, or suspicious success (exit 0 printing NaN/inf).
# Usage: scripts/hostile_inputs.sh [N=1700] [SEED] (the core list is 1,093 cases; more adds
# seeded random mutations; fewer runs a stratified subset of the core list)
# Prints a summary table and every failure; exits 1 on any panic, abort, hang or silent error.
# The bounded form runs in `cargo test` (crates/learnable-cli/tests/hostile_inputs.rs).
set -euo pipefail
N=${1:-1700}
cd "$(dirname "$0")/.."
export HOSTILE_N="$N"
if [ -n "${2:-}" ]; then export HOSTILE_SEED="$2"; fi
export HOSTILE_REPORT=${HOSTILE_REPORT:-$PWD/target/hostile_inputs_report.txt}
cargo test --release -q -p learnable-cli --test hostile_inputs -- \
  --ignored --nocapture --exact hostile_inputs_full
echo "report: $HOSTILE_REPORT"
