#!/usr/bin/env python3
"""Throwaway django-oauth-toolkit provider for Sesame's end-to-end tests. NEVER deploy it.

Contract with the harness (tests/src/dot.rs), the same as tests/idp/server.mjs's:
  - stdout carries exactly one line, `READY http://127.0.0.1:<port>/o` (the issuer);
    everything else goes to stderr.
  - <issuer>/test/stats and <issuer>/test/rate_limit: see dotsite/stats.py.
  - users `alice` and `bob` (password `any-password`); clients `desktop-app`, `desktop-app-2`
    (public, authorization code, PKCE S256 required, redirect `http://127.0.0.1/callback`,
    any port), `introspector` (confidential, secret `introspector-secret`, for RFC 7662).
Env: DOT_DB (this run's database file; required), DOT_PORT (default: any free port),
     DOT_ACCESS_TOKEN_TTL (s, 3600), DOT_REFRESH_TOKEN_TTL (s, 86400), DOT_ROTATE ("0": keep
     refresh tokens), DOT_REDIRECT_URIS (space-separated; replaces the public clients'),
     DOT_TEMPLATE_DIR (where the migrated template database is kept; default .cache/ of
     the repository).

Start-up is quick and parallel-safe: the migrated, seeded database is made once (under a
file lock) as a template keyed by the pinned requirements and this setup, and every run
copies it. The signing key is made per run, never stored.
"""

import fcntl
import hashlib
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

HERE = Path(__file__).resolve().parent
PASSWORD = "any-password"
USERS = [("alice", "Alice"), ("bob", "Bob")]
PUBLIC_CLIENTS = ["desktop-app", "desktop-app-2"]
# Bump when the seed below changes (the template's name includes it).
SEED_VERSION = "1"


def log(msg):
    print(f"dot: {msg}", file=sys.stderr, flush=True)


def template_path():
    digest = hashlib.sha256()
    for name in ("requirements.txt", "serve.py", "dotsite/settings.py"):
        digest.update((HERE / name).read_bytes())
    digest.update(SEED_VERSION.encode())
    base = Path(os.environ.get("DOT_TEMPLATE_DIR") or HERE.parent.parent / ".cache/dot-template")
    return base / f"template-{digest.hexdigest()[:16]}.sqlite3"


def seed():
    """Runs in a child process whose DOT_DB is the template being made."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from oauth2_provider.models import Application

    for name, display in USERS:
        User.objects.create_user(name, email=f"{name}@example.test", password=PASSWORD, first_name=display)
    for client_id in PUBLIC_CLIENTS:
        Application.objects.create(
            client_id=client_id,
            name=f"Sesame ({client_id})",
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris="http://127.0.0.1/callback",
            algorithm=Application.RS256_ALGORITHM,
        )
    Application.objects.create(
        client_id="introspector",
        client_secret="introspector-secret",
        name="introspector",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )


def ensure_template():
    template = template_path()
    if template.exists():
        return template
    template.parent.mkdir(parents=True, exist_ok=True)
    with open(template.parent / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.exists():  # another run made it while this one waited
            return template
        partial = template.with_suffix(f".{os.getpid()}.partial")
        partial.unlink(missing_ok=True)
        log(f"making the template database {template}")
        env = dict(os.environ, DOT_DB=str(partial))
        subprocess.run([sys.executable, __file__, "--seed"], env=env, check=True, stdout=sys.stderr)
        partial.rename(template)
    return template


def signing_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_bind(self):
        # WSGIServer's own server_bind looks up the host's FQDN (slow where DNS is slow).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]
        self.setup_environ()


class Handler(WSGIRequestHandler):
    def log_message(self, format, *args):
        # The query may carry an authorization code: log the path only.
        log(f"{self.command} {self.path.split('?')[0]} -> {args[1] if len(args) > 1 else ''}")


def main():
    sys.path.insert(0, str(HERE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "dotsite.settings"
    if sys.argv[1:] == ["--seed"]:
        seed()
        return
    db = os.environ.get("DOT_DB")
    if not db:
        sys.exit("serve.py: set DOT_DB to this run's database file")
    shutil.copyfile(ensure_template(), db)

    server = Server(("127.0.0.1", int(os.environ.get("DOT_PORT") or 0)), Handler)
    issuer = f"http://127.0.0.1:{server.server_port}/o"
    os.environ["DOT_ISSUER"] = issuer
    os.environ["DOT_RSA_PRIVATE_KEY"] = signing_key()

    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    redirect_uris = os.environ.get("DOT_REDIRECT_URIS")
    if redirect_uris:
        from oauth2_provider.models import Application

        Application.objects.filter(client_id__in=PUBLIC_CLIENTS).update(redirect_uris=redirect_uris)
    server.set_app(get_wsgi_application())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: os._exit(0))
    print(f"READY {issuer}", flush=True)
    log(f"issuer={issuer} db={db} redirect_uris={redirect_uris or 'default'}")
    server.serve_forever()


if __name__ == "__main__":
    main()
