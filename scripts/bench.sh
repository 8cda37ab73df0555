#!/usr/bin/env bash
# One command, one table: every figure of docs/performance.md against its yardstick, measured
# in this run on this machine (release builds). A benchmark, not a test: nothing here fails
# on a time. `SESAME_BENCH_APP=0` skips the desktop app's rows (no Xvfb/WebKit needed).
#
#   bash scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
app=${SESAME_BENCH_APP:-1}
# What the benches run on a fresh machine: the harness's packages (and the app's, with Xvfb
# and xmessage, unless the app is skipped), the test provider's npm packages, the UI the app
# embeds. Progress goes to stderr; stdout is the table.
if [ "$app" != 0 ]; then export SESAME_GUI=test; fi
source scripts/install-deps.sh >&2
(cd tests/idp && npm ci --loglevel=error --no-audit --no-fund) >&2
if [ "$app" != 0 ]; then
  (cd ui && npm ci --loglevel=error --no-audit --no-fund && npm run --silent build) >&2
fi

cargo build --locked --release -p sesame-cli -p sesame-e2e >&2
export SESAME_BIN="$PWD/target/release/sesame"
bins=(sesame-bench sesame-bench-scale)
if [ "$app" != 0 ]; then
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
