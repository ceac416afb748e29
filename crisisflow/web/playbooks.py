"""The playbook browser: the loaded plans, and one plan as a swimlane picture and as text.

Read-only pages for anyone signed in: a playbook is the company's pre-written plan, not
an incident, so nothing here is restricted and nothing changes data. Each view finds the
version asked for (404 otherwise) and renders it in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from crisisflow.playbooks import diagram
from crisisflow.playbooks.models import (
    PlaybookVersion,
    crisis_type_choices,
    current_versions,
    find_version,
    localized,
)
from crisisflow.playbooks.schema import COMPARE
from crisisflow.vocab import Deliverable, Role, Severity, Stage, State
from crisisflow.web.forms import FACT_LABELS

ROLE_ORDER = {role: i for i, role in enumerate(Role.values)}
STAGE_ORDER = {stage: i for i, stage in enumerate(Stage.values)}
COMPARISON_SIGNS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "="}
assert set(COMPARISON_SIGNS) == set(COMPARE)


@dataclass
class Summary:
    """What the list (and the head of a plan's page) says about one version."""

    version: PlaybookVersion
    name: str
    description: str
    crisis_types: list[str]
    severities: list[tuple[str, str]]  # (value, label), least severe first
    roles: list[tuple[str, int]]  # (label, minimum people)
    task_count: int
    clock: str
    critical_clock: str


def _summary(version: PlaybookVersion, type_labels: dict[str, str]) -> Summary:
    d = version.definition
    served = set(d["severities"])
    critical = d.get("first_statement_within_critical")
    return Summary(
        version=version,
        name=version.name(),
        description=version.description(),
        crisis_types=[type_labels.get(key, key) for key in d["crisis_types"]],
        severities=[(s.value, str(s.label)) for s in Severity if s.value in served],
        roles=[
            (str(Role(role).label) if role in Role.values else role, minimum)
            for role, minimum in sorted(d["roles"].items(), key=lambda item: ROLE_ORDER.get(item[0], 99))
        ],
        task_count=len(d["tasks"]),
        clock=diagram.short_duration(d["first_statement_within"]),
        critical_clock=diagram.short_duration(critical) if critical else "",
    )


@login_required
def list_playbooks(request: HttpRequest) -> HttpResponse:
    # The labels once for the whole list: the catalogue includes types the plans define.
    type_labels = dict(crisis_type_choices())
    summaries = [_summary(version, type_labels) for version in current_versions()]
    return render(request, "web/playbook_list.html", {"playbooks": summaries})


def _version_for(key: str, number: str | None) -> PlaybookVersion:
    """The version asked for (?version=N), else the current one; 404 when there is none."""
    if number is None or number == "":
        version = find_version(key)
    elif number.isdigit():
        version = find_version(key, int(number))
    else:
        version = None
    if version is None:
        raise Http404(_("No such playbook."))
    return version


def _conditions(task: dict[str, Any]) -> list[str]:
    """The conditions under which a task is created, in words."""
    words = []
    floor = task.get("severity_at_least")
    if floor:
        label = Severity(floor).label if floor in Severity.values else floor
        words.append(_("severity at least %(severity)s") % {"severity": label})
    for name, test in (task.get("facts") or {}).items():
        if isinstance(test, bool):
            fact = FACT_LABELS.get(name, name)
            words.append(_("%(fact)s: yes") % {"fact": fact} if test else _("%(fact)s: no") % {"fact": fact})
        elif name == "affected_users":
            for op, limit in test.items():
                words.append(
                    _("affected users %(sign)s %(limit)s")
                    % {"sign": COMPARISON_SIGNS.get(op, op), "limit": f"{limit:,}"}
                )
        else:
            for op, limit in test.items():
                words.append(f"{name} {COMPARISON_SIGNS.get(op, op)} {limit:,}")
    return words


@dataclass
class TaskText:
    key: str
    title: str
    instructions: str
    role: str
    stage: str
    due: str
    drawn_at: str  # where the picture puts it, after the assumed timeline
    depends_on: list[tuple[str, str]]  # (key, title)
    conditions: list[str]
    checklist: list[str]
    deliverable: str
    gates: str


def _task_texts(definition: dict[str, Any], chart: diagram.Diagram) -> list[dict[str, Any]]:
    """The plan as text: tasks by stage, then by role, each with its due time in words."""
    tasks = definition["tasks"]
    titles = {task["key"]: localized(task["title"]) for task in tasks}
    texts = []
    for position, task in enumerate(tasks):
        deliverable = task.get("deliverable") or "none"
        gates = task.get("gates")
        text = TaskText(
            key=task["key"],
            title=titles[task["key"]],
            instructions=localized(task["instructions"]),
            role=task["role"],
            stage=task["stage"],
            due=diagram.due_phrase(task, lambda key: titles.get(key, key)),
            drawn_at=diagram.hours_label(chart.boxes_by_key[task["key"]].due),
            depends_on=[(key, titles.get(key, key)) for key in task.get("depends_on", [])],
            conditions=_conditions(task),
            checklist=[localized(item) for item in task.get("checklist", [])],
            deliverable=str(Deliverable(deliverable).label)
            if deliverable != "none" and deliverable in Deliverable.values
            else "",
            gates=str(State(gates).label) if gates in State.values else (gates or ""),
        )
        texts.append((STAGE_ORDER.get(text.stage, 99), ROLE_ORDER.get(text.role, 99), position, text))
    texts.sort(key=lambda item: item[:3])
    groups = []
    for stage, in_stage in groupby(texts, key=lambda item: item[3].stage):
        by_role = [
            {"role": str(Role(role).label) if role in Role.values else role, "tasks": [item[3] for item in items]}
            for role, items in groupby(in_stage, key=lambda item: item[3].role)
        ]
        groups.append({"stage": stage, "label": str(Stage(stage).label), "roles": by_role})
    return groups


@login_required
def show_playbook(request: HttpRequest, key: str) -> HttpResponse:
    version = _version_for(key, request.GET.get("version"))
    definition = version.definition
    chart = diagram.build(definition)
    moments = chart.moments
    context = {
        "summary": _summary(version, dict(crisis_type_choices())),
        "version": version,
        "is_current": version.playbook.current_version_id == version.pk,
        "versions": version.playbook.versions.order_by("-number"),
        "chart": chart,
        "groups": _task_texts(definition, chart),
        "assumed": {
            "confirmed": diagram.hours_label(moments["confirmed"]),
            "plan_activated": diagram.hours_label(moments["plan_activated"]),
            "team_assembled": diagram.hours_label(moments["team_assembled"]),
            "first_statement": diagram.hours_label(moments["first_statement"]),
        },
        "linear_hours": diagram.short_duration(diagram.LINEAR_SECONDS),
    }
    return render(request, "web/playbook_detail.html", context)
