#!/usr/bin/env bash
# Run a command against a private, unlocked gnome-keyring on a private session
# bus, so tests never touch the developer's real keyring or need a display.
#
#   tests/keyring-env.sh <command> [args...]
#
# Inside the command: HOME/XDG_* point into a fresh temp dir (removed after,
# unless KEYRING_ENV_KEEP=1), DBUS_SESSION_BUS_ADDRESS is the private bus,
# KEYRING_ENV_DIR is the temp dir, KEYRING_ENV_GKD_PID the daemon pid, and the
# login keyring password is "throwaway". Exit status is the command's.
#
# ---- Sequence for harnesses that spawn things themselves (verified on
# ---- Debian 12, gnome-keyring 42.1, no DISPLAY):
#  1. mkdir -m 0700 $T/{home,run,data,config,cache}; env for every child:
#       HOME=$T/home XDG_RUNTIME_DIR=$T/run XDG_DATA_HOME=$T/data
#       XDG_CONFIG_HOME=$T/config XDG_CACHE_HOME=$T/cache
#       (unset DISPLAY WAYLAND_DISPLAY so no unlock prompt can ever pop up)
#  2. dbus-daemon --session --nofork --nopidfile \
#        --address=unix:path=$T/run/bus --print-address=1
#     (first stdout line is the address; unix:path=$T/run/bus works as-is)
#  3. DBUS_SESSION_BUS_ADDRESS=unix:path=$T/run/bus \
#        gnome-keyring-daemon --foreground --unlock --components=secrets
#     with the password ("throwaway", no newline needed) on stdin, then close
#     stdin. First run creates $T/data/keyrings/login.keyring with that
#     password and makes it the "default" alias, unlocked.
#  4. Poll until the name has an owner (~0.1-0.2 s here, give it 10 s):
#       dbus-send --session --dest=org.freedesktop.DBus --print-reply \
#         /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
#         string:org.freedesktop.secrets          -> "boolean true"
#     Talking to org.freedesktop.secrets earlier makes the bus auto-activate
#     a second daemon (from org.freedesktop.secrets.service) whose keyring
#     is LOCKED.
#  5. Teardown: kill gnome-keyring-daemon, then dbus-daemon; rm -rf $T.
#
# Locking (to test the locked-keyring path):
#   gdbus call --session --dest org.freedesktop.secrets \
#     --object-path /org/freedesktop/secrets \
#     --method org.freedesktop.Secret.Service.Lock \
#     "['/org/freedesktop/secrets/collection/login']"
# or start step 3 with a WRONG password: the daemon comes up with login
# locked ("failed to unlock login keyring on startup").
# On a locked keyring with no display everything fails FAST (<0.1 s), no
# hang: lookup -> rc 1 no output; store -> "Cannot create an item in a locked
# collection"; an Unlock prompt -> gcr-prompter exits 1, prompt dismissed.
# To unlock again: kill the daemon and redo step 3+4 with the right password
# (`--replace` does not take over the bus name; `--start --unlock` is rejected).
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 <command> [args...]" >&2
    exit 2
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sesame-keyring.XXXXXX")
mkdir -m 0700 "$T/home" "$T/run" "$T/data" "$T/config" "$T/cache"
cleanup() { [ "${KEYRING_ENV_KEEP:-0}" = 1 ] || rm -rf "$T"; }
trap cleanup EXIT

export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" XDG_DATA_HOME="$T/data" \
       XDG_CONFIG_HOME="$T/config" XDG_CACHE_HOME="$T/cache" KEYRING_ENV_DIR="$T"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS

# Not exec: the EXIT trap must still remove $T afterwards.
set +e
dbus-run-session -- bash -c '
    printf %s throwaway | gnome-keyring-daemon --foreground --unlock \
        --components=secrets >"$KEYRING_ENV_DIR/gkd.log" 2>&1 &
    export KEYRING_ENV_GKD_PID=$!
    for _ in $(seq 100); do
        if dbus-send --session --dest=org.freedesktop.DBus --print-reply \
            /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
            string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; then
            "$@"; rc=$?
            kill "$KEYRING_ENV_GKD_PID" 2>/dev/null
            exit $rc
        fi
        sleep 0.1
    done
    echo "keyring-env: gnome-keyring-daemon never owned org.freedesktop.secrets" >&2
    cat "$KEYRING_ENV_DIR/gkd.log" >&2
    kill "$KEYRING_ENV_GKD_PID" 2>/dev/null
    exit 125
' keyring-env "$@"
rc=$?
exit $rc
