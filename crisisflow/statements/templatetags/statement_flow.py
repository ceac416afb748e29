"""What the approval panel and the publish form show for one person and one statement."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import template

from crisisflow import clock
from crisisflow.incidents import golden_clock
from crisisflow.statements import approvals, kinds, permissions, publishing
from crisisflow.statements.models import Publication, StatementState

register = template.Library()


@dataclass
class Panel:
    roles: list
    decidable: list[str]  # roles the reader may decide for now
    may_request: bool
    may_publish: bool
    channels: list  # kinds.Channel still open for the current version
    publications: list = field(default_factory=list)
    errors: int = 0
    approved: bool = False
    correction: bool = False  # publishing now would be a correction
    clock_words: str = ""
    clock_state: str = ""


@register.simple_tag
def statement_flow(user, statement) -> Panel | None:
    """None for a statement without text yet."""
    if statement.current_id is None:
        return None
    incident = statement.incident
    standing = permissions.standing(user, incident)
    open_ = incident.is_open
    roles = approvals.role_status(statement)
    in_review = statement.state == StatementState.IN_REVIEW
    decidable = [s.role for s in roles if open_ and in_review and s.approval is None and standing.may_approve(s.role)]
    approved = approvals.is_approved(statement)
    publications = list(
        Publication.objects.filter(statement=statement).select_related("published_by", "statement_version")
    )
    done = {p.channel for p in publications if p.statement_version_id == statement.current_id}
    kind = kinds.KINDS.get(statement.kind)
    may_publish = (
        open_
        and approved
        and statement.state in (StatementState.APPROVED, StatementState.PUBLISHED)
        and standing.may_draft(statement.kind)
    )
    result = golden_clock.outcome(incident, clock.now())
    return Panel(
        roles=roles,
        decidable=decidable,
        may_request=open_ and statement.state == StatementState.DRAFT and standing.may_draft(statement.kind),
        may_publish=may_publish,
        channels=[kinds.CHANNELS[c] for c in (kind.channels if kind else ()) if c not in done],
        publications=publications,
        errors=statement.current.errors,
        approved=approved,
        correction=any(p.statement_version_id != statement.current_id for p in publications),
        clock_words=publishing.outcome_words(incident) if incident.first_statement_at else "",
        clock_state=result.state,
    )


@register.filter
def role_label(role: str) -> str:
    from crisisflow.vocab import Role

    return str(Role(role).label) if role in Role.values else role


@register.filter
def channel_label(key: str) -> str:
    return str(kinds.CHANNELS[key].label) if key in kinds.CHANNELS else key


@register.simple_tag
def waiting_for_me(user):
    from crisisflow.statements.queue import waiting_rows

    return waiting_rows(user)
