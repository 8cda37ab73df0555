#!/usr/bin/env python3
"""An app that tries to approve its own consent request through the `sesame` CLI.

    self_approve.py <path of the sesame binary> <account> [--via-cli]

1. Asks for a token for <account>: with `token.get` on its own connection (kept open), or
   with --via-cli by running `sesame token <account>` as its child (the broker attributes
   that request to this script).
2. Finds its request with `sesame pending --json` (the entry whose pid is this process).
3. Runs `sesame approve <id>` as its own child: the broker must refuse, because the CLI's
   parent is the very process the request is attributed to.
4. Prints line 1: {"pending": <the entry or null>, "approve_exit": N, "approve_stdout": "...",
   "approve_stderr": "..."}.
5. Waits for its token request to end (the user decides elsewhere) and prints line 2:
   {"ok": <token result>} or {"error": {"kind": ..., "message": ...}}; with --via-cli
   {"exit": <sesame token's exit code>, "token": "<its stdout>", "stderr": "..."}.
"""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_sync import report, socket_path  # noqa: E402  (the same client code, not a copy)


def sesame(binary, *args):
    return subprocess.run([binary, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True)


def find_own_request(binary, deadline):
    while time.monotonic() < deadline:
        done = sesame(binary, "pending", "--json")
        if done.returncode == 0:
            try:
                for entry in json.loads(done.stdout):
                    if entry.get("pid") == os.getpid():
                        return entry
            except ValueError:
                pass
        time.sleep(0.1)
    return None


def try_to_approve(binary):
    entry = find_own_request(binary, time.monotonic() + 30)
    outcome = {"pending": entry, "approve_exit": None, "approve_stdout": "", "approve_stderr": ""}
    if entry is not None:
        done = sesame(binary, "approve", str(entry["id"]))
        outcome.update(approve_exit=done.returncode, approve_stdout=done.stdout.strip(), approve_stderr=done.stderr.strip())
    print(json.dumps(outcome), flush=True)


def via_cli(binary, account):
    child = subprocess.Popen([binary, "token", account], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try_to_approve(binary)
    out, err = child.communicate()
    print(json.dumps({"exit": child.returncode, "token": out.strip(), "stderr": err.strip()}), flush=True)
    sys.exit(0 if child.returncode == 0 else 3)


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--via-cli"):
        sys.exit("usage: self_approve.py <sesame binary> <account> [--via-cli]")
    binary, account = sys.argv[1], sys.argv[2]
    if len(sys.argv) == 4:
        via_cli(binary, account)
        return
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(socket_path())
        request = {"jsonrpc": "2.0", "id": 1, "method": "token.get", "params": {"account": account}}
        s.sendall((json.dumps(request) + "\n").encode())

        try_to_approve(binary)
        reply = s.makefile("r", encoding="utf-8", newline="\n").readline()
    if not reply:
        sys.stderr.write("the broker closed the connection without a reply\n")
        sys.exit(1)
    report(json.loads(reply))


if __name__ == "__main__":
    main()
