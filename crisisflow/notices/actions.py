"""The commander's use cases for an incident's public notice: turn it on (with the
public title, the address, share text), change it, list it on the index or not, turn it
off, and mark the incident a drill (then nothing of it is ever public)."""

from __future__ import annotations

import re
import secrets

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.incidents.errors import Conflict, Invalid
from crisisflow.incidents.inputs import clean_line
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import lock_incident, require_commander
from crisisflow.notices import render
from crisisflow.notices.models import PublicNotice

ENABLED = "notice_enabled"
CHANGED = "notice_changed"
DISABLED = "notice_disabled"
DRILL = "notice_drill_marked"

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
RESERVED = {"feed.atom", "feed.json", "index", "static", "admin", "api"}


def notice_of(incident: Incident) -> PublicNotice | None:
    return PublicNotice.objects.filter(incident=incident).first()


def random_slug() -> str:
    # 128 bits: nobody finds a notice that is not listed by guessing its address.
    return secrets.token_hex(16)


def _slug(value: str, notice: PublicNotice | None) -> str:
    value = (value or "").strip().lower()
    if not value:
        return notice.slug if notice is not None else random_slug()
    if not SLUG.match(value) or value in RESERVED:
        raise Invalid(
            _("An address is 3 to 64 lower-case letters, digits and dashes, not starting or ending with a dash."),
            field="slug",
        )
    taken = PublicNotice.objects.filter(slug=value)
    if notice is not None:
        taken = taken.exclude(pk=notice.pk)
    if taken.exists():
        raise Invalid(_("This address is taken; choose another."), field="slug")
    return value


def _lock_notice(incident: Incident, expected_version: int | None) -> PublicNotice | None:
    notice = PublicNotice.objects.select_for_update().filter(incident=incident).first()
    if notice is not None and expected_version is not None and notice.version != expected_version:
        raise Conflict(_("Someone else changed this notice; reload the page and try again."))
    return notice


def _after_commit(incident_id: int, old_slug: str = "") -> None:
    from crisisflow.notices.publications import regenerate

    def run():
        if old_slug:
            render.remove_notice_files(old_slug)
        regenerate(incident_id)

    transaction.on_commit(run)


@transaction.atomic
def save_notice(
    actor,
    incident: Incident | int,
    *,
    title_en: str = "",
    title_zh: str = "",
    summary_en: str = "",
    summary_zh: str = "",
    image_url: str = "",
    slug: str = "",
    listed: bool = False,
    enabled: bool = True,
    expected_version: int | None = None,
) -> PublicNotice:
    """Turn the notice on (or change it). Only the commander; a public title in at
    least one language is required — the internal title is never shown."""
    incident = lock_incident(actor, incident)
    require_commander(actor, incident)
    notice = _lock_notice(incident, expected_version)
    titles = {
        "title_en": clean_line(title_en or "", "title_en", max_length=200),
        "title_zh": clean_line(title_zh or "", "title_zh", max_length=200),
    }
    if enabled and not (titles["title_en"] or titles["title_zh"]):
        raise Invalid(_("Give the notice a public title."), field="title_zh")
    summaries = {
        "summary_en": clean_line(summary_en or "", "summary_en", max_length=300),
        "summary_zh": clean_line(summary_zh or "", "summary_zh", max_length=300),
    }
    image = clean_line(image_url or "", "image_url", max_length=500)
    if image and not image.startswith("https://"):
        raise Invalid(_("The share image is an https:// address."), field="image_url")
    address = _slug(slug, notice)
    if enabled and notice is not None and notice.drill:
        raise Conflict(_("This incident is a drill: its notice cannot be made public."))
    now = clock.now()
    first = notice is None or not notice.enabled
    old_slug = notice.slug if notice is not None and notice.slug != address else ""
    if notice is None:
        notice = PublicNotice(incident=incident)
    for name, value in {**titles, **summaries}.items():
        setattr(notice, name, value)
    notice.image_url = image
    notice.slug = address
    notice.listed = bool(listed)
    if enabled and first:
        notice.enabled_by = actor
        notice.enabled_at = now
    notice.enabled = bool(enabled)
    notice.updated_at = now
    notice.version += 1
    notice.save()
    kind = ENABLED if (enabled and first) else (DISABLED if not enabled else CHANGED)
    record(
        incident,
        actor,
        kind,
        {"slug": address, "listed": notice.listed, "title_zh": titles["title_zh"], "title_en": titles["title_en"]},
        at=now,
    )
    _after_commit(incident.pk, old_slug)
    return notice


@transaction.atomic
def disable_notice(actor, incident: Incident | int, *, expected_version: int | None = None) -> PublicNotice:
    """Take the notice down: its address answers 404 and its files are removed."""
    incident = lock_incident(actor, incident)
    require_commander(actor, incident)
    notice = _lock_notice(incident, expected_version)
    if notice is None or not notice.enabled:
        raise Conflict(_("This incident has no public notice turned on."))
    notice.enabled = False
    notice.updated_at = clock.now()
    notice.version += 1
    notice.save()
    record(incident, actor, DISABLED, {"slug": notice.slug})
    _after_commit(incident.pk)
    return notice


@transaction.atomic
def mark_drill(
    actor, incident: Incident | int, *, drill: bool = True, expected_version: int | None = None
) -> PublicNotice:
    """Mark (or unmark) the incident as a drill. A drill's notice is never public."""
    incident = lock_incident(actor, incident)
    require_commander(actor, incident)
    notice = _lock_notice(incident, expected_version)
    if notice is None:
        notice = PublicNotice(incident=incident, slug=random_slug())
    notice.drill = bool(drill)
    if notice.drill:
        notice.enabled = False
    notice.updated_at = clock.now()
    notice.version += 1
    notice.save()
    record(incident, actor, DRILL, {"drill": notice.drill})
    _after_commit(incident.pk)
    return notice


@describes(ENABLED, label=gettext_lazy("Public notice turned on"))
def _enabled(event: Event) -> str:
    return _("Public notice turned on at /notice/%(slug)s/") % event.data


@describes(CHANGED, label=gettext_lazy("Public notice changed"))
def _changed(event: Event) -> str:
    return _("Public notice changed (/notice/%(slug)s/)") % event.data


@describes(DISABLED, label=gettext_lazy("Public notice turned off"))
def _disabled(event: Event) -> str:
    return _("Public notice turned off")


@describes(DRILL, label=gettext_lazy("Drill"))
def _drill(event: Event) -> str:
    if event.data.get("drill"):
        return _("Marked as a drill: nothing of it is ever public")
    return _("No longer marked as a drill")
