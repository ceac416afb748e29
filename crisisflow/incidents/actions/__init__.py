"""The use cases of the incident engine: one function per thing a person does.

Web views, the API and management commands all call these, and nothing else changes an
incident. Each one, inside a single transaction (see crisisflow.incidents.unit):

1. locks the incident row (so concurrent changes queue up instead of interleaving),
2. checks the person may see it (404 otherwise) and may do this (403),
3. refuses a stale form (the version the person saw is not the current one),
4. checks the step's gate conditions (human-readable blockers),
5. makes the change and writes exactly one timeline event.

They live in modules by concern — reporting, the lifecycle steps, planning, the team,
tasks — and are all importable from here: `from crisisflow.incidents import actions`.
"""

from crisisflow.incidents.actions.machine import STEPS, NextStep, Step, next_steps, run_step
from crisisflow.incidents.actions.planning import activate_plan, choose_plan, instantiate_tasks
from crisisflow.incidents.actions.reporting import (
    DETECTED_AT_SKEW,
    SCOPE_FIELDS,
    add_note,
    change_severity,
    clean_scope,
    correct_outbreak_time,
    report_incident,
    update_scope,
)
from crisisflow.incidents.actions.steps import (
    advance,
    assemble_team,
    begin_review,
    close_incident,
    confirm_incident,
    dismiss_incident,
    publish_information,
    reopen_incident,
    start_remediation,
)
from crisisflow.incidents.actions.tasks import (
    TASK_CHANGES,
    add_task_comment,
    assign_task,
    assign_tasks,
    block_task,
    complete_by_delivery,
    complete_task,
    skip_task,
    start_task,
    tick_checklist,
    unblock_task,
)
from crisisflow.incidents.actions.team import (
    RoleChange,
    RoleProposal,
    accept_team,
    add_team_member,
    hand_over_command,
    make_role_lead,
    propose_team,
    remove_team_member,
    replace_role,
)
from crisisflow.incidents.anchors import anchor_happened
from crisisflow.incidents.inputs import MAX_TEXT

__all__ = [
    "DETECTED_AT_SKEW",
    "MAX_TEXT",
    "SCOPE_FIELDS",
    "STEPS",
    "TASK_CHANGES",
    "NextStep",
    "RoleChange",
    "RoleProposal",
    "Step",
    "accept_team",
    "activate_plan",
    "add_note",
    "add_task_comment",
    "add_team_member",
    "advance",
    "anchor_happened",
    "assemble_team",
    "assign_task",
    "assign_tasks",
    "begin_review",
    "block_task",
    "change_severity",
    "choose_plan",
    "clean_scope",
    "correct_outbreak_time",
    "close_incident",
    "complete_by_delivery",
    "complete_task",
    "confirm_incident",
    "dismiss_incident",
    "hand_over_command",
    "instantiate_tasks",
    "make_role_lead",
    "next_steps",
    "propose_team",
    "publish_information",
    "remove_team_member",
    "reopen_incident",
    "replace_role",
    "report_incident",
    "run_step",
    "skip_task",
    "start_remediation",
    "start_task",
    "tick_checklist",
    "unblock_task",
    "update_scope",
]
