"""Helpers the security settings name (django-axes): the lockout page and the client address."""

from __future__ import annotations

import math

from axes.helpers import get_client_username, get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """The sign-in page again, saying why signing in is refused and for how long (429).

    The form keeps the user name, so the person sees which name is locked; the password
    is never echoed back.
    """
    cool_off = get_cool_off(request)
    username = get_client_username(request, credentials) or ""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "locked_out": True,
        "lockout_minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
        "next": next_url,
    }
    return render(request, "registration/login.html", context, status=429)


def client_ip_behind_proxy(request: HttpRequest) -> str | None:
    """The client's address when the app runs behind one TLS proxy (BEHIND_TLS_PROXY).

    Only the last X-Forwarded-For entry is trusted: the proxy appends the address it saw,
    while anything before it came from the client and can be made up. Without the header
    (a request that bypassed the proxy) the socket's address is used.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.split(",")[-1].strip()
    return last or request.META.get("REMOTE_ADDR")
