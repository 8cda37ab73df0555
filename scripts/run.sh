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
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo="${XDG_RUNTIME_DIR:-/tmp}/sesame-demo-app"
export SESAME_CONFIG="$demo/config.toml" SESAME_DATA_DIR="$demo/data" SESAME_SOCKET="$demo/run/sesame.sock"

if [ "${1:-}" = client ]; then
  # An example program (docs/examples/token.py): its first request waits for your answer in
  # the consent window.
  exec python3 "$root/docs/examples/token.py" "${2:-demo}"
fi

export SESAME_GUI=1
source scripts/install-deps.sh
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No desktop session (DISPLAY is not set). The app needs one; for the headless broker" >&2
  echo "and CLI demo run scripts/demo.sh instead." >&2
  exit 1
fi

echo "== installing the UI's and the demo provider's packages (npm ci)"
(cd tests/idp && npm ci --loglevel=error --no-audit --no-fund)
(cd ui && npm ci --loglevel=error --no-audit --no-fund && npm run --silent build)
echo "== building the app (the first build takes a few minutes)"
cargo build --release -p sesame-app

mkdir -p -m 0700 "$demo" "$demo/run"
port=${SESAME_DEMO_PORT:-9400}
if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port))!=0)"; then
  port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
fi
cat > "$SESAME_CONFIG" <<TOML
# DEMO configuration written by scripts/run.sh: a local test provider, not a real account.
demo = true

[[provider]]
id = "demo"
issuer = "http://127.0.0.1:$port"
client_id = "desktop-app"
scopes = ["openid", "email", "profile", "offline_access", "api:read"]
TOML

IDP_PORT=$port node tests/idp/server.mjs >"$demo/idp.out" 2>"$demo/idp.log" &
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
  4. Activity shows what happened. Quit from the tray icon to end the demo.

  Logs: $demo/app.log, $demo/idp.log

MSG
"$root/target/release/sesame-app" 2>"$demo/app.log"
