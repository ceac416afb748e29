"""create_demo_users: a login for every role, backups for PR and legal, enough people to
staff every built-in playbook, safe to run twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from crisisflow.incidents import actions
from crisisflow.people.management.commands.create_demo_users import DEMO_PASSWORD
from crisisflow.people.models import RosterEntry, User
from crisisflow.playbooks.models import current_versions
from crisisflow.vocab import Role, State

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = True


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("create_demo_users", *args, stdout=out)
    return out.getvalue()


def test_every_role_has_a_primary_on_the_roster():
    run_command()
    primaries = RosterEntry.objects.filter(rank=RosterEntry.Rank.PRIMARY)
    assert set(primaries.values_list("role", flat=True)) == set(Role.values)
    assert primaries.count() == len(Role.values)


def test_pr_and_legal_have_a_backup_person():
    run_command()
    for role in (Role.PR, Role.LEGAL):
        entries = RosterEntry.objects.filter(role=role)
        assert sorted(entries.values_list("rank", flat=True)) == ["backup", "primary"]
        assert entries.values("user").distinct().count() == 2


def test_people_have_chinese_names_and_a_language():
    run_command()
    commander = User.objects.get(roster_entries__role=Role.COMMANDER)
    assert commander.display_name == "王建国"
    assert str(commander) == "王建国"
    languages = set(User.objects.exclude(username="admin").values_list("language", flat=True))
    assert languages == {"zh-hans", "en"}


def test_logins_work_with_the_printed_password():
    output = run_command()
    assert DEMO_PASSWORD in output
    for user in User.objects.all():
        assert user.username in output
        assert user.check_password(DEMO_PASSWORD), user.username


def test_admin_is_a_superuser_without_a_roster_role():
    run_command()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.roster_roles() == set()


def test_running_twice_changes_nothing():
    run_command()
    users = dict(User.objects.values_list("username", "password"))
    roster = list(RosterEntry.objects.values_list("role", "user__username", "rank"))

    run_command()

    assert dict(User.objects.values_list("username", "password")) == users
    assert list(RosterEntry.objects.values_list("role", "user__username", "rank")) == roster


def test_a_second_run_restores_a_changed_password_and_lost_staff_flag():
    run_command()
    admin = User.objects.get(username="admin")
    admin.is_superuser = False
    admin.set_password("something-else")
    admin.save()

    run_command()

    admin.refresh_from_db()
    assert admin.is_superuser
    assert admin.check_password(DEMO_PASSWORD)


def test_refuses_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        run_command()
    assert not User.objects.exists()


def test_force_runs_even_when_debug_is_off(settings):
    settings.DEBUG = False
    run_command("--force")
    assert RosterEntry.objects.count() == len(Role.values) + 6


def test_the_demo_rosters_staff_every_built_in_playbook():
    """Each built-in playbook, activated on an incident by the demo commander, gets its
    whole team from the demo rosters: the proposal fills every role's minimum and the
    team can be assembled without adding anyone by hand."""
    call_command("load_playbooks", stdout=StringIO())
    run_command()
    commander = User.objects.get(username="commander")
    versions = current_versions()
    assert len(versions) == len(list((settings.BASE_DIR / "playbooks").glob("*.yaml")))

    short: dict[str, dict[str, int]] = {}
    for version in versions:
        incident = actions.report_incident(
            commander, title=f"Drill: {version.key}", crisis_type=version.definition["crisis_types"][0], severity="high"
        )
        actions.confirm_incident(commander, incident)
        actions.activate_plan(commander, incident, playbook_key=version.key)
        proposals = actions.propose_team(incident)
        missing = {p.role: p.needed - len(p.current) - len(p.proposed) for p in proposals}
        if any(n > 0 for n in missing.values()):
            short[version.key] = {role: n for role, n in missing.items() if n > 0}
            continue
        actions.accept_team(commander, incident)
        assert actions.assemble_team(commander, incident).state == State.TEAM_ASSEMBLED, version.key
        assert version.roles, version.key

    assert short == {}, f"playbooks the demo rosters cannot staff (role: people missing): {short}"
