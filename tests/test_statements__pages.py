"""The statement pages: the Statements tab from the room, drafting the message set, the
fact sheet editor, the statement editor with the fact sheet beside it, counters and
previews, versions and the diff between any two; in both languages; refusals beside
their field; restricted incidents 404 to outsiders; a constant number of queries."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crisisflow.statements import drafting, facts, versions
from crisisflow.statements.models import FactSheetVersion, Statement, StatementVersion
from tests.conftest import T0
from tests.statements import sheet, team_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan):
    with time_machine.travel(T0, tick=False):
        incident = team_incident(people)
        facts.save_fact_sheet(people.pr_lead, incident, sheet(), expected_version=0)
    return incident


def url(name, incident, *args):
    return reverse(f"statements:{name}", args=[incident.reference, *args])


def test_the_room_links_to_the_statements_tab(browse, people, incident):
    page = browse(people.pr_lead).get(reverse("incident-detail", args=[incident.reference])).content.decode()
    assert url("list", incident) in page


def test_pr_drafts_the_message_set_from_the_tab(browse, people, incident):
    client = browse(people.pr_lead)
    page = client.get(url("list", incident)).content.decode()
    assert "Draft the message set" in page and "Holding statement" in page
    response = client.post(url("draft-set", incident), {"language": ""}, follow=True)
    assert "2 statements drafted." in response.content.decode()
    assert sorted(Statement.objects.values_list("kind", "language")) == [
        ("holding_statement", "en"),
        ("holding_statement", "zh-hans"),
    ]
    assert "Draft" in response.content.decode()


def test_a_single_kind_is_drafted_from_its_template(browse, people, incident):
    response = browse(people.legal).post(url("create", incident), {"kind": "regulator_notice", "language": "en"})
    statement = Statement.objects.get()
    assert response.url == url("edit", incident, statement.pk)
    assert statement.current.title == "Report on Payments down in East China"


def test_the_editor_shows_the_fact_sheet_counters_and_previews(browse, people, incident):
    statement = versions.create_statement(people.pr_lead, incident, "customer_sms", "zh-hans", body="短信" * 40)
    page = browse(people.pr_lead).get(url("edit", incident, statement.pk)).content.decode()
    assert "Payments failed for users in East China." in page  # the fact sheet beside
    assert '<span class="chars">80</span> / 500' in page
    assert '<span class="segments">2</span> SMS segments' in page
    assert "preview-sms" in page
    assert 'hx-trigger="keyup changed delay:200ms"' in page or "statements:lint" not in page


def test_saving_in_the_editor_makes_a_version_and_a_stale_form_is_refused(browse, people, incident):
    statement = versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="First.")
    client = browse(people.pr_lead)
    response = client.post(url("edit", incident, statement.pk), {"title": "", "body": "Second.", "version": 1})
    assert response.status_code == 302
    assert statement.versions.count() == 2
    stale = client.post(url("edit", incident, statement.pk), {"title": "", "body": "Third.", "version": 1})
    assert stale.status_code == 409
    assert "This statement was changed by Prlead" in stale.content.decode()
    assert statement.versions.count() == 2


def test_an_empty_text_is_refused_beside_the_field(browse, people, incident):
    statement = versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="First.")
    response = browse(people.pr_lead).post(url("edit", incident, statement.pk), {"body": " ", "version": 1})
    assert response.status_code == 400
    assert response.context["form"].errors == {"body": ["Write the text of the statement."]}


def test_legal_reads_but_may_not_edit_pr_kinds(browse, people, incident):
    statement = versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="First.")
    client = browse(people.legal)
    assert "Save a new version" not in client.get(url("edit", incident, statement.pk)).content.decode()
    assert client.post(url("edit", incident, statement.pk), {"body": "Mine.", "version": 1}).status_code == 403


def test_the_fact_sheet_editor_saves_and_names_the_bad_field(browse, people, incident):
    client = browse(people.pr_lead)
    form = client.get(url("facts", incident)).context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data["outbreak_at"] = "2026-03-02T16:00"
    data["discovery_at"] = "2026-03-02T16:20"
    data["next-1-text"] = "Publish the root cause."
    response = client.post(url("facts", incident), data)
    assert response.status_code == 400
    assert response.context["form"].errors == {"next-1-due": ["Give the date this will be done by (YYYY-MM-DD)."]}
    data["next-1-due"] = "2026-03-09"
    assert client.post(url("facts", incident), data).status_code == 302
    saved = FactSheetVersion.objects.order_by("-number").first()
    assert [n["text"] for n in saved.content["sections"]["next"]] == [
        "Refund every failed payment.",
        "Publish the root cause.",
    ]
    assert saved.content["sections"]["when"]["outbreak"]["at"] == "2026-03-02T08:00:00+00:00"


def test_versions_and_the_diff_between_any_two(browse, people, incident):
    statement = versions.create_statement(
        people.pr_lead, incident, "holding_statement", "zh-hans", body="影响一千名用户"
    )
    versions.save_version(people.pr_lead, statement, title="", body="影响一万名用户", expected_version=1)
    versions.save_version(people.pr_lead, statement, title="", body="影响一万名用户。我们道歉。", expected_version=2)
    client = browse(people.legal, "zh-hans")
    listing = client.get(url("versions", incident, statement.pk)).content.decode()
    assert "v3" in listing and "v1" in listing
    page = client.get(url("diff", incident, statement.pk) + "?a=1&b=2").content.decode()
    assert "<del>千</del><ins>万</ins>" in page
    assert client.get(url("diff", incident, statement.pk) + "?a=1&b=9").status_code == 404


def test_pages_speak_chinese(browse, people, incident):
    statement = drafting.draft_message_set(people.pr_lead, incident, language="zh-hans")[0]
    client = browse(people.pr_lead, "zh-hans")
    assert "起草整套口径" in client.get(url("list", incident)).content.decode()
    assert "事实清单" in client.get(url("edit", incident, statement.pk)).content.decode()


def test_a_restricted_incidents_statements_are_404_to_outsiders(browse, people, incident):
    statement = versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="First.")
    incident.restricted = True
    incident.save(update_fields=["restricted"])
    client = browse(people.outsider)
    for address in (
        url("list", incident),
        url("facts", incident),
        url("edit", incident, statement.pk),
        url("versions", incident, statement.pk),
        url("diff", incident, statement.pk),
    ):
        assert client.get(address).status_code == 404
    assert client.post(url("draft-set", incident), {}).status_code == 404


def test_the_tab_costs_the_same_queries_for_50_statements_of_20_versions(browse, people, incident):
    client = browse(people.pr_lead)
    versions.create_statement(people.pr_lead, incident, "holding_statement", "en", body="v1")
    client.get(url("list", incident))
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("list", incident)).status_code == 200
    for i in range(50):
        statement = Statement.objects.create(
            incident=incident,
            kind=["social_post", "progress_update"][i % 2],
            language="en",
            created_by=people.pr_lead,
            created_at=T0,
            state="superseded" if i < 48 else "draft",
        )
        made = StatementVersion.objects.bulk_create(
            StatementVersion(
                statement=statement,
                number=n,
                body=f"text {n}",
                content_hash="0" * 64,
                author=people.pr_lead,
                created_at=T0,
            )
            for n in range(1, 21)
        )
        Statement.objects.filter(pk=statement.pk).update(current=made[-1])
    with CaptureQueriesContext(connection) as many:
        response = client.get(url("list", incident))
    assert response.status_code == 200 and response.content.decode().count("v20") >= 2
    assert len(many.captured_queries) <= len(one.captured_queries)
