"""What every page's template may use from the reviews app."""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from crisisflow.reviews import permissions


def analytics_link(request: HttpRequest) -> dict:
    """Whether the navigation shows Analytics: only to those who may read them (a link
    that answers 403 is no use). A callable, so the one query runs only when a page's
    template shows the navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"may_read_analytics": cache(lambda: permissions.may_read_analytics(user))}
