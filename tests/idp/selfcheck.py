#!/usr/bin/env python3
"""Self-check for the test IdP and tests/browser.py (stdlib only).

Starts `node server.mjs` (run `npm ci` here first), drives a full
authorization-code + PKCE login through browser.py against a throwaway
loopback callback server, then exercises token, refresh (rotation),
introspection, userinfo, revocation, the deny path, the device flow (RFC 8628,
with browser.py --device and the server's slow_down policing), /test/stats and the
client-credentials machine client.
Exits 0 on success; prints one line per verified property.
"""

import base64
import hashlib
import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER = os.path.join(HERE, "..", "browser.py")
CLIENT = "desktop-app"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def ok(msg):
    print(f"ok: {msg}", flush=True)


def check(cond, msg):
    if not cond:
        raise SystemExit(f"FAIL: {msg}")
    ok(msg)


def http_json(url, form=None, basic=None, method=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if basic:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(basic).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    return status, (json.loads(raw) if raw.strip() else None)


def verify_rs256(jwt, jwks):
    """Verify an RS256 JWT with textbook RSA (PKCS#1 v1.5) -- no crypto libs."""
    head_b64, body_b64, sig_b64 = jwt.split(".")
    header = json.loads(unb64u(head_b64))
    key = next(k for k in jwks["keys"] if k.get("kid") == header.get("kid"))
    n = int.from_bytes(unb64u(key["n"]), "big")
    e = int.from_bytes(unb64u(key["e"]), "big")
    k = (n.bit_length() + 7) // 8
    em = pow(int.from_bytes(unb64u(sig_b64), "big"), e, n).to_bytes(k, "big")
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    digest = hashlib.sha256(f"{head_b64}.{body_b64}".encode()).digest()
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info) - len(digest)) + b"\x00" + digest_info + digest
    return header["alg"] == "RS256" and em == expected, json.loads(unb64u(body_b64))


class Callback:
    """Loopback redirect target standing in for the broker."""

    def __init__(self):
        self.queries = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.queries.append(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<p>selfcheck callback ok</p>")

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


def authorize(issuer, cb, mode="normal"):
    verifier = b64u(secrets.token_bytes(32))
    state, nonce = b64u(secrets.token_bytes(16)), b64u(secrets.token_bytes(16))
    redirect_uri = f"http://127.0.0.1:{cb.port}/callback"
    url = issuer + "/auth?" + urllib.parse.urlencode({
        "client_id": CLIENT, "response_type": "code", "redirect_uri": redirect_uri,
        "scope": "openid email profile offline_access", "prompt": "consent",
        "code_challenge": b64u(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256", "state": state, "nonce": nonce,
    })
    env = dict(os.environ, BROWSER_MODE=mode, BROWSER_LOGIN="alice")
    r = subprocess.run([sys.executable, BROWSER, url], env=env, capture_output=True, text=True, timeout=90)
    sys.stderr.write(r.stderr)
    check(r.returncode == 0 and "selfcheck callback ok" in r.stdout, f"browser.py ({mode}) reached the callback")
    q = cb.queries.pop()
    check(q.get("state") == state, "callback state matches")
    check(q.get("iss") == issuer, "callback carries iss (RFC 9207)")
    return q, verifier, redirect_uri, nonce


def device_flow(issuer, disc):
    """RFC 8628: code pair, approval through browser.py --device, tokens, slow_down."""
    st, auth = http_json(disc["device_authorization_endpoint"], {"client_id": CLIENT, "scope": "openid email offline_access"})
    check(st == 200 and auth.get("interval") == 1 and auth["verification_uri_complete"].startswith(auth["verification_uri"]),
          f"device authorization (interval={auth.get('interval')}, expires_in={auth.get('expires_in')})")
    env = dict(os.environ, BROWSER_MODE="normal", BROWSER_LOGIN="alice")
    r = subprocess.run([sys.executable, BROWSER, "--device", auth["verification_uri"], auth["user_code"]],
                       env=env, capture_output=True, text=True, timeout=90)
    sys.stderr.write(r.stderr)
    check(r.returncode == 0, "browser.py --device typed the code, confirmed, logged in and consented")
    time.sleep(1.1)  # the interval since the code was issued
    poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": auth["device_code"], "client_id": CLIENT}
    st, tok = http_json(disc["token_endpoint"], poll)
    check(st == 200 and all(k in tok for k in ("access_token", "refresh_token", "id_token")), "device code -> access/refresh/id tokens")
    _, claims = verify_rs256(tok["id_token"], http_json(disc["jwks_uri"])[1])
    check(claims["sub"] == "alice" and "nonce" not in claims, "device flow id_token: sub, no nonce")
    st, r = http_json(disc["token_endpoint"], poll)
    check(st == 400 and r["error"] == "slow_down", "a poll sooner than the interval -> slow_down")
    _, stats = http_json(issuer + "/test/stats")
    d = stats["device"]
    check(d["authorizations"] == 1 and d["polls"] == 2 and d["slow_down"] == 1 and d["issued_codes"] == [auth["device_code"]],
          "/test/stats counts device authorizations, polls and slow_down answers")


def main():
    idp = subprocess.Popen(["node", os.path.join(HERE, "server.mjs")], stdout=subprocess.PIPE, text=True)
    try:
        line = idp.stdout.readline().strip()
        check(line.startswith("READY http://127.0.0.1:"), f"IdP ready: {line}")
        issuer = line.split(" ", 1)[1]
        _, disc = http_json(issuer + "/.well-known/openid-configuration")
        for k in ("token_endpoint", "introspection_endpoint", "revocation_endpoint",
                  "userinfo_endpoint", "device_authorization_endpoint",
                  "authorization_response_iss_parameter_supported"):
            print(f"   discovery {k} = {disc.get(k)}")
        _, jwks = http_json(disc["jwks_uri"])
        cb = Callback()

        q, verifier, redirect_uri, nonce = authorize(issuer, cb)
        check("code" in q, "authorization code returned")
        st, tok = http_json(disc["token_endpoint"], {
            "grant_type": "authorization_code", "code": q["code"], "redirect_uri": redirect_uri,
            "code_verifier": verifier, "client_id": CLIENT})
        check(st == 200 and all(k in tok for k in ("access_token", "refresh_token", "id_token")),
              f"code exchange -> access/refresh/id tokens (scope={tok.get('scope')!r}, expires_in={tok.get('expires_in')})")
        valid, claims = verify_rs256(tok["id_token"], jwks)
        check(valid, "id_token RS256 signature verifies against jwks")
        check(claims["iss"] == issuer and claims["aud"] == CLIENT and claims["nonce"] == nonce
              and claims["sub"] == "alice", "id_token iss/aud/nonce/sub")

        st, tok2 = http_json(disc["token_endpoint"], {
            "grant_type": "refresh_token", "refresh_token": tok["refresh_token"], "client_id": CLIENT})
        check(st == 200 and tok2.get("refresh_token") not in (None, tok["refresh_token"]),
              "refresh succeeds and rotates the refresh token")

        intro = disc["introspection_endpoint"]
        basic = ("introspector", "introspector-secret")
        _, r = http_json(intro, {"token": tok2["access_token"]}, basic)
        check(r.get("active") is True and r.get("client_id") == CLIENT, "introspector sees access token active")
        _, r = http_json(intro, {"token": tok["refresh_token"], "token_type_hint": "refresh_token"}, basic)
        check(r.get("active") is False, "rotated-away refresh token is inactive")

        req = urllib.request.Request(disc["userinfo_endpoint"],
                                     headers={"Authorization": "Bearer " + tok2["access_token"]})
        with urllib.request.urlopen(req, timeout=10) as resp:
            ui = json.loads(resp.read())
        check(ui.get("email") == "alice@example.test" and ui.get("name") == "Alice", f"userinfo {ui}")

        st, _ = http_json(disc["revocation_endpoint"], {
            "token": tok2["refresh_token"], "token_type_hint": "refresh_token", "client_id": CLIENT})
        check(st == 200, "revocation endpoint answers 200")
        _, r = http_json(intro, {"token": tok2["refresh_token"], "token_type_hint": "refresh_token"}, basic)
        check(r.get("active") is False, "revoked refresh token is inactive")

        q, *_ = authorize(issuer, cb, mode="deny")
        check(q.get("error") == "access_denied" and "code" not in q, "deny mode -> error=access_denied")

        _, stats = http_json(issuer + "/test/stats")
        check(stats["token_requests"] == {"authorization_code": 1, "refresh_token": 1}
              and stats["revocation_requests"] == 1, f"/test/stats {stats}")
        st, _ = http_json(issuer + "/test/stats", method="DELETE")
        _, stats = http_json(issuer + "/test/stats")
        check(st == 204 and stats["token_requests"] == {}, "DELETE /test/stats resets counters")

        machine = ("machine-client", "machine-secret")
        st, cc = http_json(disc["token_endpoint"], {"grant_type": "client_credentials", "scope": "api:read"}, machine)
        check(st == 200 and cc.get("scope") == "api:read" and "refresh_token" not in cc,
              f"client_credentials (basic auth) -> access token only (expires_in={cc.get('expires_in')})")
        _, r = http_json(intro, {"token": cc["access_token"]}, basic)
        check(r.get("active") is True and r.get("client_id") == "machine-client" and "sub" not in r,
              "introspector sees the machine token active, without a subject")
        st, r = http_json(disc["token_endpoint"], {"grant_type": "client_credentials"}, ("machine-client", "wrong"))
        check(st == 401 and r.get("error") == "invalid_client", "a wrong client secret -> invalid_client")
        st, r = http_json(disc["token_endpoint"], {"grant_type": "client_credentials", "scope": "openid"}, machine)
        check(st == 400 and r.get("error") == "invalid_scope", "scopes outside the client's list -> invalid_scope")
        _, stats = http_json(issuer + "/test/stats")
        check(stats["token_requests"] == {"client_credentials": 3}, f"/test/stats counts client_credentials {stats}")
        device_flow(issuer, disc)
        print("selfcheck: all good")
        return 0
    finally:
        idp.terminate()
        idp.wait(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
