"""The server-rendered pages of CrisisFlow.

Every view that changes something takes three steps: find the object the person may see
(`guards.incident_for`, `guards.task_for`: 404 otherwise), check the guard (403), call the use case in
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
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import push_url

from crisisflow import clock
from crisisflow.alerts import inbox
from crisisflow.evidence import actions as evidence
from crisisflow.evidence.uploads import SizeCap
from crisisflow.incidents import actions, permissions
from crisisflow.incidents.errors import CrisisFlowError, Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Incident, Task, TeamMember
from crisisflow.people import prefs
from crisisflow.people.models import User
from crisisflow.playbooks.models import crisis_type_choices
from crisisflow.vocab import CrisisType, Role, Stage
from crisisflow.web import guards, live, room
from crisisflow.web import incident_page as page
from crisisflow.web.forms import (
    AssignForm,
    HandOverForm,
    MemberForm,
    NoteForm,
    OutbreakForm,
    PreferencesForm,
    ReportForm,
    ScopeForm,
    SeverityForm,
    StepForm,
    TaskForm,
    TickForm,
    show_error,
)
from crisisflow.web.templatetags.crisisflow_web import crisis_type
from crisisflow.web.tokens import token_section

ROLE_ORDER = {role: i for i, role in enumerate(Role.values)}
# The stages an incident walks through, in order, for the progress strip.
STAGES = list(Stage)


# --- the incident list and the report form -----------------------------------------------------


@login_required
def list_incidents(request: HttpRequest) -> HttpResponse:
    incidents = permissions.visible_incidents(request.user).select_related("commander")
    incidents = incidents.order_by("-detected_at")
    incidents = list(incidents)
    # The names of the crisis types, once for the list (a playbook may define its own).
    labels = dict(crisis_type_choices()) if any(i.crisis_type not in CrisisType.values for i in incidents) else {}
    for incident in incidents:
        incident.type_label = labels.get(incident.crisis_type) or crisis_type(incident.crisis_type)
    now = clock.now()
    return render(request, "web/incident_list.html", {"incidents": incidents, "now": now, **guards.worker_status(now)})


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


@login_required
def show_incident(request: HttpRequest, reference: str) -> HttpResponse:
    return page.render_page(request, guards.incident_for(request, reference))


@require_safe
@login_required
def task_stage(request: HttpRequest, reference: str, stage: str) -> HttpResponse:
    """One stage of the task list, unfolded (HTMX); without HTMX, the page with it open."""
    incident = guards.incident_for(request, reference)
    if stage not in page.STAGE_INDEX:
        raise Http404()
    if not request.htmx:
        url = reverse("incident-detail", args=[incident.reference])
        return redirect(f"{url}?open={stage}#stage-{stage}")
    room_ = page.Room(request, incident)
    context = {**room_.base(), **room_.tasks(only=stage), "may_post_notes": room_.may_post_notes}
    context["group"] = context["task_groups"][0] if context["task_groups"] else None
    if context["group"] is None:
        raise Http404()
    return render(request, "web/_room_stage.html", context)


# --- changes to the incident --------------------------------------------------------------------


def _command(request: HttpRequest, reference: str) -> Incident:
    """The incident, for one of the changes only its commander may make."""
    incident = guards.incident_for(request, reference)
    guards.require(permissions.commands(request.user, incident), _("Only the incident commander can do this."))
    return incident


@require_POST
@login_required
def advance_incident(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = StepForm(request.POST, auto_id=f"step-{request.POST.get('step', '')}_%s")
    key = f"step-{request.POST.get('step', '')}"
    if not form.is_valid():
        return page.form_errors(request, reference, form, key)
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
        return page.refused(request, reference, err, form_key=key, form=form)
    return guards.back(incident, "next-step")


@require_POST
@login_required
def change_severity(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = SeverityForm(request.POST, auto_id="severity_%s")
    if not form.is_valid():
        return page.form_errors(request, reference, form, "severity")
    data = form.cleaned_data
    try:
        actions.change_severity(
            request.user, incident, data["severity"], data["reason"], expected_version=data["version"]
        )
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="severity", form=form)
    return guards.back(incident, "severity")


@require_POST
@login_required
def correct_outbreak_time(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = OutbreakForm(request.POST, auto_id="outbreak_%s")
    if not form.is_valid():
        return page.form_errors(request, reference, form, "outbreak")
    data = form.cleaned_data
    try:
        actions.correct_outbreak_time(
            request.user, incident, data["detected_at"], data["reason"], expected_version=data["version"]
        )
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="outbreak", form=form)
    return guards.back(incident, "times")


@require_POST
@login_required
def update_scope(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = ScopeForm(request.POST, auto_id="scope_%s")
    if not form.is_valid():
        return page.form_errors(request, reference, form, "scope")
    try:
        actions.update_scope(request.user, incident, expected_version=form.cleaned_data["version"], **form.scope())
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="scope", form=form)
    return guards.back(incident, "scope")


@require_POST
@login_required
def add_note(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    guards.require(permissions.may_post_notes(request.user, incident), _("Only the team can post notes."))
    form = NoteForm(request.POST, auto_id="note_%s")
    form.is_valid()
    try:
        # Notes only add to the timeline; they cannot overwrite anything, so no version.
        actions.add_note(request.user, incident, form.cleaned_data.get("text", ""))
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="note", form=form)
    return guards.back(incident, "timeline")


# --- the team --------------------------------------------------------------------------------------


@require_POST
@login_required
def accept_team(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    try:
        actions.accept_team(request.user, incident, expected_version=guards.posted_version(request))
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="team")
    return guards.back(incident, "team")


@require_POST
@login_required
def add_team_member(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = MemberForm(request.POST, auto_id="member_%s")
    if not form.is_valid():
        return page.form_errors(request, reference, form, "member")
    data = form.cleaned_data
    try:
        actions.add_team_member(request.user, incident, data["user"], data["role"], expected_version=data["version"])
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="member", form=form)
    return guards.back(incident, "team")


@require_POST
@login_required
def remove_team_member(request: HttpRequest, reference: str, member_id: int) -> HttpResponse:
    incident = _command(request, reference)
    if not TeamMember.objects.filter(pk=member_id, incident=incident).exists():
        raise Http404(_("No such team member."))
    try:
        actions.remove_team_member(request.user, member_id, expected_version=guards.posted_version(request))
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="team")
    return guards.back(incident, "team")


@require_POST
@login_required
def hand_over_command(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _command(request, reference)
    form = HandOverForm(incident, request.POST, auto_id="hand-over_%s")
    if not form.is_valid():
        return page.form_errors(request, reference, form, "hand-over")
    data = form.cleaned_data
    try:
        actions.hand_over_command(
            request.user, incident, data["commander"], reason=data.get("reason", ""), expected_version=data["version"]
        )
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="hand-over", form=form)
    return guards.back(incident, "team")


# --- the room: timeline, task comments, evidence ----------------------------------------------------


@require_safe
@login_required
def timeline(request: HttpRequest, reference: str) -> HttpResponse:
    """The timeline alone, for HTMX. Anyone else (a reload of a pushed URL, a browser
    without JavaScript, HTMX restoring its history) gets the whole incident page."""
    incident = guards.incident_for(request, reference)
    if not request.htmx or request.htmx.history_restore_request:
        url = reverse("incident-detail", args=[incident.reference])
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}#timeline" if query else f"{url}#timeline")
    timeline_page = room.timeline_page(request, incident)
    response = render(request, "web/_timeline.html", {"incident": incident, "timeline": timeline_page})
    # The address bar shows the incident page with this filter: a reload, a bookmark or
    # the page's live refresh (live.js sends the page's query along) keep it.
    push_url(response, timeline_page.link()["page"])
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@login_required
def comment_on_task(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    task = guards.task_for(request, reference, task_id)
    guards.require(permissions.may_post_notes(request.user, task.incident), _("Only the team can comment on tasks."))
    form = room.CommentForm(request.POST, auto_id=f"comment-{task.pk}_%s")
    form.is_valid()
    try:
        actions.add_task_comment(request.user, task, form.cleaned_data.get("text", ""))
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key=f"comment-{task.pk}", form=form)
    return guards.back(task.incident, f"task-{task.pk}")


@csrf_exempt  # checked below, once the size cap is in place (Django reads the body for it)
@require_POST
def attach_evidence(request: HttpRequest, reference: str) -> HttpResponse:
    request.upload_handlers.insert(0, SizeCap(request, limit=evidence.max_bytes()))
    return _attach_evidence(request, reference)


@csrf_protect
@login_required
def _attach_evidence(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    guards.require(
        permissions.may_attach(request.user, incident),
        _("Only the commander and the team (not observers) can attach evidence."),
    )
    form = room.EvidenceForm(request.POST, request.FILES, auto_id="evidence_%s")
    form.is_valid()
    try:
        evidence.attach(request.user, incident, form.cleaned_data.get("file"), form.cleaned_data.get("caption", ""))
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="evidence", form=form)
    return guards.back(incident, "evidence")


# --- tasks ---------------------------------------------------------------------------------------------


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
    task = guards.task_for(request, reference, task_id)
    if managers_only:
        role = task.get_role_display()
        message = _("Only the commander or the %(role)s lead can do this.") % {"role": role}
        guards.require(permissions.manages_task(request.user, task), message)
    else:
        guards.require(
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
        return page.refused(request, task.incident.reference, err, form_key=key)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return guards.back(task.incident, key)


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
