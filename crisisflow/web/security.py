"""Helpers the security settings name (django-axes): the lockout page, the client address,
and when a lockout ends (the API says so; see crisisflow.api.auth)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from crisisflow import clock


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


def is_locked_out(request, credentials: dict) -> bool:
    """Whether django-axes refuses this user name from this request's address."""
    if not getattr(settings, "AXES_ENABLED", True):
        return False
    return not AxesProxyHandler.is_allowed(request, credentials)


def lockout_ends_at(request, credentials: dict) -> datetime:
    """When the lockout of this user name from this address lifts: the cool-off counted
    from the last counted failure (retrying while locked out does not move it)."""
    now = clock.now()
    cool_off = get_cool_off(request)
    if cool_off is None:  # locked until someone resets it; say "a day" rather than nothing
        return now + timedelta(days=1)
    handler = AxesProxyHandler.get_implementation()
    latest = None
    if hasattr(handler, "get_user_attempts"):  # the database handler (the default)
        for attempts in handler.get_user_attempts(request, credentials):
            for at in attempts.values_list("attempt_time", flat=True):
                latest = at if latest is None or at > latest else latest
    return max(now, (latest or now) + cool_off)
