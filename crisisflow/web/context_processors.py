"""What every page's template may use."""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from crisisflow.alerts import inbox


def unread_notifications(request: HttpRequest) -> dict:
    """The signed-in person's unread in-app notifications, for the badge in the header.

    A callable, so the COUNT only runs when a template shows it (and then once per
    request): JSON and redirects never pay for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": cache(lambda: inbox.unread_count(user))}
