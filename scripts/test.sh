#!/usr/bin/env bash
# Installs what is missing, then runs every test: unit tests (core, CLI, UI, app shell), the
# provider self-check, the end-to-end tests against a real oidc-provider (and, for the core
# scenarios and DOT's quirks, django-oauth-toolkit), a real gnome-keyring,
# the real `sesame` binary and the real desktop app under Xvfb, builds the .deb, and runs each
# fuzz target for a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
export SESAME_GUI=test
source scripts/install-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Each step's heading says when it began (seconds into the run), so a slow CI run shows where.
step() { echo "== $* [+${SECONDS}s]"; }

step "npm ci (test identity provider, UI)"
(cd tests/idp && npm ci --loglevel=error --no-audit --no-fund)
(cd ui && npm ci --loglevel=error --no-audit --no-fund)

step "django-oauth-toolkit venv (the second test provider, pinned: tests/dot/requirements.txt)"
bash tests/dot/setup.sh

step "the core has no GUI dependency"
if cargo tree --locked -e normal -p sesame-core -p sesame-ipc -p sesame-cli | grep -E -i 'gtk|webkit|tauri'; then
  echo "FAIL: a GUI library reached the core crates" >&2
  exit 1
fi

step "scripts/check.sh: formatting, clippy, UI type check, unit tests (core, ipc, cli)"
bash scripts/check.sh 2>&1 | tee -a "$log"

step "build"
cargo build --locked -p sesame-cli

step "the core's OAuth client against the test provider (no broker, no keyring)"
cargo test --locked -p sesame-core -- --ignored idp_ 2>&1 | tee -a "$log"

step "UI: type check, unit tests (Tauri IPC mocked), build"
# NO_COLOR: the closing tally below reads Vitest's plain "Tests  N passed" line.
(cd ui && npm run --silent check && NO_COLOR=1 npx vitest run 2>&1 | tee -a "$log" && npm run --silent build)

step "desktop app: build with the test identifier (UI embedded), shell tests"
# A separate identifier, so the tests never share the app's data or single-instance name
# with a real installation (their dirs and keyring are private anyway).
export TAURI_CONFIG='{"identifier":"dev.sesame.app.test"}'
cargo build --locked -p sesame-app
cargo test --locked -p sesame-app 2>&1 | tee -a "$log"

step "scripts/run.sh build twice: the second compiles nothing (dev profile, as just built)"
bash tests/run_twice.sh

step "test provider self-check"
python3 tests/idp/selfcheck.py

step "end-to-end tests"
# Each test starts its own bus, keyring, provider and daemon (or app); a few at a time on 2 cores.
# A bound on the whole suite, so a hung external program fails the run instead of stalling CI.
timeout 1800 cargo test --locked -p sesame-e2e -- --test-threads="${SESAME_E2E_THREADS:-4}" 2>&1 | tee -a "$log"
unset TAURI_CONFIG

step ".deb bundle (release build, the real identifier)"
deb=$(bash scripts/deb.sh)
dpkg-deb --info "$deb" | grep -E 'Package|Version|Depends'
# Read whole first: `grep -q` on the pipe would stop reading at its match, and dpkg-deb's tar
# killed by SIGPIPE fails the pipeline (pipefail).
contents=$(dpkg-deb --contents "$deb")
grep -E 'usr/bin/(sesame-app|sesame|git-credential-sesame)$' <<<"$contents"
grep -q 'usr/bin/git-credential-sesame$' <<<"$contents" || { echo "the .deb lacks git-credential-sesame" >&2; exit 1; }
# The systemd user units, the shell completions and the manual pages (one per command).
bash scripts/deb-extras.sh list "$deb"
# The packaged CLI runs from where the package puts it.
unpacked=$(mktemp -d)
dpkg-deb -x "$deb" "$unpacked"
"$unpacked/usr/bin/sesame" --version
# Under git's name it is `sesame git-credential`.
help=$("$unpacked/usr/bin/git-credential-sesame" --help)
grep -q unconfigure <<<"$help"
bash scripts/deb-extras.sh verify "$unpacked"
rm -rf "$unpacked"
echo "built $deb"

step "fuzz smoke: every target of fuzz/ for 60 s (nightly, cargo-fuzz; scripts/fuzz.sh)"
# One build for the four, the cheapest that runs the same checks (unoptimized, no sanitizer,
# debug assertions and overflow checks on: docs/reliability.md), then each runs from its
# seeds; a crash or a failed check stops the run here, with the input saved.
export FUZZ_PROFILE=dev FUZZ_SANITIZER=none
bash scripts/fuzz.sh --build
# Two at a time, one per core: each still has a core for its minute, and the four take two.
fuzz_out=$(mktemp -d)
set -- $(bash scripts/fuzz.sh --list)
fuzz_failed=0
while [ $# -gt 0 ]; do
  pids=()
  for target in "$1" "${2:-}"; do
    [ -n "$target" ] || continue
    bash scripts/fuzz.sh "$target" 60 >"$fuzz_out/$target.log" 2>&1 &
    pids+=("$!:$target")
  done
  for entry in "${pids[@]}"; do
    target=${entry#*:}
    wait "${entry%%:*}" || { echo "FAIL: fuzz $target (its output follows)" >&2; fuzz_failed=1; }
    tee -a "$log" <"$fuzz_out/$target.log"
  done
  shift $(( $# < 2 ? $# : 2 ))
done
rm -rf "$fuzz_out"
[ "$fuzz_failed" -eq 0 ] || exit 1

# One closing line for the whole run: cargo's "test result" lines, Vitest's "Tests" line and
# one per fuzz target that ran its minute clean.
awk '/^test result:/ { p += $4; f += $6 }
     /^ *Tests +[0-9]/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^fuzz [a-z_]+: ok,/ { p += 1 }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
