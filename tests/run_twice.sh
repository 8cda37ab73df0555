#!/usr/bin/env bash
# scripts/run.sh, run a second time with nothing changed, compiles nothing: no npm ci, no UI
# build, no crate compiled (issue 15). Run by scripts/test.sh after the app's own build, with
# the `dev` profile that build used (SESAME_RUN_PROFILE): a `local` build from scratch costs
# CI 15 minutes, and which profile is built does not change what decides a rebuild (the UI
# stamp and cargo's fingerprints).
set -euo pipefail
cd "$(dirname "$0")/.."
first=$(mktemp) second=$(mktemp)  # (the third run reuses $first)
trap 'rm -f "$first" "$second"' EXIT
export SESAME_RUN_PROFILE=dev
bash scripts/run.sh build >"$first" 2>&1 || { cat "$first" >&2; echo "FAIL: scripts/run.sh build" >&2; exit 1; }
bash scripts/run.sh build >"$second" 2>&1 || { cat "$second" >&2; echo "FAIL: scripts/run.sh build (second)" >&2; exit 1; }
# The control: the build step really ran and cargo really looked (its summary line).
grep -q '== building the app and the sesame CLI' "$second" && grep -q 'Finished' "$second" ||
  { cat "$second" >&2; echo "FAIL: the second run did not reach its build" >&2; exit 1; }
if grep -E 'Compiling |== building the UI|== installing' "$second" >&2; then
  echo "FAIL: a second scripts/run.sh with no change rebuilt the above" >&2
  exit 1
fi
# And the other side: a changed UI file is seen, so "nothing compiled" above is not a check
# that never fires (the rebuild it causes leaves the same app).
touch ui/index.html
bash scripts/run.sh build >"$first" 2>&1 || { cat "$first" >&2; echo "FAIL: scripts/run.sh build (third)" >&2; exit 1; }
grep -q '== building the UI' "$first" && grep -q 'Compiling sesame-app' "$first" ||
  { cat "$first" >&2; echo "FAIL: a changed ui/index.html did not rebuild the UI and the app" >&2; exit 1; }
echo "run.sh twice: the second run compiled nothing; a changed UI file rebuilt the UI and the app"
