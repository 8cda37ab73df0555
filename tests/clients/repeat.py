#!/usr/bin/env python3
"""A program that calls one method many times on one connection: the end-to-end tests use
it as a hostile peer (management calls in a loop) and as a busy app (many hand-outs).

    repeat.py <count> <method> <params JSON> [<params JSON>...]

Sends <count> requests one after another, cycling through the params given. Prints ONE
line of JSON: {"ok": {"replies": N, "kinds": {"ok": A, "<error kind>": B, ...}, "token": T}}
(`token`: the last access token it was handed, if any, so the tests can scan for leaks).
Exit code: 0 when every request got a reply, 1 otherwise. Standard library only.
"""

import json
import os
import socket
import sys


def socket_path():
    return os.environ.get("SESAME_SOCKET") or os.path.join(os.environ["XDG_RUNTIME_DIR"], "sesame", "sesame.sock")


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: repeat.py <count> <method> <params JSON> [<params JSON>...]")
    count, method = int(sys.argv[1]), sys.argv[2]
    params = [json.loads(p) for p in sys.argv[3:]]
    kinds, token, replies = {}, None, 0
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(socket_path())
        f = s.makefile("rw", encoding="utf-8", newline="\n")
        for i in range(count):
            request = {"jsonrpc": "2.0", "id": i + 1, "method": method, "params": params[i % len(params)]}
            f.write(json.dumps(request) + "\n")
            f.flush()
            line = f.readline()
            if not line:
                break
            reply = json.loads(line)
            replies += 1
            if "error" in reply:
                kind = (reply["error"].get("data") or {}).get("kind")
            else:
                kind = "ok"
                token = (reply.get("result") or {}).get("access_token", token)
            kinds[kind] = kinds.get(kind, 0) + 1
    print(json.dumps({"ok": {"replies": replies, "kinds": kinds, "token": token}}), flush=True)
    sys.exit(0 if replies == count else 1)


if __name__ == "__main__":
    main()
