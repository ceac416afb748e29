"""Writing, approving and publishing statements in tests, through the use cases.

Statements and their versions are written here as rows until the versions use cases
land; approvals and publishing always go through approvals.py and publishing.py."""

from __future__ import annotations

import hashlib

from crisisflow import clock
from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident, TeamMember
from crisisflow.statements import approvals, publishing
from crisisflow.statements.models import Publication, Statement, StatementState, StatementVersion

HOLDING_EN = (
    "We apologise: on 2 March payments failed for about 12,000 users. "
    "We restored the service at 11:00 and will refund every failed fee by 9 March."
)


def _hash(title: str, body: str) -> str:
    return hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()


def write(
    actor,
    incident: Incident,
    kind: str = "holding_statement",
    language: str = "en",
    body: str = HOLDING_EN,
    *,
    title: str = "",
    errors: int = 0,
) -> Statement:
    """A statement with its first version (a draft)."""
    now = clock.now()
    statement = Statement.objects.create(
        incident=incident, kind=kind, language=language, created_by=actor, created_at=now
    )
    return edit(actor, statement, body, title=title, errors=errors)


def edit(
    actor, statement: Statement, body: str, *, title: str = "", errors: int = 0, correction_note: str = ""
) -> Statement:
    """Save a new version: approvals of the old one are voided, the statement is a draft."""
    statement.refresh_from_db()
    now = clock.now()
    number = (statement.current.number if statement.current_id else 0) + 1
    version = StatementVersion.objects.create(
        statement=statement,
        number=number,
        title=title,
        body=body,
        content_hash=_hash(title, body),
        author=actor,
        created_at=now,
        errors=errors,
        correction_note=correction_note,
    )
    statement.incident = Incident.objects.get(pk=statement.incident_id)
    approvals.void_for_edit(statement, version, actor, now)
    statement.current = version
    statement.state = StatementState.DRAFT
    statement.version += 1
    statement.save()
    return statement


def on_team(people, incident: Incident, role: str):
    """Someone holding `role` on the team (the executive is added when needed)."""
    member = TeamMember.objects.filter(incident=incident, role=role).select_related("user").first()
    if member is not None:
        return member.user
    user = {"executive": people.executive, "legal": people.legal, "pr": people.pr_lead}.get(role, people.commander)
    actions.add_team_member(people.commander, incident, user, role, lead=True)
    return user


def approve_all(people, statement: Statement, *, requester=None) -> Statement:
    """Ask for approval and approve as every required role."""
    statement.refresh_from_db()
    statement = approvals.request_approval(requester or people.commander, statement, expected_version=statement.version)
    for role in approvals.required_roles(statement):
        statement.refresh_from_db()
        approvals.approve(
            on_team(people, statement.incident, role), statement, role=role, expected_version=statement.version
        )
    statement.refresh_from_db()
    return statement


def publish_approved(
    people, statement: Statement, channel: str = "website", location: str = "https://example.com/notice"
) -> Publication:
    statement.refresh_from_db()
    return publishing.publish(
        people.commander, statement, channel=channel, location=location, expected_version=statement.version
    )


def publish_first_statement(people, incident: Incident, kind: str = "holding_statement") -> Publication:
    """The whole way: write, approve as every role, publish on the website."""
    statement = write(people.commander, incident, kind)
    approve_all(people, statement)
    return publish_approved(people, statement)
