"""Rate limits of the subscription endpoints, counted in Django's cache (shared by every
web process, like the API's throttles): per network address, and per target (the
address being subscribed), so nobody can flood an inbox or a phone with confirmation
requests from many addresses, nor try many inboxes from one."""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache
from django.utils.translation import gettext as _

from crisisflow.conf import DEFAULTS, setting
from crisisflow.envconf import parse_rate
from crisisflow.incidents.errors import CrisisFlowError


class TooMany(CrisisFlowError):
    status = 429

    def __init__(self, message, wait: float):
        super().__init__(message)
        self.wait = math.ceil(wait)


def _window(name: str, ident: str) -> tuple[str, list[float], int, int]:
    rate = {**DEFAULTS["SUBSCRIBE_RATES"], **setting("SUBSCRIBE_RATES")}[name]
    count, seconds = parse_rate(rate)
    # Hashed: the cache holds no e-mail addresses or phone numbers.
    key = "subscribe-rate:" + name + ":" + hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]
    now = time.time()
    history = [t for t in cache.get(key, []) if t > now - seconds]
    return key, history, count, seconds


def check(network_address: str, target: str) -> None:
    """Count one subscription request; TooMany (429) past either limit."""
    now = time.time()
    windows = [("address", network_address or "unknown"), ("target", target)]
    seen = [(name, *_window(name, ident)) for name, ident in windows]
    for name, _key, history, count, seconds in seen:
        if len(history) >= count:
            wait = max(1.0, min(history) + seconds - now)
            if name == "address":
                message = _(
                    "Too many subscription requests from your network address; try again in %(seconds)d seconds."
                )
            else:
                message = _("Too many subscription requests for this address; try again in %(seconds)d seconds.")
            raise TooMany(message % {"seconds": math.ceil(wait)}, wait)
    for _name, key, history, _count, seconds in seen:
        cache.set(key, [*history, now], seconds)
