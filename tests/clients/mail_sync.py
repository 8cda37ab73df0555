#!/usr/bin/env python3
"""A stand-in "mail sync" script for the end-to-end tests: one `token.get` over the socket.

    mail_sync.py <account> [--scope S]... [--min-ttl N]

Prints ONE line of JSON: {"ok": <token result>} or {"error": {"kind": ..., "message": ...}}.
Exit code: 0 ok, 3 an error reply, 1 anything else. Standard library only; self-contained
on purpose (the tests copy this file elsewhere to make a different app).
"""

import json
import os
import socket
import sys


def socket_path():
    return os.environ.get("SESAME_SOCKET") or os.path.join(os.environ["XDG_RUNTIME_DIR"], "sesame", "sesame.sock")


def parse(argv):
    if not argv or argv[0].startswith("--"):
        sys.exit("usage: mail_sync.py <account> [--scope S]... [--min-ttl N]")
    params = {"account": argv[0]}
    scopes = []
    i = 1
    while i < len(argv):
        if argv[i] == "--scope" and i + 1 < len(argv):
            scopes.append(argv[i + 1])
        elif argv[i] == "--min-ttl" and i + 1 < len(argv):
            params["min_ttl"] = int(argv[i + 1])
        else:
            sys.exit(f"unknown argument {argv[i]!r}")
        i += 2
    if scopes:
        params["scopes"] = scopes
    return params


def call(method, params):
    """One request; returns the reply (any reply line: the broker may answer a refused peer
    with an error whose id is null before it reads anything)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(socket_path())
        line = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}) + "\n"
        try:
            s.sendall(line.encode())
        except OSError:
            pass  # the broker may already have answered and closed: read what it said
        f = s.makefile("r", encoding="utf-8", newline="\n")
        reply = f.readline()
    if not reply:
        sys.stderr.write("the broker closed the connection without a reply\n")
        sys.exit(1)
    return json.loads(reply)


def report(reply):
    """Prints the one-line JSON result and exits with the documented code."""
    if "error" in reply:
        err = reply["error"]
        print(json.dumps({"error": {"kind": (err.get("data") or {}).get("kind"), "message": err.get("message")}}), flush=True)
        sys.exit(3)
    print(json.dumps({"ok": reply["result"]}), flush=True)


def main():
    report(call("token.get", parse(sys.argv[1:])))


if __name__ == "__main__":
    main()
