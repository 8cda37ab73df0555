#!/usr/bin/env bash
# What the .deb carries besides its two programs, and a check of each (scripts/test.sh runs it
# on the package scripts/deb.sh built):
#   deb-extras.sh list DEB      every systemd user unit, shell completion and manual page is in DEB
#   deb-extras.sh verify ROOT   the unpacked package at ROOT: the units pass `systemd-analyze
#                               verify`, the bash completion parses, the manual pages render
set -euo pipefail

extras=(
  usr/lib/systemd/user/sesame.socket
  usr/lib/systemd/user/sesame.service
  usr/share/bash-completion/completions/sesame
  usr/share/zsh/vendor-completions/_sesame
  usr/share/fish/vendor_completions.d/sesame.fish
  usr/share/man/man1/sesame.1.gz
  usr/share/man/man1/sesame-daemon.1.gz
  usr/share/man/man1/sesame-token.1.gz
  usr/share/man/man1/sesame-completions.1.gz
)

case "${1:-}" in
  list)
    contents=$(dpkg-deb --contents "$2" | awk '{print $6}' | sed 's#^\./##')
    for f in "${extras[@]}"; do
      grep -qx "$f" <<<"$contents" || { echo "missing from $2: /$f" >&2; exit 1; }
      echo "/$f"
    done
    # One manual page per command: as many as `sesame man` writes.
    pages=$(grep -c '^usr/share/man/man1/sesame.*\.1\.gz$' <<<"$contents")
    echo "$pages manual pages"
    ;;
  verify)
    root=$2
    bash -n "$root/usr/share/bash-completion/completions/sesame"
    for page in "$root"/usr/share/man/man1/*.1.gz; do
      zcat "$page" | groff -man -Tutf8 -ww -z 2>&1 | { ! grep .; } || { echo "$page: groff warnings" >&2; exit 1; }
    done
    # systemd-analyze needs a runtime directory for --user, and an ExecStart= that exists.
    scratch=$(mktemp -d)
    chmod 700 "$scratch"
    cp "$root"/usr/lib/systemd/user/sesame.socket "$scratch/"
    sed "s#^ExecStart=/usr/bin/sesame#ExecStart=$root/usr/bin/sesame#" \
      "$root"/usr/lib/systemd/user/sesame.service >"$scratch/sesame.service"
    (cd "$scratch" && XDG_RUNTIME_DIR=$scratch systemd-analyze verify --user --man=no \
      ./sesame.socket ./sesame.service)
    rm -rf "$scratch"
    echo "units, completions and manual pages check out"
    ;;
  *)
    echo "usage: $0 list DEB | verify ROOT" >&2
    exit 2
    ;;
esac
