"""Managing the rosters: who may, ordering (primary first), validation naming the field,
the audit stamp, and two changes to one role at once."""

from __future__ import annotations

import threading

import pytest
import time_machine
from django.db import connection, connections

from crisisflow.incidents import actions
from crisisflow.incidents.errors import CrisisFlowError, Forbidden, Invalid, NotFound
from crisisflow.people import rosters
from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role
from tests.conftest import T0, make_user
from tests.flows import report

pytestmark = pytest.mark.django_db


def names(role: str) -> tuple[list[str], list[str]]:
    (r,) = rosters.rosters(role)
    return [e.user.username for e in r.primary], [e.user.username for e in r.backup]


def entry(user: User, role: str) -> RosterEntry:
    return RosterEntry.objects.get(user=user, role=role)


def positions(role: str, rank: str) -> list[int]:
    return list(
        RosterEntry.objects.filter(role=role, rank=rank).order_by("position").values_list("position", flat=True)
    )


# --- who may ---------------------------------------------------------------------------------


def test_duty_commanders_and_superusers_manage_rosters(people):
    admin = User.objects.create_superuser("root", password="pw")
    assert rosters.may_manage(people.commander)
    assert rosters.may_manage(admin)
    for person in (people.pr_lead, people.legal, people.outsider):
        assert not rosters.may_manage(person)


@pytest.mark.parametrize("who", ["pr_lead", "pr_member", "outsider"])
def test_everyone_else_is_refused_with_a_message(people, who):
    person = getattr(people, who)
    target = entry(people.legal, Role.LEGAL)
    calls = [
        lambda: rosters.add_to_roster(person, people.cs, Role.PR),
        lambda: rosters.set_rank(person, target.pk, "backup"),
        lambda: rosters.move(person, target.pk, "down"),
        lambda: rosters.remove_from_roster(person, target.pk),
    ]
    for call in calls:
        with pytest.raises(Forbidden, match="Only duty commanders"):
            call()
    assert RosterEntry.objects.filter(role=Role.PR).count() == 2
    assert entry(people.legal, Role.LEGAL).rank == "primary"


# --- ordering -----------------------------------------------------------------------------------


def test_primary_people_come_first_whatever_order_they_were_added_in(people):
    c = people.commander
    rosters.add_to_roster(c, people.cs, Role.PR, "backup")
    rosters.add_to_roster(c, people.legal, Role.PR, "primary")
    assert names(Role.PR) == (["prlead", "legal"], ["prmember", "cs"])


def test_the_team_proposal_follows_the_roster_order(people, plan):
    c = people.commander
    rosters.add_to_roster(c, people.cs, Role.PR, "primary", position=0)  # before prlead
    incident = report(people)
    actions.confirm_incident(c, incident.pk)
    incident = actions.activate_plan(c, incident.pk)
    pr = next(p for p in actions.propose_team(incident) if p.role == Role.PR)
    assert pr.proposed == [people.cs]


def test_a_place_puts_someone_inside_the_rank(people):
    c = people.commander
    for name in ("a", "b", "c"):
        rosters.add_to_roster(c, make_user(name), Role.ANALYST)
    rosters.add_to_roster(c, make_user("first"), Role.ANALYST, position=0)
    rosters.add_to_roster(c, make_user("third"), Role.ANALYST, position=2)
    rosters.add_to_roster(c, make_user("far"), Role.ANALYST, position=99)  # past the end: last
    assert names(Role.ANALYST)[0] == ["first", "a", "third", "b", "c", "far"]
    assert positions(Role.ANALYST, "primary") == [0, 1, 2, 3, 4, 5]


def test_moving_up_and_down_within_the_rank(people):
    c = people.commander
    for name in ("a", "b", "c"):
        rosters.add_to_roster(c, make_user(name), Role.ANALYST)
    b = entry(User.objects.get(username="b"), Role.ANALYST)
    rosters.move(c, b.pk, "up")
    assert names(Role.ANALYST)[0] == ["b", "a", "c"]
    rosters.move(c, b.pk, "up")  # already first: nothing happens
    assert names(Role.ANALYST)[0] == ["b", "a", "c"]
    rosters.move(c, b.pk, "down")
    rosters.move(c, b.pk, "down")
    assert names(Role.ANALYST)[0] == ["a", "c", "b"]
    assert positions(Role.ANALYST, "primary") == [0, 1, 2]


def test_changing_rank_moves_to_the_end_of_the_other_rank(people):
    c = people.commander
    rosters.add_to_roster(c, people.cs, Role.PR, "backup")
    rosters.set_rank(c, entry(people.pr_lead, Role.PR).pk, "backup")
    assert names(Role.PR) == ([], ["prmember", "cs", "prlead"])
    rosters.set_rank(c, entry(people.cs, Role.PR).pk, "primary")
    assert names(Role.PR) == (["cs"], ["prmember", "prlead"])
    assert positions(Role.PR, "backup") == [0, 1]


def test_removing_closes_the_gap(people):
    c = people.commander
    for name in ("a", "b", "c"):
        rosters.add_to_roster(c, make_user(name), Role.ANALYST)
    rosters.remove_from_roster(c, entry(User.objects.get(username="a"), Role.ANALYST).pk)
    assert names(Role.ANALYST)[0] == ["b", "c"]
    assert positions(Role.ANALYST, "primary") == [0, 1]


def test_the_last_duty_commander_stays(people):
    with pytest.raises(Invalid) as refused:
        rosters.remove_from_roster(people.commander, entry(people.commander, Role.COMMANDER).pk)
    assert refused.value.field == "user"
    assert "last duty commander" in str(refused.value)
    rosters.add_to_roster(people.commander, people.executive, Role.COMMANDER)
    rosters.remove_from_roster(people.commander, entry(people.commander, Role.COMMANDER).pk)
    assert not permissions_duty(people.commander)


def permissions_duty(user) -> bool:
    from crisisflow.incidents.permissions import is_duty_commander

    return is_duty_commander(user)


# --- validation names the field -------------------------------------------------------------------


def test_validation_errors_name_their_field(people):
    c = people.commander
    cases = [
        ((people.pr_lead, Role.PR), "user"),  # already on it
        ((None, Role.PR), "user"),
        ((people.cs, "janitor"), "role"),
        ((people.cs, Role.PR, "reserve"), "rank"),
        ((people.cs, Role.PR, "primary", -1), "position"),
    ]
    for args, field in cases:
        with pytest.raises(Invalid) as refused:
            rosters.add_to_roster(c, *args)
        assert refused.value.field == field, args
    with pytest.raises(Invalid) as refused:
        rosters.set_rank(c, entry(people.legal, Role.LEGAL).pk, "reserve")
    assert refused.value.field == "rank"
    with pytest.raises(Invalid) as refused:
        rosters.move(c, entry(people.legal, Role.LEGAL).pk, "sideways")
    assert refused.value.field == "direction"
    with pytest.raises(NotFound):
        rosters.move(c, 999_999, "up")


def test_someone_already_on_the_roster_is_named(people):
    with pytest.raises(Invalid) as refused:
        rosters.add_to_roster(people.commander, people.pr_member, Role.PR, "primary")
    assert str(refused.value) == "Prmember is already on the PR roster (Backup)."


def test_inactive_people_cannot_be_added(people):
    people.cs.is_active = False
    people.cs.save()
    with pytest.raises(Invalid) as refused:
        rosters.add_to_roster(people.commander, people.cs, Role.PR)
    assert refused.value.field == "user"


# --- the audit stamp --------------------------------------------------------------------------------


def test_every_changed_entry_says_who_changed_it_and_when(people):
    c = people.commander
    with time_machine.travel(T0, tick=False):
        added = rosters.add_to_roster(c, people.cs, Role.PR, "backup")
    added.refresh_from_db()
    assert (added.updated_by, added.updated_at) == (c, T0)
    member = entry(people.pr_member, Role.PR)
    with time_machine.travel(T0.replace(hour=10), tick=False):
        rosters.move(c, added.pk, "up")  # swaps with prmember: both changed
    member.refresh_from_db()
    assert (member.updated_by, member.updated_at) == (c, T0.replace(hour=10))
    untouched = entry(people.pr_lead, Role.PR)
    assert untouched.updated_by is None
    (pr,) = rosters.rosters(Role.PR)
    assert pr.last_change.updated_at == T0.replace(hour=10)


# --- two changes at once ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_concurrent_moves_and_adds_keep_one_clean_order(people):
    c = people.commander
    for name in ("a", "b", "c", "d"):
        rosters.add_to_roster(c, make_user(name), Role.ANALYST)
    ids = list(RosterEntry.objects.filter(role=Role.ANALYST).values_list("pk", flat=True))
    newcomer = make_user("e")
    calls = [lambda pk=pk: rosters.move(c, pk, "up") for pk in ids]
    calls += [lambda: rosters.add_to_roster(c, newcomer, Role.ANALYST, position=1)] * 2
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
        except CrisisFlowError as err:
            errors.append(err)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # The second add of the same person is refused, not duplicated.
    assert [str(e) for e in errors] == ["E is already on the Public-opinion analyst roster (Primary)."]
    assert positions(Role.ANALYST, "primary") == [0, 1, 2, 3, 4]
    assert sorted(names(Role.ANALYST)[0]) == ["a", "b", "c", "d", "e"]


def test_the_admin_shows_rosters_but_changes_them_only_through_the_rosters_page(client, people):
    root = User.objects.create_superuser("root", password="pw")
    client.force_login(root)
    entry = RosterEntry.objects.filter(user=people.pr_lead).get()
    assert client.get("/admin/people/rosterentry/").status_code == 200
    assert client.get("/admin/people/rosterentry/add/").status_code == 403
    page = client.get(f"/admin/people/rosterentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="rank"' not in page.content  # shown, not editable
    client.post(f"/admin/people/rosterentry/{entry.pk}/delete/", {"post": "yes"})
    assert RosterEntry.objects.filter(pk=entry.pk).exists()
