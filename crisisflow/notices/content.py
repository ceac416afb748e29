"""What a public notice shows, built only from what was explicitly made public.

- statements: the published versions of public kinds (kinds.KINDS[...].public), in the
  order they first went out; a later published version of the same statement is a
  correction, shown with the old wording struck through, what changed and when. Drafts,
  versions in review or approved but not published, and internal kinds never appear.
- commitments: those published public statements made (crisisflow.commitments.public).
- the public title, share text and image the commander chose (never the internal title,
  which may name what a restricted incident keeps inside), the status in plain words,
  and where to get help (the fact sheet's help section).
A notice that is off, or whose incident is a drill, shows nothing at all (None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow.commitments.public import PublicCommitment, public_commitments
from crisisflow.notices.models import PublicNotice
from crisisflow.statements import facts, kinds
from crisisflow.statements.models import Publication
from crisisflow.vocab import State

LANGUAGES = ("zh-hans", "en")
PUBLIC_KINDS = tuple(k.key for k in kinds.KINDS.values() if k.public)

# The incident's state, as the public should read it.
STATUS_WORDS = {
    State.REPORTED: gettext_lazy("We are looking into reports of a problem."),
    State.CONFIRMED: gettext_lazy("We have confirmed the problem and are responding."),
    State.PLAN_ACTIVATED: gettext_lazy("We have confirmed the problem and are responding."),
    State.TEAM_ASSEMBLED: gettext_lazy("We have confirmed the problem and are responding."),
    State.INFO_PUBLISHED: gettext_lazy("We have said what we know and are fixing the problem."),
    State.REMEDIATING: gettext_lazy("We are fixing the problem and keeping our commitments."),
    State.IN_REVIEW: gettext_lazy("The problem is fixed; we are reviewing what happened."),
    State.CLOSED: gettext_lazy("Resolved."),
    State.DISMISSED: gettext_lazy("Resolved."),
}


@dataclass(frozen=True)
class Correction:
    """A later published version of a statement: the wording it replaced, struck through."""

    old_title: str
    old_body: str
    what_changed: str
    at: datetime
    version: int


@dataclass(frozen=True)
class PublicStatement:
    id: int
    kind: str
    kind_label: str
    language: str
    title: str
    body: str
    version: int
    first_published_at: datetime
    last_published_at: datetime
    corrections: tuple[Correction, ...]


@dataclass(frozen=True)
class Help:
    hotline: str = ""
    page: str = ""
    email: str = ""

    @property
    def any(self) -> bool:
        return bool(self.hotline or self.page or self.email)


@dataclass
class NoticeContent:
    notice: PublicNotice
    language: str
    title: str
    description: str
    status: str
    state: str
    statements: list[PublicStatement]
    commitments: list[PublicCommitment]
    help: Help
    updated_at: datetime | None
    other_language: str = ""
    entries: list[dict] = field(default_factory=list)


def published(incident_id: int) -> list[PublicStatement]:
    """Every published public statement of the incident, oldest first, with its
    corrections. Two queries whatever the number of statements and versions."""
    pubs = list(
        Publication.objects.filter(statement__incident_id=incident_id, statement__kind__in=PUBLIC_KINDS)
        .select_related("statement", "statement_version")
        .order_by("published_at", "id")
    )
    by_statement: dict[int, list[Publication]] = {}
    for p in pubs:
        by_statement.setdefault(p.statement_id, []).append(p)
    found = []
    for rows in by_statement.values():
        versions = []  # each published version once, in the order it first went out
        first_at: dict[int, Publication] = {}
        for p in rows:
            if p.statement_version_id not in first_at:
                first_at[p.statement_version_id] = p
                versions.append(p.statement_version)
        latest = versions[-1]
        corrections = tuple(
            Correction(
                old_title=before.title,
                old_body=before.body,
                what_changed=after.correction_note,
                at=first_at[after.pk].published_at,
                version=after.number,
            )
            for before, after in zip(versions, versions[1:], strict=False)
        )
        statement = rows[0].statement
        found.append(
            PublicStatement(
                id=statement.pk,
                kind=statement.kind,
                kind_label=str(kinds.KINDS[statement.kind].label),
                language=statement.language,
                title=latest.title,
                body=latest.body,
                version=latest.number,
                first_published_at=rows[0].published_at,
                last_published_at=rows[-1].published_at,
                corrections=corrections,
            )
        )
    found.sort(key=lambda s: (s.first_published_at, s.id))
    return found


def help_of(incident) -> Help:
    content = facts.sheet_content(incident) or {}
    section = (content.get("sections") or {}).get("help") or {}
    return Help(
        hotline=str(section.get("hotline") or ""),
        page=str(section.get("page") or "")
        if str(section.get("page") or "").startswith(("https://", "http://"))
        else "",
        email=str(section.get("email") or ""),
    )


def build(notice: PublicNotice, language: str) -> NoticeContent | None:
    """The notice in `language` ("zh-hans" or "en"), or None when it must not be shown."""
    if not notice.shown:
        return None
    language = language if language in LANGUAGES else LANGUAGES[0]
    incident = notice.incident
    everything = published(incident.pk)
    mine = [s for s in everything if s.language == language]
    # Statements in the reader's language; all of them when none was written in it.
    statements = mine or everything
    commitments = public_commitments(incident.pk)
    shown_commitments = [c for c in commitments if c.language in ("", language)] or commitments
    moments = [s.last_published_at for s in everything] + [notice.updated_at] if everything else [notice.updated_at]
    moments = [m for m in moments if m is not None]
    with translation.override(language):
        title = notice.title(language)
        description = (notice.summary_zh if language.startswith("zh") else notice.summary_en) or (
            notice.summary_en or notice.summary_zh
        )
        if not description and statements:
            description = " ".join(statements[-1].body.split())[:140]
        content = NoticeContent(
            notice=notice,
            language=language,
            title=title,
            description=description,
            status=str(STATUS_WORDS.get(incident.state, "")),
            state=incident.state,
            statements=statements,
            commitments=shown_commitments,
            help=help_of(incident),
            updated_at=max(moments) if moments else None,
            other_language="en" if language == "zh-hans" else "zh-hans",
        )
    return content


def status_words(state: str, language: str) -> str:
    with translation.override(language):
        return str(STATUS_WORDS.get(state, ""))


def label(text, language: str) -> str:
    with translation.override(language):
        return _(text)
