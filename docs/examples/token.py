#!/usr/bin/env python3
"""Get an access token from the Sesame broker with nothing but the standard library.

    python3 docs/examples/token.py <account-or-provider> [min_ttl]

Prints `Authorization: Bearer <token>`; on error prints the error kind and message and
exits 1. See docs/protocol.md.
"""
import json
import os
import socket
import sys

account = sys.argv[1]
min_ttl = int(sys.argv[2]) if len(sys.argv) > 2 else 60
path = os.environ.get("SESAME_SOCKET") or os.path.join(os.environ["XDG_RUNTIME_DIR"], "sesame/sesame.sock")

with socket.socket(socket.AF_UNIX) as s:
    s.connect(path)
    f = s.makefile("rw", encoding="utf-8", newline="\n")
    request = {"jsonrpc": "2.0", "id": 1, "method": "token.get",
               "params": {"account": account, "min_ttl": min_ttl}}
    f.write(json.dumps(request) + "\n")
    f.flush()
    reply = json.loads(f.readline())

if "error" in reply:
    sys.exit(f"{reply['error']['data']['kind']}: {reply['error']['message']}")
print("Authorization: Bearer " + reply["result"]["access_token"])
