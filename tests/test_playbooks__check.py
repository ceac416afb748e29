"""The playbook checker: every rule of playbooks/README.md, each error at its exact line.

Most bad files below start with HEADER (lines 1-6, a valid low-severity plan up to
`tasks:`), so the first task's `- key:` is always line 7.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from crisisflow.playbooks.schema import PlaybookError, check_files, check_text, default_paths, format_duration
from tests.playbook_samples import VALID_PLAYBOOK, write_playbook

HEADER = """\
key: plan
name: {zh: 预案, en: Plan}
description: {zh: 说明, en: About}
serves: {crisis_types: [service_outage], severities: [low]}
roles: {commander: 1, pr: 1}
tasks:
"""

ROLES = "commander, pr, legal, customer_service, brand_marketing, analyst, tech_security, executive or observer"
DURATION = "whole days, hours and minutes in that order, like 30m, 4h, 1h30m or 2d12h"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Checked by relative path, so error lines read "plan.yaml:7: ..." as on the command line.
    monkeypatch.chdir(tmp_path)
    return tmp_path


def errors_in(workdir: Path, text: str, name: str = "plan.yaml") -> list[str]:
    write_playbook(workdir, name, text)
    definitions, errors = check_files([Path(name)])
    assert (name in definitions) == (not errors)
    return [str(error) for error in errors]


# --- a valid file ---------------------------------------------------------------------------


def test_valid_playbook_is_normalised():
    definition, errors = check_text(VALID_PLAYBOOK, "sample.yaml")
    assert errors == []
    assert definition == {
        "key": "sample-outage",
        "name": {"zh": "示例预案", "en": "Sample plan"},
        "description": {"zh": "用于测试。", "en": "For tests."},
        "crisis_types": ["service_outage"],
        "severities": ["medium", "high"],
        "defines_crisis_types": [],
        "first_statement_within": 3 * 3600,
        "first_statement_within_critical": None,
        "roles": {"commander": 1, "pr": 2},
        "tasks": [
            {
                "key": "confirm",
                "title": {"zh": "确认危机", "en": "Confirm the crisis"},
                "instructions": {"zh": "核实信号。", "en": "Verify the signals."},
                "role": "commander",
                "stage": "confirm",
                "anchor": "detected",
                "offset": 3600,
                "depends_on": [],
                "checklist": [],
                "severity_at_least": None,
                "facts": {},
                "gates": "confirmed",
                "deliverable": "none",
                "alerts": None,
            },
            {
                "key": "holding-statement",
                "title": {"zh": "首次声明", "en": "Holding statement"},
                "instructions": {"zh": "态度、事实、行动。", "en": "Attitude, facts, action."},
                "role": "pr",
                "stage": "publish",
                "anchor": "detected",
                "offset": 2 * 3600 + 30 * 60,
                "depends_on": ["confirm"],
                "checklist": [{"zh": "致歉", "en": "Apologise"}],
                "severity_at_least": None,
                "facts": {},
                "gates": "info_published",
                "deliverable": "holding_statement",
                "alerts": None,
            },
            {
                "key": "follow-up",
                "title": {"zh": "跟进声明", "en": "Follow-up statement"},
                "instructions": {"zh": "公布进展。", "en": "Publish progress."},
                "role": "pr",
                "stage": "remediate",
                "anchor": "task:holding-statement",
                "offset": 86400,
                "depends_on": ["holding-statement"],
                "checklist": [],
                "severity_at_least": "high",
                "facts": {"affected_users": {"gt": 10000, "lte": 5000000}, "media_coverage": True},
                "gates": None,
                "deliverable": "public_statement",
                "alerts": None,
            },
        ],
    }


def test_default_first_statement_clock_is_four_hours():
    text = VALID_PLAYBOOK.replace("first_statement_within: 3h\n", "first_statement_within_critical: 1h\n")
    definition, errors = check_text(text, "sample.yaml")
    assert errors == []
    assert definition["first_statement_within"] == 4 * 3600
    assert definition["first_statement_within_critical"] == 3600


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("30m", 1800), ("4h", 14400), ("3d", 259200), ("1h30m", 5400), ("2d12h", 216000), ("1d2h3m", 93780)],
)
def test_durations_in_seconds(duration: str, seconds: int):
    definition, errors = check_text(
        HEADER + f"- {{key: a, title: {{zh: 一, en: One}}, instructions: {{zh: 做, en: Do}}, "
        f"role: pr, stage: confirm, due: {{anchor: detected, offset: {duration}}}}}\n",
        "p",
    )
    assert errors == []
    assert definition["tasks"][0]["offset"] == seconds
    assert format_duration(seconds) == duration


def test_error_line_format():
    assert str(PlaybookError("playbooks/x.yaml", 12, "tasks[3].due.anchor", "bad")) == (
        "playbooks/x.yaml:12: tasks[3].due.anchor: bad"
    )


# --- malformed files, one rule at a time ---------------------------------------------------------


def test_bad_yaml_syntax(workdir):
    text = HEADER + "- key: first\n  title: {zh: 一, en: One\n  role: pr\n"
    assert errors_in(workdir, text) == [
        "plan.yaml:9: (file): invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping on line 8)"
    ]


def test_empty_file_and_not_a_mapping(workdir):
    assert errors_in(workdir, "# nothing yet\n") == [
        "plan.yaml:1: (file): the file is empty; expected a playbook (a mapping of fields)"
    ]
    assert errors_in(workdir, "- key: plan\n") == [
        "plan.yaml:1: (file): expected a playbook (a mapping of fields), found a list"
    ]


def test_two_yaml_documents(workdir):
    text = "key: plan\n---\nkey: other\n"
    assert errors_in(workdir, text) == [
        "plan.yaml:2: (file): invalid YAML: a playbook file holds one document, found a second one (after '---')"
    ]


def test_unknown_role(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: ceo
  stage: confirm
  due: {anchor: detected, offset: 1h}
"""
    )
    assert errors_in(workdir, text) == [f"plan.yaml:10: tasks[0].role: unknown role 'ceo' (expected {ROLES})"]


def test_unknown_role_in_roles(workdir):
    text = (
        HEADER.replace("roles: {commander: 1, pr: 1}", "roles: {commander: 1, spokesperson: 1}")
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
"""
    )
    assert errors_in(workdir, text) == [
        f"plan.yaml:5: roles.spokesperson: unknown role 'spokesperson' (expected {ROLES})"
    ]


def test_role_not_in_roles(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: legal
  stage: confirm
  due: {anchor: detected, offset: 1h}
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:10: tasks[0].role: role 'legal' is not one of the roles this plan needs "
        "(roles: commander, pr); add it under roles"
    ]


def test_bad_role_counts(workdir):
    text = (
        HEADER.replace("roles: {commander: 1, pr: 1}", "roles: {commander: 0, pr: two}")
        + """\
- {key: first, title: {zh: 一, en: One}, instructions: {zh: 做, en: Do}, role: pr, stage: confirm,
   due: {anchor: detected, offset: 1h}}
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:5: roles.commander: expected the minimum number of people (an integer of at least 1), found 0",
        "plan.yaml:5: roles.pr: expected the minimum number of people (an integer), found the string 'two'",
    ]


def test_unknown_anchor(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due:
    anchor: outbreak
    offset: 1h
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:13: tasks[0].due.anchor: unknown anchor 'outbreak' "
        "(expected detected, confirmed, plan_activated, team_assembled, first_statement or task:<key>)"
    ]


def test_task_anchor_must_be_a_dependency(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
- key: second
  title: {zh: 二, en: Two}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: "task:first", offset: 2h}
- key: third
  title: {zh: 三, en: Three}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: "task:frist", offset: 2h}
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:18: tasks[1].due.anchor: the anchor task 'first' must also be listed in depends_on "
        "(a task cannot fall due before the task it counts from is done)",
        "plan.yaml:24: tasks[2].due.anchor: unknown task 'frist' in anchor (did you mean 'first'?)",
    ]


def test_dependency_cycle(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
  depends_on: [third]
- key: second
  title: {zh: 二, en: Two}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 2h}
  depends_on: [first]
- key: third
  title: {zh: 三, en: Three}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: "task:second", offset: 2h}
  depends_on:
    - second
- key: lonely
  title: {zh: 四, en: Four}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 2h}
  depends_on: [lonely]
"""
    )
    # One error per tangle, at the first task of the cycle (its depends_on entry).
    assert errors_in(workdir, text) == [
        "plan.yaml:13: tasks[0].depends_on: dependency cycle: first -> third -> second -> first",
        "plan.yaml:35: tasks[3].depends_on: dependency cycle: lonely -> lonely",
    ]


def test_depends_on_unknown_task(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
- key: second
  title: {zh: 二, en: Two}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 2h}
  depends_on:
    - first
    - legal-review
    - first
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:21: tasks[1].depends_on[1]: unknown task 'legal-review' (no task in this file has that key)",
        "plan.yaml:22: tasks[1].depends_on[2]: task 'first' is listed twice",
    ]


def test_duplicate_mapping_key(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h, offset: 2h}
  role: pr
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:12: tasks[0].due.offset: duplicate key 'offset' (first given on line 12); "
        "each field may appear only once",
        "plan.yaml:13: tasks[0].role: duplicate key 'role' (first given on line 10); each field may appear only once",
    ]


def test_duplicate_task_keys(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
- title: {zh: 二, en: Two}
  key: first
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 2h}
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:14: tasks[1].key: duplicate task key 'first' (already used by tasks[0] on line 7)"
    ]


def test_bad_durations(workdir):
    tasks = "".join(
        f"- {{key: t{i}, title: {{zh: 一, en: One}}, instructions: {{zh: 做, en: Do}}, role: pr, stage: confirm, "
        f"due: {{anchor: detected, offset: {offset}}}}}\n"
        for i, offset in enumerate(['"4x"', "0h", '""', "h4", "30", "1m4h", "1.5h", "4h ", "~"])
    )
    assert errors_in(workdir, HEADER + tasks) == [
        f"plan.yaml:7: tasks[0].due.offset: invalid duration '4x' (expected {DURATION})",
        "plan.yaml:8: tasks[1].due.offset: a duration must be greater than zero, found '0h'",
        f"plan.yaml:9: tasks[2].due.offset: expected a duration ({DURATION}), found an empty string",
        f"plan.yaml:10: tasks[3].due.offset: invalid duration 'h4' (expected {DURATION})",
        f"plan.yaml:11: tasks[4].due.offset: expected a duration ({DURATION}), found the integer 30",
        f"plan.yaml:12: tasks[5].due.offset: invalid duration '1m4h' (expected {DURATION})",
        f"plan.yaml:13: tasks[6].due.offset: invalid duration '1.5h' (expected {DURATION})",
        # A flow-style plain scalar drops the trailing space, so this one is valid:
        # (no error on line 14)
        f"plan.yaml:15: tasks[8].due.offset: expected a duration ({DURATION}), found nothing (an empty value)",
    ]


def test_bad_top_level_durations(workdir):
    text = HEADER.replace("tasks:\n", "first_statement_within: 0m\nfirst_statement_within_critical: 4 hours\ntasks:\n")
    text += "- {key: a, title: {zh: 一, en: One}, instructions: {zh: 做, en: Do}, role: pr, stage: confirm,\n"
    text += "   due: {anchor: detected, offset: 1h}}\n"
    assert errors_in(workdir, text) == [
        "plan.yaml:6: first_statement_within: a duration must be greater than zero, found '0m'",
        f"plan.yaml:7: first_statement_within_critical: invalid duration '4 hours' (expected {DURATION})",
    ]


def test_missing_translation(workdir):
    text = """\
key: plan
name:
  zh: 预案
description: {en: About}
serves: {crisis_types: [service_outage], severities: [low]}
roles: {commander: 1}
tasks:
- key: first
  title: {zh: 一, en: ""}
  instructions: Do it
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
  checklist:
    - {zh: 一}
    - {zh: 二, en: Two, fr: Deux}
"""
    assert errors_in(workdir, text) == [
        "plan.yaml:3: name.en: missing translation (a text needs both zh and en)",
        "plan.yaml:4: description.zh: missing translation (a text needs both zh and en)",
        "plan.yaml:9: tasks[0].title.en: expected a non-empty string, found an empty string",
        "plan.yaml:10: tasks[0].instructions: expected a text with zh and en, found the string 'Do it'",
        "plan.yaml:15: tasks[0].checklist[0].en: missing translation (a text needs both zh and en)",
        "plan.yaml:16: tasks[0].checklist[1].fr: unknown field 'fr' (allowed here: zh, en)",
    ]


def test_condition_on_unknown_fact(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
  conditions:
    facts:
      affected_users: {gt: 100}
      weather: true
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:16: tasks[0].conditions.facts.weather: unknown fact 'weather' (expected affected_users, "
        "personal_data, injuries, financial_loss, regulator_involved or media_coverage)"
    ]


def test_wrong_fact_test_type(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
  conditions:
    facts:
      affected_users: 10000
      personal_data: "yes please"
      injuries: 1
- key: second
  title: {zh: 二, en: Two}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 2h}
  conditions:
    facts:
      affected_users: {more_than: 5, gte: many, lt: true}
"""
    )
    number_test = "a mapping of one or more of gt, gte, lt, lte or eq -> integer, like {gt: 10000}"
    assert errors_in(workdir, text) == [
        f"plan.yaml:15: tasks[0].conditions.facts.affected_users: affected_users is a number fact: expected "
        f"{number_test}, found the integer 10000",
        "plan.yaml:16: tasks[0].conditions.facts.personal_data: personal_data is a yes/no fact: "
        "expected true or false, found the string 'yes please'",
        "plan.yaml:17: tasks[0].conditions.facts.injuries: injuries is a yes/no fact: "
        "expected true or false, found the integer 1",
        "plan.yaml:26: tasks[1].conditions.facts.affected_users.more_than: unknown comparison 'more_than' "
        "(expected gt, gte, lt, lte or eq)",
        "plan.yaml:26: tasks[1].conditions.facts.affected_users.gte: expected a number to compare affected_users "
        "with (an integer), "
        "found the string 'many'",
        "plan.yaml:26: tasks[1].conditions.facts.affected_users.lt: expected a number to compare affected_users "
        "with (an integer), "
        "found the yes/no value true",
    ]


def test_unknown_stage(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: contain
  due: {anchor: detected, offset: 1h}
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:11: tasks[0].stage: unknown stage 'contain' "
        "(expected confirm, activate, assemble, publish, remediate or review)"
    ]


def test_unknown_severity(workdir):
    text = (
        HEADER.replace("severities: [low]", "severities: [low, urgent]")
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
  conditions: {severity_at_least: severe}
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:4: serves.severities[1]: unknown severity 'urgent' (expected low, medium, high or critical)",
        "plan.yaml:13: tasks[0].conditions.severity_at_least: unknown severity 'severe' "
        "(expected low, medium, high or critical)",
    ]


def test_unknown_fields(workdir):
    text = (
        HEADER.replace("tasks:\n", "owner: pr-team\ntasks:\n")
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h, ofset: 2h}
  assignee: alice
  conditions: {severity: high}
"""
    )
    task_fields = (
        "key, title, instructions, role, stage, due, depends_on, checklist, conditions, gates, deliverable, alerts"
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:6: owner: unknown field 'owner' (allowed here: key, name, description, serves, "
        "defines_crisis_types, first_statement_within, first_statement_within_critical, roles, tasks, statements)",
        "plan.yaml:13: tasks[0].due.ofset: unknown field 'ofset' (allowed here: anchor, offset)",
        f"plan.yaml:14: tasks[0].assignee: unknown field 'assignee' (allowed here: {task_fields})",
        "plan.yaml:15: tasks[0].conditions.severity: unknown field 'severity' (allowed here: severity_at_least, facts)",
    ]


def test_gates_an_unknown_state(workdir):
    text = (
        HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
  gates: reported
  deliverable: press_release
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:13: tasks[0].gates: unknown state to gate 'reported' (expected confirmed, plan_activated, "
        "team_assembled, info_published, remediating, in_review or closed)",
        "plan.yaml:14: tasks[0].deliverable: unknown deliverable 'press_release' (expected none, "
        "holding_statement, public_statement, internal_notice, cs_script, regulator_notice, user_notification, "
        "compensation_plan, apology_letter, media_briefing, opinion_report, root_cause_report, "
        "transparency_report or review_report)",
    ]


def test_missing_fields_and_wrong_types(workdir):
    text = """\
key: Plan One
name: {zh: 预案, en: Plan}
serves: {crisis_types: service_outage, severities: []}
roles: [commander]
tasks:
- key: first
  title: {zh: 一, en: One}
  role: commander
  due: 1h
  checklist: {zh: 一, en: One}
- just a string
"""
    assert errors_in(workdir, text) == [
        "plan.yaml:1: description: required field is missing",
        "plan.yaml:1: key: invalid playbook key 'Plan One' (use lower-case letters, digits, '-' and '_', "
        "starting with a letter or digit)",
        "plan.yaml:3: serves.crisis_types: expected a list of crisis types, found the string 'service_outage'",
        "plan.yaml:3: serves.severities: expected a list of severities with at least one entry, found an empty list",
        "plan.yaml:4: roles: expected a mapping of role -> minimum number of people, found a list",
        "plan.yaml:6: tasks[0].instructions: required field is missing",
        "plan.yaml:6: tasks[0].stage: required field is missing",
        "plan.yaml:9: tasks[0].due: expected a mapping with anchor and offset, found the string '1h'",
        "plan.yaml:10: tasks[0].checklist: expected a list of texts, found a mapping",
        "plan.yaml:11: tasks[1]: expected a task (a mapping of fields), found the string 'just a string'",
    ]


# --- the golden 4 hours ----------------------------------------------------------------------------

GOLDEN_HEADER = HEADER.replace("severities: [low]", "severities: [medium, high]")


def test_high_severity_plan_needs_a_holding_statement(workdir):
    text = (
        GOLDEN_HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 1h}
  gates: info_published
  deliverable: public_statement
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:6: tasks: a plan serving high or critical severity needs a holding statement "
        "(the golden 4 hours): a task with deliverable holding_statement, anchored on detected, "
        "due within 4h and gating info_published; none found"
    ]
    # The same plan for low and medium incidents needs none.
    assert errors_in(workdir, text.replace("[medium, high]", "[medium]")) == []


def test_holding_statement_due_later_than_four_hours(workdir):
    text = (
        GOLDEN_HEADER
        + """\
- key: statement
  title: {zh: 声明, en: Statement}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 4h1m}
  gates: info_published
  deliverable: holding_statement
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:12: tasks[0].due.offset: the holding statement is due 4h1m after detection; a plan serving "
        "high or critical severity must publish it within 4h (first_statement_within, at most 4h)"
    ]
    assert errors_in(workdir, text.replace("4h1m", "4h")) == []


def test_holding_statement_later_than_the_plans_own_clock(workdir):
    text = (
        GOLDEN_HEADER.replace("tasks:\n", "first_statement_within: 2h\ntasks:\n")
        + """\
- key: statement
  title: {zh: 声明, en: Statement}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 3h}
  gates: info_published
  deliverable: holding_statement
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:13: tasks[0].due.offset: the holding statement is due 3h after detection; a plan serving "
        "high or critical severity must publish it within 2h (first_statement_within, at most 4h)"
    ]


def test_golden_clock_itself_at_most_four_hours(workdir):
    text = (
        GOLDEN_HEADER.replace("tasks:\n", "first_statement_within: 6h\nfirst_statement_within_critical: 8h\ntasks:\n")
        + """\
- key: statement
  title: {zh: 声明, en: Statement}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 4h}
  gates: info_published
  deliverable: holding_statement
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:6: first_statement_within: a plan serving high or critical severity must make its first "
        "statement within 4h of detection (the golden 4 hours), found 6h",
        "plan.yaml:7: first_statement_within_critical: the critical clock must not be longer than "
        "first_statement_within (6h), found 8h",
    ]


def test_holding_statement_wrong_anchor_and_no_gate(workdir):
    text = (
        GOLDEN_HEADER
        + """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
- key: statement
  title: {zh: 声明, en: Statement}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: "task:first", offset: 1h}
  depends_on: [first]
  deliverable: holding_statement
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:13: tasks[1].gates: the holding statement must gate info_published "
        "(nothing is published before it), found no gates",
        "plan.yaml:18: tasks[1].due.anchor: the holding statement must be anchored on detected "
        "(the golden 4 hours count from detection), found 'task:first'",
    ]


# --- rules across files ------------------------------------------------------------------------------

ONE_TASK = (
    "- {key: a, title: {zh: 一, en: One}, instructions: {zh: 做, en: Do}, role: pr, stage: confirm,\n"
    "   due: {anchor: detected, offset: 1h}}\n"
)


def test_two_files_with_the_same_key(workdir):
    write_playbook(workdir, "a.yaml", HEADER + ONE_TASK)
    write_playbook(workdir, "b.yaml", "# copied from a.yaml\n" + HEADER + ONE_TASK)
    definitions, errors = check_files([Path("a.yaml"), Path("b.yaml")])
    assert definitions == {}
    assert [str(e) for e in errors] == [
        "a.yaml:1: key: playbook key 'plan' is also used by b.yaml (each file needs its own key)",
        "b.yaml:2: key: playbook key 'plan' is also used by a.yaml (each file needs its own key)",
    ]


def test_unknown_crisis_type(workdir):
    text = HEADER.replace("[service_outage]", "[service_outage, celebrity_scandal]") + ONE_TASK
    builtin = (
        "data_breach, service_outage, product_quality, product_safety, counterfeit, service_quality, "
        "supply_chain, cyber_attack, user_misunderstanding, negative_opinion, regulatory_change, partner_event"
    )
    assert errors_in(workdir, text) == [
        f"plan.yaml:4: serves.crisis_types[1]: unknown crisis type 'celebrity_scandal' (expected a built-in "
        f"type: {builtin}; or one a playbook defines under defines_crisis_types)"
    ]


def test_crisis_type_defined_by_another_file(workdir):
    definer = (
        HEADER.replace(
            "tasks:\n",
            "defines_crisis_types:\n  - key: celebrity_scandal\n"
            "    name: {zh: 代言人丑闻, en: Celebrity scandal}\ntasks:\n",
        )
        + ONE_TASK
    )
    user = HEADER.replace("key: plan", "key: other").replace("[service_outage]", "[celebrity_scandal]") + ONE_TASK
    write_playbook(workdir, "definer.yaml", definer)
    write_playbook(workdir, "user.yaml", user)
    definitions, errors = check_files([Path("definer.yaml"), Path("user.yaml")])
    assert errors == []
    assert definitions["definer.yaml"]["defines_crisis_types"] == [
        {"key": "celebrity_scandal", "name": {"zh": "代言人丑闻", "en": "Celebrity scandal"}}
    ]
    assert definitions["user.yaml"]["crisis_types"] == ["celebrity_scandal"]

    # Alone, the user file names a type nobody defines.
    _, errors = check_files([Path("user.yaml")])
    assert [e.field for e in errors] == ["serves.crisis_types[0]"]


def test_cannot_redefine_a_builtin_crisis_type(workdir):
    text = (
        HEADER.replace(
            "tasks:\n", "defines_crisis_types:\n  - {key: data_breach, name: {zh: 泄露, en: Leak}}\ntasks:\n"
        )
        + ONE_TASK
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:7: defines_crisis_types[0].key: 'data_breach' is already a built-in crisis type"
    ]


def test_yaml_tags_and_aliases(workdir):
    text = (
        HEADER.replace("roles: {commander: 1, pr: 1}", "roles: {commander: !!int one, pr: !secret 1}")
        + """\
- &task
  key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: commander
  stage: confirm
  due: {anchor: detected, offset: 1h}
  checklist: [*task]
"""
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:5: roles.commander: 'one' is not a valid YAML int (remove the !!int tag)",
        "plan.yaml:5: roles.pr: unsupported YAML tag '!secret' (write a plain value)",
        "plan.yaml:7: tasks[0]: YAML anchors (&task) are not allowed in a playbook; write the value out in full",
        "plan.yaml:14: tasks[0].checklist[0]: YAML aliases (*task) are not allowed in a playbook; "
        "write the value out in full",
    ]


def test_unreadable_file(workdir):
    (workdir / "latin1.yaml").write_bytes("key: plan\nname: caf\xe9\n".encode("latin-1"))
    _, errors = check_files([Path("latin1.yaml"), Path("missing.yaml")])
    assert [str(e) for e in errors] == [
        "latin1.yaml:2: (file): the file is not valid UTF-8 (invalid continuation byte at byte 19)",
        "missing.yaml:1: (file): cannot read the file: No such file or directory",
    ]


# --- files made to hurt the parser: each is a clean error at its line, at once --------------------

# The "billion laughs": 9 levels of 9 aliases each, 10^9 strings once expanded (the file).
YAML_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_a_yaml_bomb_is_refused_without_being_expanded(workdir):
    """Through manage.py, with a memory ceiling: expanding the aliases would need gigabytes."""
    write_playbook(workdir, "bomb.yaml", YAML_BOMB)
    base = str(settings.BASE_DIR)
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
    run = f"{limit}import runpy, sys; sys.path.insert(0, {base!r}); "
    run += "sys.argv = ['manage.py', 'check_playbooks', 'bomb.yaml']; "
    run += f"runpy.run_path({str(Path(base) / 'manage.py')!r}, run_name='__main__')"
    failed = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, cwd=workdir, timeout=120)
    assert failed.returncode == 1, failed.stderr
    refused = [line for line in failed.stdout.splitlines() if "YAML a" in line]
    assert refused[:3] == [
        "bomb.yaml:1: a: YAML anchors (&a) are not allowed in a playbook; write the value out in full",
        "bomb.yaml:2: b: YAML anchors (&b) are not allowed in a playbook; write the value out in full",
        "bomb.yaml:2: b[0]: YAML aliases (*a) are not allowed in a playbook; write the value out in full",
    ]
    assert len(refused) == 9 + 8 * 9  # every anchor and every alias, once
    assert "Traceback" not in failed.stderr


def test_anchors_and_aliases_are_refused_wherever_they_are(workdir):
    text = HEADER.replace("roles: {commander: 1, pr: 1}", "roles: &roles {commander: 1, pr: 1}") + (
        "- key: first\n"
        "  title: &title {zh: 一, en: One}\n"
        "  instructions: *title\n"
        "  role: pr\n"
        "  stage: confirm\n"
        "  due: {anchor: detected, offset: 1h}\n"
        "  *title : 1\n"
        "  <<: *roles\n"
    )
    assert errors_in(workdir, text) == [
        "plan.yaml:5: roles: YAML anchors (&roles) are not allowed in a playbook; write the value out in full",
        "plan.yaml:8: tasks[0].title: YAML anchors (&title) are not allowed in a playbook; write the value out in full",
        "plan.yaml:9: tasks[0].instructions: YAML aliases (*title) are not allowed in a playbook; "
        "write the value out in full",
        "plan.yaml:13: tasks[0]: YAML aliases (*title) are not allowed in a playbook; write the value out in full",
        "plan.yaml:14: tasks[0].<<: YAML aliases (*roles) are not allowed in a playbook; write the value out in full",
        "plan.yaml:14: tasks[0].<<: unknown field '<<' (allowed here: key, title, instructions, role, stage, due, "
        "depends_on, checklist, conditions, gates, deliverable, alerts)",
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("key: plan\nname: " + "[" * 5000 + "]" * 5000 + "\n", 2),  # flow: one line, 5,000 deep
        ("key: plan\n" + "".join("  " * i + f"k{i}:\n" for i in range(40)), 21),  # block mappings
        ("key:\n" + "".join("  " * (i + 1) + "-\n" for i in range(40)), 21),  # block lists
    ],
)
def test_deep_nesting_stops_at_its_line(workdir, text, line):
    assert errors_in(workdir, text) == [f"plan.yaml:{line}: (file): values are nested more than 20 levels deep"]


def test_too_many_values(workdir):
    text = HEADER + "- {key: a, checklist: [" + ", ".join(["x"] * 20_000) + "]}\n"
    assert errors_in(workdir, text) == [
        "plan.yaml:7: (file): the file holds more than 10,000 values; a playbook needs far fewer"
    ]


def test_huge_values_and_field_names(workdir):
    text = HEADER + (f"- key: first\n  title: {{zh: 一, en: {'x' * 20_000}}}\n  {'y' * 500}: 1\n  role: {'z' * 5000}\n")
    errors = errors_in(workdir, text)
    assert "plan.yaml:8: tasks[0].title.en: the value is 20,000 characters long; at most 10,000 are allowed" in errors
    assert "plan.yaml:9: tasks[0]: a field name of 500 characters (at most 100)" in errors
    assert f"plan.yaml:10: tasks[0].role: unknown role '{'z' * 57}...' (expected {ROLES})" in errors
    assert max(len(error) for error in errors) < 300


def test_huge_integers(workdir):
    text = HEADER.replace("pr: 1}", f"pr: {'9' * 5000}}}") + ONE_TASK
    assert errors_in(workdir, text) == ["plan.yaml:5: roles.pr: the number has more than 18 digits"]


def test_a_file_over_the_size_limit_is_not_read(workdir, settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "PLAYBOOK_MAX_BYTES": 1000}
    write_playbook(workdir, "big.yaml", "# " + "x" * 2000 + "\n" + VALID_PLAYBOOK)
    definitions, errors = check_files([Path("big.yaml")])
    assert definitions == {}
    assert [str(e) for e in errors] == [
        "big.yaml:1: (file): the file is 3,297 bytes; a playbook may be at most 1,000 bytes "
        "(CRISISFLOW_PLAYBOOK_MAX_BYTES)"
    ]
    # The same limit when the text comes from somewhere else than a file.
    _, errors = check_text("# " + "é" * 600 + "\n", "text.yaml")
    assert [str(e) for e in errors] == [
        "text.yaml:1: (file): the file is 1,203 bytes; a playbook may be at most 1,000 bytes "
        "(CRISISFLOW_PLAYBOOK_MAX_BYTES)"
    ]


def test_the_size_limit_defaults_to_256_kib(workdir):
    write_playbook(workdir, "big.yaml", "# " + "x" * (256 * 1024) + "\n")
    _, errors = check_files([Path("big.yaml")])
    assert [str(e) for e in errors] == [
        "big.yaml:1: (file): the file is 262,147 bytes; a playbook may be at most 262,144 bytes "
        "(CRISISFLOW_PLAYBOOK_MAX_BYTES)"
    ]


def test_devices_and_folders_are_not_read(workdir):
    (workdir / "folder.yaml").mkdir()
    # /dev/null stands for every device: /dev/zero, which never ends, is refused the same way.
    _, errors = check_files([Path("/dev/null"), Path("folder.yaml")])
    assert [str(e) for e in errors] == [
        "/dev/null:1: (file): not a regular file",
        "folder.yaml:1: (file): not a regular file",
    ]


@pytest.mark.parametrize(("character", "code"), [("\x00", "U+0000"), ("\x1b", "U+001B"), ("\ufffe", "U+FFFE")])
def test_control_characters(workdir, character, code):
    text = HEADER.replace("name: {zh: 预案, en: Plan}", f"name: {{zh: 预案, en: Pl{character}an}}") + ONE_TASK
    assert errors_in(workdir, text) == [
        f"plan.yaml:2: (file): invalid YAML: the file contains the character {code}, "
        "which YAML does not allow (a control character)"
    ]


def test_python_tags_are_refused_and_never_run(workdir):
    touched = workdir / "touched"
    text = HEADER.replace("key: plan", f"key: !!python/object/apply:pathlib.Path.touch [{str(touched)!r}]").replace(
        "name: {zh: 预案, en: Plan}", "name: !!python/name:os.system {}"
    ).replace(
        "description: {zh: 说明, en: About}", "description: {zh: !!python/str 说明, en: !!binary About}"
    ) + ONE_TASK.replace("role: pr", "role: !!python/object:builtins.dict {}")
    assert errors_in(workdir, text) == [
        "plan.yaml:1: key: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:pathlib.Path.touch' "
        "(write a plain list)",
        "plan.yaml:2: name: unsupported YAML tag 'tag:yaml.org,2002:python/name:os.system' (write a plain mapping)",
        "plan.yaml:3: description.zh: '说明' is not a valid YAML python/str (remove the !!python/str tag)",
        "plan.yaml:3: description.en: 'About' is not a valid YAML binary (remove the !!binary tag)",
        "plan.yaml:7: tasks[0].role: unsupported YAML tag 'tag:yaml.org,2002:python/object:builtins.dict' "
        "(write a plain mapping)",
    ]
    assert not touched.exists()


def test_plain_values_that_look_typed_but_are_not(workdir):
    text = HEADER.replace("key: plan", "key: 2026-13-45") + ONE_TASK
    assert errors_in(workdir, text) == [
        "plan.yaml:1: key: '2026-13-45' cannot be read as a YAML timestamp (put it in quotes if it is text)"
    ]


def test_a_long_dependency_chain(workdir):
    """1,500 tasks each depending on the next: the cycle search must not recurse per task."""
    tasks = (
        "".join(f"- {{key: t{i}, depends_on: [t{i + 1}]}}\n" for i in range(1500))
        + "- {key: t1500, depends_on: [t0]}\n"
    )
    errors = errors_in(workdir, HEADER + tasks)
    assert len(errors) == 101
    assert errors[0].startswith("plan.yaml:1: (file): ")
    assert errors[0].endswith("more errors are not listed (only the first 100); fix these and check again")


def test_at_most_100_errors_are_listed(workdir):
    text = HEADER + "- {key: a, " + ", ".join(f"f{i}: 1" for i in range(150)) + "}\n"
    errors = errors_in(workdir, text)
    assert len(errors) == 101
    assert (
        errors[0]
        == "plan.yaml:1: (file): 55 more errors are not listed (only the first 100); fix these and check again"
    )
    assert errors[1].startswith("plan.yaml:7: tasks[0].f0: unknown field 'f0'")


# (The bomb itself runs in a subprocess with a memory ceiling, above: in here it would
# take the whole test run down with it on a checker that expands aliases.)
ABUSE = {
    "small-bomb": YAML_BOMB.split("d:")[0],
    "deep": "a: " + "{a: " * 3000 + "}" * 3000 + "\n",
    "nul": "key: plan\x00\n",
    "tag": "!!python/object/new:os.system [echo pwned]\n",
    "alias-key": "&a a: *a\n",
    "recursive": "&a [*a]\n",
    "merge": "a: &a {b: 1}\nc: {<<: *a}\n",
    "dup-anchor": "a: &x 1\nb: &x 2\nc: *x\n",
    "undefined-alias": "a: *nowhere\n",
    "huge-int": "a: " + "1" * 10_000 + "\n",
    "huge-float": "a: 1e999999\n",
    "set": "a: !!set {x, y}\n",
    "timestamp": "a: !!timestamp yesterday\n",
}


@pytest.mark.parametrize("name", ABUSE)
def test_no_file_gets_a_traceback(workdir, capsys, name):
    write_playbook(workdir, f"{name}.yaml", ABUSE[name])
    with pytest.raises(CommandError, match=r"^\d+ errors? in 1 file$"):
        call_command("check_playbooks", f"{name}.yaml")
    lines = capsys.readouterr().out.splitlines()
    assert lines
    assert all(re.fullmatch(rf"{re.escape(name)}\.yaml:\d+: \S+: .+", line) for line in lines), lines


# --- all errors at once --------------------------------------------------------------------------------


def test_a_file_with_several_errors_reports_all_of_them(workdir):
    text = """\
key: plan
name: {zh: 预案, en: Plan}
description: {zh: 说明}
serves: {crisis_types: [service_outage, ufo_sighting], severities: [critical]}
roles: {commander: 1, pr: 1}
tasks:
- key: statement
  title: {zh: 声明, en: Statement}
  instructions: {zh: 做, en: Do it}
  role: legal
  stage: publish
  due: {anchor: detected, offset: 5h}
  gates: info_published
  deliverable: holding_statement
  depends_on: [review]
- key: review
  title: {zh: 审核, en: Review}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publishing
  due: {anchor: "task:statement", offset: 30x}
  depends_on: [statement]
  colour: red
"""
    assert errors_in(workdir, text) == [
        "plan.yaml:3: description.en: missing translation (a text needs both zh and en)",
        "plan.yaml:4: serves.crisis_types[1]: unknown crisis type 'ufo_sighting' (expected a built-in type: "
        "data_breach, service_outage, product_quality, product_safety, counterfeit, service_quality, "
        "supply_chain, cyber_attack, user_misunderstanding, negative_opinion, regulatory_change, partner_event; "
        "or one a playbook defines under defines_crisis_types)",
        "plan.yaml:10: tasks[0].role: role 'legal' is not one of the roles this plan needs "
        "(roles: commander, pr); add it under roles",
        "plan.yaml:12: tasks[0].due.offset: the holding statement is due 5h after detection; a plan serving "
        "high or critical severity must publish it within 4h (first_statement_within, at most 4h)",
        "plan.yaml:15: tasks[0].depends_on: dependency cycle: statement -> review -> statement",
        "plan.yaml:20: tasks[1].stage: unknown stage 'publishing' "
        "(expected confirm, activate, assemble, publish, remediate or review)",
        f"plan.yaml:21: tasks[1].due.offset: invalid duration '30x' (expected {DURATION})",
        "plan.yaml:23: tasks[1].colour: unknown field 'colour' (allowed here: key, title, instructions, role, "
        "stage, due, depends_on, checklist, conditions, gates, deliverable, alerts)",
    ]


# --- robustness ---------------------------------------------------------------------------------------

JUNK = ["", " ", ":", "- ", "[", "}", "~", "null", "true", "0", "x", "&a ", "*a", "!!int ", "'", '"', "task:", "#"]
JUNK += ["\x00", "&b [*b]", "<<: *a", "!!python/name:os.system ", "[" * 30, "9" * 30, "\t"]


@settings_hypothesis(max_examples=200, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3), st.sampled_from(JUNK)), min_size=1, max_size=4))
def test_any_damaged_file_gets_errors_not_a_crash(edits):
    """Whatever an author does to a file, the checker answers with errors inside the file."""
    lines = VALID_PLAYBOOK.split("\n")
    for position, action, junk in edits:
        k = position % len(lines)
        if action == 0:
            del lines[k]
        elif action == 1:
            lines.insert(k, lines[(k * 7) % len(lines)])
        elif action == 2:
            lines[k] = lines[k][: position % 9] + junk + lines[k][position % 9 + 1 :]
        else:
            lines[k] = junk + lines[k]
    text = "\n".join(lines)
    definition, errors = check_text(text, "damaged.yaml")
    assert (definition is None) == bool(errors)
    assert all(1 <= error.line <= len(lines) + 1 for error in errors)
    if definition is not None:
        json.dumps(definition)


# --- the command ---------------------------------------------------------------------------------------


def test_command_lists_every_error_and_fails(workdir, capsys):
    write_playbook(workdir, "good.yaml", VALID_PLAYBOOK)
    write_playbook(workdir, "bad.yaml", HEADER.replace("[low]", "[low, urgent]") + ONE_TASK.replace("pr,", "ceo,"))
    with pytest.raises(CommandError, match=r"^2 errors in 1 file$"):
        call_command("check_playbooks", ".")
    assert capsys.readouterr().out.splitlines() == [
        "bad.yaml:4: serves.severities[1]: unknown severity 'urgent' (expected low, medium, high or critical)",
        f"bad.yaml:7: tasks[0].role: unknown role 'ceo' (expected {ROLES})",
    ]


def test_command_passes_valid_files(workdir, capsys):
    write_playbook(workdir, "good.yaml", VALID_PLAYBOOK)
    call_command("check_playbooks", "good.yaml")
    assert capsys.readouterr().out == "1 playbook OK\n"


def test_command_exit_status(workdir):
    """Through manage.py for real: the exit status is what CI looks at."""
    bad = write_playbook(workdir, "bad.yaml", HEADER + ONE_TASK.replace("1h", "1x"))
    good = write_playbook(workdir, "good.yaml", VALID_PLAYBOOK)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "check_playbooks"]

    failed = subprocess.run([*manage, "bad.yaml", "good.yaml"], capture_output=True, text=True, cwd=workdir)
    assert failed.returncode == 1
    assert failed.stdout == f"bad.yaml:8: tasks[0].due.offset: invalid duration '1x' (expected {DURATION})\n"
    assert "1 error in 1 file" in failed.stderr

    passed = subprocess.run([*manage, str(good)], capture_output=True, text=True, cwd=workdir)
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.strip() == "1 playbook OK"
    assert bad.exists()


# --- the built-in playbooks ------------------------------------------------------------------------------


def test_every_builtin_playbook_passes():
    paths = sorted((Path(settings.BASE_DIR) / "playbooks").glob("*.yaml"))
    assert paths, "no built-in playbooks"
    definitions, errors = check_files(paths)
    assert [str(error) for error in errors] == []
    assert len(definitions) == len(paths)


def test_default_paths_are_the_playbook_folder(settings, tmp_path):
    write_playbook(tmp_path, "b.yaml", "")
    write_playbook(tmp_path, "a.yaml", "")
    write_playbook(tmp_path, "notes.md", "")
    settings.CRISISFLOW = {**settings.CRISISFLOW, "PLAYBOOK_DIR": str(tmp_path)}
    assert default_paths() == [tmp_path / "a.yaml", tmp_path / "b.yaml"]


def test_a_duration_longer_than_a_year_is_refused(workdir):
    # 10**30 days once loaded, then failed on activation adding it to the outbreak time.
    tasks = "".join(
        f"- {{key: t{i}, title: {{zh: 一, en: One}}, instructions: {{zh: 做, en: Do}}, role: pr, stage: confirm, "
        f"due: {{anchor: detected, offset: {offset}}}}}\n"
        for i, offset in enumerate(["366d", "367d", "1" + "0" * 30 + "d"])
    )
    assert errors_in(workdir, HEADER + tasks) == [
        "plan.yaml:8: tasks[1].due.offset: a duration must be at most 366d, found '367d'",
        f"plan.yaml:9: tasks[2].due.offset: a duration must be at most 366d, found '1{'0' * 30}d'",
    ]
