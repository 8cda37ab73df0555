#!/usr/bin/env bash
# Installs what is missing, builds the Sesame desktop app and runs it against a local DEMO
# identity provider on 127.0.0.1 (any user name, any password), so you can try every screen
# without registering an OAuth client anywhere. Your real Sesame config and data are not
# touched: the demo has its own config, database and socket under
# $XDG_RUNTIME_DIR/sesame-demo-app (scripts/demo.sh uses sesame-demo-cli; both name the
# provider `demo`).
#
#   scripts/run.sh           build and start the app with the demo provider
#   scripts/run.sh client    (in a second terminal) a program that asks the app for a token
#   scripts/run.sh shell     (in a second terminal) a shell where `sesame` talks to the app
#   scripts/run.sh build     only install and build (no desktop session needed), then exit
#
# It builds the `local` profile (Cargo.toml: quick to build; the .deb uses release) into
# target/local/ (SESAME_RUN_PROFILE=release or dev builds another), and rebuilds the UI only
# when ui/ changed since the last build: a second run with nothing changed compiles nothing
# (scripts/test.sh checks that with `build`, twice).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
profile=${SESAME_RUN_PROFILE:-local}
# Cargo's output directory for the profile: `dev` builds into target/debug.
out="$root/target/$([ "$profile" = dev ] && echo debug || echo "$profile")"
demo="${XDG_RUNTIME_DIR:-/tmp}/sesame-demo-app"
export SESAME_CONFIG="$demo/config.toml" SESAME_DATA_DIR="$demo/data" SESAME_SOCKET="$demo/run/sesame.sock"

if [ "${1:-}" = client ]; then
  # An example program (docs/examples/token.py): its first request waits for your answer in
  # the consent window.
  exec python3 "$root/docs/examples/token.py" "${2:-demo}"
fi
if [ "${1:-}" = shell ]; then
  # The CLI this script built, talking to the demo app (`sesame pending`, `sesame login demo`).
  export PATH="$out:$PATH"
  echo "A shell for the Sesame demo: \`sesame\` here is $out/sesame and talks to the demo app. Leave it with exit." >&2
  PS1="(sesame demo) \w\$ " exec bash --norc -i
fi

build_only=
[ "${1:-}" = build ] && build_only=1

# Before building anything: a port or socket in use is said at once (another demo, or this
# one still running).
port=${SESAME_DEMO_PORT:-9400}
if [ -z "$build_only" ]; then
  source scripts/demo-checks.sh
  demo_check_port "$port"
  demo_check_socket "$SESAME_SOCKET"
fi

export SESAME_GUI=1
source scripts/install-deps.sh
if [ -z "$build_only" ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No desktop session (DISPLAY is not set). The app needs one; for the headless broker" >&2
  echo "and CLI demo run scripts/demo.sh instead." >&2
  exit 1
fi

# npm ci only when the lock file is newer than what it installed.
npm_ci() {
  [ -d "$1/node_modules" ] && [ "$1/node_modules" -nt "$1/package-lock.json" ] && return 0
  echo "== installing $1's packages (npm ci)"
  (cd "$1" && npm ci --loglevel=error --no-audit --no-fund && touch node_modules)
}
npm_ci tests/idp
npm_ci ui
# The UI is rebuilt only when a file under ui/ (not its packages or its output) is newer
# than the last build's stamp: an unchanged UI leaves ui/dist, so cargo rebuilds nothing.
# (The stamp is not in ui/dist: the app embeds every file there.)
stamp=target/.ui-built
mkdir -p target
if [ ! -f "$stamp" ] || [ ! -f ui/dist/index.html ] || [ -n "$(find ui -path ui/node_modules -prune -o -path ui/dist -prune -o -type f -newer "$stamp" -print -quit)" ]; then
  echo "== building the UI"
  (cd ui && npm run --silent build) && touch "$stamp"
fi
if [ ! -x "$out/sesame-app" ]; then
  echo "== building the app and the sesame CLI (profile $profile). The first build compiles about"
  echo "   600 crates: 10 to 15 minutes on a 2-core machine, much less on a bigger one; later"
  echo "   runs rebuild only what changed."
else
  echo "== building the app and the sesame CLI (profile $profile; only what changed)"
fi
cargo build --profile "$profile" -p sesame-app -p sesame-cli
[ -z "$build_only" ] || exit 0

mkdir -p -m 0700 "$demo" "$demo/run"
cat > "$SESAME_CONFIG" <<TOML
# DEMO configuration written by scripts/run.sh: a local test provider, not a real account.
demo = true

[[provider]]
id = "demo"
issuer = "http://127.0.0.1:$port"
client_id = "desktop-app"
scopes = ["openid", "email", "profile", "offline_access", "api:read"]
TOML

# The demo provider keeps what it issued beside the demo's data (tests/idp/file_adapter.mjs):
# an account kept from an earlier run is one a token can still be had for.
mkdir -p -m 0700 "$demo/idp-state"
IDP_PORT=$port IDP_STATE_DIR="$demo/idp-state" node tests/idp/server.mjs >"$demo/idp.out" 2>"$demo/idp.log" &
idp=$!
trap 'kill $idp 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q READY "$demo/idp.out" && break; sleep 0.1; done
grep -q READY "$demo/idp.out" || { cat "$demo/idp.log"; exit 1; }

cat <<MSG

  Sesame DEMO: the app is starting, with a local demo provider on http://127.0.0.1:$port
  (any user name and password work; nothing here is a real account).

  1. Accounts → Add account → demo: your browser opens the demo provider; sign in.
  2. In a second terminal:  scripts/run.sh client
     The consent window asks whether this program may have a token: "Always allow".
  3. Apps & grants shows it; Revoke, and run the client again: it asks again.
  4. Activity shows what happened. Quit (the tray icon, or Quit in the window) ends the demo.

  The sesame CLI for this demo:  scripts/run.sh shell

  Logs: $demo/app.log, $demo/idp.log

MSG
"$out/sesame-app" 2>"$demo/app.log"
