#!/usr/bin/env python3
"""Scripted stand-in for a web browser, used as $BROWSER in end-to-end tests.

Usage: browser.py <authorization-url | file:// page that redirects to it>
       browser.py --device <verification-uri-complete>
       browser.py --device <verification-uri> <user-code>

Sesame hands the browser a file:// page (0600, in its runtime dir) whose meta
refresh leads to the authorization URL, so the URL is on no command line; this
script reads the page and follows the refresh, as a browser would. With
$BROWSER_WAIT_FOR set it first waits (up to a minute) until that file exists,
so a test can act while the sign-in is open.

Drives the oidc-provider devInteractions pages (tests/idp/server.mjs), and the
django-oauth-toolkit pages shaped like them (tests/dot): logs in
as $BROWSER_LOGIN (default "alice"), answers the consent page, and stops at
the redirect to the broker's loopback callback (http://127.0.0.1:<port>/callback).
What happens then depends on $BROWSER_MODE:
  normal        GET the callback, print its body; exit 0 iff HTTP 200
  deny          press "abort" on the consent page instead (-> error=access_denied)
  tamper_state  replace `state` in the callback URL with a random value, then GET
  hold          write the callback URL to $BROWSER_HOLD_FILE, exit 0 without GET
With --device it plays the user of a device sign-in (RFC 8628) instead: opens the
verification page (typing the user code if given), confirms the code, logs in and
consents, and exits 0 on the provider's success page. $BROWSER_MODE:
  normal        as above
  deny          press "abort" on the consent page; exit 0 on the "aborted" page
  deny_confirm  press "Abort" on the code confirmation page; exit 0 on the "aborted" page
Diagnostics go to stderr (and are appended to $BROWSER_LOG if set). The only
secret ever seen here is the one-time authorization code; it is not logged.
Stdlib only, so it runs wherever python3 does.
"""

import html.parser
import http.cookiejar
import os
import re
import secrets
import sys
import time
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


class MetaRefresh(html.parser.HTMLParser):
    """The target of a page's <meta http-equiv="refresh" content="0; url=...">."""

    def __init__(self):
        super().__init__()
        self.target = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            m = re.match(r"\s*\d+\s*;\s*url\s*=\s*(.+)", a.get("content") or "", re.I)
            if m and self.target is None:
                self.target = m.group(1).strip().strip("'\"")


def follow_page(url):
    """A file:// page: read it (it may be gone once the sign-in ended) and return the
    URL its meta refresh leads to, or None."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        log(f"cannot read the sign-in page {path}: {e}")
        return None
    page = MetaRefresh()
    page.feed(text)
    if page.target is None:
        log(f"the sign-in page has no meta refresh: {text[:300]}")
    return page.target


def wait_for_go():
    go = os.environ.get("BROWSER_WAIT_FOR")
    if not go:
        return True
    for _ in range(600):
        if os.path.exists(go):
            return True
        time.sleep(0.1)
    log(f"{go} did not appear within a minute")
    return False


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """We follow redirects ourselves so the hop into the broker's callback can
    be intercepted instead of being fetched automatically."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def is_callback(url, idp_netloc):
    p = urllib.parse.urlsplit(url)
    return (p.scheme == "http" and p.hostname == "127.0.0.1"
            and p.path == "/callback" and p.netloc != idp_netloc)


def fetch(opener, url, method, data):
    """One request; returns (status, headers, body). 3xx are not followed."""
    req = urllib.request.Request(url, data=data, method=method)
    try:
        resp = opener.open(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as e:
        resp = e  # 3xx (unfollowed) and 4xx/5xx both land here
    status = resp.status if hasattr(resp, "status") else resp.code
    body = resp.read().decode("utf-8", "replace")
    log(f"{method} {redact(url)} -> {status}")
    return status, resp.headers, body


def interaction(page, url, mode, login):
    """The devInteractions login/consent pages: (url, method, data) to go on with, or None."""
    form = next((f for f in page.forms if "prompt" in f.fields), None)
    if form is None:
        return None
    prompt = form.fields["prompt"]
    if prompt == "consent" and mode == "deny":
        abort = next((h for h in page.links if "/abort" in h), None)
        if abort is not None:
            log("consent page: aborting")
            return urllib.parse.urljoin(url, abort), "GET", None
        if "allow" in form.fields:
            # django-oauth-toolkit's consent form: "Cancel" submits it without `allow`.
            log("consent page: cancelling")
            fields = {k: v for k, v in form.fields.items() if k != "allow"}
            return urllib.parse.urljoin(url, form.action), form.method.upper(), urllib.parse.urlencode(fields).encode()
        log("deny mode: no abort link on consent page")
        return None
    fields = dict(form.fields)
    if prompt == "login":
        fields.update(login=login, password="any-password")
    log(f"submitting {prompt} form")
    return urllib.parse.urljoin(url, form.action), form.method.upper(), urllib.parse.urlencode(fields).encode()


def device(args, mode, login):
    """The user's side of a device sign-in, up to the provider's final page."""
    url = args[0]
    user_code = args[1] if len(args) > 1 else None
    log(f"device mode={mode} login={login} start={redact(url)}")
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())
    method, data = "GET", None
    for _ in range(MAX_STEPS):
        status, headers, body = fetch(opener, url, method, data)
        method, data = "GET", None
        if status in (301, 302, 303, 307):
            url = urllib.parse.urljoin(url, headers["Location"])
            continue
        if status != 200:
            log(f"unexpected status {status}: {body[:500]}")
            return 1
        m = re.search(r'<meta name="test-page" content="([^"]+)"', body)
        name = m.group(1) if m else None
        page = PageParser()
        page.feed(body)
        if name == "device-success":
            log("the provider says the sign-in succeeded")
            return 0 if mode == "normal" else 1
        if name == "device-aborted":
            log("the provider says the sign-in was aborted")
            return 0 if mode in ("deny", "deny_confirm") else 1
        if name == "device-error":
            log(f"the provider refused the code: {body[:500]}")
            return 1
        if name == "device-input":
            if user_code is None:
                log("the code input page, but no user code to type")
                return 1
            form = page.forms[0]
            fields = dict(form.fields, user_code=user_code)
            user_code = None  # typed once; a second input page means it was refused
            log("typing the user code")
        elif name == "device-confirm":
            form = next(f for f in page.forms if "confirm" in f.fields)
            fields = dict(form.fields)
            if mode == "deny_confirm":
                fields["abort"] = "yes"
                log("code confirmation page: aborting")
            else:
                log("code confirmation page: confirming")
        else:
            step = interaction(page, url, mode, login)
            if step is not None:
                url, method, data = step
                continue
            if len(page.forms) != 1:
                log(f"no form to submit on page: {body[:500]}")
                return 1
            # The provider's self-submitting form (form_post of the user code).
            form = page.forms[0]
            fields = dict(form.fields)
        url = urllib.parse.urljoin(url, form.action)
        method = form.method.upper()
        data = urllib.parse.urlencode(fields).encode()
    log("too many steps without reaching the end")
    return 1


def main():
    mode = os.environ.get("BROWSER_MODE", "normal")
    login = os.environ.get("BROWSER_LOGIN", "alice")
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--device":
        return device(sys.argv[2:], mode, login)
    if len(sys.argv) != 2:
        log("usage: browser.py <authorization-url> | browser.py --device <verification-uri> [user-code]")
        return 2
    url = sys.argv[1]
    log(f"mode={mode} login={login} start={redact(url)}")
    if not wait_for_go():
        return 1
    if url.startswith("file://"):
        url = follow_page(url)
        if url is None:
            return 1
        log(f"the page leads to {redact(url)}")
    idp_netloc = urllib.parse.urlsplit(url).netloc

    jar = http.cookiejar.CookieJar()  # handles path-scoped interaction cookies
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar), NoRedirect())

    method, data = "GET", None
    callback = None
    for _ in range(MAX_STEPS):
        status, headers, body = fetch(opener, url, method, data)
        method, data = "GET", None

        if status in (301, 302, 303, 307):
            nxt = urllib.parse.urljoin(url, headers["Location"])
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
        step = interaction(page, url, mode, login)
        if step is None:
            log(f"no interaction form on page: {body[:500]}")
            return 1
        url, method, data = step
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
