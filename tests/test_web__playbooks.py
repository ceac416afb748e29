"""The playbook browser: the list of loaded plans and one plan as swimlanes and as text."""

from __future__ import annotations

import copy
import re

import pytest
from django.urls import reverse

from crisisflow.playbooks.loader import load_playbooks
from crisisflow.playbooks.models import current_versions
from tests.conftest import SMALL_PLAN, H, install_plan

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return response.content.decode()


def detail(key: str = "small-outage") -> str:
    return reverse("playbook-detail", args=[key])


def test_playbook_pages_need_sign_in(client, plan):
    for url in (reverse("playbooks"), detail()):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- the list -----------------------------------------------------------------------------------


def test_the_list_shows_what_each_plan_is_for(browse, people, plan):
    html = text_of(browse(people.outsider).get(reverse("playbooks")))
    assert "Small outage plan" in html
    assert "For tests" in html  # the description
    assert "Service outage / technical fault" in html  # the crisis type it serves
    for value, label in (("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")):
        assert f'<span class="badge sev-{value}">{label}</span>' in html
    assert "Commander × 1" in html and "PR × 1" in html and "Legal × 1" in html
    assert re.search(r"<dt>Tasks</dt><dd>7</dd>", html)
    assert "within 4 h of detection" in html and "2 h when critical" in html
    assert f'href="{detail()}"' in html


def test_the_list_shows_only_current_versions(browse, people, plan):
    newer = copy.deepcopy(SMALL_PLAN)
    newer["name"] = {"en": "Small outage plan, revised", "zh": "小型故障预案（修订）"}
    install_plan(newer)
    html = text_of(browse(people.outsider).get(reverse("playbooks")))
    assert "Small outage plan, revised" in html
    assert "Small outage plan<" not in html
    assert "version 2" in html


def test_the_list_in_chinese(browse, people, plan):
    html = text_of(browse(people.outsider, "zh-hans").get(reverse("playbooks")))
    assert "小型故障预案" in html and "测试用" in html


def test_an_empty_list_says_how_to_load_plans(browse, people):
    html = text_of(browse(people.outsider).get(reverse("playbooks")))
    assert "load_playbooks" in html


def test_the_main_navigation_links_to_the_playbooks(browse, people, plan):
    html = text_of(browse(people.outsider).get(reverse("playbooks")))
    nav = html.split('class="main-nav"', 1)[1].split("</nav>", 1)[0]
    assert f'href="{reverse("playbooks")}"' in nav


# --- one plan: the picture --------------------------------------------------------------------------


def test_the_plan_is_drawn_as_swimlanes_with_a_box_per_task(browse, people, plan):
    response = browse(people.outsider).get(detail())
    assert response.status_code == 200
    html = text_of(response)
    assert html.count("<svg") == 2  # the lane names and the plan beside them
    # One lane per role, named.
    for role in ("Commander", "PR", "Legal"):
        assert re.search(rf'<tspan x="8" y="[0-9.]+">{role}</tspan>', html)
    # One box per task, linked to its text below, with the whole title as its tooltip.
    for task in SMALL_PLAN["tasks"]:
        assert f'href="#task-{task["key"]}"' in html
        assert f'id="task-{task["key"]}"' in html
    assert "<title>Holding statement — 4 h after detection · gates a step</title>" in html
    assert "<title>Regulator notice — 2 h after confirmation · only under conditions</title>" in html
    # Gating tasks are marked, dependencies are arrows, the golden line is there.
    assert html.count('class="sl-task stage-publish gating"') == 1
    assert html.count('class="sl-dep"') == 2  # holding-statement ← legal-review, follow-up ← root-cause
    assert "Golden 4 hours" in html and "Critical: 2 h" in html
    # The stages as bands, in order.
    bands = re.findall(r'class="sl-band stage-(\w+)"', html)
    assert bands == ["confirm", "activate", "assemble", "publish", "remediate", "review"]


def test_the_legend_explains_the_assumed_timeline_and_the_scale(browse, people, plan):
    html = text_of(browse(people.outsider).get(detail()))
    assert "the crisis confirmed 30 min after detection" in html
    assert "the plan activated at 1 h" in html
    assert "the team assembled at 1 h 30 min" in html
    assert "the first public statement out at 4 h" in html
    assert "The first 4 h are drawn to scale; after that each doubling of time" in html
    assert "gates a step: the incident cannot move on until it is done" in html


def test_the_picture_scrolls_inside_a_keyboard_reachable_box(browse, people, plan):
    html = text_of(browse(people.outsider).get(detail()))
    assert re.search(r'<div class="sl-scroll" tabindex="0" role="region" aria-labelledby="plan-picture-title">', html)
    assert 'href="#plan-text"' in html  # a way past the picture to the list


# --- one plan: the text -------------------------------------------------------------------------------


def test_the_plan_as_text_by_stage_and_role_with_due_times_in_words(browse, people, plan):
    html = text_of(browse(people.outsider).get(detail()))
    text = html.split('id="plan-text"', 1)[1]
    # Stages in the order of the response, then roles.
    stages = re.findall(r'<h3 class="stage-title pb-stage stage-(\w+)">', text)
    assert stages == ["publish", "remediate", "review"]
    assert "4 h after detection" in text
    assert "1 d after the first statement" in text
    assert "2 d after the team is assembled" in text
    assert "12 h after “Root cause” is done" in text
    assert "on the picture at 2 d 13 h 30 min" in text  # follow-up: 49.5 h + 12 h
    # Conditions, checklist, deliverable, gates, dependencies.
    assert "A regulator is involved or must be notified: yes" in text
    assert "severity at least High" in text
    assert "<li>Apologise</li>" in text and "<li>State the facts</li>" in text
    assert "First public (holding) statement" in text
    assert "the move to “Information published”" in text
    assert '<a href="#task-legal-review">Legal review</a>' in text
    assert "Do holding-statement" in text  # the instructions


def test_a_number_fact_condition_reads_as_a_comparison(browse, people):
    definition = copy.deepcopy(SMALL_PLAN)
    definition["tasks"][4]["facts"] = {"affected_users": {"gte": 100000}, "personal_data": False}
    install_plan(definition)
    html = text_of(browse(people.outsider).get(detail()))
    assert "affected users ≥ 100,000" in html
    assert "Personal data is involved: no" in html


def test_the_plan_in_chinese(browse, people, plan):
    html = text_of(browse(people.outsider, "zh-hans").get(detail()))
    assert "小型故障预案" in html
    assert "【Holding statement】" in html  # the zh side of the task titles
    assert "【Apologise】" in html


# --- versions -----------------------------------------------------------------------------------------------


def test_an_older_version_can_be_viewed(browse, people, plan):
    newer = copy.deepcopy(SMALL_PLAN)
    newer["tasks"][1]["title"] = {"en": "Holding statement, revised", "zh": "首次声明（修订）"}
    install_plan(newer)
    client = browse(people.outsider)

    current = text_of(client.get(detail()))
    assert "Holding statement, revised" in current and "older version" not in current

    old = client.get(detail() + "?version=1")
    assert old.status_code == 200
    html = text_of(old)
    assert "Holding statement, revised" not in html and "Holding statement" in html
    assert "This is an older version of the plan." in html
    assert f'href="{detail()}?version=2"' in html  # the other versions are a click away
    assert f'href="{detail()}"' in html  # and so is the current one


@pytest.mark.parametrize("query", ["?version=9", "?version=x", "?version=-1"])
def test_a_version_that_does_not_exist_is_404(browse, people, plan, query):
    assert browse(people.outsider).get(detail() + query).status_code == 404


def test_an_unknown_playbook_is_404(browse, people, plan):
    assert browse(people.outsider).get(detail("no-such-plan")).status_code == 404


# --- the built-in plans ------------------------------------------------------------------------------------------


def test_every_built_in_playbook_renders_in_both_languages(browse, people):
    load_playbooks()
    versions = current_versions()
    assert len(versions) >= 12
    client = browse(people.outsider)
    for language in ("en", "zh-hans"):
        client.cookies["django_language"] = language
        listing = text_of(client.get(reverse("playbooks")))
        for version in versions:
            assert f'href="{detail(version.key)}"' in listing
            response = client.get(detail(version.key))
            assert response.status_code == 200, version.key
            html = text_of(response)
            for task in version.tasks:
                assert f'id="task-{task["key"]}"' in html
            assert "sl-marker-golden" in html


def test_a_plan_with_a_long_first_statement_clock_marks_it_beside_the_golden_line(browse, people):
    definition = {**copy.deepcopy(SMALL_PLAN), "severities": ["low"], "first_statement_within": 8 * H}
    definition["first_statement_within_critical"] = None
    install_plan(definition)
    html = text_of(browse(people.outsider).get(detail()))
    assert "First statement: 8 h" in html
    assert "the first public statement out at 8 h" in html


def test_the_list_costs_the_same_few_queries_however_many_plans(browse, people, django_assert_max_num_queries):
    load_playbooks()
    client = browse(people.outsider)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("playbooks")).status_code == 200
