"""Template tags that make an element a live region (see crisisflow.web.live)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from crisisflow.web import live

register = template.Library()


@register.simple_tag
def live_poll(region_stamp: str, url_name: str, *args):
    """The attributes of a region that polls its URL (a name and its arguments, as for
    {% url %}) and swaps itself when its stamp changed, e.g.
    <section id="dash-tasks" {% live_poll region.stamp "dashboard-live" "tasks" %}>."""
    return _attrs(reverse(url_name, args=args), region_stamp)


def _attrs(url: str, region_stamp: str, extra: str = ""):
    return format_html(
        'hx-get="{}" hx-trigger="{}" hx-swap="outerHTML" data-live-stamp="{}"{}',
        url,
        live.TRIGGER,
        region_stamp,
        extra,
    )


@register.simple_tag
def live_region(incident, region: str):
    """The attributes of one live region of the incident page, e.g.
    <section id="tasks" {% live_region incident "tasks" %}>."""
    url = reverse("incident-live", args=[incident.reference, region])
    # data-live-query: the page's query (the timeline's filter) goes along with each poll.
    return _attrs(url, live.incident_stamps(incident)[region], mark_safe(" data-live-query"))
