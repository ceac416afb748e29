"""The server-rendered pages of CrisisFlow.

Every view that changes something takes three steps: find the object the person may see
(`_incident_for`, `_task_for`: 404 otherwise), check the guard (403), call the use case in
crisisflow.incidents.actions. Nothing here changes data by itself.

Each change form carries the version the page was rendered with; the use case refuses a
stale one with Conflict instead of overwriting someone else's change.

Success redirects back to the incident page (post/redirect/get). A refusal re-renders the
incident page with the use case's message in a banner — and next to the field it names —
under the refusal's HTTP status (400 Invalid, 409 Conflict or Blocked). NotFound becomes a
404, Forbidden the 403 page with its message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crisisflow import clock
from crisisflow.alerts import inbox
from crisisflow.alerts.models import Channel, Notification
from crisisflow.incidents import actions, permissions
from crisisflow.incidents.errors import Blocked, Conflict, CrisisFlowError, Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Incident, Task, TeamMember
from crisisflow.incidents.tasks import last_heartbeat, worker_silence
from crisisflow.people import prefs
from crisisflow.people.models import User
from crisisflow.playbooks.models import current_versions, versions_serving
from crisisflow.vocab import STAGE_OF_STATE, Role, Stage, State
from crisisflow.web import live, room
from crisisflow.web.forms import (
    BOOLEAN_FACTS,
    FACT_LABELS,
    AssignForm,
    MemberForm,
    NoteForm,
    PreferencesForm,
    ReportForm,
    ScopeForm,
    SeverityForm,
    StepForm,
    TaskForm,
    TickForm,
    VersionedForm,
    missing_version_message,
    show_error,
)
from crisisflow.web.tokens import token_section

ROLE_ORDER = {role: i for i, role in enumerate(Role.values)}
# The stages an incident walks through, in order, for the progress strip.
STAGES = list(Stage)


# --- the incident list and the report form -----------------------------------------------------


# The same silence as the commanders' banner (templates/web/_worker_banner.html).
WORKER_SILENCE = worker_silence()


@login_required
def list_incidents(request: HttpRequest) -> HttpResponse:
    incidents = permissions.visible_incidents(request.user).select_related("commander")
    incidents = incidents.order_by("-detected_at")
    now = clock.now()
    seen = last_heartbeat()
    # Beat asks for a heartbeat every few seconds; a few missed (WORKER_SILENCE) mean
    # the background worker or beat is down, and the team should know.
    worker_ok = seen is not None and now - seen <= WORKER_SILENCE
    return render(
        request,
        "web/incident_list.html",
        {"incidents": incidents, "now": now, "worker_seen": seen, "worker_ok": worker_ok},
    )


@login_required
def report_incident(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = actions.report_incident(
                request.user,
                crisis_type=data["crisis_type"],
                severity=data["severity"],
                detected_at=data["detected_at"],
                restricted=data["restricted"],
                **form.scope(),
            )
        except Forbidden as err:
            raise PermissionDenied(str(err.message)) from err
        except CrisisFlowError as err:
            show_error(form, err)
        else:
            return redirect("incident-detail", reference=incident.reference)
    status = 400 if form.is_bound else 200
    return render(request, "web/incident_report.html", {"form": form}, status=status)


# --- the incident page ------------------------------------------------------------------------


def _incident_for(request: HttpRequest, reference: str) -> Incident:
    """The incident, if the person may see it; a restricted one is a 404 to outsiders."""
    incident = (
        Incident.objects.select_related("commander", "reporter", "playbook_version__playbook")
        .filter(reference=reference)
        .first()
    )
    if incident is None or not permissions.can_view(request.user, incident):
        raise Http404(_("No such incident."))
    return incident


def _posted_version(request: HttpRequest) -> int:
    """The version a button-only form was rendered with. A form without one is malformed,
    not merely stale, and is refused (400, naming the field) rather than applied unchecked."""
    form = VersionedForm(request.POST)
    if not form.is_valid():
        raise Invalid(missing_version_message(), field="version")
    return form.cleaned_data["version"]


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _back(incident: Incident, anchor: str = "") -> HttpResponse:
    url = reverse("incident-detail", kwargs={"reference": incident.reference})
    return redirect(f"{url}#{anchor}" if anchor else url)


@dataclass
class Refusal:
    """A use case's refusal, shown in the banner and next to the form that caused it."""

    message: str
    blockers: list[str] = field(default_factory=list)
    form_key: str = ""


def _refused(request: HttpRequest, reference: str, err: CrisisFlowError, *, form_key: str, form=None) -> HttpResponse:
    """Show a refusal: 404 and 403 as pages; the rest on the re-rendered incident page."""
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        raise PermissionDenied(str(err.message))
    incident = _incident_for(request, reference)  # as it is now: the refused change rolled back
    bound = {}
    if form is not None and not isinstance(err, Conflict | Blocked):
        # Keep what the person typed, with the message next to its field.
        show_error(form, err)
        bound[form_key] = form
    if isinstance(err, Blocked):
        refusal = Refusal(_("This cannot be done yet:"), blockers=err.blockers, form_key=form_key)
    else:
        refusal = Refusal(str(err.message), form_key=form_key)
    return _incident_page(request, incident, refusal=refusal, bound=bound, status=err.status)


def _form_errors(request: HttpRequest, reference: str, form, form_key: str) -> HttpResponse:
    """A form whose input could not even be read (e.g. a number that is not one)."""
    incident = _incident_for(request, reference)
    refusal = Refusal(message=_("Please correct the errors below."), form_key=form_key)
    return _incident_page(request, incident, refusal=refusal, bound={form_key: form}, status=400)


@dataclass
class TaskRow:
    task: Task
    overdue: bool
    can_work: bool
    can_manage: bool
    error: str = ""
    card: Any = None  # what the card shows, worked out once per page (room.dress_tasks)

    @property
    def actionable(self) -> bool:
        return not self.task.is_finished and (self.can_work or self.can_manage)


def _task_groups(request: HttpRequest, incident: Incident, refusal: Refusal | None):
    """Tasks by stage (in the order of the response), then by role."""
    now = clock.now()
    # What each task depends on and its comments come with the cards (room.dress_tasks):
    # one query each for all the tasks.
    tasks = incident.tasks.select_related("assignee").defer("ladder")
    is_open = incident.is_open
    rights = room.TaskRights(request.user, incident)  # read once, not once per task
    rows = []
    for task in tasks:
        task.incident = incident  # the permission checks read it; no need to load it again
        manages = is_open and rights.manages(task)
        rows.append(
            TaskRow(
                task=task,
                overdue=bool(task.due_at and task.due_at < now and not task.is_finished),
                can_work=is_open and (manages or rights.works(task)),
                can_manage=manages,
                error=refusal.message if refusal and refusal.form_key == f"task-{task.pk}" else "",
            )
        )
    stage_order = {stage.value: i for i, stage in enumerate(STAGES)}
    rows.sort(
        key=lambda r: (stage_order.get(r.task.stage, 99), ROLE_ORDER.get(r.task.role, 99), r.task.position, r.task.pk)
    )
    groups = []
    for stage, in_stage in groupby(rows, key=lambda r: r.task.stage):
        by_role = [
            {"role": Role(role).label, "rows": list(role_rows)}
            for role, role_rows in groupby(in_stage, key=lambda r: r.task.role)
        ]
        groups.append({"stage": Stage(stage), "roles": by_role})
    return groups


def _step_forms(incident: Incident, bound: dict) -> list[dict[str, Any]]:
    serving = versions_serving(incident.crisis_type, incident.severity) if incident.severity else []
    versions = current_versions()
    default_plan = serving[0].key if serving else (versions[0].key if versions else "")
    steps = []
    for next_step in actions.next_steps(incident):
        key = f"step-{next_step.step.name}"
        form = bound.get(key) or StepForm(
            initial={
                "step": next_step.step.name,
                "version": incident.version,
                "crisis_type": incident.crisis_type,
                "severity": incident.severity,
                "playbook": default_plan,
            },
            auto_id=f"{key}_%s",
        )
        steps.append({"next": next_step, "name": next_step.step.name, "form": form, "key": key})
    return steps


DELIVERY_LOG_SIZE = 60


def _delivery_log(incident: Incident) -> dict[str, Any]:
    """The incident's notifications for its page. E-mail and webhooks come first, failed
    ones on top: they are what can fail, and a failed escalation reached nobody. In-app
    rows are delivered the moment they are written, so they are listed apart."""
    everything = incident.notifications.all()
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


def _incident_page(
    request: HttpRequest,
    incident: Incident,
    *,
    refusal: Refusal | None = None,
    bound: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    bound = bound or {}
    user = request.user
    commands = permissions.commands(user, incident)
    proposals = actions.propose_team(incident) if incident.is_open else []
    team_users = User.objects.filter(memberships__incident=incident).distinct()
    team_users = team_users.order_by("display_name", "username")
    # The add-member form starts on the first role that still needs people.
    open_role = next((p.role for p in proposals if not p.filled), Role.PR)
    members = list(incident.team.select_related("user").order_by("role", "-is_lead", "id"))
    stage = STAGE_OF_STATE[incident.state]
    context = {
        "incident": incident,
        "now": clock.now(),
        "stage": stage,
        "stages": [{"stage": s, "current": s == stage, "done": STAGES.index(s) < STAGES.index(stage)} for s in STAGES],
        "closed": incident.state in (State.CLOSED, State.DISMISSED),
        "commands": commands and incident.is_open,
        "may_post_notes": permissions.may_post_notes(user, incident),
        "steps": _step_forms(incident, bound),
        "proposals": proposals,
        "has_proposed": any(p.proposed for p in proposals),
        "members": members,
        "team_users": team_users,
        "member_form": bound.get("member")
        or MemberForm(
            initial={"version": incident.version, "role": open_role},
            auto_id="member_%s",
        ),
        "severity_form": bound.get("severity")
        or SeverityForm(initial={"version": incident.version, "severity": incident.severity}, auto_id="severity_%s"),
        "scope_form": bound.get("scope") or ScopeForm.for_incident(incident),
        "facts": [(FACT_LABELS[name], getattr(incident, name)) for name in BOOLEAN_FACTS],
        "note_form": bound.get("note") or NoteForm(auto_id="note_%s"),
        "task_groups": _task_groups(request, incident, refusal),
        "refusal": refusal,
        "met": incident.statement_met_clock(),
        "deliveries": _delivery_log(incident),
    }
    # The timeline (a page of it), the team's contacts, evidence, task comments.
    context.update(
        room.context(
            request,
            incident,
            bound=bound,
            members=members,
            proposals=proposals,
            task_groups=context["task_groups"],
            team_users=team_users,
        )
    )
    return render(request, "web/incident_detail.html", context, status=status)


@login_required
def show_incident(request: HttpRequest, reference: str) -> HttpResponse:
    return _incident_page(request, _incident_for(request, reference))


# --- changes to the incident --------------------------------------------------------------------


def _command(request: HttpRequest, reference: str) -> Incident:
    """The incident, for one of the changes only its commander may make."""
    incident = _incident_for(request, reference)
    _require(permissions.commands(request.user, incident), _("Only the incident commander can do this."))
    return incident


@require_POST
@login_required
def advance_incident(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = StepForm(request.POST, auto_id=f"step-{request.POST.get('step', '')}_%s")
    key = f"step-{request.POST.get('step', '')}"
    if not form.is_valid():
        return _form_errors(request, reference, form, key)
    data = form.cleaned_data
    try:
        actions.advance(
            request.user,
            incident,
            data["step"],
            reason=data["reason"],
            expected_version=data["version"],
            **form.options(),
        )
    except CrisisFlowError as err:
        return _refused(request, reference, err, form_key=key, form=form)
    return _back(incident, "next-step")


@require_POST
@login_required
def change_severity(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = SeverityForm(request.POST, auto_id="severity_%s")
    if not form.is_valid():
        return _form_errors(request, reference, form, "severity")
    data = form.cleaned_data
    try:
        actions.change_severity(
            request.user, incident, data["severity"], data["reason"], expected_version=data["version"]
        )
    except CrisisFlowError as err:
        return _refused(request, reference, err, form_key="severity", form=form)
    return _back(incident, "severity")


@require_POST
@login_required
def update_scope(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = ScopeForm(request.POST, auto_id="scope_%s")
    if not form.is_valid():
        return _form_errors(request, reference, form, "scope")
    try:
        actions.update_scope(request.user, incident, expected_version=form.cleaned_data["version"], **form.scope())
    except CrisisFlowError as err:
        return _refused(request, reference, err, form_key="scope", form=form)
    return _back(incident, "scope")


@require_POST
@login_required
def add_note(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident_for(request, reference)
    _require(permissions.may_post_notes(request.user, incident), _("Only the team can post notes."))
    form = NoteForm(request.POST, auto_id="note_%s")
    form.is_valid()
    try:
        # Notes only add to the timeline; they cannot overwrite anything, so no version.
        actions.add_note(request.user, incident, form.cleaned_data.get("text", ""))
    except CrisisFlowError as err:
        return _refused(request, reference, err, form_key="note", form=form)
    return _back(incident, "timeline")


# --- the team --------------------------------------------------------------------------------------


@require_POST
@login_required
def accept_team(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    try:
        actions.accept_team(request.user, incident, expected_version=_posted_version(request))
    except CrisisFlowError as err:
        return _refused(request, reference, err, form_key="team")
    return _back(incident, "team")


@require_POST
@login_required
def add_team_member(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = MemberForm(request.POST, auto_id="member_%s")
    if not form.is_valid():
        return _form_errors(request, reference, form, "member")
    data = form.cleaned_data
    try:
        actions.add_team_member(request.user, incident, data["user"], data["role"], expected_version=data["version"])
    except CrisisFlowError as err:
        return _refused(request, reference, err, form_key="member", form=form)
    return _back(incident, "team")


@require_POST
@login_required
def remove_team_member(request: HttpRequest, reference: str, member_id: int) -> HttpResponse:
    incident = _command(request, reference)
    if not TeamMember.objects.filter(pk=member_id, incident=incident).exists():
        raise Http404(_("No such team member."))
    try:
        actions.remove_team_member(request.user, member_id, expected_version=_posted_version(request))
    except CrisisFlowError as err:
        return _refused(request, reference, err, form_key="team")
    return _back(incident, "team")


# --- tasks ---------------------------------------------------------------------------------------------


def _task_for(request: HttpRequest, reference: str, task_id: int) -> Task:
    incident = _incident_for(request, reference)
    task = incident.tasks.select_related("assignee").filter(pk=task_id).first()
    if task is None:
        raise Http404(_("No such task."))
    task.incident = incident
    return task


def _on_task(
    request: HttpRequest,
    reference: str,
    task_id: int,
    use_case: Callable[[Task, dict], Any],
    *,
    managers_only: bool = False,
    form_class: type[TaskForm] = TaskForm,
    **form_kwargs: Any,
) -> HttpResponse:
    """The shared path of every task button: find the task, guard, read the form, call
    `use_case(task, cleaned_data)`, and come back to the task on the page."""
    task = _task_for(request, reference, task_id)
    if managers_only:
        role = task.get_role_display()
        message = _("Only the commander or the %(role)s lead can do this.") % {"role": role}
        _require(permissions.manages_task(request.user, task), message)
    else:
        _require(
            permissions.works_task(request.user, task), _("Only the person this task is assigned to can update it.")
        )
    form = form_class(request.POST, **form_kwargs)
    key = f"task-{task.pk}"
    if not form.is_valid():
        err = Invalid("; ".join(str(e) for errors in form.errors.values() for e in errors))
        return _task_answer(request, task, key, err)
    try:
        use_case(task, form.cleaned_data)
    except CrisisFlowError as err:
        return _task_answer(request, task, key, err)
    return _task_answer(request, task, key)


def _task_answer(request: HttpRequest, task: Task, key: str, err: CrisisFlowError | None = None) -> HttpResponse:
    """After a task button: My tasks' in-place buttons (HTMX) get the task's card back,
    refusals written in it; a plain form goes back to the page it names in `next` (My
    tasks), else to the task on the incident page."""
    if live.wants_task_card(request, task) and not isinstance(err, NotFound | Forbidden):
        return live.task_card(request, task, err)
    if err is not None:
        return _refused(request, task.incident.reference, err, form_key=key)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return _back(task.incident, key)


@require_POST
@login_required
def start_task(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    def start(task, data):
        actions.start_task(request.user, task, expected_version=data["version"])

    return _on_task(request, reference, task_id, start)


@require_POST
@login_required
def complete_task(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    def complete(task, data):
        actions.complete_task(request.user, task, expected_version=data["version"])

    return _on_task(request, reference, task_id, complete)


@require_POST
@login_required
def block_task(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    def block(task, data):
        actions.block_task(request.user, task, data["reason"], expected_version=data["version"])

    return _on_task(request, reference, task_id, block)


@require_POST
@login_required
def unblock_task(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    def unblock(task, data):
        actions.unblock_task(request.user, task, expected_version=data["version"])

    return _on_task(request, reference, task_id, unblock)


@require_POST
@login_required
def skip_task(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    def skip(task, data):
        actions.skip_task(request.user, task, data["reason"], expected_version=data["version"])

    return _on_task(request, reference, task_id, skip, managers_only=True)


@require_POST
@login_required
def assign_task(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    def assign(task, data):
        actions.assign_task(request.user, task, data["assignee"], expected_version=data["version"])

    # Any active user may be chosen; the use case refuses one who is not on the team.
    return _on_task(
        request,
        reference,
        task_id,
        assign,
        managers_only=True,
        form_class=AssignForm,
        assignees=User.objects.filter(is_active=True),
    )


@require_POST
@login_required
def tick_checklist(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    def tick(task, data):
        actions.tick_checklist(request.user, task, data["index"], data["done"], expected_version=data["version"])

    return _on_task(request, reference, task_id, tick, form_class=TickForm)


# --- the person's own pages: the in-app inbox and the preferences ----------------------------------------


@login_required
def list_notifications(request: HttpRequest) -> HttpResponse:
    # The unread count comes from the context processor (the header shows it too).
    return render(request, "web/notifications.html", {"items": inbox.inbox(request.user)})


@require_POST
@login_required
def read_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        inbox.mark_read(request.user, notification_id)
    except NotFound as err:  # someone else's is not admitted to exist
        raise Http404(str(err.message)) from err
    return redirect("notifications")


@require_POST
@login_required
def read_all_notifications(request: HttpRequest) -> HttpResponse:
    inbox.mark_all_read(request.user)
    return redirect("notifications")


@login_required
def edit_preferences(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        context = {"form": PreferencesForm.for_user(request.user), **token_section(request.user)}
        return render(request, "web/preferences.html", context)
    form = PreferencesForm(request.POST, auto_id="me_%s")
    if form.is_valid():
        try:
            prefs.update_preferences(request.user, **form.cleaned_data)
        except CrisisFlowError as err:
            show_error(form, err)
        else:
            language = request.user.language
            with translation.override(language):
                messages.success(request, _("Your preferences are saved."))
            response = redirect("preferences")
            # The cookie wins over the profile (see the middleware): set it to the new
            # language, or the language switch chosen earlier would keep the old one.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
            return response
    return render(request, "web/preferences.html", {"form": form, **token_section(request.user)}, status=400)
