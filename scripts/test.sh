#!/usr/bin/env bash
# Installs what is missing, then runs every test: unit tests (core, CLI, UI, app shell), the
# provider self-check, the end-to-end tests against a real oidc-provider, a real gnome-keyring,
# the real `sesame` binary and the real desktop app under Xvfb, builds the .deb, and runs each
# fuzz target for a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
export SESAME_GUI=test
source scripts/install-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== npm ci (test identity provider, UI)"
(cd tests/idp && npm ci --loglevel=error --no-audit --no-fund)
(cd ui && npm ci --loglevel=error --no-audit --no-fund)

echo "== the core has no GUI dependency"
if cargo tree --locked -e normal -p sesame-core -p sesame-ipc -p sesame-cli | grep -E -i 'gtk|webkit|tauri'; then
  echo "FAIL: a GUI library reached the core crates" >&2
  exit 1
fi

echo "== scripts/check.sh: formatting, clippy, UI type check, unit tests (core, ipc, cli)"
bash scripts/check.sh 2>&1 | tee -a "$log"

echo "== build"
cargo build --locked -p sesame-cli

echo "== the core's OAuth client against the test provider (no broker, no keyring)"
cargo test --locked -p sesame-core -- --ignored idp_ 2>&1 | tee -a "$log"

echo "== UI: type check, unit tests (Tauri IPC mocked), build"
# NO_COLOR: the closing tally below reads Vitest's plain "Tests  N passed" line.
(cd ui && npm run --silent check && NO_COLOR=1 npx vitest run 2>&1 | tee -a "$log" && npm run --silent build)

echo "== desktop app: build with the test identifier (UI embedded), shell tests"
# A separate identifier, so the tests never share the app's data or single-instance name
# with a real installation (their dirs and keyring are private anyway).
export TAURI_CONFIG='{"identifier":"dev.sesame.app.test"}'
cargo build --locked -p sesame-app
cargo test --locked -p sesame-app 2>&1 | tee -a "$log"

echo "== test provider self-check"
python3 tests/idp/selfcheck.py

echo "== end-to-end tests"
# Each test starts its own bus, keyring, provider and daemon (or app); a few at a time on 2 cores.
# A bound on the whole suite, so a hung external program fails the run instead of stalling CI.
timeout 1800 cargo test --locked -p sesame-e2e -- --test-threads="${SESAME_E2E_THREADS:-4}" 2>&1 | tee -a "$log"
unset TAURI_CONFIG

echo "== .deb bundle (release build, the real identifier)"
deb=$(bash scripts/deb.sh)
dpkg-deb --info "$deb" | grep -E 'Package|Version|Depends'
dpkg-deb --contents "$deb" | grep -E 'usr/bin/(sesame-app|sesame|git-credential-sesame)$'
dpkg-deb --contents "$deb" | grep -q 'usr/bin/git-credential-sesame$' || { echo "the .deb lacks git-credential-sesame" >&2; exit 1; }
# The packaged CLI runs from where the package puts it.
unpacked=$(mktemp -d)
dpkg-deb -x "$deb" "$unpacked"
"$unpacked/usr/bin/sesame" --version
# Under git's name it is `sesame git-credential`.
"$unpacked/usr/bin/git-credential-sesame" --help | grep -q unconfigure
rm -rf "$unpacked"
echo "built $deb"

echo "== fuzz smoke: every target of fuzz/ for 60 s (nightly, cargo-fuzz; scripts/fuzz.sh)"
# One build for the four, the cheapest that runs the same checks (unoptimized, no sanitizer,
# debug assertions and overflow checks on: docs/reliability.md), then each runs from its
# seeds; a crash or a failed check stops the run here, with the input saved.
export FUZZ_PROFILE=dev FUZZ_SANITIZER=none
bash scripts/fuzz.sh --build
fuzz_targets=$(bash scripts/fuzz.sh --list)
for target in $fuzz_targets; do
  bash scripts/fuzz.sh "$target" 60 | tee -a "$log"
done

# One closing line for the whole run: cargo's "test result" lines, Vitest's "Tests" line and
# one per fuzz target that ran its minute clean.
awk '/^test result:/ { p += $4; f += $6 }
     /^ *Tests +[0-9]/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^fuzz [a-z_]+: ok,/ { p += 1 }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
