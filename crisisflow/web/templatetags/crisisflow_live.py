"""Template tags that make an element a live region (see crisisflow.web.live)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html

from crisisflow import clock
from crisisflow.web import live

register = template.Library()


@register.simple_tag
def live_poll(region_stamp: str, name: str):
    """The attributes of a live region, e.g.
    <section id="dash-tasks" {% live_poll region.stamp "tasks" %}>."""
    return format_html('data-live-region="{}" data-live-stamp="{}"', name, region_stamp)


@register.simple_tag
def live_region(incident, region: str):
    """The attributes of one live region of the incident page, e.g.
    <section id="tasks" {% live_region incident "tasks" %}>."""
    return live_poll(live.incident_stamps(incident)[region], region)


@register.simple_tag
def live_address(url_name: str, *args):
    """The page's live address, how often to ask, and the server's time now (a region
    may be a shared render made earlier: the page's clocks count from this), for
    <meta name="cf-live">."""
    return format_html(
        'content="{}" data-every="{}" data-now="{}"',
        reverse(url_name, args=args),
        int(live.POLL_SECONDS * 1000),
        clock.now().isoformat(),
    )


def unread_stamp(count: int) -> str:
    return live.stamp("unread", count)


@register.simple_tag
def live_unread(count: int):
    """The attributes of the header's unread badge, a live region on every page."""
    return live_poll(unread_stamp(count), "unread")
