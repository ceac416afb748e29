"""While the background worker is down (no heartbeat for three heartbeat intervals, at
least 30 s), commanders see "Background worker down since <time in their zone>" on
every page; it goes when the heartbeat comes back. Others are not alarmed by it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from crisisflow.incidents import actions
from crisisflow.incidents.tasks import heartbeat, worker_down, worker_down_for, worker_silence
from crisisflow.people.models import RosterEntry
from crisisflow.vocab import Role
from tests.conftest import T0

pytestmark = pytest.mark.django_db

PAGES = ["dashboard", "incident-list", "my-tasks", "board", "rosters", "playbooks", "notifications", "preferences"]
DOWN = "Background worker down since"
NEVER = "Background worker has not reported yet: deadlines and alerts are not being sent."


def page(browse, user, name: str = "dashboard", at=None) -> str:
    with time_machine.travel(at or T0, tick=False):
        response = browse(user).get(reverse(name))
    assert response.status_code == 200, name
    return response.content.decode()


def beat_at(at) -> None:
    with time_machine.travel(at, tick=False):
        heartbeat()  # what the worker runs when beat asks


def test_the_worker_counts_as_down_after_three_missed_heartbeats_and_at_least_30_s(settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "HEARTBEAT_SECONDS": 10.0}
    assert worker_silence() == timedelta(seconds=30)
    settings.CRISISFLOW = {**settings.CRISISFLOW, "HEARTBEAT_SECONDS": 60.0}
    assert worker_silence() == timedelta(minutes=3)
    settings.CRISISFLOW = {**settings.CRISISFLOW, "HEARTBEAT_SECONDS": 1.0}
    assert worker_silence() == timedelta(seconds=30)


def test_commanders_see_when_the_worker_went_down_in_their_zone_on_every_page(browse, people):
    people.commander.time_zone = "America/New_York"
    people.commander.save()
    beat_at(T0)  # 09:00 UTC is 04:00 in New York
    assert worker_down(T0 + timedelta(seconds=30)) is None
    assert worker_down(T0 + timedelta(seconds=31)).last_seen == T0
    assert worker_down_for(people.commander, T0 + timedelta(seconds=31)).last_seen == T0
    assert worker_down_for(people.cs, T0 + timedelta(seconds=31)) is None

    running = page(browse, people.commander, at=T0 + timedelta(seconds=29))
    assert DOWN not in running and NEVER not in running

    for name in PAGES:
        html = page(browse, people.commander, name, at=T0 + timedelta(minutes=5))
        assert f"{DOWN} {T0.astimezone(_zone('America/New_York')):%Y-%m-%d %H:%M}" in html, name
        assert "deadlines and alerts are not being sent" in html

    # The heartbeat resumes: the banner goes.
    beat_at(T0 + timedelta(minutes=6))
    back = page(browse, people.commander, at=T0 + timedelta(minutes=6, seconds=5))
    assert DOWN not in back


def test_only_commanders_see_it(browse, people):
    beat_at(T0)
    later = T0 + timedelta(minutes=5)
    assert DOWN in page(browse, people.commander, at=later)
    for person in (people.cs, people.pr_lead, people.legal, people.executive, people.observer, people.outsider):
        assert DOWN not in page(browse, person, at=later), person.username


def test_the_commander_of_an_open_incident_sees_it_off_the_roster_too(browse, people):
    with time_machine.travel(T0, tick=False):
        incident = actions.report_incident(
            people.cs, title="Payments down", crisis_type="service_outage", severity="high", commander=people.commander
        )
    RosterEntry.objects.filter(user=people.commander, role=Role.COMMANDER).delete()
    beat_at(T0)
    later = T0 + timedelta(minutes=5)
    assert DOWN in page(browse, people.commander, at=later)

    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        actions.dismiss_incident(people.commander, incident.pk, "False alarm")
    assert DOWN not in page(browse, people.commander, at=later)  # commands nothing open now


def test_a_worker_that_never_reported_is_down_too(browse, people):
    html = page(browse, people.commander)
    assert NEVER in html
    assert NEVER not in page(browse, people.cs)


def test_the_banner_is_in_chinese_for_chinese_readers(browse, people):
    people.commander.language = "zh-hans"
    people.commander.time_zone = "Asia/Shanghai"
    people.commander.save()
    beat_at(T0)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        html = browse(people.commander, language="zh-hans").get(reverse("dashboard")).content.decode()
    assert f"后台任务进程自 {T0.astimezone(_zone('Asia/Shanghai')):%Y-%m-%d %H:%M} 起停止运行" in html


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
