"""The test-control endpoints, the same contract as tests/idp/server.mjs:

  GET    <issuer>/test/stats  -> {"token_requests": {grant_type: n}, "revocation_requests": n,
                                  "rate_limited": n, "early_requests": n}
  DELETE <issuer>/test/stats  -> zeroes the counters (204)
  POST   <issuer>/test/refresh_token (form: token) -> {"active": bool}: whether DOT would
         still take this refresh token (its RFC 7662 endpoint answers for access tokens
         only, so tests ask here whether sign-out and rotation killed one).
  POST   <issuer>/test/rate_limit?count=N&retry_after=S -> the next N token requests get
         HTTP 429 with `Retry-After: S`; a token request inside that quiet period counts in
         `early_requests` (and is refused the same way).

A middleware, so the counts see every request before DOT answers it.
"""

import json
import sys
import threading
import time
from urllib.parse import parse_qs

from django.http import HttpResponse

_lock = threading.Lock()
_stats = {}
_rate_limit = {"count": 0, "retry_after": 0, "quiet_until": 0.0}


def _reset():
    _stats.clear()
    _stats.update(token_requests={}, revocation_requests=0, rate_limited=0, early_requests=0)


_reset()


def _too_many():
    _stats["rate_limited"] += 1
    wait = _rate_limit["retry_after"]
    _rate_limit["quiet_until"] = max(_rate_limit["quiet_until"], time.time() + wait)
    resp = HttpResponse(json.dumps({"error": "rate_limited"}), status=429, content_type="application/json")
    resp["Retry-After"] = str(wait)
    return resp


class StatsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if path == "/o/test/stats":
            with _lock:
                if request.method == "DELETE":
                    _reset()
                    return HttpResponse(status=204)
                body = json.dumps(_stats)
            return HttpResponse(body, content_type="application/json", headers={"Cache-Control": "no-store"})
        if path == "/o/test/refresh_token" and request.method == "POST":
            from oauth2_provider.models import get_refresh_token_model

            token = request.POST.get("token", "")
            active = get_refresh_token_model().objects.filter(token=token, revoked__isnull=True).exists()
            return HttpResponse(json.dumps({"active": active}), content_type="application/json")
        if path == "/o/test/rate_limit" and request.method == "POST":
            with _lock:
                _rate_limit["count"] = int(request.GET.get("count", "1"))
                _rate_limit["retry_after"] = int(request.GET.get("retry_after", "1"))
            return HttpResponse(status=204)
        if path == "/o/token/" and request.method == "POST":
            # request.body, not request.POST: DOT reads the body itself afterwards.
            form = parse_qs(request.body.decode("utf-8", "replace"))
            grant_type = form.get("grant_type", ["unknown"])[0]
            with _lock:
                # A second of slack for clock granularity on the client's side.
                if time.time() < _rate_limit["quiet_until"] - 1:
                    _stats["early_requests"] += 1
                    return _too_many()
                if _rate_limit["count"] > 0:
                    _rate_limit["count"] -= 1
                    return _too_many()
            response = self.get_response(request)
            with _lock:
                counts = _stats["token_requests"]
                counts[grant_type] = counts.get(grant_type, 0) + 1
            print(f"TOKEN grant_type={grant_type} status={response.status_code}", file=sys.stderr, flush=True)
            return response
        if path == "/o/revoke_token/" and request.method == "POST":
            response = self.get_response(request)
            with _lock:
                _stats["revocation_requests"] += 1
            print(f"REVOKE status={response.status_code}", file=sys.stderr, flush=True)
            return response
        return self.get_response(request)
