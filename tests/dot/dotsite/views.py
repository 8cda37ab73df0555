"""The provider's login page, shaped like oidc-provider's devInteractions pages (a form
with a hidden `prompt` field, `login` and `password`) so tests/browser.py drives both."""

from django.contrib.auth import authenticate, login
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


def login_page(request):
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    error = None
    if request.method == "POST":
        user = authenticate(request, username=request.POST.get("login", ""), password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            return HttpResponseRedirect(next_url)
        error = "Wrong user name or password."
    return render(request, "login.html", {"next": next_url, "error": error})
