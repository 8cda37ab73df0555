#!/usr/bin/env python3
"""A hostile program for the end-to-end tests: it opens many connections to the broker and
tries to keep them, to lock other programs out.

    flood.py <idle> <half> [<asking> <account>]

Opens <idle> connections that send nothing, then <half> that send the start of a request
and never finish the line, then <asking> that each send `token.get` for <account> (and wait
for the answer), and prints ONE line of JSON: {"opened": n, "failed": m}. Then it
answers each line on stdin:

    status  -> {"open": n, "closed": m, "replies": {"<kind>": count}, "messages": {"<message>": count}}
    quit    -> exits (closing whatever is still open)

A connection counts as closed once the broker ended it; what the broker said before
(error replies with "id": null) is counted by `data.kind`. Standard library only; the tests
copy this file elsewhere to make different programs.
"""

import json
import os
import resource
import socket
import sys

HALF_LINE = b'{"jsonrpc":"2.0","id":1,"method":"hel'


def socket_path():
    return os.environ.get("SESAME_SOCKET") or os.path.join(os.environ["XDG_RUNTIME_DIR"], "sesame", "sesame.sock")


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.pending = b""
        self.closed = False


def main():
    idle, half = int(sys.argv[1]), int(sys.argv[2])
    asking = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    ask = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "token.get",
                      "params": {"account": sys.argv[4] if asking else ""}}).encode() + b"\n"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = idle + half + asking + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    path = socket_path()
    conns, failed = [], 0
    for i in range(idle + half + asking):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        try:
            s.connect(path)
        except OSError:
            failed += 1
            s.close()
            continue
        try:
            if i >= idle + half:
                s.sendall(ask)
            elif i >= idle:
                s.sendall(HALF_LINE)
        except OSError:
            pass  # the broker answered and closed first: its reply is still there to read
        s.setblocking(False)
        conns.append(Conn(s))
    print(json.dumps({"opened": len(conns), "failed": failed}), flush=True)

    replies, messages = {}, {}
    for line in sys.stdin:
        if line.strip() != "status":
            break
        for c in conns:
            while not c.closed:
                try:
                    data = c.sock.recv(65536)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    c.closed = True
                    c.sock.close()
                    break
                c.pending += data
                while b"\n" in c.pending:
                    reply, c.pending = c.pending.split(b"\n", 1)
                    error = json.loads(reply).get("error") or {}
                    kind = (error.get("data") or {}).get("kind", "none")
                    replies[kind] = replies.get(kind, 0) + 1
                    message = error.get("message", "")
                    messages[message] = messages.get(message, 0) + 1
        closed = sum(1 for c in conns if c.closed)
        status = {"open": len(conns) - closed, "closed": closed, "replies": replies, "messages": messages}
        print(json.dumps(status), flush=True)


if __name__ == "__main__":
    main()
