"""Writing, approving and publishing statements in tests, through the use cases."""

from __future__ import annotations

from crisisflow import clock
from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident, TeamMember
from crisisflow.statements import approvals, publishing, versions
from crisisflow.statements.models import Publication, Statement, StatementVersion

HOLDING_EN = (
    "We apologise to everyone affected. On 2 March payments failed for about 1,200,000 users. "
    "We restored the service at 11:00 and refunded every failed fee."
)

INTERNAL_EN = (
    "To all staff: on 2 March payments failed for some users. We apologise to them. Do not comment publicly; "
    "send every press question to the PR lead. The holding statement follows today."
)


def holding_text(incident: Incident) -> str:
    """The holding statement with the incident's own count of affected users (the linter
    checks figures against the facts)."""
    count = Incident.objects.filter(pk=incident.pk).values_list("affected_users", flat=True).first()
    return HOLDING_EN.replace("1,200,000", f"{count:,}") if count else HOLDING_EN


def write(
    actor,
    incident: Incident,
    kind: str = "holding_statement",
    language: str = "en",
    body: str | None = None,
    *,
    title: str = "",
) -> Statement:
    """A statement with its first version (a draft), written by `actor` (the commander
    writes any kind)."""
    if body is None:
        body = holding_text(incident)
    if kinds_title(kind) and not title:
        title = "Payments outage"
    return versions.create_statement(actor, incident, kind, language, title=title, body=body)


def kinds_title(kind: str) -> bool:
    from crisisflow.statements import kinds

    return kinds.KINDS[kind].has_title


def edit(actor, statement: Statement, body: str, *, title: str | None = None, correction_note: str = "") -> Statement:
    """Save a new version: approvals of the old one are voided, the statement is a draft."""
    statement.refresh_from_db()
    versions.save_version(
        actor,
        statement,
        title=statement.current.title if title is None else title,
        body=body,
        expected_version=statement.version,
        correction_note=correction_note,
    )
    statement.refresh_from_db()
    return statement


def with_lint_errors(statement: Statement, errors: int) -> Statement:
    """Make the current version one the linter found `errors` errors in (a new version
    row as save_version would write it, without depending on the linter's wording)."""
    statement.refresh_from_db()
    current = statement.current
    version = StatementVersion.objects.create(
        statement=statement,
        number=current.number + 1,
        title=current.title,
        body=current.body + " ",
        content_hash=versions.version_hash(current.title, current.body + " "),
        author=current.author,
        created_at=clock.now(),
        findings=[{"code": "missing_action", "level": "error", "start": 0, "end": 1, "message": "—"}] * errors,
        errors=errors,
    )
    Statement.objects.filter(pk=statement.pk).update(current=version, version=statement.version + 1)
    statement.refresh_from_db()
    return statement


def on_team(people, incident: Incident, role: str):
    """Someone holding `role` on the team (the executive is added when needed); the
    commander for the commander's role."""
    if role == "commander":
        return Incident.objects.get(pk=incident.pk).commander
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
    people, statement: Statement, channel: str | None = None, location: str = "https://example.com/notice"
) -> Publication:
    from crisisflow.statements import kinds

    statement.refresh_from_db()
    return publishing.publish(
        people.commander,
        statement,
        channel=channel or kinds.KINDS[statement.kind].channels[0],
        location=location,
        expected_version=statement.version,
    )


def publish_first_statement(people, incident: Incident, kind: str = "holding_statement") -> Publication:
    """The whole way: write, approve as every role, publish on the website (the internal
    notice first, where the playbook asks for it)."""
    incident = Incident.objects.get(pk=incident.pk)
    if publishing.internal_notice_first(incident) and publishing.internal_notice_published_at(incident) is None:
        notice = write(people.commander, incident, "internal_notice", body=INTERNAL_EN)
        approve_all(people, notice)
        publish_approved(people, notice)
    statement = write(people.commander, incident, kind)
    approve_all(people, statement)
    return publish_approved(people, statement)
