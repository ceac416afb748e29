"""Rate limits of the API, counted in Django's cache (Redis, or files under var/), so
every web process sees the same counts.

Three kinds:
- failed authentications (wrong password, unknown or revoked token) per network
  address: past the limit the address gets 429 before any password is even checked;
- the expensive endpoints, per person and per address: reporting an incident, moving
  it through its steps (activation creates every task of a plan), reading a timeline
  and the incident list, exporting a review (PDF) and reading the analytics;
- the signed batches of early-warning data, per data source (PerSource): a provider's
  runaway loop is stopped before its batches are read, and other sources go on.

The rates live in settings.CRISISFLOW["API_RATES"] (defaults in crisisflow/conf.py);
each is a sliding window, like DRF's own throttles, whose machinery this reuses. The
address is the one django-axes uses for the sign-in lockout (the last X-Forwarded-For
entry behind the TLS proxy), so one setting decides it for both.
"""

from __future__ import annotations

import math

from axes.helpers import get_client_ip_address
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import APIException, Throttled
from rest_framework.throttling import SimpleRateThrottle

from crisisflow.conf import DEFAULTS, setting
from crisisflow.envconf import parse_rate

# (view name, method) → scope. Endpoints not named here are not limited.
EXPENSIVE = {
    ("api:incident-list", "POST"): "report",
    ("api:incident-list", "GET"): "list",
    ("api:incident-step", "POST"): "steps",
    ("api:incident-timeline", "GET"): "timeline",
    ("api:review-markdown", "GET"): "export",
    ("api:review-pdf", "GET"): "export",
    ("api:analytics", "GET"): "analytics",
    ("api:analytics-csv", "GET"): "analytics",
}
WHAT = {
    "report": gettext_lazy("report incidents"),
    "list": gettext_lazy("list incidents"),
    "steps": gettext_lazy("move incidents through their steps"),
    "timeline": gettext_lazy("read timelines"),
    "export": gettext_lazy("export reviews"),
    "analytics": gettext_lazy("read the analytics"),
}


class TooManyRequests(Throttled):
    """429 with our own message, which already says how long to wait (DRF's Throttled
    would add a second sentence saying it again); `wait` becomes Retry-After."""

    def __init__(self, wait: float, detail: str):
        APIException.__init__(self, detail)
        self.wait = math.ceil(wait)


def rates() -> dict[str, str]:
    return {**DEFAULTS["API_RATES"], **setting("API_RATES")}


def unknown_rate_names() -> list[str]:
    return sorted(set(setting("API_RATES")) - set(DEFAULTS["API_RATES"]))


def client_address(request) -> str:
    return get_client_ip_address(request) or "unknown"


class _Window(SimpleRateThrottle):
    """DRF's sliding window with the rate chosen per request rather than per class."""

    def __init__(self, rate_name: str | None = None):  # DRF reads a fixed rate here
        if rate_name is not None:
            self.use(rate_name)

    def use(self, rate_name: str) -> None:
        self.scope = rate_name
        self.rate = rates()[rate_name]
        self.num_requests, self.duration = parse_rate(self.rate)

    def seen(self, ident: str) -> float | None:
        """Seconds to wait if the window for `ident` is full, else None (counts nothing)."""
        self.key = self.cache_format % {"scope": self.scope, "ident": ident}
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            return max(1.0, self.wait())
        return None


class AuthFailures(_Window):
    """Failed API authentications from one address."""

    def __init__(self, request):
        super().__init__("auth_failures")
        self.ident = client_address(request)

    def check(self) -> None:
        wait = self.seen(self.ident)
        if wait is not None:
            raise TooManyRequests(
                wait,
                detail=_(
                    "Too many failed authentications from your network address (%(address)s); "
                    "try again in %(seconds)d seconds."
                )
                % {"address": self.ident, "seconds": round(wait)},
            )

    def record(self) -> None:
        self.seen(self.ident)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class PerPerson(_Window):
    """The expensive endpoints, per signed-in person."""

    suffix = ""

    def ident(self, request) -> str:
        return f"user-{request.user.pk}"

    def message(self, what, wait: float) -> str:
        return _("Too many requests: you may %(what)s at most %(rate)s. Try again in %(seconds)d seconds.") % {
            "what": what,
            "rate": self.rate,
            "seconds": round(wait),
        }

    def allow_request(self, request, view) -> bool:
        match = request.resolver_match
        scope = EXPENSIVE.get((match.view_name if match else "", request.method))
        if scope is None:
            return True
        self.use(scope + self.suffix)
        wait = self.seen(self.ident(request))
        if wait is not None:
            # Raised here rather than returned, for a message that says which limit.
            raise TooManyRequests(wait, detail=self.message(WHAT[scope], wait))
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
        return True


class PerAddress(PerPerson):
    """The same endpoints per network address: a whole office may share one."""

    suffix = "_address"

    def ident(self, request) -> str:
        return client_address(request)

    def message(self, what, wait: float) -> str:
        return _(
            "Too many requests from your network address: it may %(what)s at most %(rate)s. "
            "Try again in %(seconds)d seconds."
        ) % {"what": what, "rate": self.rate, "seconds": round(wait)}


class PerSource(_Window):
    """Signed batches of early-warning data (crisisflow.watch.api), per data source.
    Runs after the signature is checked, so only a source's own batches count."""

    def __init__(self):
        super().__init__("watch_batches")

    def allow_request(self, request, view) -> bool:
        source = request.auth
        wait = self.seen(f"source-{source.pk}")
        if wait is not None:
            raise TooManyRequests(
                wait,
                detail=_(
                    "Too many batches from the source “%(source)s”: at most %(rate)s. "
                    "Try again in %(seconds)d seconds, with the batch signed afresh."
                )
                % {"source": source.key, "rate": self.rate, "seconds": round(wait)},
            )
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
        return True
