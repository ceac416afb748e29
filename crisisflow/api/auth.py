"""How the API knows who is asking: a password (basic), a token (Bearer/Token), or the
browser session.

Passwords go through django-axes like the sign-in page does, and a locked-out user name
gets 429 saying so and until when, instead of "wrong password". Failed password and
token checks are counted per address (crisisflow.api.throttles.AuthFailures); past the
limit the address gets 429 before any password is hashed.

Tokens carry a scope: a "read" token may only use safe methods (TokenScope).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import authentication
from rest_framework.exceptions import APIException, AuthenticationFailed, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from crisisflow import clock
from crisisflow.api import tokens
from crisisflow.api.models import ApiToken
from crisisflow.api.throttles import AuthFailures, client_address
from crisisflow.web.security import is_locked_out, lockout_ends_at


class AccountLocked(APIException):
    """django-axes has locked this user name for this address (too many wrong passwords).

    429 like the sign-in page; `wait` becomes Retry-After (DRF's handler adds it) and
    `locked_until` goes into the body.
    """

    status_code = 429
    default_code = "locked"

    def __init__(self, detail: str, until: datetime, wait: float):
        super().__init__(detail)
        self.locked_until = until
        self.wait = max(1, math.ceil(wait))


def account_locked(request, credentials: dict) -> AccountLocked:
    until = lockout_ends_at(request, credentials)
    wait = (until - clock.now()).total_seconds()
    shown = until.astimezone(UTC).strftime("%H:%M")
    minutes = max(1, round(wait / 60))
    message = _(
        "Too many failed sign-ins: “%(username)s” is locked for your network address (%(address)s) "
        "until %(time)s UTC (%(in_minutes)s). Try again then, or ask an administrator to lift the lockout."
    ) % {
        "username": credentials.get("username") or "",
        "address": client_address(request),
        "time": shown,
        "in_minutes": ngettext("in %(n)d minute", "in %(n)d minutes", minutes) % {"n": minutes},
    }
    return AccountLocked(message, until, wait)


class PasswordAuthentication(authentication.BasicAuthentication):
    """HTTP basic authentication, with the sign-in lockout and failures per address."""

    def authenticate_credentials(self, userid, password, request=None):
        failures = AuthFailures(request)
        failures.check()
        credentials = {"username": userid}
        if is_locked_out(request, credentials):
            raise account_locked(request, credentials)
        try:
            return super().authenticate_credentials(userid, password, request)
        except AuthenticationFailed:
            # django-axes marks the request whose failure reached the limit.
            if getattr(request, "axes_locked_out", False):
                raise account_locked(request, credentials) from None
            failures.record()
            raise


class BearerTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Bearer cf_…` (or `Token cf_…`), checked against ApiToken digests."""

    keyword = "Bearer"
    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        words = authentication.get_authorization_header(request).split()
        if not words or words[0].lower() not in self.keywords:
            return None
        if len(words) != 2:
            raise AuthenticationFailed(_("Send the token as “Authorization: Bearer cf_…”, with no spaces in it."))
        failures = AuthFailures(request)
        failures.check()
        try:
            raw = words[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        token = tokens.find_token(raw)
        if token is None:
            failures.record()
            raise AuthenticationFailed(_("Unknown, revoked or expired API token."))
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class TokenScope(BasePermission):
    """A "read" token may only read (GET, HEAD, OPTIONS); passwords and sessions may do
    whatever the person may."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and not token.allows_writes and request.method not in SAFE_METHODS:
            raise PermissionDenied(
                _("This API token may only read (scope “read”); create a token with scope “write” to make changes.")
            )
        return True
