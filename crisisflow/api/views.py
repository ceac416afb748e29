"""The JSON API: the same use cases as the pages, for programs.

Every endpoint takes three steps: find the object the person may see (404 otherwise, so a
restricted incident is not admitted to exist), parse the input, call the use case in
crisisflow.incidents.actions. The use case checks who may do it, the version the client
saw, and the gates; its refusals become JSON in crisisflow.api.errors.

A change to an incident answers with the incident as it now is, so the client has the
version to send with its next change; a change to a task answers with the task.
Authentication and "signed in only" come from settings.REST_FRAMEWORK.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from crisisflow.api import serializers as s
from crisisflow.incidents import actions, permissions
from crisisflow.incidents.errors import NotFound
from crisisflow.incidents.models import Incident, Task, TeamMember

# --- finding what the person may see ---------------------------------------------------------------


def _incident(request: Request, reference: str) -> Incident:
    incident = Incident.objects.filter(reference=reference).first()
    if incident is None or not permissions.can_view(request.user, incident):
        raise NotFound(_("No such incident."))
    return incident


def _task(request: Request, task_id: int) -> Task:
    task = Task.objects.select_related("incident").filter(pk=task_id).first()
    if task is None or not permissions.can_view(request.user, task.incident):
        raise NotFound(_("No such task."))
    return task


def _member(request: Request, member_id: int) -> TeamMember:
    member = TeamMember.objects.select_related("incident").filter(pk=member_id).first()
    if member is None or not permissions.can_view(request.user, member.incident):
        raise NotFound(_("No such team member."))
    return member


def _parse(serializer_class: type[Serializer], data) -> Serializer:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


# --- answering ------------------------------------------------------------------------------------


def _detail(request: Request, incident: Incident, status: int = 200) -> Response:
    """The incident as it is now: read again, since the use case changed the row."""
    # Plain lookups, not Prefetch(queryset=…select_related…): the gates that next_steps
    # runs filter incident.tasks with .only(), which a select_related there would break.
    fresh = (
        Incident.objects.select_related("commander", "reporter", "playbook_version__playbook")
        .prefetch_related("tasks__assignee", "tasks__depends_on", "team__user")
        .get(pk=incident.pk)
    )
    return Response(s.IncidentDetail(fresh, context={"request": request}).data, status=status)


def _task_detail(task: Task) -> Response:
    fresh = Task.objects.select_related("assignee").prefetch_related("depends_on").get(pk=task.pk)
    return Response(s.TaskOutput(fresh).data)


# --- incidents ------------------------------------------------------------------------------------


@api_view(["GET", "POST"])
def incidents(request: Request) -> Response:
    if request.method == "GET":
        visible = (
            permissions.visible_incidents(request.user).select_related("commander").order_by("-detected_at", "-pk")
        )
        return Response(s.IncidentSummary(visible, many=True, context={"request": request}).data)
    form = _parse(s.ReportInput, request.data)
    incident = actions.report_incident(request.user, **form.validated_data)
    response = _detail(request, incident, status=201)
    response["Location"] = response.data["url"]
    return response


@api_view(["GET", "PATCH"])
def incident(request: Request, reference: str) -> Response:
    found = _incident(request, reference)
    if request.method == "PATCH":
        form = _parse(s.ScopeInput, request.data)
        actions.update_scope(
            request.user,
            found,
            expected_version=form.validated_data.get("expected_version"),
            **form.changes(),
        )
    return _detail(request, found)


@api_view(["POST"])
def advance(request: Request, reference: str, step: str) -> Response:
    found = _incident(request, reference)
    form = _parse(s.StepInput, request.data)
    actions.advance(request.user, found, step, **form.validated_data)
    return _detail(request, found)


@api_view(["POST"])
def change_severity(request: Request, reference: str) -> Response:
    found = _incident(request, reference)
    data = _parse(s.SeverityInput, request.data).validated_data
    actions.change_severity(
        request.user, found, data["severity"], data["reason"], expected_version=data.get("expected_version")
    )
    return _detail(request, found)


@api_view(["POST"])
def add_note(request: Request, reference: str) -> Response:
    found = _incident(request, reference)
    data = _parse(s.NoteInput, request.data).validated_data
    event = actions.add_note(request.user, found, data["text"])
    return Response(s.EventOutput(event).data, status=201)


@api_view(["GET"])
def timeline(request: Request, reference: str) -> Response:
    found = _incident(request, reference)
    events = found.events.select_related("actor").order_by("seq")
    return Response(s.EventOutput(events, many=True).data)


# --- the team -------------------------------------------------------------------------------------


@api_view(["GET", "POST"])
def team(request: Request, reference: str) -> Response:
    found = _incident(request, reference)
    if request.method == "GET":
        members = found.team.select_related("user")
        proposals = actions.propose_team(found) if found.is_open else []
        return Response({"team": s.Member(members, many=True).data, "proposal": s.proposal(proposals)})
    data = _parse(s.MemberInput, request.data).validated_data
    actions.add_team_member(
        request.user,
        found,
        data["user"],
        data["role"],
        lead=data["lead"],
        expected_version=data.get("expected_version"),
    )
    return _detail(request, found, status=201)


@api_view(["POST"])
def accept_team(request: Request, reference: str) -> Response:
    found = _incident(request, reference)
    data = _parse(s.VersionInput, request.data).validated_data
    actions.accept_team(request.user, found, expected_version=data.get("expected_version"))
    return _detail(request, found)


@api_view(["DELETE"])
def remove_team_member(request: Request, member_id: int) -> Response:
    member = _member(request, member_id)
    # Some clients cannot send a body with DELETE; the version may come in the query.
    data = _parse(s.VersionInput, request.data or request.query_params).validated_data
    actions.remove_team_member(request.user, member.pk, expected_version=data.get("expected_version"))
    return _detail(request, member.incident)


# --- tasks ----------------------------------------------------------------------------------------


@api_view(["GET"])
def task(request: Request, task_id: int) -> Response:
    return _task_detail(_task(request, task_id))


@api_view(["POST"])
def start_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = _parse(s.VersionInput, request.data).validated_data
    actions.start_task(request.user, found, expected_version=data.get("expected_version"))
    return _task_detail(found)


@api_view(["POST"])
def complete_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = _parse(s.VersionInput, request.data).validated_data
    actions.complete_task(request.user, found, expected_version=data.get("expected_version"))
    return _task_detail(found)


@api_view(["POST"])
def block_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = _parse(s.ReasonInput, request.data).validated_data
    actions.block_task(request.user, found, data["reason"], expected_version=data.get("expected_version"))
    return _task_detail(found)


@api_view(["POST"])
def unblock_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = _parse(s.VersionInput, request.data).validated_data
    actions.unblock_task(request.user, found, expected_version=data.get("expected_version"))
    return _task_detail(found)


@api_view(["POST"])
def skip_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = _parse(s.ReasonInput, request.data).validated_data
    actions.skip_task(request.user, found, data["reason"], expected_version=data.get("expected_version"))
    return _task_detail(found)


@api_view(["POST"])
def assign_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = _parse(s.AssignInput, request.data).validated_data
    actions.assign_task(request.user, found, data["assignee"], expected_version=data.get("expected_version"))
    return _task_detail(found)


@api_view(["POST"])
def tick_checklist(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = _parse(s.TickInput, request.data).validated_data
    actions.tick_checklist(
        request.user, found, data["index"], data["done"], expected_version=data.get("expected_version")
    )
    return _task_detail(found)
