"""Playbook texts shared by the playbook tests (check, load)."""

from __future__ import annotations

from pathlib import Path

# A small but complete plan: it serves `high`, so it has to pass the golden 4 hours,
# and it uses a task anchor, a checklist and both kinds of fact condition.
VALID_PLAYBOOK = """\
key: sample-outage
name: {zh: 示例预案, en: Sample plan}
description: {zh: 用于测试。, en: For tests.}
serves:
  crisis_types: [service_outage]
  severities: [medium, high]
first_statement_within: 3h
roles:
  commander: 1
  pr: 2
tasks:
  - key: confirm
    title: {zh: 确认危机, en: Confirm the crisis}
    instructions: {zh: 核实信号。, en: Verify the signals.}
    role: commander
    stage: confirm
    due: {anchor: detected, offset: 1h}
    gates: confirmed
  - key: holding-statement
    title: {zh: 首次声明, en: Holding statement}
    instructions: {zh: 态度、事实、行动。, en: "Attitude, facts, action."}
    role: pr
    stage: publish
    due: {anchor: detected, offset: 2h30m}
    depends_on: [confirm]
    checklist:
      - {zh: 致歉, en: Apologise}
    gates: info_published
    deliverable: holding_statement
  - key: follow-up
    title: {zh: 跟进声明, en: Follow-up statement}
    instructions: {zh: 公布进展。, en: Publish progress.}
    role: pr
    stage: remediate
    due: {anchor: "task:holding-statement", offset: 1d}
    depends_on: [holding-statement]
    conditions:
      severity_at_least: high
      facts:
        affected_users: {gt: 10000, lte: 5000000}
        media_coverage: true
    deliverable: public_statement
"""


def write_playbook(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
