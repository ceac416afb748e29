"""Live regions: the dashboard, My tasks and the incident page bring their parts up to date
by polling fragments that answer 304 while nothing changed, and the new markup once
someone else changed something."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crisisflow.alerts.sweep import sweep
from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident
from crisisflow.vocab import State
from crisisflow.web import live
from tests.conftest import T0
from tests.flows import finish_gating, walk_to
from tests.statements_helpers import publish_first_statement

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def incident(people, plan) -> Incident:
    """Team assembled at T0 (high: first statement due T0 + 4 h)."""
    with time_machine.travel(T0, tick=False):
        incident = actions.report_incident(
            people.cs, title="Payments failing", crisis_type="service_outage", severity="high"
        )
        return walk_to(people, incident, State.TEAM_ASSEMBLED)


def stamp_in(html: str, element_id: str) -> str:
    """The stamp a region was rendered with (its data-live-stamp)."""
    tag = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', html)
    assert tag, f"no element #{element_id}"
    found = re.search(r'data-live-stamp="([0-9a-f]+)"', tag.group(0))
    assert found, f"#{element_id} is not a live region"
    return found.group(1)


def poll(client, url: str, stamp: str):
    """What HTMX sends every few seconds (see static/crisisflow/live.js)."""
    return client.get(url, headers={"HX-Request": "true", "If-None-Match": f'"{stamp}"'})


def etag(response) -> str:
    return response["ETag"].strip('"')


def text_of(response) -> str:
    return response.content.decode()


def region_url(incident: Incident, region: str) -> str:
    return reverse("incident-live", args=[incident.reference, region])


# --- the incident page ---------------------------------------------------------------------------------


# What another person does, and what the region then shows.
CHANGES = {
    "head": (lambda p, i: actions.change_severity(p.commander, i.pk, "critical", "press picked it up"), "Critical"),
    # The holding statement published and the gating tasks done: publishing is ready.
    "next-step": (
        lambda p, i: (publish_first_statement(p, i), finish_gating(p, i, State.INFO_PUBLISHED)),
        "✓ Ready",
    ),
    "tasks": (lambda p, i: actions.start_task(p.legal, i.tasks.get(key="legal-review").pk), "In progress"),
    "team": (lambda p, i: actions.add_team_member(p.commander, i.pk, p.cs, "customer_service"), "Cs"),
    "timeline": (lambda p, i: actions.add_note(p.commander, i.pk, "Hotline volume doubled"), "Hotline volume doubled"),
    "notifications": (lambda p, i: sweep(), "Legal review"),
}


@pytest.mark.parametrize("region", list(live.INCIDENT_REGIONS))
def test_an_incident_region_is_304_until_someone_else_changes_it(browse, people, incident, region):
    element_id = live.INCIDENT_REGIONS[region]
    change, shows = CHANGES[region]
    at = T0 + 3 * H + 31 * M if region == "notifications" else T0 + H  # the sweep needs a due rung
    client = browse(people.pr_lead)
    with time_machine.travel(at, tick=False):
        page = client.get(reverse("incident-detail", args=[incident.reference]))
        seen = stamp_in(text_of(page), element_id)
        assert shows not in text_of(client.get(region_url(incident, region)))

        unchanged = poll(client, region_url(incident, region), seen)
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert etag(unchanged) == seen
        assert "no-store" in unchanged["Cache-Control"]

        change(people, Incident.objects.get(pk=incident.pk))

        changed = poll(client, region_url(incident, region), seen)
        assert poll(client, region_url(incident, region), etag(changed)).status_code == 304
    assert changed.status_code == 200
    html = text_of(changed)
    # The region alone, from its own template.
    assert re.match(rf'\s*<[a-z]+ [^>]*id="{element_id}"', html)
    assert shows in html
    assert stamp_in(html, element_id) == etag(changed) != seen


def test_a_note_leaves_the_tasks_and_the_header_alone(browse, people, incident):
    client = browse(people.pr_lead)
    page = text_of(client.get(reverse("incident-detail", args=[incident.reference])))
    actions.add_note(people.commander, incident.pk, "Hotline volume doubled")
    assert poll(client, region_url(incident, "tasks"), stamp_in(page, "tasks")).status_code == 304
    assert poll(client, region_url(incident, "head"), stamp_in(page, "live-head")).status_code == 304
    assert poll(client, region_url(incident, "timeline"), stamp_in(page, "timeline")).status_code == 200


def test_a_comment_on_a_task_refreshes_the_task_list(browse, people, incident):
    client = browse(people.pr_lead)
    page = text_of(client.get(reverse("incident-detail", args=[incident.reference])))
    task = incident.tasks.get(key="legal-review")
    actions.add_task_comment(people.commander, task, "Statement draft v2 is in the shared folder")
    fresh = poll(client, region_url(incident, "tasks"), stamp_in(page, "tasks"))
    assert fresh.status_code == 200
    assert "Statement draft v2 is in the shared folder" in text_of(fresh)


def test_a_task_falling_overdue_changes_the_task_list_with_nobody_touching_it(browse, people, incident):
    client = browse(people.pr_lead)
    with time_machine.travel(T0 + 2 * H, tick=False):
        page = text_of(client.get(reverse("incident-detail", args=[incident.reference])))
    with time_machine.travel(T0 + 2 * H + 59 * M, tick=False):
        assert poll(client, region_url(incident, "tasks"), stamp_in(page, "tasks")).status_code == 304
    with time_machine.travel(T0 + 3 * H + M, tick=False):  # legal review was due at T0 + 3 h
        late = poll(client, region_url(incident, "tasks"), stamp_in(page, "tasks"))
    assert late.status_code == 200 and "Overdue" in text_of(late)


def test_the_timeline_region_keeps_the_pages_filter(browse, people, incident):
    actions.add_note(people.commander, incident.pk, "Hotline volume doubled")
    client = browse(people.pr_lead)
    html = text_of(client.get(region_url(incident, "timeline") + "?kind=notes"))
    assert "Hotline volume doubled" in html
    assert "event kind-note" in html and "event kind-transition" not in html and "Filtered." in html


def test_incident_regions_are_404_for_outsiders_of_a_restricted_incident(browse, people, plan):
    secret = actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    outsider = browse(people.outsider)
    for region in live.INCIDENT_REGIONS:
        assert outsider.get(region_url(secret, region)).status_code == 404
    assert browse(people.commander).get(region_url(secret, "head")).status_code == 200
    assert browse(people.commander).get(region_url(secret, "nonsense")).status_code == 404


def test_the_stamp_follows_the_readers_language(browse, people, incident):
    english = browse(people.pr_lead).get(region_url(incident, "tasks"))
    chinese = browse(people.pr_lead, "zh-hans").get(region_url(incident, "tasks"))
    assert etag(english) != etag(chinese)
    assert "<h2>任务</h2>" in text_of(chinese) and "待处理" in text_of(chinese)


def test_a_304_costs_a_few_queries(browse, people, incident):
    client = browse(people.pr_lead)
    page = text_of(client.get(reverse("incident-detail", args=[incident.reference])))
    with CaptureQueriesContext(connection) as queries:
        assert poll(client, region_url(incident, "tasks"), stamp_in(page, "tasks")).status_code == 304
    # session, user, the incident, the stamps (one query for all regions)
    assert len(queries) <= 4


def test_the_page_asks_for_all_its_stamps_in_one_query(browse, people, incident):
    client = browse(people.pr_lead)
    client.get(reverse("incident-detail", args=[incident.reference]))  # warm up (sessions, caches)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("incident-detail", args=[incident.reference]))
    stamps = [q for q in queries.captured_queries if "MAX(" in q["sql"].upper() and "SUM(" in q["sql"].upper()]
    assert len(stamps) == 1


# --- the dashboard and My tasks ----------------------------------------------------------------------------


def test_dashboard_regions_are_304_until_something_changes(browse, people, incident):
    client = browse(people.legal)
    with time_machine.travel(T0 + H, tick=False):
        page = text_of(client.get(reverse("dashboard")))
        urls = {region: reverse("dashboard-live", args=[region]) for region in ("incidents", "tasks", "notifications")}
        stamps = {region: stamp_in(page, f"dash-{region}") for region in urls}
        for region, url in urls.items():
            assert poll(client, url, stamps[region]).status_code == 304, region

        # The commander raises the severity: the incident list changes, the rest does not.
        actions.change_severity(people.commander, incident.pk, "critical", "press picked it up")
        changed = poll(client, urls["incidents"], stamps["incidents"])
        assert changed.status_code == 200 and "Critical" in text_of(changed)
        assert re.match(r'\s*<section [^>]*id="dash-incidents"', text_of(changed))
        assert poll(client, urls["notifications"], stamps["notifications"]).status_code == 304

        # The commander starts legal's task for them: legal's open tasks change.
        actions.start_task(people.commander, incident.tasks.get(key="legal-review").pk)
        mine = poll(client, urls["tasks"], stamps["tasks"])
        assert mine.status_code == 200 and "In progress" in text_of(mine)

    # A reminder arrives.
    with time_machine.travel(T0 + 3 * H, tick=False):
        sweep()
        news = poll(client, urls["notifications"], stamps["notifications"])
    assert news.status_code == 200 and "New" in text_of(news)


def test_a_new_incident_appears_on_the_dashboard(browse, people, incident):
    client = browse(people.outsider)
    page = text_of(client.get(reverse("dashboard")))
    url = reverse("dashboard-live", args=["incidents"])
    assert poll(client, url, stamp_in(page, "dash-incidents")).status_code == 304
    actions.report_incident(people.cs, title="Counterfeit chargers on sale", severity="medium")
    fresh = poll(client, url, stamp_in(page, "dash-incidents"))
    assert fresh.status_code == 200 and "Counterfeit chargers on sale" in text_of(fresh)


def test_my_tasks_region_is_304_until_my_tasks_change(browse, people, incident):
    client = browse(people.legal)
    page = text_of(client.get(reverse("my-tasks")))
    url = reverse("my-tasks-live")
    seen = stamp_in(page, "my-tasks")
    assert poll(client, url, seen).status_code == 304
    actions.add_note(people.commander, incident.pk, "not about legal's tasks")
    assert poll(client, url, seen).status_code == 304
    actions.assign_task(people.commander, incident.tasks.get(key="exec-letter").pk, people.legal)
    fresh = poll(client, url, seen)
    assert fresh.status_code == 200 and "Exec letter" in text_of(fresh)
    assert re.match(r'\s*<div [^>]*id="my-tasks"', text_of(fresh))


def test_dashboard_fragments_hide_restricted_incidents(browse, people, incident):
    actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    html = text_of(browse(people.outsider).get(reverse("dashboard-live", args=["incidents"])))
    assert "Payments failing" in html and "Quiet leak" not in html
    assert browse(people.outsider).get(reverse("dashboard-live", args=["nonsense"])).status_code == 404


def test_dashboard_region_304_query_ceiling(browse, people, incident):
    client = browse(people.commander)
    for region, ceiling in (("incidents", 5), ("tasks", 4), ("notifications", 4)):
        page = text_of(client.get(reverse("dashboard")))
        with CaptureQueriesContext(connection) as queries:
            response = poll(client, reverse("dashboard-live", args=[region]), stamp_in(page, f"dash-{region}"))
        assert response.status_code == 304
        assert len(queries) <= ceiling, region


def test_fragments_need_sign_in(client, incident):
    for url in (reverse("dashboard-live", args=["incidents"]), reverse("my-tasks-live"), region_url(incident, "tasks")):
        assert client.get(url).status_code == 302


# --- one poll per page ----------------------------------------------------------------------------------------

REGION_ATTRS = re.compile(r'data-live-region="([^"]+)" data-live-stamp="([0-9a-f]+)"')


def stamps_of(html: str) -> dict[str, str]:
    return dict(REGION_ATTRS.findall(html))


def ask(client, url: str, stamps: dict[str, str], **query):
    """What live.js sends every few seconds: the page's regions and their stamps."""
    params = [("region", f"{name}:{seen}") for name, seen in stamps.items()] + list(query.items())
    response = client.get(url + "?" + urlencode(params))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return response.json()


def changes_url(incident: Incident) -> str:
    return reverse("incident-changes", args=[incident.reference])


def test_the_incident_page_asks_once_for_all_its_regions(browse, people, incident):
    client = browse(people.pr_lead)
    page = text_of(client.get(reverse("incident-detail", args=[incident.reference])))
    stamps = stamps_of(page)
    assert set(stamps) == {*live.INCIDENT_REGIONS, "unread"}
    assert f'<meta name="cf-live" content="{changes_url(incident)}" data-every="' in page
    assert "hx-trigger" not in page.split("<main", 1)[1].split("timeline-filter")[0]  # no region polls by itself

    assert ask(client, changes_url(incident), stamps)["regions"] == {}

    # One comment on a task: three regions changed, all in one answer, each its own element.
    actions.add_task_comment(people.commander, incident.tasks.get(key="legal-review"), "Draft v2 is in the folder")
    answer = ask(client, changes_url(incident), stamps)
    assert set(answer["regions"]) == {"tasks", "timeline", "next-step"}
    for name, region in answer["regions"].items():
        element_id = live.INCIDENT_REGIONS[name]
        assert re.match(rf'\s*<[a-z]+ [^>]*id="{element_id}"', region["html"]), name
        assert stamps_of(region["html"])[name] == region["stamp"] != stamps[name]
    assert "Draft v2 is in the folder" in answer["regions"]["tasks"]["html"]
    assert "Draft v2 is in the folder" in answer["regions"]["timeline"]["html"]
    assert answer["now"]  # the server's time: the page's clocks count from it


def test_a_quiet_poll_costs_a_few_queries_whatever_the_size(browse, people, incident, django_assert_max_num_queries):
    client = browse(people.pr_lead)
    stamps = stamps_of(text_of(client.get(reverse("incident-detail", args=[incident.reference]))))
    # session, user, the stamps with what visibility needs, the unread count
    with django_assert_max_num_queries(4):
        assert ask(client, changes_url(incident), stamps)["regions"] == {}


def test_a_region_renders_from_its_own_template_not_the_whole_page(browse, people, incident):
    client = browse(people.pr_lead)
    stamps = stamps_of(text_of(client.get(reverse("incident-detail", args=[incident.reference]))))
    actions.change_severity(people.commander, incident.pk, "critical", "press picked it up")
    with CaptureQueriesContext(connection) as queries:
        answer = ask(client, changes_url(incident), {"head": stamps["head"]})
    assert list(answer["regions"]) == ["head"] and "Critical" in answer["regions"]["head"]["html"]
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    # Neither the tasks, the timeline nor the notifications are read for the header.
    assert 'incidents_task"."title' not in sql and 'alerts_notification"."channel' not in sql
    assert len(queries) <= 6


def test_viewers_who_see_the_same_share_one_render(browse, people, incident, client, django_user_model):
    from django.test import Client

    stamps = stamps_of(text_of(browse(people.observer).get(reverse("incident-detail", args=[incident.reference]))))
    actions.add_note(people.commander, incident.pk, "Hotline volume doubled")
    live.shared.clear()
    made = live.shared.renders

    def viewer(person, language="en"):
        other = Client()
        other.force_login(person)
        other.cookies["django_language"] = language
        return other

    # An observer and someone outside the team have the same buttons: one render each region.
    first = ask(viewer(people.observer), changes_url(incident), stamps)["regions"]
    second = ask(viewer(people.outsider), changes_url(incident), stamps)["regions"]
    assert set(first) == set(second) == {"timeline", "next-step"}
    assert first["timeline"]["html"] == second["timeline"]["html"]
    assert live.shared.renders == made + 2

    # The commander may post notes (a form in the timeline): their own render.
    mine = ask(viewer(people.commander), changes_url(incident), stamps)["regions"]
    assert 'name="text"' in mine["timeline"]["html"] and 'name="text"' not in first["timeline"]["html"]
    assert live.shared.renders == made + 4

    # Another language is another stamp: the page asks with its own, and gets Chinese.
    chinese = viewer(people.outsider, "zh-hans")
    zh = stamps_of(text_of(chinese.get(reverse("incident-detail", args=[incident.reference]))))
    assert zh["timeline"] != stamps["timeline"]
    assert ask(chinese, changes_url(incident), zh)["regions"] == {}


def test_a_shared_render_carries_each_readers_own_csrf_token(people, incident):
    from django.test import Client

    def commander():
        client = Client(enforce_csrf_checks=True)
        client.force_login(people.commander)
        client.cookies["django_language"] = "en"
        client.get(reverse("incident-detail", args=[incident.reference]))  # the CSRF cookie
        return client

    stamps = {"timeline": "old"}
    first = commander()  # its page renders every region once, for everyone like them
    made = live.shared.renders
    second = commander()
    html_first = ask(first, changes_url(incident), stamps)["regions"]["timeline"]["html"]
    html_second = ask(second, changes_url(incident), stamps)["regions"]["timeline"]["html"]
    assert live.shared.renders == made  # the second page and both answers: the same renders
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html_second).group(1)
    assert token != re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html_first).group(1)
    note = reverse("incident-note", args=[incident.reference])
    assert second.post(note, {"text": "Posted from a shared render", "csrfmiddlewaretoken": token}).status_code == 302
    assert first.post(note, {"text": "With the other's token", "csrfmiddlewaretoken": "x" * 64}).status_code == 403


def test_the_unread_badge_is_live_on_every_page(browse, people, incident):
    client = browse(people.legal)
    for page in (reverse("incident-list"), reverse("dashboard"), reverse("incident-detail", args=[incident.reference])):
        html = text_of(client.get(page))
        stamps = stamps_of(html)
        assert "unread" in stamps, page
        url = re.search(r'<meta name="cf-live" content="([^"]+)"', html).group(1)
        assert ask(client, url, {"unread": stamps["unread"]})["regions"] == {}
    with time_machine.travel(T0 + 3 * H, tick=False):
        sweep()  # legal review is due: a reminder for legal
    answer = ask(client, reverse("live"), {"unread": stamps["unread"]})["regions"]
    assert 'class="unread-count"' in answer["unread"]["html"]
    assert re.match(r'\s*<a [^>]*id="inbox-link"', answer["unread"]["html"])


def test_the_poll_of_a_restricted_incident_is_404_to_outsiders(browse, people, plan):
    secret = actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    assert browse(people.outsider).get(changes_url(secret) + "?region=head:x").status_code == 404
    assert browse(people.commander).get(changes_url(secret) + "?region=head:x").status_code == 200


def test_the_task_list_keeps_the_stages_the_person_unfolded(browse, people, incident):
    client = browse(people.pr_lead)
    stamps = stamps_of(text_of(client.get(reverse("incident-detail", args=[incident.reference]))))
    actions.start_task(people.legal, incident.tasks.get(key="legal-review").pk)
    later = incident.tasks.exclude(stage="publish").values_list("stage", flat=True).first()
    folded = ask(client, changes_url(incident), {"tasks": stamps["tasks"]})["regions"]["tasks"]["html"]
    opened = ask(client, changes_url(incident), {"tasks": stamps["tasks"]}, open=later)["regions"]["tasks"]["html"]
    assert f'id="stage-{later}" data-stage="{later}" data-open' not in folded.replace("stage-group stage-later", "")
    assert opened.count('<article class="task') > folded.count('<article class="task')


def test_the_dashboard_and_my_tasks_ask_once_for_all_their_regions(browse, people, incident):
    client = browse(people.legal)
    dashboard = stamps_of(text_of(client.get(reverse("dashboard"))))
    mine = stamps_of(text_of(client.get(reverse("my-tasks"))))
    assert set(dashboard) == {"incidents", "tasks", "notifications", "unread"}
    assert set(mine) == {"my-tasks", "unread"}
    assert ask(client, reverse("live"), dashboard)["regions"] == {}
    assert ask(client, reverse("live"), mine)["regions"] == {}

    actions.start_task(people.commander, incident.tasks.get(key="legal-review").pk)
    changed = ask(client, reverse("live"), dashboard)["regions"]
    assert set(changed) == {"tasks"}  # legal's own task; the incident list shows no task states
    assert "In progress" in changed["tasks"]["html"]
    assert list(ask(client, reverse("live"), mine)["regions"]) == ["my-tasks"]


def test_people_who_see_the_same_share_the_pages_region_renders(browse, people, incident):
    from django.test import Client

    def open_page(person):
        client = Client()
        client.force_login(person)
        client.cookies["django_language"] = "en"
        return text_of(client.get(reverse("incident-detail", args=[incident.reference])))

    first = open_page(people.observer)
    made = live.shared.renders
    assert made >= len(live.INCIDENT_REGIONS)
    second = open_page(people.outsider)  # the same buttons: nothing rendered again
    assert live.shared.renders == made
    assert stamps_of(first) == stamps_of(second)
    open_page(people.commander)  # the commander's buttons and forms are theirs
    assert live.shared.renders > made

    # A refusal shows what was typed: that page is rendered for its reader alone.
    client = browse(people.commander)
    refused = client.post(reverse("incident-note", args=[incident.reference]), {"text": "   "})
    assert refused.status_code == 400 and "Write something first." in text_of(refused)
    assert "Write something first." not in open_page(people.commander)
