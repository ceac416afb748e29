"""What a publication made public, and keeping the notice's files current.

`public_update(publication)` is what subscribers are told about: None when the
publication made nothing public on a notice (an internal kind, a notice that is off, a
drill), else the statement as the notice shows it — for each subscriber's language, the
notice's address, and whether it was a correction and what changed.

After each publication of a statement, and each change of the commitments ledger, the
notice is regenerated (its generation bumped, its static files rewritten) once the
transaction commits. A failure to write files is logged; the app still serves the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_save

from crisisflow import clock
from crisisflow.notices import render
from crisisflow.notices.models import PublicNotice
from crisisflow.statements import kinds
from crisisflow.statements.models import Publication

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublicUpdate:
    """One publication as the public notice shows it."""

    notice_id: int
    slug: str
    url: str  # the notice's public address (absolute)
    incident_id: int
    publication_id: int
    statement_id: int
    version: int  # the statement version's number
    language: str  # the statement's language ("zh-hans" or "en")
    kind: str
    title: str  # the notice's public title in that language
    statement_title: str
    body: str
    published_at: datetime
    correction: bool
    what_changed: str  # for a correction: what changed, in the writer's words
    # False when the same version already went out on another channel: subscribers were
    # told about this version then, and need not be again.
    first_of_version: bool
    # A key that is the same however often this is asked: per notice and version.
    key: str


def public_update(publication: Publication | int) -> PublicUpdate | None:
    """What `publication` made public on its incident's notice, or None when nothing."""
    pk = publication.pk if isinstance(publication, Publication) else publication
    p = Publication.objects.filter(pk=pk).select_related("statement", "statement_version").first()
    if p is None or p.statement.kind not in kinds.KINDS or not kinds.KINDS[p.statement.kind].public:
        return None
    notice = PublicNotice.objects.filter(incident_id=p.statement.incident_id).first()
    if notice is None or not notice.shown:
        return None
    earlier = (
        Publication.objects.filter(statement_version=p.statement_version_id)
        .filter(published_at__lt=p.published_at)
        .exists()
        or Publication.objects.filter(
            statement_version=p.statement_version_id, published_at=p.published_at, pk__lt=p.pk
        ).exists()
    )
    version = p.statement_version
    return PublicUpdate(
        notice_id=notice.pk,
        slug=notice.slug,
        url=render.site() + render.notice_path(notice.slug),
        incident_id=p.statement.incident_id,
        publication_id=p.pk,
        statement_id=p.statement_id,
        version=version.number,
        language=p.statement.language,
        kind=p.statement.kind,
        title=notice.title(p.statement.language),
        statement_title=version.title,
        body=version.body,
        published_at=p.published_at,
        correction=p.is_correction,
        what_changed=version.correction_note if p.is_correction else "",
        first_of_version=not earlier,
        key=f"notice:{notice.pk}:statement:{p.statement_id}:v{version.number}",
    )


def bump(incident_id: int) -> PublicNotice | None:
    """Mark what the notice shows as changed now. Returns the notice, if any."""
    updated = PublicNotice.objects.filter(incident_id=incident_id).update(
        generation=F("generation") + 1, updated_at=clock.now()
    )
    if not updated:
        return None
    return PublicNotice.objects.select_related("incident").get(incident_id=incident_id)


def regenerate(incident_id: int) -> None:
    """Bump the notice and rewrite its files and the index (after a commit)."""
    try:
        notice = bump(incident_id)
        if notice is None:
            return
        render.write_notice(notice)
        render.write_index()
    except Exception:  # noqa: BLE001 - the page is still served by the app
        log.exception("could not write the public notice files of incident %s", incident_id)


def _published(sender, instance: Publication, created: bool, **kwargs) -> None:
    if not created:
        return
    incident_id = instance.statement.incident_id if instance.statement_id else None
    if incident_id is not None:
        transaction.on_commit(lambda: regenerate(incident_id))


def connect() -> None:
    from crisisflow.commitments import actions as commitments

    post_save.connect(_published, sender=Publication, dispatch_uid="notices.publication")
    commitments.on_change(regenerate)
