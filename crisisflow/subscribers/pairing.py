"""The zh-Hans and English versions of one publication, told to subscribers as one.

A message set holds each kind of statement once per language (two Statement rows of the
same incident and kind). When one of them is published, its fan-out waits up to
SUBSCRIBER_PAIRING_SECONDS for the other while that one is being written or approved;
published within that time, it joins the same fan-out (FanOut.paired) and each
subscriber gets one message, in their language. After the wait, or with no other
language on the way, the fan-out goes with what is published and a short note in the
reader's language saying that their language is not published (yet). The other
language published after the fan-out began, but within the window (of its start, or of
the end of its wait), is the same publication: it tells nobody a second time (the
notice page shows it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from crisisflow.conf import setting
from crisisflow.statements.models import Publication, Statement, StatementState
from crisisflow.subscribers.models import FanOut

LANGUAGES = ("zh-hans", "en")
# Being written or approved: worth waiting for.
ON_THE_WAY = (StatementState.DRAFT, StatementState.IN_REVIEW, StatementState.APPROVED)


def other_language(language: str) -> str:
    return "en" if language.startswith("zh") else "zh-hans"


def window() -> timedelta:
    return timedelta(seconds=setting("SUBSCRIBER_PAIRING_SECONDS"))


def partner(publication: Publication, now: datetime) -> FanOut | None:
    """The fan-out of the same kind of statement in the other language, not paired yet,
    that this publication completes: started within the window, or one that waited for
    this publication and gave up less than a window ago."""
    if window() <= timedelta(0):
        return None
    statement = publication.statement
    return (
        # No row lock needed: a publication holds its incident's lock (publishing.publish).
        FanOut.objects.filter(
            incident_id=statement.incident_id,
            publication__statement__kind=statement.kind,
            publication__statement__language=other_language(statement.language),
            paired__isnull=True,
        )
        # Started within the window, or done waiting for this one less than a window ago.
        .filter(Q(created_at__gte=now - window()) | Q(hold_until__gte=now - window()))
        .order_by("-created_at", "-id")
        .first()
    )


def hold_until(publication: Publication, now: datetime) -> datetime | None:
    """Until when a new fan-out waits for the other language, or None (no wait): only
    while the same kind in the other language is being written or approved."""
    if window() <= timedelta(0):
        return None
    statement = publication.statement
    coming = (
        Statement.objects.filter(
            incident_id=statement.incident_id,
            kind=statement.kind,
            language=other_language(statement.language),
            superseded_by__isnull=True,
            state__in=ON_THE_WAY,
        )
        .exclude(pk=statement.pk)
        .exists()
    )
    return now + window() if coming else None


def versions(fanout: FanOut) -> dict[str, int]:
    """{language: publication id} of what the fan-out tells (one or both languages)."""
    found = {fanout.publication.statement.language: fanout.publication_id}
    if fanout.paired_id is not None:
        paired = Publication.objects.select_related("statement").get(pk=fanout.paired_id)
        found[paired.statement.language] = paired.pk
    return found


def chosen(versions: dict, language: str, fallback: int) -> tuple[int, bool]:
    """The publication a subscriber reading `language` gets, and whether it is in
    another language (then the message says so)."""
    key = "zh-hans" if (language or "").startswith("zh") else "en"
    if key in versions:
        return int(versions[key]), False
    return int(fallback), True
