#!/usr/bin/env bash
# Builds the Debian package: target/release/bundle/deb/Sesame_<version>_amd64.deb, with
# /usr/bin/sesame-app (the desktop app, the real identifier) and /usr/bin/sesame (the CLI),
# /usr/bin/git-credential-sesame (the same CLI under the name git runs for
# `credential.helper sesame`; a copy: the bundler copies files),
# the systemd user units (packaging/systemd/), and the CLI's shell completions and manual
# pages, generated here from its clap definitions (`sesame completions`, `sesame man`).
# Expects what scripts/run.sh installs (SESAME_GUI=1) and `npm ci` in ui/. Prints the
# package's path on stdout; the builds' output goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -p sesame-cli >&2
# Where src-tauri/tauri.conf.json's bundle.linux.deb.files looks for them.
generated=target/release/generated
rm -rf "$generated"
mkdir -p "$generated/man1" "$generated/completions"
target/release/sesame man "$generated/man1"
gzip -9n "$generated"/man1/*.1
for shell in bash zsh fish; do
  target/release/sesame completions "$shell" >"$generated/completions/sesame.$shell"
done
# From src-tauri/: the Tauri CLI looks for tauri.conf.json in and below its working directory,
# and ui/ holds only the CLI itself. Its beforeBuildCommand builds ui/dist.
(cd src-tauri && ../ui/node_modules/.bin/tauri build --bundles deb -- --locked) >&2
ls -t target/release/bundle/deb/*.deb | head -1
