"""What every page's template may use."""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from crisisflow.alerts import inbox
from crisisflow.incidents.tasks import worker_down_for


def unread_notifications(request: HttpRequest) -> dict:
    """The signed-in person's unread in-app notifications, for the badge in the header.

    A callable, so the COUNT only runs when a template shows it (and then once per
    request): JSON and redirects never pay for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": cache(lambda: inbox.unread_count(user))}


def worker_down(request: HttpRequest) -> dict:
    """For commanders only, whether the background worker is down (a
    crisisflow.incidents.tasks.WorkerDown, or None), for the banner on every page
    (templates/web/_worker_banner.html).

    A callable like the badge above: only a page that shows the banner pays for it, one
    query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"worker_down": cache(lambda: worker_down_for(user))}
