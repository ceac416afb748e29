"""What this app needs to know about public notices, in one place.

The public notice page is its own app; until it is in place, an incident's notice is
taken to live at /notices/<reference>/ and to be open to subscribers when the incident
is not restricted. Only these two functions say so: the notice app replaces their
bodies with its own answers (its chosen or unguessable address, its opt-in switch).
"""

from __future__ import annotations

from django.conf import settings


def notice_path(reference: str) -> str:
    """The public notice page of the incident with this reference."""
    return f"/notices/{reference}/"


def notice_url(reference: str) -> str:
    return settings.SITE_URL.rstrip("/") + notice_path(reference)


def index_url() -> str:
    return settings.SITE_URL.rstrip("/") + "/notices/"


def open_to_subscribers(incident) -> bool:
    """May the public follow this incident's notice? Nothing of a restricted incident is
    offered unless its notice says so."""
    return not incident.restricted
