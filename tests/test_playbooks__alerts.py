"""A task's own escalation ladder (`alerts`): checked, normalised, stored on the task.

Bad files below start with HEADER (lines 1-6) and TASK (lines 7-12), so a task's
`alerts:` is always line 13 and its first entry line 14.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from crisisflow.alerts import schedule
from crisisflow.incidents import actions
from crisisflow.playbooks.loader import load_playbooks
from crisisflow.playbooks.schema import check_files, check_text
from tests.flows import report
from tests.playbook_samples import VALID_PLAYBOOK, write_playbook

HEADER = """\
key: plan
name: {zh: 预案, en: Plan}
description: {zh: 说明, en: About}
serves: {crisis_types: [service_outage], severities: [low]}
roles: {commander: 1, pr: 1}
tasks:
"""
TASK = """\
- key: first
  title: {zh: 一, en: One}
  instructions: {zh: 做, en: Do it}
  role: pr
  stage: publish
  due: {anchor: detected, offset: 4h}
"""
AUDIENCES = "role_lead, commander, executive, pr_lead, legal_lead or duty_commanders"
DURATION = "whole days, hours and minutes in that order, like 30m, 4h, 1h30m or 2d12h"
BUILTIN_ALERTS = {
    "remind_at_half": False,
    "remind_before": [7200, 3600, 1800],
    "escalate_after": {"commander": 900, "executive": 1800},
}


def with_alerts(body: str) -> str:
    """HEADER + TASK + `alerts:` (line 13) followed by `body`, indented under it."""
    lines = "".join(f"    {line}\n" for line in body.splitlines())
    return HEADER + TASK + "  alerts:\n" + lines


def first_task(text: str) -> dict:
    definition, errors = check_text(text, "plan.yaml")
    assert [str(e) for e in errors] == []
    assert definition is not None
    return definition["tasks"][0]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def errors_in(workdir: Path, text: str) -> list[str]:
    write_playbook(workdir, "plan.yaml", text)
    definitions, errors = check_files([Path("plan.yaml")])
    assert ("plan.yaml" in definitions) == (not errors)
    return [str(error) for error in errors]


# --- valid overrides ------------------------------------------------------------------------------


def test_full_override_is_normalised_to_seconds():
    task = first_task(
        with_alerts(
            """\
remind_at_half: false
remind_before: [1h, 15m]
escalate_after:
  commander: 15m
  executive: 1h
  legal_lead: 1d2h"""
        )
    )
    assert task["alerts"] == {
        "remind_at_half": False,
        "remind_before": [3600, 900],
        "escalate_after": {"commander": 900, "executive": 3600, "legal_lead": 26 * 3600},
    }


@pytest.mark.parametrize(
    ("body", "alerts"),
    [
        ("remind_at_half: true", {"remind_at_half": True}),
        ("remind_before: []", {"remind_before": []}),
        ("remind_before: [2h30m]", {"remind_before": [9000]}),
        ("escalate_after: {role_lead: 10m, pr_lead: 20m}", {"escalate_after": {"role_lead": 600, "pr_lead": 1200}}),
        ("escalate_after: {}", {"escalate_after": {}}),
    ],
)
def test_only_the_keys_given(body: str, alerts: dict):
    assert first_task(with_alerts(body))["alerts"] == alerts


def test_flow_style_like_the_builtin_playbooks():
    text = (
        HEADER
        + TASK
        + "  alerts: {remind_at_half: false, remind_before: [2h, 1h, 30m], escalate_after: {commander: 15m, executive: 30m}}\n"
    )
    assert first_task(text)["alerts"] == BUILTIN_ALERTS


def test_no_alerts_is_none_and_other_keys_are_unchanged():
    definition, errors = check_text(VALID_PLAYBOOK, "sample.yaml")
    assert errors == []
    for task in definition["tasks"]:
        assert task["alerts"] is None
        assert list(task) == [
            "key",
            "title",
            "instructions",
            "role",
            "stage",
            "anchor",
            "offset",
            "depends_on",
            "checklist",
            "severity_at_least",
            "facts",
            "gates",
            "deliverable",
            "alerts",
        ]
    with_override = VALID_PLAYBOOK.replace(
        "    deliverable: holding_statement\n",
        "    deliverable: holding_statement\n    alerts: {remind_at_half: false}\n",
    )
    changed, errors = check_text(with_override, "sample.yaml")
    assert errors == []
    assert changed["tasks"][1]["alerts"] == {"remind_at_half": False}
    changed["tasks"][1]["alerts"] = None
    assert changed == definition


# --- invalid overrides, each at its exact line -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "remind_at_quarter: true",
            [
                "plan.yaml:14: tasks[0].alerts.remind_at_quarter: unknown field 'remind_at_quarter' "
                "(allowed here: remind_at_half, remind_before, escalate_after)"
            ],
            id="unknown-key",
        ),
        pytest.param(
            "remind_at_half: 1",
            ["plan.yaml:14: tasks[0].alerts.remind_at_half: expected yes/no (true or false), found the integer 1"],
            id="half-not-yes-no",
        ),
        pytest.param(
            'remind_at_half: "no"',
            ["plan.yaml:14: tasks[0].alerts.remind_at_half: expected yes/no (true or false), found the string 'no'"],
            id="half-quoted",
        ),
        pytest.param(
            "remind_before: 15m",
            [
                "plan.yaml:14: tasks[0].alerts.remind_before: expected a list of durations before due "
                "(or [] for none), found the string '15m'"
            ],
            id="before-not-a-list",
        ),
        pytest.param(
            "remind_before:\n  - 1h\n  - 0m\n  - 15x\n  - 30",
            [
                "plan.yaml:16: tasks[0].alerts.remind_before[1]: a duration must be greater than zero, found '0m'",
                f"plan.yaml:17: tasks[0].alerts.remind_before[2]: invalid duration '15x' (expected {DURATION})",
                f"plan.yaml:18: tasks[0].alerts.remind_before[3]: expected a duration ({DURATION}), "
                "found the integer 30",
            ],
            id="before-bad-durations",
        ),
        pytest.param(
            "remind_before:\n  - 1h\n  - 15m\n  - 60m",
            [
                "plan.yaml:17: tasks[0].alerts.remind_before[2]: a reminder 1h before due is already listed "
                "(tasks[0].alerts.remind_before[0])"
            ],
            id="before-repeat",
        ),
        pytest.param(
            "escalate_after: [commander]",
            [
                "plan.yaml:14: tasks[0].alerts.escalate_after: expected a mapping of audience -> duration after "
                "due, like {commander: 30m}, found a list"
            ],
            id="after-not-a-mapping",
        ),
        pytest.param(
            "escalate_after:\n  commander: 15m\n  ceo: 1h",
            [f"plan.yaml:16: tasks[0].alerts.escalate_after.ceo: unknown audience 'ceo' (expected {AUDIENCES})"],
            id="after-unknown-audience",
        ),
        pytest.param(
            "escalate_after:\n  assignee: 1h",
            [
                "plan.yaml:15: tasks[0].alerts.escalate_after.assignee: the assignee is reminded, not escalated to "
                f"(use remind_before or remind_at_half); expected {AUDIENCES}"
            ],
            id="after-assignee",
        ),
        pytest.param(
            "escalate_after:\n  commander: 0m\n  executive: true\n  pr_lead:",
            [
                "plan.yaml:15: tasks[0].alerts.escalate_after.commander: a duration must be greater than zero, "
                "found '0m'",
                f"plan.yaml:16: tasks[0].alerts.escalate_after.executive: expected a duration ({DURATION}), "
                "found the yes/no value true",
                f"plan.yaml:17: tasks[0].alerts.escalate_after.pr_lead: expected a duration ({DURATION}), "
                "found nothing (an empty value)",
            ],
            id="after-bad-durations",
        ),
        pytest.param(
            "escalate_after:\n  commander: 15m\n  commander: 30m",
            [
                "plan.yaml:16: tasks[0].alerts.escalate_after.commander: duplicate key 'commander' "
                "(first given on line 15); each field may appear only once"
            ],
            id="after-duplicate-audience",
        ),
    ],
)
def test_invalid_alerts(workdir, body: str, expected: list[str]):
    assert errors_in(workdir, with_alerts(body)) == expected


@pytest.mark.parametrize(
    ("value", "found"),
    [("soon", "the string 'soon'"), ("[15m]", "a list"), ("", "nothing (an empty value)")],
)
def test_alerts_must_be_a_mapping(workdir, value: str, found: str):
    text = HEADER + TASK + f"  alerts: {value}\n"
    assert errors_in(workdir, text) == [
        "plan.yaml:13: tasks[0].alerts: expected a mapping with remind_at_half, remind_before or escalate_after, "
        f"found {found}"
    ]


def test_every_alerts_error_is_reported_together(workdir):
    body = "remind_at_half: maybe\nremind_before: [15m, 15m]\nescalate_after: {boss: 1h}\nrepeat: 2"
    assert errors_in(workdir, with_alerts(body)) == [
        "plan.yaml:14: tasks[0].alerts.remind_at_half: expected yes/no (true or false), found the string 'maybe'",
        "plan.yaml:15: tasks[0].alerts.remind_before[1]: a reminder 15m before due is already listed "
        "(tasks[0].alerts.remind_before[0])",
        f"plan.yaml:16: tasks[0].alerts.escalate_after.boss: unknown audience 'boss' (expected {AUDIENCES})",
        "plan.yaml:17: tasks[0].alerts.repeat: unknown field 'repeat' "
        "(allowed here: remind_at_half, remind_before, escalate_after)",
    ]


def test_alerts_is_an_allowed_task_field(workdir):
    text = HEADER + TASK + "  alert: {remind_before: [1h]}\n"
    assert errors_in(workdir, text) == [
        "plan.yaml:13: tasks[0].alert: unknown field 'alert' (allowed here: key, title, instructions, role, "
        "stage, due, depends_on, checklist, conditions, gates, deliverable, alerts)"
    ]


# --- the built-in playbooks -------------------------------------------------------------------------------


def builtin_paths() -> list[Path]:
    return sorted((Path(settings.BASE_DIR) / "playbooks").glob("*.yaml"))


def test_builtin_holding_statements_cannot_wait():
    paths = builtin_paths()
    assert len(paths) == 12
    definitions, errors = check_files(paths)
    assert [str(e) for e in errors] == []
    for path, definition in definitions.items():
        for task in definition["tasks"]:
            if task["deliverable"] == "holding_statement":
                assert task["key"] == "holding-statement", path
                assert task["alerts"] == BUILTIN_ALERTS, path
            else:
                assert task["alerts"] is None, (path, task["key"])


def test_builtin_playbooks_pass_the_command():
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "check_playbooks"]
    passed = subprocess.run(manage, capture_output=True, text=True, cwd=settings.BASE_DIR)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.strip() == "12 playbooks OK"


# --- activation: the override reaches the task -------------------------------------------------------------

OVERRIDE = """\
    alerts:
      remind_at_half: false
      remind_before: [1h, 15m]
      escalate_after: {commander: 15m, executive: 1h}
"""


@pytest.mark.django_db
def test_activation_stores_the_override_on_the_task(people, tmp_path):
    text = VALID_PLAYBOOK.replace(
        "    deliverable: holding_statement\n", "    deliverable: holding_statement\n" + OVERRIDE
    )
    load_playbooks([write_playbook(tmp_path, "sample.yaml", text)])
    incident = actions.confirm_incident(people.commander, report(people, severity="high"))
    incident = actions.activate_plan(people.commander, incident, playbook_key="sample-outage")

    holding = incident.tasks.get(key="holding-statement")
    assert holding.ladder == {
        "remind_at_half": False,
        "remind_before": [3600, 900],
        "escalate_after": {"commander": 900, "executive": 3600},
    }
    assert incident.tasks.get(key="confirm").ladder is None

    # The deadline engine reads it: no half-window reminder, the task's own times.
    names = [rung.name for rung in schedule.rungs_of_task(holding, incident)]
    assert names == ["before_3600s", "before_900s", "due", "after_900s_commander", "after_3600s_executive"]


@pytest.mark.django_db
def test_activating_a_builtin_plan_stores_its_holding_statement_ladder(people):
    load_playbooks()
    incident = actions.confirm_incident(people.commander, report(people, severity="high"))
    incident = actions.activate_plan(people.commander, incident, playbook_key="service-outage")
    assert incident.tasks.get(deliverable="holding_statement").ladder == BUILTIN_ALERTS
    assert not incident.tasks.exclude(deliverable="holding_statement").filter(ladder__isnull=False).exists()
