"""The engine's own gate conditions (see gates.py for the extension point)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crisisflow.incidents.gates import gate
from crisisflow.incidents.models import Incident, Task
from crisisflow.incidents.models.task import UNFINISHED
from crisisflow.playbooks.models import crisis_type_label, versions_serving
from crisisflow.vocab import Deliverable, Role, Severity, State


@gate(State.CONFIRMED)
def type_and_severity_known(incident: Incident):
    missing = []
    if not incident.crisis_type:
        missing.append("type")
    if not incident.severity:
        missing.append("severity")
    if len(missing) == 2:
        yield _("crisis type and severity are required")
    elif missing == ["type"]:
        yield _("crisis type is required")
    elif missing == ["severity"]:
        yield _("severity is required")


@gate(State.PLAN_ACTIVATED)
def a_plan_serves_it(incident: Incident):
    if incident.commander_id is None:
        yield _("a commander must be named")
    if incident.playbook_version_id is None and not versions_serving(incident.crisis_type, incident.severity):
        yield _("no loaded playbook serves %(type)s at severity %(severity)s") % {
            "type": crisis_type_label(incident.crisis_type),
            "severity": Severity(incident.severity).label if incident.severity else "-",
        }


@gate(State.TEAM_ASSEMBLED)
def every_needed_role_filled(incident: Incident):
    if incident.playbook_version is None:
        yield _("no plan is active")
        return
    counts: dict[str, int] = {}
    for role in incident.team.values_list("role", flat=True):
        counts[role] = counts.get(role, 0) + 1
    for role, minimum in incident.playbook_version.roles.items():
        have = counts.get(role, 0)
        label = Role(role).label
        if have == 0:
            yield _("role %(role)s has nobody") % {"role": label}
        elif have < minimum:
            yield _("role %(role)s needs %(need)d people, has %(have)d") % {
                "role": label,
                "need": minimum,
                "have": have,
            }


STEP_NOUN = {
    State.CONFIRMED: gettext_lazy("confirmation"),
    State.PLAN_ACTIVATED: gettext_lazy("plan activation"),
    State.TEAM_ASSEMBLED: gettext_lazy("team assembly"),
    State.INFO_PUBLISHED: gettext_lazy("publishing"),
    State.REMEDIATING: gettext_lazy("remediation"),
    State.IN_REVIEW: gettext_lazy("the review"),
    State.CLOSED: gettext_lazy("closing"),
}


def _gating_tasks(target: str):
    def open_gating_tasks(incident: Incident):
        # A fresh query, not incident.tasks: callers may have prefetched tasks differently.
        tasks = list(Task.objects.filter(incident=incident, gates=target, status__in=UNFINISHED).order_by("position"))
        step = STEP_NOUN[target]
        if len(tasks) == 1:
            task = tasks[0]
            if task.deliverable != Deliverable.NONE:
                yield _("the %(kind)s task “%(title)s” that gates %(step)s is still open") % {
                    "kind": Deliverable(task.deliverable).label.lower(),
                    "title": task.title_text(),
                    "step": step,
                }
            else:
                yield _("the task “%(title)s” that gates %(step)s is still open") % {
                    "title": task.title_text(),
                    "step": step,
                }
        elif tasks:
            yield ngettext(
                "%(count)d task that gates %(step)s is open: %(titles)s",
                "%(count)d tasks that gate %(step)s are open: %(titles)s",
                len(tasks),
            ) % {"count": len(tasks), "step": step, "titles": ", ".join(t.title_text() for t in tasks)}

    return open_gating_tasks


for _target in (State.INFO_PUBLISHED, State.REMEDIATING, State.IN_REVIEW, State.CLOSED):
    gate(_target)(_gating_tasks(_target))


@gate(State.CLOSED)
def nothing_left_open(incident: Incident):
    left = Task.objects.filter(incident=incident, status__in=UNFINISHED).exclude(gates=State.CLOSED).count()
    if left:
        yield ngettext(
            "%(count)d task is still open; finish or skip it first",
            "%(count)d tasks are still open; finish or skip them first",
            left,
        ) % {"count": left}
