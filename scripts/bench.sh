#!/usr/bin/env bash
# One command, one table: every figure of docs/performance.md against its yardstick, measured
# in this run on this machine (release builds). A benchmark, not a test: nothing here fails
# on a time. `SESAME_BENCH_APP=0` skips the desktop app's rows (no Xvfb/WebKit needed).
#
#   bash scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export SESAME_GUI=test

cargo build --locked --release -p sesame-cli -p sesame-e2e >&2
export SESAME_BIN="$PWD/target/release/sesame"
bins=(sesame-bench sesame-bench-scale)
if [ "${SESAME_BENCH_APP:-1}" != 0 ]; then
  # The test identifier, so a bench never shares data or single-instance with a real install.
  TAURI_CONFIG='{"identifier":"dev.sesame.app.test"}' cargo build --locked --release -p sesame-app >&2
  export SESAME_APP_BIN="$PWD/target/release/sesame-app"
  bins+=(sesame-bench-app)
fi

echo "Sesame benchmarks, $(date -u +%F), $(nproc) cores, $(uname -sr), release build"
echo
echo "| figure | sesame | yardstick | ratio | goal | met |"
echo "|---|---|---|---|---|---|"
for bin in "${bins[@]}"; do
  [ -x "target/release/$bin" ] || { echo "| $bin | not built | | | | ✗ |"; continue; }
  "target/release/$bin" --rows
done
