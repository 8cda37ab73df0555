#!/usr/bin/env bash
# Installs what is missing, then runs every test: unit tests, the provider self-check and the
# end-to-end tests against a real oidc-provider, a real gnome-keyring and the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== npm ci (test identity provider)"
(cd tests/idp && npm ci --silent --no-audit --no-fund)

echo "== build"
cargo build --locked -p sesame-cli

echo "== unit tests (core, ipc, cli: no GUI libraries needed)"
cargo test --locked -p sesame-ipc -p sesame-core -p sesame-cli 2>&1 | tee -a "$log"

echo "== test provider self-check"
python3 tests/idp/selfcheck.py

echo "== end-to-end tests"
# Each test starts its own bus, keyring, provider and daemon; a few at a time on 2 cores.
# A bound on the whole suite, so a hung external program fails the run instead of stalling CI.
timeout 1800 cargo test --locked -p sesame-e2e -- --test-threads="${SESAME_E2E_THREADS:-4}" 2>&1 | tee -a "$log"

# One closing line for the whole run (cargo's last line is a doc-test count of 0).
awk '/^test result:/ { p += $4; f += $6 } END { printf "total: %d passed, %d failed\n", p, f }' "$log"
