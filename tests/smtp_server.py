#!/usr/bin/env python3
"""A small SMTP server for the tests (standard library only): it takes mail only from a
client that authenticates with a *valid* bearer token, which it checks at the test provider
by RFC 7662 introspection.

    smtp_server.py <introspection URL> <client id> <client secret> <mail log>

Listens on 127.0.0.1 (a free port) and prints "READY <port>" once it does. Speaks EHLO/HELO,
AUTH OAUTHBEARER (RFC 7628) and AUTH XOAUTH2 (initial response or after a 334), MAIL, RCPT,
DATA, RSET, NOOP and QUIT; a client must authenticate before MAIL. For every AUTH and every
mail it appends one line of JSON to the mail log:

    {"event": "auth", "mechanism": "OAUTHBEARER", "user": "...", "active": true, "sub": "alice", "client_id": "..."}
    {"event": "mail", "from": "...", "to": ["..."], "subject": "...", "bytes": 123, "sub": "alice"}

The token itself is never written anywhere (the tests scan their files for tokens).
"""

import base64
import json
import socket
import sys
import threading
import urllib.parse
import urllib.request


def introspect(url, client_id, secret, token):
    body = urllib.parse.urlencode({"token": token}).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request.add_header("Authorization", f"Basic {auth}")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def parse_oauthbearer(raw):
    """RFC 7628: gs2 header "n,a=user," then ^A-separated key=value pairs, ^A^A at the end."""
    header, _, rest = raw.partition("\x01")
    user = ""
    for part in header.split(","):
        if part.startswith("a="):
            user = part[2:]
    token = None
    for pair in rest.split("\x01"):
        if pair.lower().startswith("auth=bearer "):
            token = pair[len("auth=bearer "):]
    return user, token


def parse_xoauth2(raw):
    """Google's XOAUTH2: "user=<user>^Aauth=Bearer <token>^A^A"."""
    user, token = "", None
    for pair in raw.split("\x01"):
        if pair.startswith("user="):
            user = pair[5:]
        elif pair.lower().startswith("auth=bearer "):
            token = pair[len("auth=bearer "):]
    return user, token


class Session:
    def __init__(self, conn, args, log_lock):
        self.conn = conn
        self.file = conn.makefile("rb")
        self.url, self.client_id, self.secret, self.log_path = args
        self.log_lock = log_lock
        self.sub = None
        self.reset()

    def reset(self):
        self.sender = None
        self.recipients = []

    def send(self, line):
        self.conn.sendall(line.encode() + b"\r\n")

    def read_line(self):
        line = self.file.readline(65536)
        if not line:
            return None
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def log(self, record):
        with self.log_lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def auth(self, mechanism, initial):
        if mechanism not in ("OAUTHBEARER", "XOAUTH2"):
            return self.send("504 5.5.4 Unrecognized authentication type")
        if initial is None or initial == "":
            self.send("334 ")
            initial = self.read_line()
            if initial is None:
                return
        try:
            raw = base64.b64decode(initial, validate=True).decode("utf-8", "replace")
        except ValueError:
            return self.send("501 5.5.2 Cannot decode the response")
        user, token = (parse_oauthbearer if mechanism == "OAUTHBEARER" else parse_xoauth2)(raw)
        info = introspect(self.url, self.client_id, self.secret, token) if token else {}
        active = info.get("active") is True
        self.log({"event": "auth", "mechanism": mechanism, "user": user, "active": active,
                  "sub": info.get("sub"), "client_id": info.get("client_id")})
        if active:
            self.sub = info.get("sub")
            return self.send("235 2.7.0 Authentication successful")
        if mechanism == "OAUTHBEARER":
            # RFC 7628 §3.2.2: an error challenge, the client answers ^A, then the failure.
            error = base64.b64encode(json.dumps({"status": "invalid_token"}).encode()).decode()
            self.send(f"334 {error}")
            self.read_line()
        self.send("535 5.7.8 Authentication credentials invalid")

    def data(self):
        self.send("354 End data with <CR><LF>.<CR><LF>")
        lines = []
        while True:
            line = self.read_line()
            if line is None:
                return
            if line == ".":
                break
            lines.append(line[1:] if line.startswith("..") else line)
        subject = next((l[8:].strip() for l in lines if l.lower().startswith("subject:")), "")
        self.log({"event": "mail", "from": self.sender, "to": self.recipients,
                  "subject": subject, "bytes": sum(len(l) + 2 for l in lines), "sub": self.sub})
        self.reset()
        self.send("250 2.0.0 OK: queued")

    def run(self):
        self.send("220 localhost ESMTP sesame-test")
        while True:
            line = self.read_line()
            if line is None:
                return
            verb, _, rest = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.send("250-localhost")
                self.send("250-AUTH OAUTHBEARER XOAUTH2")
                self.send("250 8BITMIME")
            elif verb == "HELO":
                self.send("250 localhost")
            elif verb == "AUTH":
                mechanism, _, initial = rest.partition(" ")
                self.auth(mechanism.upper(), initial.strip() or None)
            elif verb == "MAIL":
                if self.sub is None:
                    self.send("530 5.7.0 Authentication required")
                else:
                    self.sender = rest.partition(":")[2].strip().strip("<>")
                    self.send("250 2.1.0 OK")
            elif verb == "RCPT":
                if self.sender is None:
                    self.send("503 5.5.1 MAIL first")
                else:
                    self.recipients.append(rest.partition(":")[2].strip().strip("<>"))
                    self.send("250 2.1.5 OK")
            elif verb == "DATA":
                if not self.recipients:
                    self.send("503 5.5.1 RCPT first")
                else:
                    self.data()
            elif verb == "RSET":
                self.reset()
                self.send("250 2.0.0 OK")
            elif verb == "NOOP":
                self.send("250 2.0.0 OK")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Command not recognized")


def serve(conn, args, log_lock):
    with conn:
        try:
            Session(conn, args, log_lock).run()
        except (OSError, ValueError) as e:
            print(f"session ended: {e}", file=sys.stderr, flush=True)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    args = tuple(sys.argv[1:])
    log_lock = threading.Lock()
    server = socket.create_server(("127.0.0.1", 0))
    print(f"READY {server.getsockname()[1]}", flush=True)
    while True:
        conn, _ = server.accept()
        conn.settimeout(60)
        threading.Thread(target=serve, args=(conn, args, log_lock), daemon=True).start()


if __name__ == "__main__":
    main()
