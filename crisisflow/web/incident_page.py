"""The incident page, and each of its live regions on its own.

The page is made of parts with a template each (templates/web/_room_*.html). `Room`
works out what the parts show, each piece only when a part asks for it, so a live
region costs what that region costs: the task list's fragment reads the tasks, not the
timeline or the notifications.

A long crisis has hundreds of tasks. The task list shows the stages that need work now
(those up to the current one with tasks still open) with their first few open tasks;
finished and later stages, and the rest of a long stage, are folded and come on demand
(`?open=<stage>` on the page, or the stage's own fragment with HTMX).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import groupby
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.alerts.models import Channel, Notification
from crisisflow.incidents import actions, permissions
from crisisflow.incidents.errors import Blocked, Conflict, CrisisFlowError, Forbidden, NotFound
from crisisflow.incidents.models import Incident, Task
from crisisflow.incidents.models.task import FINISHED
from crisisflow.people.models import User
from crisisflow.playbooks.models import PlaybookVersion, current_versions, versions_serving
from crisisflow.vocab import STAGE_OF_STATE, Role, Stage, State
from crisisflow.web import guards, live, room
from crisisflow.web.forms import (
    BOOLEAN_FACTS,
    FACT_LABELS,
    HandOverForm,
    MemberForm,
    NoteForm,
    OutbreakForm,
    ScopeForm,
    SeverityForm,
    StepForm,
    show_error,
)

ROLE_ORDER = {role: i for i, role in enumerate(Role.values)}
STAGES = list(Stage)
STAGE_INDEX = {stage.value: i for i, stage in enumerate(STAGES)}

# Open tasks shown in full per stage that needs work now; the rest of the stage is folded.
CARDS_PER_STAGE = 6

DELIVERY_LOG_SIZE = 60


@dataclass
class Refusal:
    """A use case's refusal, shown in the banner and next to the form that caused it."""

    message: str
    blockers: list[str] = field(default_factory=list)
    form_key: str = ""


@dataclass
class TaskRow:
    task: Task
    overdue: bool
    can_work: bool
    can_manage: bool
    error: str = ""
    card: Any = None  # what the card shows, worked out once per page (room.dress_tasks)
    compact: bool = False  # a finished task shown as one line

    @property
    def actionable(self) -> bool:
        return not self.task.is_finished and (self.can_work or self.can_manage)


@dataclass
class StageGroup:
    """One stage of the task list: its tasks by role, or folded."""

    stage: Stage
    total: int
    finished: int
    roles: list[dict]  # [{"role": label, "rows": [TaskRow]}] of the rows shown
    shown: int
    state: str  # "done": every task finished; "now": needs work now; "later"

    @property
    def folded(self) -> int:
        """How many of its tasks are not shown (a finished one shown as a line counts as
        shown)."""
        return self.total - self.shown


def open_stages(request: HttpRequest) -> frozenset[str]:
    """The stages the person unfolded (`?open=publish,review`; unknown names ignored)."""
    asked = request.GET.get("open", "")
    return frozenset(s for s in asked.split(",") if s in STAGE_INDEX)


class Room:
    """What the incident page shows to one person, each part worked out when first asked."""

    def __init__(
        self,
        request: HttpRequest,
        incident: Incident,
        *,
        refusal: Refusal | None = None,
        bound: dict | None = None,
    ):
        self.request = request
        self.user = request.user
        self.incident = incident
        self.refusal = refusal
        self.bound = bound or {}
        self.now = clock.now()
        self.unfolded = open_stages(request)

    # --- standing ---------------------------------------------------------------------------

    @cached_property
    def commands(self) -> bool:
        return permissions.commands(self.user, self.incident) and self.incident.is_open

    @cached_property
    def may_post_notes(self) -> bool:
        return permissions.may_post_notes(self.user, self.incident)

    @cached_property
    def rights(self) -> permissions.TaskRights:
        return permissions.TaskRights(self.user, self.incident)

    @property
    def closed(self) -> bool:
        return self.incident.state in (State.CLOSED, State.DISMISSED)

    @cached_property
    def csrf_input(self) -> str:
        # The hidden CSRF field, made once for the page's many forms.
        return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(self.request))

    # --- the parts ------------------------------------------------------------------------------

    @cached_property
    def stage(self) -> Stage:
        return STAGE_OF_STATE[self.incident.state]

    def stages(self) -> list[dict]:
        here = STAGES.index(self.stage)
        return [{"stage": s, "current": s == self.stage, "done": i < here} for i, s in enumerate(STAGES)]

    @cached_property
    def playbooks(self) -> list[PlaybookVersion]:
        """The current playbook versions: the step forms' choices and the default plan, read
        once for the page however many steps it offers."""
        return current_versions()

    def steps(self) -> list[dict[str, Any]]:
        incident = self.incident
        serving = versions_serving(incident.crisis_type, incident.severity, self.playbooks) if incident.severity else []
        versions = self.playbooks if self.commands else []
        default_plan = serving[0].key if serving else (versions[0].key if versions else "")
        steps = []
        for next_step in actions.next_steps(incident):
            key = f"step-{next_step.step.name}"
            form = self.bound.get(key) or StepForm(
                initial={
                    "step": next_step.step.name,
                    "version": incident.version,
                    "crisis_type": incident.crisis_type,
                    "severity": incident.severity,
                    "playbook": default_plan,
                },
                auto_id=f"{key}_%s",
                versions=self.playbooks,
            )
            steps.append({"next": next_step, "name": next_step.step.name, "form": form, "key": key})
        return steps

    @cached_property
    def proposals(self):
        return actions.propose_team(self.incident) if self.incident.is_open else []

    @cached_property
    def members(self):
        return list(self.incident.team.select_related("user").order_by("role", "-is_lead", "id"))

    @cached_property
    def team_users(self):
        users = User.objects.filter(memberships__incident=self.incident).distinct()
        return list(users.order_by("display_name", "username"))

    def team(self) -> dict:
        # The add-member form starts on the first role that still needs people.
        open_role = next((p.role for p in self.proposals if not p.filled), Role.PR)
        incident = self.incident
        return {
            "team_roles": room.team_roles(incident, self.members, self.proposals),
            "has_proposed": any(p.proposed for p in self.proposals),
            "member_form": self.bound.get("member")
            or MemberForm(initial={"version": incident.version, "role": open_role}, auto_id="member_%s"),
            "hand_over_form": self.bound.get("hand-over")
            or HandOverForm(incident, initial={"version": incident.version}, auto_id="hand-over_%s"),
        }

    @cached_property
    def timeline(self) -> room.TimelinePage:
        return room.timeline_page(self.request, self.incident)

    @cached_property
    def words(self) -> dict:
        return room.task_words()

    def task_groups(self, only: str | None = None) -> list[StageGroup]:
        """Tasks by stage (in the order of the response), then by role; stages folded as
        the module says. `only`: that one stage, unfolded (its fragment)."""
        incident, now, refusal = self.incident, self.now, self.refusal
        # First what every task is (stage, role, status: a narrow read of them all), to
        # decide which are shown; then the shown ones in full.
        outline = incident.tasks.values_list("pk", "stage", "role", "position", "status")
        if only:
            outline = outline.filter(stage=only)
        order = sorted(
            outline,
            key=lambda t: (STAGE_INDEX.get(t[1], 99), ROLE_ORDER.get(t[2], 99), t[3], t[0]),
        )
        here = STAGE_INDEX[self.stage]
        # Work needed now: open tasks of the stages up to the current one, or up to the
        # first one after it that has open tasks (just activated: the publish stage).
        open_at = [STAGE_INDEX.get(stage, 99) for _pk, stage, _r, _p, status in order if status not in FINISHED]
        upto = min((i for i in open_at if i >= here), default=here)
        refused_task = refusal.form_key if refusal else ""
        plan = []  # (stage, total, finished, state, pks shown)
        compact: set[int] = set()  # shown as a line, not a card
        for stage, in_stage in groupby(order, key=lambda t: t[1]):
            in_stage = list(in_stage)
            finished = sum(1 for t in in_stage if t[4] in FINISHED)
            index = STAGE_INDEX.get(stage, 99)
            state = "done" if finished == len(in_stage) else ("now" if index <= upto else "later")
            if only or stage in self.unfolded:
                shown = [t[0] for t in in_stage]
            elif state == "now":
                # Its first open tasks in full, and what is finished as a line each (the
                # person who just finished one still sees it there).
                open_ones = [t[0] for t in in_stage if t[4] not in FINISHED]
                first = set(open_ones[:CARDS_PER_STAGE])
                shown = [t[0] for t in in_stage if t[0] in first or t[0] not in open_ones]
                compact |= {t[0] for t in in_stage if t[0] not in open_ones}
            else:
                shown = []
            # A refused task is shown wherever it is, with the refusal on its card.
            shown += [t[0] for t in in_stage if f"task-{t[0]}" == refused_task and t[0] not in shown]
            plan.append((stage, len(in_stage), finished, state, shown))

        wanted = [pk for *_rest, shown in plan for pk in shown]
        full = incident.tasks.filter(pk__in=wanted).select_related("assignee").defer("ladder") if wanted else []
        tasks = {task.pk: task for task in full}
        is_open = incident.is_open
        rights = self.rights
        groups = []
        for stage, total, finished, state, shown in plan:
            rows = []
            for pk in shown:
                task = tasks[pk]
                task.incident = incident  # the permission checks read it; no need to load it again
                manages = is_open and rights.manages(task)
                rows.append(
                    TaskRow(
                        task=task,
                        overdue=bool(task.due_at and task.due_at < now and not task.is_finished),
                        can_work=is_open and (manages or rights.works(task)),
                        can_manage=manages,
                        error=refusal.message if refusal and refusal.form_key == f"task-{pk}" else "",
                        compact=pk in compact,
                    )
                )
            by_role = [
                {"role": Role(role).label, "rows": list(role_rows)}
                for role, role_rows in groupby(rows, key=lambda r: r.task.role)
            ]
            groups.append(StageGroup(Stage(stage), total, finished, by_role, len(rows), state))
        return groups

    def tasks(self, only: str | None = None) -> dict:
        groups = self.task_groups(only)
        room.dress_tasks(
            [{"roles": g.roles} for g in groups],
            self.incident,
            team_users=self.team_users,
            csrf_input=self.csrf_input,
            words=self.words,
            refused_comment=next(
                ((int(key.split("-")[1]), form) for key, form in self.bound.items() if key.startswith("comment-")),
                None,
            ),
        )
        return {"task_groups": groups, "words": self.words, "csrf_input": self.csrf_input}

    def deliveries(self) -> dict[str, Any]:
        """The incident's notifications. E-mail and webhooks come first, failed ones on
        top: they are what can fail, and a failed escalation reached nobody. In-app rows
        are delivered the moment they are written, so they are listed apart."""
        everything = self.incident.notifications.all()
        counts = everything.aggregate(
            in_app=Count("id", filter=Q(channel=Channel.IN_APP)),
            outside=Count("id", filter=~Q(channel=Channel.IN_APP)),
            failed=Count("id", filter=Q(state=Notification.State.FAILED)),
        )
        rows = everything.select_related("recipient", "endpoint", "task")
        failed_first = Case(
            When(state=Notification.State.FAILED, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        outside = list(
            rows.exclude(channel=Channel.IN_APP).order_by(failed_first, "-created_at", "-id")[:DELIVERY_LOG_SIZE]
        )
        in_app = list(rows.filter(channel=Channel.IN_APP).order_by("-created_at", "-id")[:DELIVERY_LOG_SIZE])
        return {
            **counts,
            "outside_rows": outside,
            "in_app_rows": in_app,
            "more": counts["outside"] - len(outside) + counts["in_app"] - len(in_app),
        }

    @cached_property
    def delivery_log(self) -> dict[str, Any]:
        return self.deliveries()

    def evidence(self) -> dict:
        return room.evidence_context(self.request, self.incident, self.bound)

    # --- what each region's template is given ------------------------------------------------------

    def base(self) -> dict:
        return {
            "incident": self.incident,
            "now": self.now,
            "refusal": self.refusal,
            "commands": self.commands,
            "closed": self.closed,
        }

    def region(self, name: str) -> dict:
        """The context of one live region (see REGIONS)."""
        context = self.base()
        if name == "head":
            context.update(stage=self.stage, stages=self.stages())
        elif name == "next-step":
            context.update(steps=self.steps())
        elif name == "tasks":
            context.update(self.tasks(), may_post_notes=self.may_post_notes)
        elif name == "team":
            context.update(self.team())
        elif name == "timeline":
            context.update(timeline=self.timeline, may_post_notes=self.may_post_notes, note_form=self.note_form())
        elif name == "notifications":
            context.update(deliveries=self.delivery_log)
        else:
            raise Http404()
        return context

    def note_form(self):
        return self.bound.get("note") or NoteForm(auto_id="note_%s")

    def page(self) -> dict:
        """Everything the whole page shows. Its live regions come as markup, each from the
        renders shared with everyone who sees the same (live.shared) — unless the page
        shows a refusal or what someone typed, which are theirs alone."""
        incident = self.incident
        stamps = live.incident_stamps(incident)
        theirs_alone = self.refusal is not None or bool(self.bound)

        def region(name: str) -> str:
            shown = live.Region(
                stamp=stamps[name],
                render=lambda: render_to_string(REGIONS[name], self.region(name), self.request),
                standing=None if theirs_alone else lambda: (incident.pk, *self.standing(name)),
            )
            return mark_safe(live.markup(self.request, name, shown))  # made by the region templates

        context = self.base()
        context.update(
            {
                "regions": {name.replace("-", "_"): region(name) for name in REGIONS},
                "failed_deliveries": incident.notifications.filter(state=Notification.State.FAILED).count(),
                "severity_form": self.bound.get("severity")
                or SeverityForm(
                    initial={"version": incident.version, "severity": incident.severity}, auto_id="severity_%s"
                ),
                "scope_form": self.bound.get("scope") or ScopeForm.for_incident(incident),
                # The brand card's form as the commander sent it (crisisflow.watch.brand_views).
                "brand_form": self.bound.get("brand"),
                "outbreak_form": self.bound.get("outbreak")
                or OutbreakForm(
                    initial={"version": incident.version, "detected_at": timezone.localtime(incident.detected_at)},
                    auto_id="outbreak_%s",
                ),
                "facts": [(FACT_LABELS[name], getattr(incident, name)) for name in BOOLEAN_FACTS],
                "may_attach": permissions.may_attach(self.user, incident),
                **self.evidence(),
            }
        )
        return context

    # --- what makes two people see the same region ---------------------------------------------------

    def standing(self, name: str) -> tuple:
        """What, besides the region's stamp (content, language, time zone), decides the
        markup of a region for this person: its buttons and forms. Two people with the same
        standing share one render of it."""
        if name == "next-step" or name == "team":
            return (self.commands,)
        if name == "tasks":
            # Someone who manages every task sees the same buttons whoever they are;
            # otherwise their own tasks have buttons the others' do not.
            mine = not self.rights.commands and self.incident.tasks.filter(assignee_id=self.user.pk).exists()
            mine_key = self.user.pk if mine else None
            return (self.rights.key, self.commands, self.may_post_notes, mine_key, tuple(sorted(self.unfolded)))
        if name == "timeline":
            asked = tuple(self.request.GET.get(key, "") for key in room.TIMELINE_QUERY)
            return (self.may_post_notes, self.closed, asked)
        return ()


# Region name (in URLs and data-live-region) → its template.
REGIONS = {
    "head": "web/_room_head.html",
    "next-step": "web/_room_next_step.html",
    "tasks": "web/_room_tasks.html",
    "team": "web/_room_team.html",
    "timeline": "web/_room_timeline.html",
    "notifications": "web/_room_notifications.html",
}


def render_region(request: HttpRequest, room_: Room, name: str) -> str:
    if name not in REGIONS:
        raise Http404()
    return render_to_string(REGIONS[name], room_.region(name), request)


def render_page(
    request: HttpRequest,
    incident: Incident,
    *,
    refusal: Refusal | None = None,
    bound: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    context = Room(request, incident, refusal=refusal, bound=bound).page()
    return render(request, "web/incident_detail.html", context, status=status)


def refused(request: HttpRequest, reference: str, err: CrisisFlowError, *, form_key: str, form=None) -> HttpResponse:
    """Show a refusal: 404 and 403 as pages; the rest on the re-rendered incident page,
    with the message in a banner and next to the form (under the refusal's status)."""
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        guards.require(False, str(err.message))
    incident = guards.incident_for(request, reference)  # as it is now: the refused change rolled back
    bound = {}
    if form is not None and not isinstance(err, Conflict | Blocked):
        # Keep what the person typed, with the message next to its field.
        show_error(form, err)
        bound[form_key] = form
    if isinstance(err, Blocked):
        refusal = Refusal(_("This cannot be done yet:"), blockers=err.blockers, form_key=form_key)
    else:
        refusal = Refusal(str(err.message), form_key=form_key)
    return render_page(request, incident, refusal=refusal, bound=bound, status=err.status)


def form_errors(request: HttpRequest, reference: str, form, form_key: str) -> HttpResponse:
    """A form whose input could not even be read (e.g. a number that is not one)."""
    incident = guards.incident_for(request, reference)
    refusal = Refusal(message=_("Please correct the errors below."), form_key=form_key)
    return render_page(request, incident, refusal=refusal, bound={form_key: form}, status=400)
