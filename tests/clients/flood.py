#!/usr/bin/env python3
"""A hostile program for the end-to-end tests: it opens many connections to the broker and
tries to keep them, to lock other programs out.

    flood.py <idle> <half> [<asking> <account>]

Opens <idle> connections that send nothing, then <half> that send the start of a request
and never finish the line, then <asking> that each send `token.get` for <account> (and wait
for the answer), and prints ONE line of JSON: {"opened": n, "failed": m}. Then it
answers each line on stdin:

    status  -> {"open": n, "closed": m, "replies": {"<kind>": count}, "messages": {"<message>": count}}
    refill  -> reopens every connection the broker closed, as what it was: {"reopened": n}
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
    def __init__(self, sock, first):
        self.sock = sock
        self.first = first
        self.pending = b""
        self.closed = False


def open_conn(path, first):
    """A connection that has sent `first` (maybe nothing); None if connecting failed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    try:
        if first:
            s.sendall(first)
    except OSError:
        pass  # the broker answered and closed first: its reply is still there to read
    s.setblocking(False)
    return Conn(s, first)


def read_all(c, replies, messages):
    while not c.closed:
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            c.closed = True
            c.sock.close()
            return
        c.pending += data
        while b"\n" in c.pending:
            reply, c.pending = c.pending.split(b"\n", 1)
            error = json.loads(reply).get("error") or {}
            kind = (error.get("data") or {}).get("kind", "none")
            replies[kind] = replies.get(kind, 0) + 1
            message = error.get("message", "")
            messages[message] = messages.get(message, 0) + 1


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
        first = ask if i >= idle + half else HALF_LINE if i >= idle else b""
        c = open_conn(path, first)
        if c is None:
            failed += 1
        else:
            conns.append(c)
    print(json.dumps({"opened": len(conns), "failed": failed}), flush=True)

    replies, messages = {}, {}
    for line in sys.stdin:
        command = line.strip()
        for c in conns:
            read_all(c, replies, messages)
        if command == "refill":
            reopened = 0
            for k, c in enumerate(conns):
                if c.closed:
                    again = open_conn(path, c.first)
                    if again is not None:
                        conns[k] = again
                        reopened += 1
            print(json.dumps({"reopened": reopened}), flush=True)
            continue
        if command != "status":
            break
        closed = sum(1 for c in conns if c.closed)
        status = {"open": len(conns) - closed, "closed": closed, "replies": replies, "messages": messages}
        print(json.dumps(status), flush=True)


if __name__ == "__main__":
    main()
