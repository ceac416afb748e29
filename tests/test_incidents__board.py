"""The manager's board as use cases: who sees which tasks, each person's load, bulk
assignment (all or nothing) and choosing other people for a role."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crisisflow.incidents import actions, board, permissions
from crisisflow.incidents.errors import Conflict, Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.vocab import Role
from tests.conftest import T0, make_user
from tests.flows import report

pytestmark = pytest.mark.django_db


def activated(people, **fields) -> Incident:
    """An incident with its plan's tasks, all unassigned; PR led by pr_lead with pr_member
    beside them, Legal led by legal."""
    c = people.commander
    incident = report(people, **fields)
    actions.confirm_incident(c, incident.pk)
    actions.activate_plan(c, incident.pk)
    actions.accept_team(c, incident.pk)
    actions.add_team_member(c, incident.pk, people.pr_member, Role.PR)
    return Incident.objects.get(pk=incident.pk)


def titles(rows) -> set[str]:
    return {row.task.key for row in rows}


def picks(tasks) -> list[tuple[int, int]]:
    return [(t.pk, t.version) for t in tasks]


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


# --- who sees what ---------------------------------------------------------------------------


def test_the_commander_sees_every_unfinished_task_of_their_incidents(people, plan, frozen):
    incident = activated(people)
    seen = board.board_for(people.commander)
    assert [i.pk for i in seen.incidents] == [incident.pk]
    assert titles(seen.unassigned) == set(incident.tasks.values_list("key", flat=True))
    assert seen.assigned == []


def test_a_role_lead_sees_only_their_roles_tasks(people, plan, frozen):
    activated(people)
    seen = board.board_for(people.pr_lead)
    assert {row.task.role for row in seen.unassigned} == {"pr"}
    assert titles(seen.unassigned) == {"holding-statement", "progress-update", "exec-letter", "follow-up"}
    # They assign among the people in the roles they lead.
    assert {a.user for a in seen.assignees} == {people.pr_lead, people.pr_member}
    assert seen.teams == []  # the team is the commander's to change


def test_members_and_outsiders_have_nothing_on_their_board(people, plan, frozen):
    activated(people)
    for person in (people.pr_member, people.outsider, people.observer):
        seen = board.board_for(person)
        assert seen.incidents == [] and seen.unassigned == [] and seen.loads == []
        assert not permissions.manages_any(person)


def test_closed_and_dismissed_incidents_leave_the_board(people, plan, frozen):
    incident = report(people)
    actions.dismiss_incident(people.commander, incident.pk, "false alarm")
    assert board.board_for(people.commander).incidents == []


def test_unassigned_tasks_come_soonest_due_first_and_overdue_is_marked(people, plan, frozen):
    incident = activated(people)
    frozen.shift(timedelta(hours=3, minutes=30))  # legal review (3 h) is late, the statement (4 h) not yet
    rows = board.board_for(people.commander).unassigned
    dues = [row.task.due_at for row in rows if row.task.due_at]
    assert dues == sorted(dues)
    assert rows[-1].task.due_at is None  # waiting for its starting point: last
    overdue = {row.task.key for row in rows if row.overdue}
    assert overdue == {"legal-review"}
    assert incident.tasks.get(key="holding-statement").due_at > T0 + timedelta(hours=3, minutes=30)


def test_the_board_can_be_narrowed_to_one_incident(people, plan, frozen):
    first = activated(people)
    second = activated(people, title="Second outage")
    assert {i.pk for i in board.board_for(people.commander).incidents} == {first.pk, second.pk}
    narrowed = board.board_for(people.commander, second)
    assert [i.pk for i in narrowed.incidents] == [second.pk]
    assert {row.incident.pk for row in narrowed.unassigned} == {second.pk}


# --- loads -----------------------------------------------------------------------------------------


def test_each_persons_load_is_counted(people, plan, frozen):
    incident = activated(people)
    c = people.commander
    task = {t.key: t for t in incident.tasks.all()}
    actions.assign_tasks(
        c, picks([task["holding-statement"], task["exec-letter"], task["progress-update"]]), people.pr_member
    )
    actions.assign_tasks(c, picks([Task.objects.get(pk=task["legal-review"].pk)]), people.legal)
    actions.start_task(people.pr_member, task["exec-letter"].pk)
    actions.block_task(people.pr_member, task["progress-update"].pk, "waiting for the statement")
    frozen.shift(timedelta(hours=5))  # the statement (4 h) and legal review (3 h) are overdue

    loads = {load.user: load for load in board.board_for(c).loads}
    member = loads[people.pr_member]
    assert (member.open, member.overdue, member.in_progress, member.blocked) == (3, 1, 1, 1)
    legal = loads[people.legal]
    assert (legal.open, legal.overdue, legal.in_progress, legal.blocked) == (1, 1, 0, 0)
    # Team members with nothing yet are listed too, at zero.
    assert loads[people.pr_lead].open == 0
    # A role lead counts only the tasks of their roles.
    lead_view = {load.user: load for load in board.board_for(people.pr_lead).loads}
    assert people.legal not in lead_view
    assert lead_view[people.pr_member].open == 3


def test_finished_tasks_do_not_count(people, plan, frozen):
    incident = activated(people)
    task = incident.tasks.get(key="exec-letter")
    actions.assign_tasks(people.commander, picks([task]), people.pr_member)
    actions.skip_task(people.commander, task.pk, "not needed")
    loads = {load.user: load for load in board.board_for(people.commander).loads}
    assert loads[people.pr_member].open == 0
    assert "exec-letter" not in titles(board.board_for(people.commander).assigned)


# --- bulk assignment ----------------------------------------------------------------------------------


def test_bulk_assignment_gives_each_task_an_event_and_a_fresh_deadline_ladder(people, plan, frozen):
    incident = activated(people)
    tasks = list(incident.tasks.filter(role="pr").order_by("pk"))
    generations = {t.pk: t.alert_generation for t in tasks}
    events = incident.events.count()

    done = actions.assign_tasks(people.commander, picks(tasks), people.pr_member)

    assert [t.pk for t in done] == [t.pk for t in tasks]
    for task in Task.objects.filter(pk__in=generations):
        assert task.assignee == people.pr_member
        assert task.alert_generation != generations[task.pk]  # the ladder restarted for the new owner
    new = incident.events.filter(kind=Event.Kind.ASSIGNMENT).order_by("seq")
    assert incident.events.count() == events + len(tasks)
    assert [e.task_id for e in new] == [t.pk for t in tasks]
    assert all(e.actor == people.commander and e.data["after"] == "Prmember" for e in new)


def test_one_stale_task_assigns_nothing_and_the_refusal_names_it(people, plan, frozen):
    incident = activated(people)
    tasks = list(incident.tasks.filter(role="pr").order_by("pk"))
    seen = picks(tasks)  # what the commander's page showed
    statement = incident.tasks.get(key="holding-statement")
    actions.assign_task(people.pr_lead, statement.pk, people.pr_lead)  # meanwhile, the PR lead takes it
    events = incident.events.count()

    with pytest.raises(Conflict) as refused:
        actions.assign_tasks(people.commander, seen, people.pr_member)

    assert str(refused.value) == (
        f"“Holding statement” ({incident.reference}) was changed by Prlead; reload the page and try again."
    )
    assert refused.value.task_id == statement.pk
    assert not Task.objects.filter(assignee=people.pr_member).exists()
    assert incident.tasks.get(pk=statement.pk).assignee == people.pr_lead
    assert incident.events.count() == events


def test_a_reminder_after_the_change_does_not_hide_who_made_it(people, plan, frozen):
    from crisisflow.alerts.sweep import sweep

    incident = activated(people)
    statement = incident.tasks.get(key="holding-statement")
    seen = picks([statement])
    actions.assign_task(people.pr_lead, statement.pk, people.pr_lead)
    frozen.shift(timedelta(hours=3, minutes=50))
    sweep()  # writes reminder events on the task
    assert incident.events.filter(task=statement, kind=Event.Kind.ALERT).exists()
    with pytest.raises(Conflict, match="was changed by Prlead"):
        actions.assign_tasks(people.commander, seen, people.pr_member)


def test_a_role_lead_cannot_assign_another_roles_task_in_a_bulk(people, plan, frozen):
    incident = activated(people)
    pr_task = incident.tasks.get(key="holding-statement")
    legal_task = incident.tasks.get(key="legal-review")
    with pytest.raises(Forbidden) as refused:
        actions.assign_tasks(people.pr_lead, picks([pr_task, legal_task]), people.pr_member)
    assert "Legal review" in str(refused.value)
    assert not Task.objects.filter(assignee__isnull=False).exists()


@pytest.mark.parametrize("who", ["pr_member", "outsider", "observer"])
def test_people_who_manage_nothing_cannot_assign(people, plan, frozen, who):
    incident = activated(people)
    with pytest.raises(Forbidden):
        actions.assign_tasks(getattr(people, who), picks(incident.tasks.filter(role="pr")), people.pr_member)
    assert not Task.objects.filter(assignee__isnull=False).exists()


def test_a_restricted_incident_stays_hidden_from_outsiders(people, plan, frozen):
    incident = activated(people, restricted=True)
    with pytest.raises(NotFound):
        actions.assign_tasks(people.outsider, picks(incident.tasks.all()[:1]), people.pr_member)


def test_the_assignee_must_be_on_each_incidents_team(people, plan, frozen):
    incident = activated(people)
    task = incident.tasks.get(key="exec-letter")
    with pytest.raises(Invalid) as refused:
        actions.assign_tasks(people.commander, picks([task]), people.cs)
    assert str(refused.value) == f"“Exec letter” ({incident.reference}): Cs is not on this incident's team."


def test_tasks_from_several_incidents_in_one_go(people, plan, frozen):
    first = activated(people)
    second = activated(people, title="Second outage")
    tasks = [first.tasks.get(key="exec-letter"), second.tasks.get(key="exec-letter"), first.tasks.get(key="follow-up")]
    actions.assign_tasks(people.commander, picks(tasks), people.pr_member)
    assert Task.objects.filter(assignee=people.pr_member).count() == 3
    assert first.events.filter(kind=Event.Kind.ASSIGNMENT).count() == 2
    assert second.events.filter(kind=Event.Kind.ASSIGNMENT).count() == 1


def test_a_bulk_needs_tasks_and_a_person(people, plan, frozen):
    incident = activated(people)
    with pytest.raises(Invalid) as no_tasks:
        actions.assign_tasks(people.commander, [], people.pr_member)
    assert no_tasks.value.field == "tasks"
    with pytest.raises(Invalid) as nobody:
        actions.assign_tasks(people.commander, picks(incident.tasks.all()[:1]), None)
    assert nobody.value.field == "assignee"


# --- choosing other people for a role ----------------------------------------------------------------


def test_replace_role_adds_the_chosen_and_removes_the_others(people, plan, frozen):
    incident = activated(people)
    events = incident.events.count()
    change = actions.replace_role(
        people.commander, incident, Role.PR, [people.pr_member, people.cs], expected_version=incident.version
    )
    assert change.removed == [people.pr_lead] and change.added == [people.cs]
    pr = {m.user: m.is_lead for m in incident.team.filter(role=Role.PR)}
    assert pr == {people.pr_member: True, people.cs: False}  # the first chosen took over the lead
    kinds = [e.data["change"] for e in incident.events.filter(seq__gt=events).order_by("seq")]
    assert kinds == ["removed", "lead", "added"]  # one event per change
    assert Incident.objects.get(pk=incident.pk).version == incident.version + 3


def test_a_newcomer_chosen_first_leads_a_role_whose_lead_left(people, plan, frozen):
    incident = activated(people)
    actions.replace_role(people.commander, incident, Role.PR, [people.cs, people.pr_member])
    pr = {m.user: m.is_lead for m in incident.team.filter(role=Role.PR)}
    assert pr == {people.cs: True, people.pr_member: False}


def test_replace_role_refuses_to_remove_someone_with_open_tasks_there(people, plan, frozen):
    incident = activated(people)
    tasks = incident.tasks.filter(key__in=["exec-letter", "holding-statement"])
    actions.assign_tasks(people.commander, picks(tasks), people.pr_member)
    incident.refresh_from_db()
    before = list(incident.team.values_list("user", "role", "is_lead"))
    events = incident.events.count()

    with pytest.raises(Invalid) as refused:
        actions.replace_role(people.commander, incident, Role.PR, [people.cs], expected_version=incident.version)

    assert str(refused.value) == "Cannot take Prmember (2 open tasks) off PR: reassign their open PR tasks first."
    assert refused.value.field == "users"
    assert list(incident.team.values_list("user", "role", "is_lead")) == before
    assert incident.events.count() == events


def test_open_tasks_in_another_role_do_not_hold_someone_in_this_one(people, plan, frozen):
    incident = activated(people)
    actions.add_team_member(people.commander, incident.pk, people.pr_member, Role.LEGAL)
    actions.assign_tasks(people.commander, picks(incident.tasks.filter(key="legal-review")), people.pr_member)
    actions.replace_role(people.commander, incident, Role.PR, [people.pr_lead])
    assert not incident.team.filter(role=Role.PR, user=people.pr_member).exists()
    assert incident.team.filter(role=Role.LEGAL, user=people.pr_member).exists()


def test_replace_role_is_the_commanders_and_checks_the_version(people, plan, frozen):
    incident = activated(people)
    with pytest.raises(Forbidden):
        actions.replace_role(people.pr_lead, incident, Role.PR, [people.pr_member])
    with pytest.raises(Conflict):
        actions.replace_role(
            people.commander, incident, Role.PR, [people.pr_member], expected_version=incident.version - 1
        )
    with pytest.raises(Invalid) as commander_role:
        actions.replace_role(people.commander, incident, Role.COMMANDER, [people.pr_lead])
    assert commander_role.value.field == "role"
    with pytest.raises(Invalid) as nobody:
        actions.replace_role(people.commander, incident, Role.PR, [])
    assert nobody.value.field == "users"


def test_the_team_panel_proposes_primary_people_first(people, plan, frozen):
    backup = make_user("backupfirst", "legal", rank="backup")  # made before the primary below
    primary = make_user("primarysecond", "legal")
    incident = report(people)
    actions.confirm_incident(people.commander, incident.pk)
    actions.activate_plan(people.commander, incident.pk)
    panel = board.board_for(people.commander).teams[0]
    legal = next(rc for rc in panel.roles if rc.proposal.role == "legal")
    assert legal.proposal.proposed == [people.legal]  # plan needs one: a primary
    assert legal.candidates.index(primary) < legal.candidates.index(backup)


# --- two managers at once (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_bulks_over_the_same_incidents_in_opposite_orders_neither_deadlock_nor_mix(people, plan):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    first = activated(people)
    second = activated(people, title="Second outage")
    tasks = list(Task.objects.filter(role="pr").order_by("incident_id", "pk"))
    forward, backward = picks(tasks), picks(reversed(tasks))
    results: list = [None, None]
    barrier = threading.Barrier(2)

    def run(i, actor, seen, assignee):
        try:
            barrier.wait(timeout=10)
            results[i] = actions.assign_tasks(actor, seen, assignee)
        except Exception as err:  # noqa: BLE001 - the race's outcome is what is checked
            results[i] = err
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(0, people.commander, forward, people.pr_member)),
        threading.Thread(target=run, args=(1, people.pr_lead, backward, people.pr_lead)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    winners = [r for r in results if isinstance(r, list)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    owners = set(Task.objects.filter(role="pr").values_list("assignee", flat=True))
    assert owners == {winners[0][0].assignee_id}  # all of one bulk, none of the other
    for incident in (first, second):
        assert incident.events.filter(kind=Event.Kind.ASSIGNMENT).count() == incident.tasks.filter(role="pr").count()
