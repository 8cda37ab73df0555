#!/usr/bin/env python3
"""A git smart-HTTP server for the tests (standard library only): `git http-backend` (CGI)
behind an HTTP front that lets a request through only with HTTP Basic auth whose password
is an access token the test provider says is active (RFC 7662 introspection).

    git_server.py <git> <repos dir> <introspection URL> <client id> <client secret> <auth log>

Listens on 127.0.0.1 (a free port) and prints "READY <port>" once it does. `<git>` is the
git binary whose http-backend serves (the tests pass Debian's /usr/bin/git).
`POST /test/reject_next` (no auth) makes it answer the next request that carries a valid
token with 401 anyway, as a host that revoked the token would. For every request with
credentials it appends one line of JSON to the auth log (never the token):

    {"event": "auth", "user": "x-access-token", "active": true, "sub": "alice", "forced": false}
"""

import base64
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GIT, REPOS, INTROSPECTION, CLIENT_ID, CLIENT_SECRET, AUTH_LOG = sys.argv[1:7]
STATE = {"reject_next": 0}
LOCK = threading.Lock()


def introspect(token):
    body = urllib.parse.urlencode({"token": token}).encode()
    request = urllib.request.Request(INTROSPECTION, data=body, method="POST")
    auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    request.add_header("Authorization", f"Basic {auth}")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)


def log(event):
    with LOCK, open(AUTH_LOG, "a") as f:
        f.write(json.dumps(event) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("git_server: " + (fmt % args) + "\n")

    def deny(self):
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="sesame-test"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def authorized(self):
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return None
        answer = introspect(password)
        active = bool(answer.get("active"))
        with LOCK:
            forced = active and STATE["reject_next"] > 0
            if forced:
                STATE["reject_next"] -= 1
        log({"event": "auth", "user": user, "active": active, "sub": answer.get("sub"), "forced": forced})
        return user if active and not forced else None

    def do_POST(self):
        if self.path == "/test/reject_next":
            with LOCK:
                STATE["reject_next"] += 1
            self.send_response(204)
            self.end_headers()
            return
        self.serve()

    def do_GET(self):
        self.serve()

    def serve(self):
        user = self.authorized()
        if user is None:
            self.deny()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": REPOS,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": user,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": urllib.parse.unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        done = subprocess.run([GIT, "http-backend"], input=body, env=env, capture_output=True, timeout=60)
        head, _, content = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, content = done.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)
        if done.stderr:
            sys.stderr.write("http-backend: " + done.stderr.decode(errors="replace"))


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
