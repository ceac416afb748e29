"""What the analytics count and the review shows beyond the timeline: drills never count
(and their review says so), the brand an incident is about (set by a firing rule or the
commander, filtered on), the commitments' figures hand-computed, and the Analytics link
shown only to those who may read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from crisisflow.commitments import actions as commitments
from crisisflow.incidents import actions
from crisisflow.incidents.errors import Conflict, Forbidden
from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import describe
from crisisflow.notices.actions import mark_drill
from crisisflow.reviews import analytics, metrics
from crisisflow.vocab import State
from crisisflow.watch import incident_brands
from tests.conftest import T0
from tests.flows import report, walk_to
from tests.statements import team_incident
from tests.watch_world import brand

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
D = timedelta(days=1)


def closed(people, *, statement_after, title="Payments down"):
    with time_machine.travel(T0, tick=False) as traveller:
        incident = walk_to(people, report(people, detected_at=T0, title=title), State.TEAM_ASSEMBLED)
        traveller.move_to(T0 + statement_after)
        return walk_to(people, incident, State.CLOSED)


# --- drills -------------------------------------------------------------------------------------


def test_drills_never_count_in_any_figure_list_or_the_csv(people, plan, browse, api):
    real = closed(people, statement_after=3 * H)
    drill = closed(people, statement_after=20 * H, title="Exercise: payments down")
    before = browse(people.commander).get("/analytics/").context["a"]
    assert (before.incidents, before.golden_decided) == (2, 2)
    assert {r["role"] for r in before.overdue_by_role} == {"legal", "pr"}  # the 20-hour one's
    mark_drill(people.commander, drill, drill=True)

    a = browse(people.commander).get("/analytics/").context["a"]
    assert (a.incidents, a.golden_met, a.golden_decided) == (1, 1, 1)
    assert a.p90_first_statement() == 3 * H and a.median_to_close() is not None
    assert a.overdue_by_role == []
    assert all(r["count"] == 1 for r in a.approvals_by_role)  # the drill's approvals are gone too
    assert [m["count"] for m in a.months] == [1]
    lines = browse(people.commander).get("/analytics.csv").content.decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith(real.reference)
    assert api(people.commander).get("/api/analytics/").json()["incidents"] == 1

    # Its review is kept, and says it is a drill: on the page, in the export, in the API.
    page = browse(people.commander).get(f"/incidents/{drill.reference}/review/").content.decode()
    assert 'id="drill"' in page and "This incident is a drill (an exercise)." in page
    md = browse(people.commander).get(f"/incidents/{drill.reference}/review/export.md").content.decode()
    assert "This incident is a drill (an exercise)." in md
    assert api(people.commander).get(f"/api/incidents/{drill.reference}/review/").json()["drill"] is True
    assert 'id="drill"' not in browse(people.commander).get(f"/incidents/{real.reference}/review/").content.decode()


# --- brands -------------------------------------------------------------------------------------


def test_a_firing_rule_says_which_brand_the_incident_is_about(people):
    from crisisflow.watch import ingest
    from crisisflow.watch.models import Rule
    from crisisflow.watch.rules import evaluate
    from tests.watch_world import rule, series

    now = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        complaints = series()
        rule("threshold", {"op": "above", "value": 50}, on=complaints, name="Complaints above 50")
        ingest.receive(points=[(complaints.pk, now, 61)])
        [firing] = evaluate(list(Rule.objects.select_related("series", "brand")), now)
    link = incident_brands.brand_of(firing.incident)
    assert (link.brand.key, link.set_by.username, link.version) == ("acme", "early-warning", 1)
    event = Event.objects.get(incident=firing.incident, kind=incident_brands.BRAND_SET)
    assert describe(event) == "About Acme Pay (from the early-warning rule that fired)"


def test_the_commander_sets_the_brand_in_the_room_and_through_the_api(people, plan, browse, api):
    acme, beta = brand(), brand("beta", "Beta Shop")
    incident = walk_to(people, report(people), State.CONFIRMED)
    room = f"/incidents/{incident.reference}/"
    page = browse(people.commander).get(room).content.decode()
    assert 'id="brand"' in page and "Change the brand or product" in page
    assert "Change the brand or product" not in browse(people.pr_lead).get(room).content.decode()

    answer = browse(people.commander).post(room + "brand/", {"version": "0", "brand": "acme"})
    assert answer.status_code == 302 and answer["Location"].endswith("#brand")
    assert "<strong>Acme Pay</strong>" in browse(people.pr_lead).get(room).content.decode()
    assert "修改品牌或产品" in browse(people.commander, "zh-hans").get(room).content.decode()
    stale = browse(people.commander).post(room + "brand/", {"version": "0", "brand": "beta"})
    assert stale.status_code == 409
    assert "The brand of this incident was changed by Commander" in stale.content.decode()
    unknown = browse(people.commander).post(room + "brand/", {"version": "1", "brand": "nope"})
    assert unknown.status_code == 400
    assert browse(people.pr_lead).post(room + "brand/", {"version": "1", "brand": "beta"}).status_code == 403

    url = f"/api/incidents/{incident.reference}/brand/"
    read = api(people.observer).get(url).json()
    assert (read["brand"]["key"], read["version"], read["set_by"]["name"]) == ("acme", 1, "Commander")
    assert api(people.pr_lead).post(url, {"brand": "beta", "expected_version": 1}, format="json").status_code == 403
    changed = api(people.commander).post(url, {"brand": "beta", "expected_version": 1}, format="json")
    assert changed.status_code == 200 and changed.json()["brand"]["name"] == "Beta Shop"
    assert api(people.commander).post(url, {"brand": "beta", "expected_version": 1}, format="json").status_code == 409
    cleared = api(people.commander).post(url, {"brand": None, "expected_version": 2}, format="json")
    assert cleared.json()["brand"] is None and cleared.json()["version"] == 3
    texts = [describe(e) for e in incident.events.filter(kind=incident_brands.BRAND_SET).order_by("seq")]
    assert texts == [
        "About Acme Pay",
        "About Beta Shop (was Acme Pay)",
        "No longer about a brand or product (was Beta Shop)",
    ]
    assert acme.pk and beta.pk


def test_only_the_commander_sets_the_brand(people, plan):
    brand()
    incident = walk_to(people, report(people), State.CONFIRMED)
    with pytest.raises(Forbidden):
        incident_brands.set_incident_brand(people.pr_lead, incident, "acme", expected_version=0)
    incident_brands.set_incident_brand(people.commander, incident, "acme", expected_version=0)
    with pytest.raises(Conflict):
        incident_brands.set_incident_brand(people.commander, incident, None, expected_version=0)


def test_the_analytics_filter_by_brand(people, plan, browse, api):
    brand()
    brand("beta", "Beta Shop")
    acme_one = closed(people, statement_after=3 * H)
    closed(people, statement_after=20 * H, title="Other")
    incident_brands.set_incident_brand(people.commander, acme_one, "acme", expected_version=0)
    page = browse(people.commander).get("/analytics/?brand=acme")
    assert page.context["a"].incidents == 1 and 'value="acme" selected' in page.content.decode()
    assert browse(people.commander).get("/analytics/?brand=beta").context["a"].incidents == 0
    assert browse(people.commander).get("/analytics/").context["a"].incidents == 2
    assert api(people.commander).get("/api/analytics/?brand=acme").json()["incidents"] == 1
    rows = browse(people.commander).get("/analytics.csv?brand=acme").content.decode().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[8] == "acme"


# --- commitments ---------------------------------------------------------------------------------


def test_the_commitments_figures_hand_computed(people, plan, browse, api):
    with time_machine.travel(T0, tick=False) as traveller:
        incident = team_incident(people, affected_users=None)

        def promise(text, due):
            return commitments.create_commitment(
                people.commander, incident, text=text, owner=people.legal, due_at=T0 + due
            )

        on_time, late, broken = promise("Refunds", D), promise("Vouchers", D), promise("Hotline", 3 * D)
        withdrawn, overdue, open_one = promise("Letter", 3 * D), promise("Report", 2 * D), promise("Audit", 10 * D)
        traveller.move_to(T0 + 12 * H)
        commitments.mark_kept(people.legal, on_time, expected_version=on_time.version, summary="Refunds paid")
        traveller.move_to(T0 + 2 * D)
        commitments.mark_kept(people.legal, late, expected_version=late.version, summary="Vouchers sent")
        commitments.mark_broken(people.commander, broken, reason="Supplier failed", expected_version=broken.version)
        commitments.withdraw(people.commander, withdrawn, reason="Superseded", expected_version=withdrawn.version)
        traveller.move_to(T0 + 4 * D)
        figures = metrics.compute(incident, T0 + 4 * D)

        def seq_of(kind, c):
            return Event.objects.get(incident=incident, kind=kind, data__commitment=c.pk).seq

        got = {m.key: (m.value, m.text, m.events) for m in figures.metrics if m.key.startswith("commitments_")}
        assert got == {
            "commitments_kept": (1, "1 of 6", [seq_of(commitments.KEPT, on_time)]),
            "commitments_late": (1, "1 of 6", [seq_of(commitments.KEPT, late)]),
            "commitments_broken": (1, "1 of 6", [seq_of(commitments.BROKEN, broken)]),
            "commitments_withdrawn": (1, "1 of 6", [seq_of(commitments.WITHDRAWN, withdrawn)]),
            "commitments_open": (
                2,
                "2 of 6 (1 overdue)",
                sorted([seq_of(commitments.CREATED, overdue), seq_of(commitments.CREATED, open_one)]),
            ),
        }
        marks = {(m.key, m.label, m.at) for m in figures.milestones if m.key.startswith("commitment_")}
        assert marks == {
            ("commitment_kept", "Commitment kept: Refunds", T0 + 12 * H),
            ("commitment_late", "Commitment late: Vouchers", T0 + D),
            ("commitment_kept_late", "Commitment kept late: Vouchers", T0 + 2 * D),
            ("commitment_broken", "Commitment broken: Hotline", T0 + 2 * D),
            ("commitment_late", "Commitment late: Report", T0 + 2 * D),
        }
        page = browse(people.commander).get(f"/incidents/{incident.reference}/review/").content.decode()
        assert "2 of 6 (1 overdue)" in page

        # Across incidents: kept (on time or late) out of those due or settled (withdrawn left out).
        a = analytics.compute(people.commander, analytics.Filters())
        assert (a.commitments.decided, a.commitments_kept, a.commitments_kept_rate) == (4, 2, 0.5)
        assert 'id="commitments-rate">50%' in browse(people.commander).get("/analytics/").content.decode()
        assert api(people.commander).get("/api/analytics/").json()["commitments"]["kept_rate"] == 0.5


# --- the navigation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona,shown", [("commander", True), ("executive", True), ("pr_lead", False), ("outsider", False)]
)
def test_the_analytics_link_shows_only_to_those_who_may_read_them(people, plan, browse, persona, shown):
    page = browse(getattr(people, persona)).get("/incidents/").content.decode()
    assert ('id="nav-analytics"' in page) is shown
    assert browse(getattr(people, persona)).get("/analytics/").status_code == (200 if shown else 403)


def test_a_role_lead_on_a_team_sees_the_link(people, plan, browse):
    walk_to(people, report(people), State.TEAM_ASSEMBLED)  # the PR lead now leads PR on a team
    assert 'id="nav-analytics"' in browse(people.pr_lead).get("/incidents/").content.decode()
    assert actions  # the incidents' use cases made the team
