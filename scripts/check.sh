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

echo "== fuzz/Cargo.lock: up to date, with the workspace's versions"
# Its own lock (the fuzz crate is outside the workspace) must not drift from Cargo.lock:
# the parsers are fuzzed with the versions the broker ships with.
lock_fix="cp Cargo.lock fuzz/Cargo.lock && cargo metadata --manifest-path fuzz/Cargo.toml >/dev/null, then commit fuzz/Cargo.lock"
if ! cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null; then
  echo "FAIL: fuzz/Cargo.lock is out of date; refresh it: $lock_fix" >&2
  exit 1
fi
versions() { awk '/^name = /{n=$3} /^version = /{print n, $3}' "$1" | sort; }
if comm -13 <(versions Cargo.lock) <(versions fuzz/Cargo.lock) | grep -v -E '^"(sesame-fuzz|libfuzzer-sys|arbitrary|jobserver)" '; then
  echo "FAIL: fuzz/Cargo.lock has versions Cargo.lock does not (above); refresh it: $lock_fix" >&2
  exit 1
fi

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
