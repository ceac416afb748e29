"""The board (/board/) and the rosters (/rosters/) as a person uses them: who sees and
may do what, bulk assignment with and without HTMX, the team from the board, and the
cost of the board page."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role
from tests.conftest import SMALL_PLAN, T0, install_plan, make_user, task_def
from tests.flows import report

pytestmark = pytest.mark.django_db

BOARD = reverse("board")
ASSIGN = reverse("board-assign")
ROSTERS = reverse("rosters")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def activated(people, commander=None, **fields) -> Incident:
    """Plan activated, tasks unassigned; PR led by pr_lead with pr_member, Legal by legal."""
    c = commander or people.commander
    incident = report(people, **fields)
    actions.confirm_incident(c, incident.pk)
    actions.activate_plan(c, incident.pk)
    actions.accept_team(c, incident.pk)
    actions.add_team_member(c, incident.pk, people.pr_member, Role.PR)
    return Incident.objects.get(pk=incident.pk)


def picked(*tasks) -> list[str]:
    return [f"{t.pk}:{t.version}" for t in tasks]


def text_of(response) -> str:
    return response.content.decode()


# --- the board: who sees what -------------------------------------------------------------------


def test_the_board_needs_sign_in(client):
    for url in (BOARD, ROSTERS):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_commander_sees_every_task_and_the_team_panel(browse, people, plan):
    incident = activated(people)
    page = text_of(browse(people.commander).get(BOARD))
    assert "Legal review" in page and "Holding statement" in page
    assert incident.reference in page
    assert "Accept proposed team" not in page  # the proposal was taken already
    assert f'id="team-{incident.pk}"' in page
    assert "Assign selected" in page


def test_a_role_lead_sees_their_roles_tasks_only_and_no_team_panel(browse, people, plan):
    incident = activated(people)
    page = text_of(browse(people.pr_lead).get(BOARD))
    assert "Holding statement" in page
    assert "Legal review" not in page
    assert f'id="team-{incident.pk}"' not in page


@pytest.mark.parametrize("who", ["pr_member", "outsider"])
def test_members_and_outsiders_get_an_empty_board(browse, people, plan, who):
    activated(people)
    response = browse(getattr(people, who)).get(BOARD)
    assert response.status_code == 200
    page = text_of(response)
    assert "nothing to manage here" in page
    assert "Holding statement" not in page


def test_narrowing_to_an_incident_is_for_those_who_manage_it(browse, people, plan):
    incident = activated(people)
    secret = activated(people, title="Quiet leak", restricted=True)
    url = f"{BOARD}?incident={incident.reference}"
    assert browse(people.commander).get(url).status_code == 200
    assert browse(people.pr_lead).get(url).status_code == 200
    refused = browse(people.pr_member).get(url)
    assert refused.status_code == 403
    assert f"You neither command {incident.reference}" in text_of(refused)
    assert browse(people.outsider).get(f"{BOARD}?incident={secret.reference}").status_code == 404
    assert browse(people.commander).get(f"{BOARD}?incident=CF-1999-0001").status_code == 404


def test_overdue_tasks_are_highlighted(browse, people, plan, frozen):
    from datetime import timedelta

    activated(people)
    frozen.shift(timedelta(hours=3, minutes=30))
    page = text_of(browse(people.commander).get(BOARD))
    assert "1 overdue" in page
    legal = Task.objects.get(key="legal-review")
    row = page[page.index(f'id="board-task-{legal.pk}"') - 40 :]
    assert 'class="board-task overdue' in row[:80]


def test_the_board_shows_times_in_the_readers_zone(browse, people, plan):
    activated(people)
    people.commander.time_zone = "Asia/Shanghai"
    people.commander.save()
    page = text_of(browse(people.commander).get(BOARD))
    assert "03-02 20:00" in page  # legal review: T0 + 3 h = 12:00 UTC = 20:00 in Shanghai


def test_user_text_is_escaped(browse, people, plan):
    activated(people, title="<script>alert(1)</script>")
    page = text_of(browse(people.commander).get(BOARD))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- bulk assignment ----------------------------------------------------------------------------------


def test_bulk_assign_without_htmx_redirects_back_with_a_message(browse, people, plan):
    incident = activated(people)
    tasks = list(incident.tasks.filter(role="pr"))
    client = browse(people.commander)
    response = client.post(
        ASSIGN, {"task": picked(*tasks), "assignee": people.pr_member.pk, "incident": incident.reference}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{BOARD}?incident={incident.reference}#board-work"
    assert Task.objects.filter(assignee=people.pr_member).count() == len(tasks)
    assert f"{len(tasks)} tasks assigned to Prmember." in text_of(client.get(response["Location"]))


def test_bulk_assign_with_htmx_answers_with_the_work_area(browse, people, plan):
    incident = activated(people)
    task = incident.tasks.get(key="exec-letter")
    response = browse(people.commander).post(ASSIGN, {"task": picked(task), "assignee": people.pr_member.pk}, **HTMX)
    assert response.status_code == 200
    page = text_of(response)
    assert page.lstrip().startswith('<div id="board-work"')
    assert "<html" not in page
    assert "1 task assigned to Prmember." in page
    # The loads are in the fragment, already counting the new task.
    assert Task.objects.get(pk=task.pk).assignee == people.pr_member


def test_a_stale_task_refuses_the_whole_bulk_next_to_the_button(browse, people, plan):
    incident = activated(people)
    tasks = list(incident.tasks.filter(role="pr").order_by("pk"))
    seen = picked(*tasks)
    statement = incident.tasks.get(key="holding-statement")
    actions.assign_task(people.pr_lead, statement.pk, people.pr_lead)
    client = browse(people.commander)

    response = client.post(ASSIGN, {"task": seen, "assignee": people.pr_member.pk})
    assert response.status_code == 409
    page = text_of(response)
    message = f"“Holding statement” ({incident.reference}) was changed by Prlead; reload the page and try again."
    assert message in page
    assert 'id="bulk-error"' in page
    for task in tasks:  # the selection survives the refusal
        assert f'id="pick-{task.pk}" checked' in page
    assert f'<option value="{people.pr_member.pk}" selected' in page
    assert not Task.objects.filter(assignee=people.pr_member).exists()

    fragment = client.post(ASSIGN, {"task": seen, "assignee": people.pr_member.pk}, **HTMX)
    assert fragment.status_code == 422  # the one error status htmx swaps in
    assert message in text_of(fragment)


def test_a_role_lead_posting_another_roles_task_is_refused(browse, people, plan):
    incident = activated(people)
    pr_task, legal_task = incident.tasks.get(key="exec-letter"), incident.tasks.get(key="legal-review")
    response = browse(people.pr_lead).post(
        ASSIGN, {"task": picked(pr_task, legal_task), "assignee": people.pr_member.pk}
    )
    assert response.status_code == 403
    assert "Only the commander or the Legal lead can assign this task." in text_of(response)
    assert not Task.objects.filter(assignee__isnull=False).exists()


@pytest.mark.parametrize("who", ["pr_member", "outsider"])
def test_members_and_outsiders_cannot_assign(browse, people, plan, who):
    incident = activated(people)
    task = incident.tasks.get(key="exec-letter")
    response = browse(getattr(people, who)).post(ASSIGN, {"task": picked(task), "assignee": people.pr_member.pk})
    assert response.status_code == 403
    assert not Task.objects.filter(assignee__isnull=False).exists()


def test_assigning_without_choosing_someone_says_so(browse, people, plan):
    incident = activated(people)
    response = browse(people.commander).post(ASSIGN, {"task": picked(incident.tasks.first())})
    assert response.status_code == 400
    assert "Choose who gets the selected tasks." in text_of(response)
    response = browse(people.commander).post(ASSIGN, {"assignee": people.pr_member.pk})
    assert response.status_code == 400
    assert "Choose at least one task." in text_of(response)


def test_a_task_posted_without_its_version_is_refused(browse, people, plan):
    incident = activated(people)
    response = browse(people.commander).post(
        ASSIGN, {"task": [str(incident.tasks.first().pk)], "assignee": people.pr_member.pk}
    )
    assert response.status_code == 400
    assert not Task.objects.filter(assignee__isnull=False).exists()


# --- the team from the board ------------------------------------------------------------------------------


def test_accept_the_proposed_team_from_the_board(browse, people, plan):
    incident = report(people)
    actions.confirm_incident(people.commander, incident.pk)
    incident = actions.activate_plan(people.commander, incident.pk)
    client = browse(people.commander)
    assert "Accept proposed team" in text_of(client.get(BOARD))
    response = client.post(reverse("board-team-accept", args=[incident.reference]), {"version": incident.version})
    assert response.status_code == 302
    assert set(incident.team.values_list("user__username", "role")) >= {("prlead", "pr"), ("legal", "legal")}
    assert "2 people joined the team" in text_of(client.get(response["Location"]))


def test_replace_role_refuses_someone_with_open_tasks_and_says_who(browse, people, plan):
    incident = activated(people)
    actions.assign_task(people.commander, incident.tasks.get(key="exec-letter").pk, people.pr_member)
    incident.refresh_from_db()
    url = reverse("board-team-replace", args=[incident.reference])
    response = browse(people.commander).post(
        url, {"version": incident.version, "role": "pr", "users": [people.pr_lead.pk]}
    )
    assert response.status_code == 400
    assert "Cannot take Prmember (1 open task) off PR: reassign their open PR tasks first." in text_of(response)
    assert incident.team.filter(role="pr", user=people.pr_member).exists()


def test_replace_role_from_the_board(browse, people, plan):
    incident = activated(people)
    url = reverse("board-team-replace", args=[incident.reference])
    response = browse(people.commander).post(
        url, {"version": incident.version, "role": "pr", "users": [people.pr_member.pk], "extra": people.cs.pk}
    )
    assert response.status_code == 302
    assert set(incident.team.filter(role="pr").values_list("user__username", "is_lead")) == {
        ("prmember", True),
        ("cs", False),
    }
    assert incident.events.filter(kind=Event.Kind.TEAM, data__change="removed").exists()


def test_only_the_commander_changes_the_team_from_the_board(browse, people, plan):
    incident = activated(people)
    url = reverse("board-team-replace", args=[incident.reference])
    for person in (people.pr_lead, people.pr_member, people.outsider):
        response = browse(person).post(url, {"version": incident.version, "role": "pr", "users": [people.cs.pk]})
        assert response.status_code == 403
    accept = reverse("board-team-accept", args=[incident.reference])
    assert browse(people.pr_lead).post(accept, {"version": incident.version}).status_code == 403
    assert not incident.team.filter(user=people.cs).exists()


# --- the cost of the board -----------------------------------------------------------------------------------


def big_plan(tasks: int) -> dict:
    roles = ["pr", "legal", "customer_service"]
    return {
        **SMALL_PLAN,
        "key": f"big-{tasks}",
        "crisis_types": ["data_breach"],
        "roles": {"commander": 1, "pr": 1, "legal": 1, "customer_service": 1},
        "tasks": [task_def(f"task-{n}", roles[n % 3], "publish", "detected", 600 * (n + 1)) for n in range(tasks)],
    }


def board_of(people, commander, count: int, tasks: int) -> None:
    install_plan(big_plan(tasks))
    for n in range(count):
        incident = activated(people, commander=commander, title=f"Breach {n}", crisis_type="data_breach")
        # Some owned, some overdue-to-be, some in progress: every branch of the page renders.
        owned = list(incident.tasks.order_by("pk")[: tasks // 3])
        for task in owned:
            actions.assign_task(commander, task.pk, people.pr_member if task.role == "pr" else people.legal)
        actions.start_task(commander, owned[0].pk)


def test_the_board_costs_a_fixed_number_of_queries_with_5_incidents_of_30_tasks(
    browse, people, django_assert_max_num_queries, frozen
):
    from datetime import timedelta

    other = make_user("commander2", "commander")
    board_of(people, people.commander, 5, 30)
    board_of(people, other, 5, 3)
    frozen.shift(timedelta(hours=2))
    assert Task.objects.filter(incident__commander=people.commander).count() == 150

    client = browse(people.commander)
    with django_assert_max_num_queries(22) as big:
        response = client.get(BOARD)
    assert response.status_code == 200
    assert text_of(response).count('<li class="board-task') == 150
    client = browse(other)
    with django_assert_max_num_queries(22) as small:
        client.get(BOARD)
    # However many tasks, the same queries (the team proposal reads two per incident).
    assert len(big.captured_queries) == len(small.captured_queries)


# --- rosters -----------------------------------------------------------------------------------------------------


def test_everyone_signed_in_may_read_the_rosters(browse, people):
    for person in (people.outsider, people.pr_member, people.commander):
        response = browse(person).get(ROSTERS)
        assert response.status_code == 200
        page = text_of(response)
        assert "Prlead" in page and "Prmember" in page
    assert "Add to the roster" not in text_of(browse(people.outsider).get(ROSTERS))
    assert "Add to the roster" in text_of(browse(people.commander).get(ROSTERS))


def test_primary_people_are_listed_before_backups(browse, people):
    page = text_of(browse(people.outsider).get(ROSTERS))
    pr = page[page.index('id="roster-pr"') :]
    assert pr.index("Prlead") < pr.index("Prmember")
    assert pr.index("Primary") < pr.index("Backup")


@pytest.mark.parametrize("who", ["pr_lead", "pr_member", "outsider"])
def test_only_duty_commanders_and_admins_change_rosters(browse, people, who):
    client = browse(getattr(people, who))
    target = RosterEntry.objects.get(user=people.pr_member)
    posts = [
        (reverse("roster-add"), {"user": people.cs.pk, "role": "pr", "rank": "primary"}),
        (reverse("roster-rank", args=[target.pk]), {"rank": "primary"}),
        (reverse("roster-move", args=[target.pk]), {"direction": "up"}),
        (reverse("roster-remove", args=[target.pk]), {}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "Only duty commanders" in text_of(response)
    assert RosterEntry.objects.filter(role="pr").count() == 2


def test_a_superuser_manages_rosters(browse, people):
    admin = User.objects.create_superuser("root", password="pw")
    response = browse(admin).post(
        reverse("roster-add"), {"user": people.cs.pk, "role": "pr", "rank": "backup", "place": "1"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{ROSTERS}#roster-pr"
    added = RosterEntry.objects.get(user=people.cs, role="pr")
    assert (added.rank, added.position, added.updated_by, added.updated_at) == ("backup", 0, admin, T0)


def test_adding_someone_twice_shows_the_error_next_to_the_person(browse, people):
    response = browse(people.commander).post(
        reverse("roster-add"), {"user": people.pr_lead.pk, "role": "pr", "rank": "primary"}
    )
    assert response.status_code == 400
    page = text_of(response)
    field = page[page.index('for="roster_user"') :]
    assert "Prlead is already on the PR roster (Primary)." in field[: field.index('for="roster_role"')]


def test_moving_a_row_with_htmx_answers_with_its_role(browse, people):
    backup = make_user("second", "pr", rank="backup")
    entry = RosterEntry.objects.get(user=backup)
    response = browse(people.commander).post(
        reverse("roster-move", args=[entry.pk]), {"direction": "up", "role": "pr"}, **HTMX
    )
    assert response.status_code == 200
    page = text_of(response)
    assert page.lstrip().startswith('<section class="card roster-role" id="roster-pr"')
    assert page.index("Second") < page.index("Prmember")
    assert "Second moved up." in page


def test_moving_a_row_without_htmx_redirects_back(browse, people):
    backup = make_user("second", "pr", rank="backup")
    entry = RosterEntry.objects.get(user=backup)
    response = browse(people.commander).post(reverse("roster-move", args=[entry.pk]), {"direction": "up"})
    assert response.status_code == 302 and response["Location"] == f"{ROSTERS}#roster-pr"


def test_a_refused_row_change_shows_its_message_in_the_row(browse, people):
    entry = RosterEntry.objects.get(user=people.commander, role="commander")
    client = browse(people.commander)
    response = client.post(reverse("roster-remove", args=[entry.pk]), {"role": "commander"}, **HTMX)
    assert response.status_code == 422
    assert "Commander is the last duty commander" in text_of(response)
    plain = client.post(reverse("roster-remove", args=[entry.pk]))
    assert plain.status_code == 400
    assert "Commander is the last duty commander" in text_of(plain)
    assert RosterEntry.objects.filter(pk=entry.pk).exists()


def test_a_row_removed_meanwhile_shows_the_roster_as_it_is(browse, people):
    entry = RosterEntry.objects.get(user=people.pr_member)
    url = reverse("roster-move", args=[entry.pk])
    entry.delete()
    client = browse(people.commander)
    response = client.post(url, {"direction": "up", "role": "pr"}, **HTMX)
    assert response.status_code == 422
    page = text_of(response)
    assert "This roster entry no longer exists." in page
    assert "Prlead" in page and "Prmember" not in page
    assert client.post(url, {"direction": "up"}).status_code == 404


def test_the_nav_links_to_the_board_and_the_rosters(browse, people):
    page = text_of(browse(people.outsider).get(ROSTERS))
    assert f'href="{BOARD}"' in page and f'href="{ROSTERS}"' in page
