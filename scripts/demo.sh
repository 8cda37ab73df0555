#!/usr/bin/env bash
# Installs what is missing, builds Sesame, and runs a DEMO: a local throw-away identity
# provider on 127.0.0.1:9400 (any user name, any password), a demo config, and the broker.
# Then it opens a shell where `sesame` talks to that broker. Leave the shell to stop it all.
# Your real Sesame config and data are not touched: the demo has its own config, database and
# socket under $XDG_RUNTIME_DIR/sesame-demo-cli (scripts/run.sh uses sesame-demo-app; both
# name the provider `demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo="${XDG_RUNTIME_DIR:-/tmp}/sesame-demo-cli"
port=${SESAME_DEMO_PORT:-9400}
# Before building anything: a port or socket in use is said at once.
source scripts/demo-checks.sh
demo_check_port "$port"
demo_check_socket "$demo/run/sesame.sock"
source scripts/install-deps.sh
if [ -z "${SESAME_DEMO_INNER:-}" ]; then
  (cd tests/idp && npm ci --loglevel=error --no-audit --no-fund)
  cargo build --release -p sesame-cli
fi

# Without a desktop session there is no keyring: run inside a private, throw-away one.
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] && [ -z "${SESAME_DEMO_INNER:-}" ]; then
  echo "No desktop session found: using a private throw-away keyring for the demo." >&2
  export SESAME_DEMO_INNER=1 BROWSER="${BROWSER:-$root/tests/browser.py}"
  exec tests/keyring-env.sh "$0" "$@"
fi

mkdir -p -m 0700 "$demo"
export SESAME_CONFIG="$demo/config.toml" SESAME_DATA_DIR="$demo/data" SESAME_SOCKET="$demo/run/sesame.sock"
export PATH="$root/target/release:$PATH"
cat > "$SESAME_CONFIG" <<TOML
# DEMO configuration written by scripts/demo.sh: a local test provider, not a real account.
[[provider]]
id = "demo"
issuer = "http://127.0.0.1:$port"
client_id = "desktop-app"
scopes = ["openid", "email", "profile", "offline_access"]
TOML

# The demo provider keeps what it issued beside the demo's data (tests/idp/file_adapter.mjs):
# an account kept from an earlier run is one a token can still be had for.
mkdir -p -m 0700 "$demo/idp-state"
IDP_PORT=$port IDP_STATE_DIR="$demo/idp-state" node tests/idp/server.mjs >"$demo/idp.out" 2>"$demo/idp.log" &
idp=$!
sesame daemon 2>"$demo/daemon.log" &
daemon=$!
trap 'kill $daemon $idp 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 100); do [ -S "$SESAME_SOCKET" ] && grep -q READY "$demo/idp.out" && break; sleep 0.1; done
# "running" only when it is: both processes alive, the provider ready, the socket there.
if ! kill -0 "$idp" 2>/dev/null || ! grep -q READY "$demo/idp.out"; then
  echo "The demo provider did not start (its log, $demo/idp.log, follows):" >&2
  cat "$demo/idp.log" >&2
  exit 1
fi
if ! kill -0 "$daemon" 2>/dev/null || [ ! -S "$SESAME_SOCKET" ]; then
  echo "The demo broker did not start (its log, $demo/daemon.log, follows):" >&2
  cat "$demo/daemon.log" >&2
  exit 1
fi

cat <<MSG

  Sesame DEMO is running (provider: http://127.0.0.1:$port — any user name and password work).
  Logs: $demo/daemon.log

  Try:   sesame login demo         # signs in through your browser, prints the account id
         sesame accounts
         sesame token demo         # an access token, alone on stdout
         python3 docs/examples/token.py demo
         sesame logout demo        # revokes at the provider and forgets the account

  Leave this shell (exit) to stop the demo.

MSG
if [ -t 0 ]; then
  PS1="(sesame demo) \w\$ " bash --norc -i
else
  echo "(no terminal: stopping the demo again)"
fi
