"""The playbook catalogue over the API: the loaded plans, and one plan with its current
version's tasks or an older version's (?version=N)."""

from __future__ import annotations

import copy

import pytest
from rest_framework.test import APIClient

from crisisflow.incidents.models import Task
from crisisflow.vocab import State
from tests.conftest import SMALL_PLAN, install_plan, text
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(people):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(people.outsider)  # anyone signed in reads the plans
    return client


@pytest.fixture
def two_versions(plan):
    newer = copy.deepcopy(SMALL_PLAN)
    newer["name"] = text("Small outage plan, revised")
    newer["tasks"] = newer["tasks"][:2]
    return plan, install_plan(newer)


def test_the_catalogue_lists_the_current_version_of_each_playbook(api, two_versions):
    _old, new = two_versions
    response = api.get("/api/playbooks/")
    assert response.status_code == 200
    [entry] = response.data
    assert entry["key"] == "small-outage"
    assert entry["version"] == new.number == 2 and entry["current"] is True
    assert entry["name"] == "Small outage plan, revised"
    assert entry["crisis_types"] == ["service_outage"]
    assert entry["severities"] == ["low", "medium", "high", "critical"]
    assert entry["roles"] == {"commander": 1, "pr": 1, "legal": 1}
    assert entry["first_statement_within"] == 4 * 3600
    assert entry["first_statement_within_critical"] == 2 * 3600
    assert entry["url"].endswith("/api/playbooks/small-outage/?version=2")


def test_one_playbook_with_its_tasks_current_or_older(api, two_versions):
    current = api.get("/api/playbooks/small-outage/")
    assert current.status_code == 200
    assert current.data["version"] == 2 and current.data["versions"] == [2, 1]
    assert [t["key"] for t in current.data["tasks"]] == ["legal-review", "holding-statement"]
    statement = current.data["tasks"][1]
    assert statement["title_localized"] == "Holding statement"
    assert statement["title"] == {"en": "Holding statement", "zh": "【Holding statement】"}
    assert statement["depends_on"] == ["legal-review"] and statement["gates"] == "info_published"
    assert statement["anchor"] == "detected" and statement["offset"] == 4 * 3600
    assert [item["en"] for item in statement["checklist"]] == ["Apologise", "State the facts", "Announce actions"]

    older = api.get("/api/playbooks/small-outage/?version=1")
    assert older.status_code == 200
    assert older.data["version"] == 1 and older.data["current"] is False
    assert len(older.data["tasks"]) == len(SMALL_PLAN["tasks"])


def test_what_is_not_there_is_a_404_and_a_bad_version_a_400(api, plan):
    for path in ("/api/playbooks/small-outage/?version=9", "/api/playbooks/no-such-plan/"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.data == {"detail": "No such playbook.", "field": None}
    for bad in ("abc", "0", "-1"):
        response = api.get(f"/api/playbooks/small-outage/?version={bad}")
        assert response.status_code == 400, bad
        assert response.data["field"] == "version"


def test_a_running_incident_keeps_its_pinned_version_readable(api, people, plan):
    incident = walk_to(people, report(people), State.PLAN_ACTIVATED)
    install_plan({**SMALL_PLAN, "tasks": SMALL_PLAN["tasks"][:1]})
    pinned = incident.playbook_version.number
    response = api.get(f"/api/playbooks/small-outage/?version={pinned}")
    keys = {t["key"] for t in response.data["tasks"]}
    assert set(Task.objects.filter(incident=incident).values_list("key", flat=True)) <= keys
