"""The zh-Hans and English versions of one publication, told to subscribers as one.

A message set holds each kind of statement once per language (two Statement rows of the
same incident and kind). When one of them is published, the subscribers who read its
language are told at once. Those who read the other language are told at once too,
with a short note in their language saying that theirs is not published (yet), unless
their version is on the way: then they alone wait up to SUBSCRIBER_PAIRING_SECONDS
for it. Published within that time, it joins their fan-out (FanOut.paired) and they
get it, in their language; after the wait they get the published one with the note.

"On the way" means being written or approved: in review, approved, or a draft someone
has written. A draft still holding the template's text, as the message set made it
(StatementVersion.from_template), is not on the way: nobody waits for it.

The other language published after its readers' fan-out began, but within the window
(of its start, or of the end of its wait), is the same publication: it tells nobody a
second time (the notice page shows it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from crisisflow.conf import setting
from crisisflow.statements.models import Publication, Statement, StatementState
from crisisflow.subscribers.models import FanOut

LANGUAGES = ("zh-hans", "en")
# Being written or approved: worth waiting for (a draft only once someone wrote it).
ON_THE_WAY = (StatementState.DRAFT, StatementState.IN_REVIEW, StatementState.APPROVED)


def other_language(language: str) -> str:
    return "en" if language.startswith("zh") else "zh-hans"


def readers_of(language: str) -> str:
    """The FanOut.readers of a subscriber or statement language: Chinese, or English for
    every other language (messages are in one of the two)."""
    return "zh-hans" if (language or "").startswith("zh") else "en"


def reading(readers: str) -> Q:
    """The subscribers a fan-out of `readers` tells."""
    if readers == FanOut.Readers.CHINESE:
        return Q(language__startswith="zh")
    if readers == FanOut.Readers.ENGLISH:
        return ~Q(language__startswith="zh")
    return Q()


def window() -> timedelta:
    return timedelta(seconds=setting("SUBSCRIBER_PAIRING_SECONDS"))


def partner(publication: Publication, now: datetime) -> FanOut | None:
    """The fan-out of the same kind of statement in the other language, not paired yet,
    whose readers include this publication's: started within the window, or one that
    waited for this publication and gave up less than a window ago."""
    if window() <= timedelta(0):
        return None
    statement = publication.statement
    return (
        # No row lock needed: a publication holds its incident's lock (publishing.publish).
        FanOut.objects.filter(
            incident_id=statement.incident_id,
            publication__statement__kind=statement.kind,
            publication__statement__language=other_language(statement.language),
            readers__in=(FanOut.Readers.ALL, readers_of(statement.language)),
            paired__isnull=True,
        )
        # Started within the window, or done waiting for this one less than a window ago.
        .filter(Q(created_at__gte=now - window()) | Q(hold_until__gte=now - window()))
        .order_by("-created_at", "-id")
        .first()
    )


def hold_until(publication: Publication, now: datetime) -> datetime | None:
    """Until when the other language's readers wait for their version, or None (nobody
    waits): only while that version is on the way (see the module's docstring)."""
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
        # A draft with the template's text as the message set made it: nobody is on it.
        .exclude(state=StatementState.DRAFT, current__from_template=True)
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
    key = readers_of(language)
    if key in versions:
        return int(versions[key]), False
    return int(fallback), True
