#!/usr/bin/env python3
"""Scripted stand-in for a web browser, used as $BROWSER in end-to-end tests.

Usage: browser.py <authorization-url>

Drives the oidc-provider devInteractions pages (tests/idp/server.mjs): logs in
as $BROWSER_LOGIN (default "alice"), answers the consent page, and stops at
the redirect to the broker's loopback callback (http://127.0.0.1:<port>/callback).
What happens then depends on $BROWSER_MODE:
  normal        GET the callback, print its body; exit 0 iff HTTP 200
  deny          press "abort" on the consent page instead (-> error=access_denied)
  tamper_state  replace `state` in the callback URL with a random value, then GET
  hold          write the callback URL to $BROWSER_HOLD_FILE, exit 0 without GET
Diagnostics go to stderr (and are appended to $BROWSER_LOG if set). The only
secret ever seen here is the one-time authorization code; it is not logged.
Stdlib only, so it runs wherever python3 does.
"""

import html.parser
import http.cookiejar
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 60  # the broker exchanges the code before it answers the callback
MAX_STEPS = 30  # guard against redirect/interaction loops


def log(msg):
    line = f"browser.py: {msg}"
    print(line, file=sys.stderr, flush=True)
    path = os.environ.get("BROWSER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def redact(url):
    """Hide query values (the code) in logs; keep keys for debugging."""
    p = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(p.query, keep_blank_values=True)
    shown = "&".join(f"{k}={v if k in ('error', 'error_description') else '…'}" for k, v in q)
    return urllib.parse.urlunsplit((p.scheme, p.netloc, p.path, shown, ""))


class Form:
    def __init__(self, action, method):
        self.action, self.method, self.fields = action, method, {}


class PageParser(html.parser.HTMLParser):
    """Collects forms (with their inputs) and links; enough for devInteractions."""

    def __init__(self):
        super().__init__()
        self.forms, self.links, self._form = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = Form(a.get("action", ""), (a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form.fields[a["name"]] = a.get("value") or ""
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """We follow redirects ourselves so the hop into the broker's callback can
    be intercepted instead of being fetched automatically."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def is_callback(url, idp_netloc):
    p = urllib.parse.urlsplit(url)
    return (p.scheme == "http" and p.hostname == "127.0.0.1"
            and p.path == "/callback" and p.netloc != idp_netloc)


def main():
    if len(sys.argv) != 2:
        log("usage: browser.py <authorization-url>")
        return 2
    mode = os.environ.get("BROWSER_MODE", "normal")
    login = os.environ.get("BROWSER_LOGIN", "alice")
    url = sys.argv[1]
    idp_netloc = urllib.parse.urlsplit(url).netloc
    log(f"mode={mode} login={login} start={redact(url)}")

    jar = http.cookiejar.CookieJar()  # handles path-scoped interaction cookies
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar), NoRedirect())

    method, data = "GET", None
    callback = None
    for _ in range(MAX_STEPS):
        req = urllib.request.Request(url, data=data, method=method)
        try:
            resp = opener.open(req, timeout=TIMEOUT)
        except urllib.error.HTTPError as e:
            resp = e  # 3xx (unfollowed) and 4xx/5xx both land here
        status = resp.status if hasattr(resp, "status") else resp.code
        body = resp.read().decode("utf-8", "replace")
        log(f"{method} {redact(url)} -> {status}")
        method, data = "GET", None

        if status in (301, 302, 303, 307):
            nxt = urllib.parse.urljoin(url, resp.headers["Location"])
            if is_callback(nxt, idp_netloc):
                callback = nxt
                break
            url = nxt
            continue
        if status != 200:
            log(f"unexpected status {status}: {body[:500]}")
            return 1

        page = PageParser()
        page.feed(body)
        form = next((f for f in page.forms if "prompt" in f.fields), None)
        if form is None:
            log(f"no interaction form on page: {body[:500]}")
            return 1
        prompt = form.fields["prompt"]
        if prompt == "consent" and mode == "deny":
            abort = next((h for h in page.links if "/abort" in h), None)
            if abort is None:
                log("deny mode: no abort link on consent page")
                return 1
            log("consent page: aborting")
            url = urllib.parse.urljoin(url, abort)
            continue
        fields = dict(form.fields)
        if prompt == "login":
            fields.update(login=login, password="any-password")
        log(f"submitting {prompt} form")
        url = urllib.parse.urljoin(url, form.action)
        method = form.method.upper()
        data = urllib.parse.urlencode(fields).encode()
    else:
        log("too many steps without reaching the callback")
        return 1

    if callback is None:
        return 1
    log(f"reached callback {redact(callback)}")

    if mode == "hold":
        hold = os.environ.get("BROWSER_HOLD_FILE")
        if not hold:
            log("hold mode needs BROWSER_HOLD_FILE")
            return 2
        with open(hold, "w", encoding="utf-8") as f:
            f.write(callback + "\n")
        log(f"callback URL written to {hold}")
        return 0

    if mode == "tamper_state":
        p = urllib.parse.urlsplit(callback)
        q = [(k, secrets.token_urlsafe(16) if k == "state" else v)
             for k, v in urllib.parse.parse_qsl(p.query, keep_blank_values=True)]
        callback = urllib.parse.urlunsplit(p._replace(query=urllib.parse.urlencode(q)))
        log("state replaced with a random value")

    # Plain opener: the broker's page must not see IdP cookies.
    try:
        resp = urllib.request.urlopen(callback, timeout=TIMEOUT)
    except urllib.error.HTTPError as e:
        resp = e
    except (urllib.error.URLError, OSError) as e:
        log(f"callback request failed: {e}")
        return 1
    status = resp.status if hasattr(resp, "status") else resp.code
    print(resp.read().decode("utf-8", "replace"))
    log(f"callback answered {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
