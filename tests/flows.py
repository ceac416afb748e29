"""Walk an incident through the stages the way a commander would, for tests."""

from __future__ import annotations

from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident, Task
from crisisflow.vocab import State
from tests.conftest import Personas
from tests.statements_helpers import publish_first_statement

ORDER = [
    State.REPORTED,
    State.CONFIRMED,
    State.PLAN_ACTIVATED,
    State.TEAM_ASSEMBLED,
    State.INFO_PUBLISHED,
    State.REMEDIATING,
    State.IN_REVIEW,
    State.CLOSED,
]


def report(people: Personas, **kwargs) -> Incident:
    fields = {"title": "Payments down in East China", "crisis_type": "service_outage", "severity": "high"}
    fields.update(kwargs)
    return actions.report_incident(people.cs, **fields)


def finish(people: Personas, task: Task) -> Task:
    """Finish a task as the commander (who may work any task), ticking its checklist."""
    task.refresh_from_db()
    if task.status == "open":
        actions.start_task(people.commander, task)
    task.refresh_from_db()
    for item in task.checklist_items():
        if not item["done"]:
            actions.tick_checklist(people.commander, task, item["index"], True)
    return actions.complete_task(people.commander, task)


def finish_gating(people: Personas, incident: Incident, target: str) -> None:
    for task in incident.tasks.filter(gates=target).order_by("position"):
        for dep in task.depends_on.exclude(status__in=["done", "skipped", "cancelled"]):
            finish(people, dep)
        task.refresh_from_db()
        if not task.is_finished:
            finish(people, task)


SIGNERS = {"commander": "commander", "pr": "pr_lead", "legal": "legal", "executive": "executive"}


def sign_off_review(people: Personas, incident: Incident, **content) -> None:
    """Write the review (if nobody has) and sign it off in the four roles, as the
    commander, the PR lead, Legal and the executive sponsor would: closing waits for it."""
    from crisisflow.reviews import use_cases

    review = use_cases.review_of(people.commander, incident)
    if review.version == 0 or content:
        body = {"went_well": "The holding statement went out on time.", **content}
        review = use_cases.save_review(people.commander, incident, body, expected_version=review.version)
    for role, persona in SIGNERS.items():
        use_cases.sign_off(getattr(people, persona), incident, role, expected_version=review.version)


def walk_to(people: Personas, incident: Incident, target: str) -> Incident:
    """Move `incident` forward to `target`, clearing every gate on the way."""
    c = people.commander
    while incident.state != target:
        state = incident.state
        if state == State.REPORTED:
            incident = actions.confirm_incident(c, incident)
        elif state == State.CONFIRMED:
            incident = actions.activate_plan(c, incident)
        elif state == State.PLAN_ACTIVATED:
            actions.accept_team(c, incident)
            incident = actions.assemble_team(c, incident)
        elif state == State.TEAM_ASSEMBLED:
            # A real first public statement, approved and published, not a ticked task.
            if not incident.statements.filter(publications__isnull=False).exists():
                publish_first_statement(people, incident)
            finish_gating(people, incident, State.INFO_PUBLISHED)
            incident = actions.publish_information(c, incident)
        elif state == State.INFO_PUBLISHED:
            finish_gating(people, incident, State.REMEDIATING)
            incident = actions.start_remediation(c, incident)
        elif state == State.REMEDIATING:
            finish_gating(people, incident, State.IN_REVIEW)
            incident = actions.begin_review(c, incident)
        elif state == State.IN_REVIEW:
            finish_gating(people, incident, State.CLOSED)
            for task in incident.tasks.filter(status__in=["open", "in_progress", "blocked"]):
                actions.skip_task(c, task, "not needed for this incident")
            sign_off_review(people, incident)
            incident = actions.close_incident(c, incident)
        else:
            raise AssertionError(f"cannot walk from {state} to {target}")
    incident.refresh_from_db()
    return incident


def publish_holding_statement(incident: Incident) -> None:
    """The first public statement the way the team makes it, through the use cases: the
    commander writes the holding statement, each required role's person on the team
    approves it, and it is published on the website (the internal notice first where
    the playbook asks). For walks whose subject is elsewhere."""
    from crisisflow.statements import approvals, publishing, versions
    from tests.statements_helpers import INTERNAL_EN, holding_text

    incident = Incident.objects.get(pk=incident.pk)
    commander = incident.commander

    def through(kind: str, body: str) -> None:
        statement = versions.create_statement(commander, incident, kind, "en", title="Payments", body=body)
        statement = approvals.request_approval(commander, statement, expected_version=statement.version)
        for role in approvals.required_roles(statement):
            person = commander if role == "commander" else incident.team.get(role=role, is_lead=True).user
            statement.refresh_from_db()
            approvals.approve(person, statement, role=role, expected_version=statement.version)
        statement.refresh_from_db()
        channel = "intranet" if kind == "internal_notice" else "website"
        publishing.publish(commander, statement, channel=channel, location="", expected_version=statement.version)

    if publishing.internal_notice_first(incident):
        through("internal_notice", INTERNAL_EN)
    through("holding_statement", holding_text(incident))
