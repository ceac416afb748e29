"""The playbook's optional `statements:` section: who approves each kind, how long an
approval may take, whether the internal notice goes first; checked with path:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisisflow.playbooks.schema import check_files, check_text, default_paths
from tests.playbook_samples import write_playbook

PLAN = """\
key: plan
name: {zh: 预案, en: Plan}
description: {zh: 说明, en: About}
serves: {crisis_types: [service_outage], severities: [low]}
roles: {commander: 1, pr: 1, legal: 1}
statements:
%s
tasks:
  - key: t
    title: {zh: 任务, en: Task}
    instructions: {zh: 做, en: Do}
    role: pr
    stage: publish
    due: {anchor: confirmed, offset: 1h}
"""


def check(workdir: Path, section: str) -> tuple[dict | None, list[str]]:
    write_playbook(workdir, "plan.yaml", PLAN % section)
    definitions, errors = check_files([Path("plan.yaml")])
    return definitions.get("plan.yaml"), [str(e) for e in errors]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_section_is_normalised(workdir):
    definition, errors = check(
        workdir,
        "  internal_notice_first: true\n"
        "  approvals: {holding_statement: [pr, legal, commander], regulator_notice: [legal]}\n"
        "  approval_deadlines: {holding_statement: 30m, regulator_notice: 1h30m}",
    )
    assert errors == []
    assert definition["statements"] == {
        "internal_notice_first": True,
        "approvals": {"holding_statement": ["pr", "legal", "commander"], "regulator_notice": ["legal"]},
        "approval_deadlines": {"holding_statement": 1800, "regulator_notice": 5400},
    }


def test_a_plan_without_the_section_keeps_the_defaults(workdir):
    text = (PLAN % "  internal_notice_first: false").replace("statements:\n  internal_notice_first: false\n", "")
    definition, errors = check_text(text, "plan.yaml")
    assert errors == [] and "statements" not in definition


@pytest.mark.parametrize(
    ("section", "error"),
    [
        (
            "  approvals: {holding_statment: [pr]}",
            "plan.yaml:7: statements.approvals.holding_statment: unknown kind of statement 'holding_statment' "
            "(did you mean 'holding_statement'?)",
        ),
        (
            "  approvals: {holding_statement: [pr, observer]}",
            "plan.yaml:7: statements.approvals.holding_statement[1]: unknown approving role 'observer'",
        ),
        (
            "  approvals: {holding_statement: [pr, executive]}",
            "plan.yaml:7: statements.approvals.holding_statement[1]: role 'executive' approves statements but "
            "the plan does not staff it (add it under roles)",
        ),
        ("  approvals: {holding_statement: []}", "plan.yaml:7: statements.approvals.holding_statement: expected"),
        (
            "  approval_deadlines: {holding_statement: half an hour}",
            "plan.yaml:7: statements.approval_deadlines.holding_statement: invalid duration 'half an hour'",
        ),
        (
            "  internal_notice_first: yes please",
            "plan.yaml:7: statements.internal_notice_first: expected true or false",
        ),
        ("  approve: {holding_statement: [pr]}", "plan.yaml:7: statements.approve: unknown field 'approve'"),
    ],
)
def test_mistakes_are_reported_at_their_line(workdir, section, error):
    definition, errors = check(workdir, section)
    assert definition is None
    assert any(e.startswith(error) for e in errors), errors


def test_the_built_in_data_breach_plan_declares_its_statements():
    definitions, errors = check_files(default_paths())
    assert errors == []
    data_breach = next(d for d in definitions.values() if d["key"] == "data-breach")
    assert data_breach["statements"]["internal_notice_first"] is True
    assert data_breach["statements"]["approval_deadlines"]["holding_statement"] == 30 * 60
