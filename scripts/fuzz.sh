#!/usr/bin/env bash
# Runs one fuzz target of fuzz/ (cargo-fuzz, libFuzzer, nightly Rust) for SECONDS, from its
# seeds (fuzz/seeds/TARGET) and the corpus earlier runs left (fuzz/corpus/TARGET, not in
# git), with its dictionary (fuzz/dicts/TARGET.dict). Installs cargo-fuzz when it is missing.
# A crash, a failed check or a hang (over 10 s for one input) fails with libFuzzer's report
# and the input saved under fuzz/artifacts/TARGET/; replay it with
# `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/<file>`.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags…]   one target (ends with a summary line)
#   scripts/fuzz.sh --build                             build every target, run none
#   scripts/fuzz.sh --list                              the targets
#
# FUZZ_SANITIZER: `none` (the default here: the targets are safe Rust) or `address`
# (cargo-fuzz's default, AddressSanitizer). FUZZ_PROFILE: `release` (the default: optimized,
# with debug assertions and overflow checks) or `dev` (unoptimized: half the build, a
# fraction of the runs per second; scripts/test.sh's smoke). docs/reliability.md has both.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cargo_fuzz_flags=(--sanitizer "${FUZZ_SANITIZER:-none}")
case "${FUZZ_PROFILE:-release}" in
  release) ;;
  dev) cargo_fuzz_flags+=(--dev) ;;
  *) echo "FUZZ_PROFILE is release or dev" >&2; exit 2 ;;
esac
# The bundled SQLite's two static `aiOff` arrays trip ASan's ODR check (a false alarm).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
targets=(request_line loopback token_response config)

usage() {
  echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags…] | --build | --list (targets: ${targets[*]})" >&2
  exit 2
}

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "the fuzz targets need a nightly Rust toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing: cargo-fuzz (cargo install --locked)" >&2
  cargo install --locked --quiet cargo-fuzz
fi
build() {
  # fuzz/Cargo.lock as committed (the workspace's versions plus libFuzzer's crates):
  # cargo-fuzz has no --locked, so check it first.
  if ! cargo +nightly metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null; then
    echo "fuzz/Cargo.lock is out of date (a dependency of sesame-core changed): cp Cargo.lock fuzz/Cargo.lock && cargo metadata --manifest-path fuzz/Cargo.toml >/dev/null, then commit it" >&2
    exit 1
  fi
  CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo +nightly fuzz build "${cargo_fuzz_flags[@]}" "$@"
}

case "${1:-}" in
  --list) printf '%s\n' "${targets[@]}"; exit 0 ;;
  --build) build; exit 0 ;;
  "" | -*) usage ;;
esac
target=$1
seconds=${2:-}
[[ " ${targets[*]} " == *" $target "* ]] || usage
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
shift 2

build "$target"
corpus=fuzz/corpus/$target
mkdir -p "$corpus" "fuzz/artifacts/$target"
flags=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1)
[ -f "fuzz/dicts/$target.dict" ] && flags+=(-dict="fuzz/dicts/$target.dict")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# New inputs go to the corpus (first directory); the seeds are read only.
set +e
CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" \
  cargo +nightly fuzz run "${cargo_fuzz_flags[@]}" "$target" "$corpus" "fuzz/seeds/$target" \
  -- "${flags[@]}" "$@" 2>&1 | tee "$out" | grep -E --line-buffered -v '^#[0-9]+[[:space:]]+(NEW|REDUCE)'
status=${PIPESTATUS[0]}
set -e
runs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$out")
secs=$(awk '/^Done [0-9]+ runs in/ { print $5 }' "$out")
cov=$(grep -E '^#[0-9]+' "$out" | tail -1 | grep -oE 'cov: [0-9]+' | cut -d' ' -f2 || true)
if grep -q 'libFuzzer: run interrupted' "$out"; then
  echo "fuzz $target: interrupted (a signal) after ${runs:-?} runs" >&2
  exit 130
fi
if [ "$status" -ne 0 ]; then
  echo "fuzz $target: FAILED (exit $status) after ${runs:-?} runs; the input is in fuzz/artifacts/$target/" >&2
  exit "$status"
fi
echo "fuzz $target: ok, ${runs:-?} runs in ${secs:-$seconds} s, 0 crashes (coverage ${cov:-?}, corpus $(find "$corpus" -type f | wc -l) inputs)"
