"""Small display helpers for the CrisisFlow templates. All output is escaped."""

from __future__ import annotations

import logging

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from crisisflow.alerts import messages
from crisisflow.incidents import timeline
from crisisflow.playbooks.models import crisis_type_label, localized
from crisisflow.vocab import CrisisType, Severity, State

register = template.Library()
log = logging.getLogger(__name__)


@register.simple_tag
def severity_badge(value: str):
    """Severity as colour *and* text, so it reads without colour too."""
    if value not in Severity.values:
        return format_html('<span class="badge sev-none">{}</span>', _("Severity not set"))
    return format_html('<span class="badge sev-{}">{}</span>', value, Severity(value).label)


@register.simple_tag
def state_badge(value: str):
    label = State(value).label if value in State.values else value
    return format_html('<span class="badge state state-{}">{}</span>', value, label)


@register.filter
def crisis_type(key: str) -> str:
    """A crisis type's name. The built-in ones need no query; only a type a playbook
    defines is looked up (lists attach the names once instead: crisis_type_labels)."""
    if not key:
        return "—"
    if key in CrisisType.values:
        return str(CrisisType(key).label)
    return crisis_type_label(key)


@register.filter
def describe(event) -> str:
    """One timeline line in the reader's language (escaped by the template). An event
    its describer cannot read is logged and shown by its kind (timeline.describe)."""
    return timeline.describe(event)


@register.filter(name="localized")
def localized_text(text) -> str:
    return localized(text) if isinstance(text, dict) else str(text)


@register.filter
def state_label(value: str) -> str:
    return str(State(value).label) if value in State.values else value


# --- notifications --------------------------------------------------------------------------------


@register.filter
def alert_kind(kind: str) -> str:
    """What a notification is about ("Escalation: overdue"), as the timeline names it."""
    return str(timeline.ALERT_WORDS.get(kind, kind))


@register.simple_tag
def notification_message(notification):
    """The notification in the reader's language (the page's), for the inbox: its
    `subject` line and its `headline` sentence.

    Like a timeline line, a message that cannot be rendered must not take the whole inbox
    down: it is logged and shown by its kind instead."""
    try:
        return messages.render(notification, translation.get_language() or settings.LANGUAGE_CODE)
    except Exception:
        log.exception("cannot render notification %s", notification.pk)
        what = alert_kind(notification.kind)
        return {"subject": what, "headline": "", "hidden": True}  # no link when in doubt


@register.simple_tag
def notification_url(notification) -> str:
    """Where a notification points on this site: its task, or the golden clock."""
    url = reverse("incident-detail", args=[notification.incident.reference])
    return f"{url}#task-{notification.task_id}" if notification.task_id else f"{url}#clock"
