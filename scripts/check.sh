#!/usr/bin/env bash
# The fast gate, run first by scripts/test.sh and on its own before a commit: formatting,
# clippy for every crate (the lints are [workspace.lints] in Cargo.toml), the UI's type check
# and the unit tests that need no provider, keyring or window. Stops at the first failure.
#
#   scripts/check.sh          everything (the desktop app's crate needs its GTK/WebKit
#                             build packages: scripts/install-deps.sh with SESAME_GUI=1)
#   scripts/check.sh --core   only what builds without GUI libraries
set -euo pipefail
cd "$(dirname "$0")/.."
core_only=false
[ "${1:-}" = --core ] && core_only=true

echo "== cargo fmt --check"
cargo fmt --all --check
# The fuzz targets are not a workspace member (they need nightly); rustfmt.toml applies.
rustfmt --edition 2021 --check fuzz/fuzz_targets/*.rs

echo "== clippy (core crates, e2e harness)"
cargo clippy --locked -p sesame-ipc -p sesame-core -p sesame-cli -p sesame-e2e --all-targets -- -D warnings
# The fuzz targets' entry points (`sesame_core::fuzz`, feature `fuzzing`), on stable.
cargo clippy --locked -p sesame-core --features fuzzing --lib -- -D warnings
if ! $core_only; then
  echo "== clippy (desktop app)"
  # The tests' identifier (as scripts/test.sh builds it), and the UI it embeds.
  test_identifier='{"identifier":"dev.sesame.app.test"}'
  export TAURI_CONFIG="${TAURI_CONFIG:-$test_identifier}"
  [ -d ui/node_modules ] || (cd ui && npm ci --loglevel=error --no-audit --no-fund)
  [ -f ui/dist/index.html ] || (cd ui && npm run --silent build)
  cargo clippy --locked -p sesame-app --all-targets -- -D warnings
  echo "== UI type check"
  (cd ui && npm run --silent check)
fi

echo "== unit tests (ipc, core, cli)"
cargo test --locked -q -p sesame-ipc -p sesame-core -p sesame-cli
