"""The JSON API: the same use cases as the pages, for programs.

Every endpoint takes three steps: find the object the person may see (404 otherwise, so a
restricted incident is not admitted to exist), parse the input (both with
crisisflow.api.guards), call the use case in crisisflow.incidents.actions. The use case
checks who may do it, the version the client saw, and the gates; its refusals become JSON
in crisisflow.api.errors.

A change to an incident answers with the incident as it now is, so the client has the
version to send with its next change; a change to a task answers with the task.
Authentication and "signed in only" come from settings.REST_FRAMEWORK.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.decorators import api_view, content_negotiation_class
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crisisflow.alerts import inbox
from crisisflow.api import serializers as s
from crisisflow.api.guards import incident_for, parsed, parsed_change, row_for
from crisisflow.api.schema import Error, TaskConflict, TaskInvalid, TaskRefusal
from crisisflow.evidence import actions as evidence
from crisisflow.evidence.uploads import SizeCap
from crisisflow.evidence.views import file_response
from crisisflow.incidents import actions, permissions
from crisisflow.incidents.errors import NotFound
from crisisflow.incidents.models import Event, Incident, Task, TeamMember
from crisisflow.playbooks.models import current_versions, find_version

# What the schema says about the objects in paths and the answers most calls give.
STEP = OpenApiParameter("step", str, OpenApiParameter.PATH, enum=list(actions.STEPS), description="The step to take.")
EXPECTED_VERSION = OpenApiParameter(
    "expected_version",
    int,
    OpenApiParameter.QUERY,
    required=False,
    description="The incident's version as seen; a newer one on the server is a 409.",
)
INCIDENT_NOW = {200: OpenApiResponse(s.IncidentDetail, description="The incident as it is now.")}
TASK_NOW = {200: OpenApiResponse(s.TaskOutput, description="The task as it is now.")}
EVIDENCE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain")

# --- finding what the person may see ---------------------------------------------------------------


def _task(request: Request, task_id: int) -> Task:
    return row_for(request, Task.objects.select_related("incident"), task_id, _("No such task."))


def _member(request: Request, member_id: int) -> TeamMember:
    return row_for(request, TeamMember.objects.select_related("incident"), member_id, _("No such team member."))


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


@extend_schema(
    methods=["GET"],
    tags=["incidents"],
    summary="The incidents the reader may see, newest first",
    responses={200: s.IncidentSummary(many=True)},
)
@extend_schema(
    methods=["POST"],
    tags=["incidents"],
    summary="Report an incident",
    request=s.ReportInput,
    responses={201: OpenApiResponse(s.IncidentDetail, description="The incident reported.")},
)
@api_view(["GET", "POST"])
def incidents(request: Request) -> Response:
    if request.method == "GET":
        visible = (
            permissions.visible_incidents(request.user).select_related("commander").order_by("-detected_at", "-pk")
        )
        return Response(s.IncidentSummary(visible, many=True, context={"request": request}).data)
    incident = actions.report_incident(request.user, **parsed(s.ReportInput, request.data))
    response = _detail(request, incident, status=201)
    response["Location"] = response.data["url"]
    return response


@extend_schema(
    methods=["GET"],
    tags=["incidents"],
    summary="One incident with its team, tasks and next steps",
    responses={200: s.IncidentDetail},
)
@extend_schema(
    methods=["PATCH"],
    tags=["incidents"],
    summary="Correct the scope and facts",
    request=s.ScopeInput,
    responses=INCIDENT_NOW,
)
@api_view(["GET", "PATCH"])
def incident(request: Request, reference: str) -> Response:
    found = incident_for(request, reference)
    if request.method == "PATCH":
        changes, expected = parsed_change(s.ScopeInput, request.data)
        actions.update_scope(request.user, found, expected_version=expected, **changes)
    return _detail(request, found)


@extend_schema(
    tags=["incidents"],
    summary="Take a step: confirm, dismiss, activate, assemble, publish, remediate, review, reopen, close",
    parameters=[STEP],
    request=s.StepInput,
    responses=INCIDENT_NOW,
)
@api_view(["POST"])
def advance(request: Request, reference: str, step: str) -> Response:
    found = incident_for(request, reference)
    actions.advance(request.user, found, step, **parsed(s.StepInput, request.data))
    return _detail(request, found)


@extend_schema(
    tags=["incidents"], summary="Change the severity, with a reason", request=s.SeverityInput, responses=INCIDENT_NOW
)
@api_view(["POST"])
def change_severity(request: Request, reference: str) -> Response:
    found = incident_for(request, reference)
    data = parsed(s.SeverityInput, request.data)
    actions.change_severity(
        request.user, found, data["severity"], data["reason"], expected_version=data.get("expected_version")
    )
    return _detail(request, found)


@extend_schema(
    tags=["incidents"],
    summary="Correct the outbreak time, with a reason (the golden clock and detection-anchored tasks move)",
    request=s.OutbreakInput,
    responses=INCIDENT_NOW,
)
@api_view(["POST"])
def correct_outbreak_time(request: Request, reference: str) -> Response:
    found = incident_for(request, reference)
    data = parsed(s.OutbreakInput, request.data)
    actions.correct_outbreak_time(
        request.user, found, data["detected_at"], data["reason"], expected_version=data.get("expected_version")
    )
    return _detail(request, found)


@extend_schema(
    tags=["incidents"], summary="Post a note on the timeline", request=s.NoteInput, responses={201: s.EventOutput}
)
@api_view(["POST"])
def add_note(request: Request, reference: str) -> Response:
    found = incident_for(request, reference)
    data = parsed(s.NoteInput, request.data)
    event = actions.add_note(request.user, found, data["text"])
    return Response(s.EventOutput(event).data, status=201)


@extend_schema(
    tags=["incidents"],
    summary="The timeline, oldest first, with its hash chain",
    responses={200: s.EventOutput(many=True)},
)
@api_view(["GET"])
def timeline(request: Request, reference: str) -> Response:
    found = incident_for(request, reference)
    events = found.events.select_related("actor").order_by("seq")
    return Response(s.EventOutput(events, many=True).data)


# --- the team -------------------------------------------------------------------------------------


@extend_schema(
    methods=["GET"],
    tags=["team"],
    summary="The team, and the proposal from the rosters",
    responses={200: s.TeamOutput},
)
@extend_schema(
    methods=["POST"],
    tags=["team"],
    summary="Add someone to the team in a role",
    request=s.MemberInput,
    responses={201: OpenApiResponse(s.IncidentDetail, description="The incident as it is now.")},
)
@api_view(["GET", "POST"])
def team(request: Request, reference: str) -> Response:
    found = incident_for(request, reference)
    if request.method == "GET":
        members = found.team.select_related("user")
        proposals = actions.propose_team(found) if found.is_open else []
        return Response({"team": s.Member(members, many=True).data, "proposal": s.proposal(proposals)})
    data = parsed(s.MemberInput, request.data)
    actions.add_team_member(
        request.user,
        found,
        data["user"],
        data["role"],
        lead=data["lead"],
        expected_version=data.get("expected_version"),
    )
    return _detail(request, found, status=201)


@extend_schema(tags=["team"], summary="Accept the proposed team", request=s.VersionInput, responses=INCIDENT_NOW)
@api_view(["POST"])
def accept_team(request: Request, reference: str) -> Response:
    found = incident_for(request, reference)
    data = parsed(s.VersionInput, request.data)
    actions.accept_team(request.user, found, expected_version=data.get("expected_version"))
    return _detail(request, found)


@extend_schema(
    tags=["team"],
    summary="Take someone off the team",
    parameters=[EXPECTED_VERSION],
    request=None,
    responses=INCIDENT_NOW,
)
@api_view(["DELETE"])
def remove_team_member(request: Request, member_id: int) -> Response:
    member = _member(request, member_id)
    # Some clients cannot send a body with DELETE; the version may come in the query.
    data = parsed(s.VersionInput, request.data or request.query_params)
    actions.remove_team_member(request.user, member.pk, expected_version=data.get("expected_version"))
    return _detail(request, member.incident)


# --- tasks ----------------------------------------------------------------------------------------


@extend_schema(tags=["tasks"], summary="One task", responses={200: s.TaskOutput})
@api_view(["GET"])
def task(request: Request, task_id: int) -> Response:
    return _task_detail(_task(request, task_id))


@extend_schema(tags=["tasks"], summary="Start working on a task", request=s.VersionInput, responses=TASK_NOW)
@api_view(["POST"])
def start_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = parsed(s.VersionInput, request.data)
    actions.start_task(request.user, found, expected_version=data.get("expected_version"))
    return _task_detail(found)


@extend_schema(
    tags=["tasks"],
    summary="Finish a task (after what it depends on, with its checklist ticked)",
    request=s.VersionInput,
    responses=TASK_NOW,
)
@api_view(["POST"])
def complete_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = parsed(s.VersionInput, request.data)
    actions.complete_task(request.user, found, expected_version=data.get("expected_version"))
    return _task_detail(found)


@extend_schema(tags=["tasks"], summary="Mark a task blocked, with a reason", request=s.ReasonInput, responses=TASK_NOW)
@api_view(["POST"])
def block_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = parsed(s.ReasonInput, request.data)
    actions.block_task(request.user, found, data["reason"], expected_version=data.get("expected_version"))
    return _task_detail(found)


@extend_schema(tags=["tasks"], summary="Unblock a task", request=s.VersionInput, responses=TASK_NOW)
@api_view(["POST"])
def unblock_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = parsed(s.VersionInput, request.data)
    actions.unblock_task(request.user, found, expected_version=data.get("expected_version"))
    return _task_detail(found)


@extend_schema(tags=["tasks"], summary="Skip a task, with a reason", request=s.ReasonInput, responses=TASK_NOW)
@api_view(["POST"])
def skip_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = parsed(s.ReasonInput, request.data)
    actions.skip_task(request.user, found, data["reason"], expected_version=data.get("expected_version"))
    return _task_detail(found)


@extend_schema(
    tags=["tasks"],
    summary="Give a task to a team member (null: to nobody)",
    request=s.AssignInput,
    responses=TASK_NOW,
)
@api_view(["POST"])
def assign_task(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = parsed(s.AssignInput, request.data)
    actions.assign_task(request.user, found, data["assignee"], expected_version=data.get("expected_version"))
    return _task_detail(found)


@extend_schema(tags=["tasks"], summary="Tick or untick a checklist item", request=s.TickInput, responses=TASK_NOW)
@api_view(["POST"])
def tick_checklist(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    data = parsed(s.TickInput, request.data)
    actions.tick_checklist(
        request.user, found, data["index"], data["done"], expected_version=data.get("expected_version")
    )
    return _task_detail(found)


# --- task comments --------------------------------------------------------------------------------


@extend_schema(
    methods=["GET"],
    tags=["comments"],
    summary="The comments on a task, oldest first",
    responses={200: s.CommentOutput(many=True)},
)
@extend_schema(
    methods=["POST"],
    tags=["comments"],
    summary="Comment on a task (the commander, the reporter, the team but observers)",
    request=s.CommentInput,
    responses={201: s.CommentOutput},
)
@api_view(["GET", "POST"])
def task_comments(request: Request, task_id: int) -> Response:
    found = _task(request, task_id)
    if request.method == "GET":
        comments = Event.objects.filter(task=found, kind=Event.Kind.COMMENT).select_related("actor").order_by("seq")
        return Response(s.CommentOutput(comments, many=True).data)
    data = parsed(s.CommentInput, request.data)
    event = actions.add_task_comment(request.user, found, data["text"])
    return Response(s.CommentOutput(event).data, status=201)


# --- command --------------------------------------------------------------------------------------


@extend_schema(
    tags=["incidents"],
    summary="Hand over command to someone on the commander roster",
    request=s.CommandInput,
    responses=INCIDENT_NOW,
)
@api_view(["POST"])
def hand_over_command(request: Request, reference: str) -> Response:
    found = incident_for(request, reference)
    data = parsed(s.CommandInput, request.data)
    actions.hand_over_command(request.user, found, data["commander"], expected_version=data.get("expected_version"))
    return _detail(request, found)


# --- bulk assignment ------------------------------------------------------------------------------


@extend_schema(
    tags=["tasks"],
    operation_id="tasks_assign_bulk",
    summary="Give several tasks to one person: all of them, or none",
    description="Each task comes with the version the client saw. If any one is refused (not allowed, "
    "stale, the person is not on its team) nothing changes, and the error's `task` names the one.",
    request=s.BulkAssignInput,
    responses={
        200: OpenApiResponse(s.TaskOutput(many=True), description="The tasks as they are now, in the order sent."),
        400: TaskInvalid,
        403: TaskRefusal,
        404: OpenApiResponse(
            Error, description="A task does not exist, or is on a restricted incident the reader may not see."
        ),
        409: TaskConflict,
    },
)
@api_view(["POST"])
def assign_tasks(request: Request) -> Response:
    data = parsed(s.BulkAssignInput, request.data)
    wanted = [(item["id"], item["version"]) for item in data["tasks"]]
    # Find what the person may see first: a task on a restricted incident is answered
    # exactly like one that does not exist.
    found = Task.objects.select_related("incident").in_bulk({pk for pk, _version in wanted})
    for pk, _version in wanted:
        if pk not in found or not permissions.can_view(request.user, found[pk].incident):
            raise NotFound(_("No such task."), field="tasks")
    done = actions.assign_tasks(request.user, wanted, data["assignee"])
    fresh = Task.objects.select_related("assignee").prefetch_related("depends_on").in_bulk([t.pk for t in done])
    return Response(s.TaskOutput([fresh[t.pk] for t in done], many=True).data)


# --- evidence -------------------------------------------------------------------------------------


class Evidence(APIView):
    """The files attached to an incident: the list, and attaching one (multipart)."""

    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (the CSRF check of a session does): an upload
        # past the limit is cut off as it arrives, and the use case refuses it.
        request.upload_handlers.insert(0, SizeCap(request, limit=evidence.max_bytes()))
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        tags=["evidence"],
        summary="The evidence attached to an incident, newest first",
        responses={200: s.AttachmentOutput(many=True)},
    )
    def get(self, request: Request, reference: str) -> Response:
        found = incident_for(request, reference)
        attachments = found.attachments.select_related("uploaded_by", "incident")
        return Response(s.AttachmentOutput(attachments, many=True, context={"request": request}).data)

    @extend_schema(
        tags=["evidence"],
        summary="Attach a file (PNG, JPEG, GIF, WebP, PDF or UTF-8 text, up to the evidence limit)",
        description="The type is read from the file's bytes, never from its name or the declared type. "
        "The commander and team members (not observers) may attach.",
        request={"multipart/form-data": s.EvidenceInput},
        responses={201: s.AttachmentOutput},
    )
    def post(self, request: Request, reference: str) -> Response:
        found = incident_for(request, reference)
        data = parsed(s.EvidenceInput, request.data)
        attachment = evidence.attach(request.user, found, data.get("file"), data["caption"])
        return Response(s.AttachmentOutput(attachment, context={"request": request}).data, status=201)


class AnswerInJson(BaseContentNegotiation):
    """A file download answers with the file whatever the client accepts; only its
    errors are rendered, always as JSON (a client asking for image/png gets no 406)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(
    tags=["evidence"],
    summary="Download an evidence file",
    description="Served with the type decided when it was received, `X-Content-Type-Options: nosniff`, a "
    "sandboxing Content-Security-Policy and, for PDFs and text, as a download. `If-None-Match` with "
    "its ETag (the SHA-256) answers 304.",
    responses={
        **{(200, media): OpenApiResponse(OpenApiTypes.BINARY, description="The file.") for media in EVIDENCE_TYPES},
        304: OpenApiResponse(description="Not modified (the ETag matched)."),
    },
)
@api_view(["GET"])
@content_negotiation_class(AnswerInJson)
def evidence_file(request: Request, reference: str, attachment_id: int) -> HttpResponse:
    found = incident_for(request, reference)
    attachment = found.attachments.select_related("incident").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("No such evidence file."))
    return file_response(request, attachment)


# --- notifications --------------------------------------------------------------------------------


@extend_schema(
    tags=["notifications"],
    summary="The reader's in-app notifications, newest first, and how many are unread",
    responses={200: s.InboxOutput},
)
@api_view(["GET"])
def notifications(request: Request) -> Response:
    rows = inbox.inbox(request.user)
    return Response(
        s.InboxOutput(
            {"unread": inbox.unread_count(request.user), "notifications": rows}, context={"request": request}
        ).data
    )


@extend_schema(
    tags=["notifications"], summary="Mark one notification read", request=None, responses={200: s.NotificationOutput}
)
@api_view(["POST"])
def read_notification(request: Request, notification_id: int) -> Response:
    notification = inbox.mark_read(request.user, notification_id)
    return Response(s.NotificationOutput(notification, context={"request": request}).data)


@extend_schema(
    tags=["notifications"],
    operation_id="notifications_read_all",
    summary="Mark every notification read",
    request=None,
    responses={200: s.MarkedOutput},
)
@api_view(["POST"])
def read_all_notifications(request: Request) -> Response:
    marked = inbox.mark_all_read(request.user)
    return Response(s.MarkedOutput({"marked": marked, "unread": inbox.unread_count(request.user)}).data)


# --- the playbook catalogue -----------------------------------------------------------------------


@extend_schema(
    tags=["playbooks"],
    summary="The loaded playbooks (their current versions)",
    responses={200: s.PlaybookSummary(many=True)},
)
@api_view(["GET"])
def playbooks(request: Request) -> Response:
    return Response(s.PlaybookSummary(current_versions(), many=True, context={"request": request}).data)


@extend_schema(
    tags=["playbooks"],
    summary="One playbook with its tasks: the current version, or ?version=N",
    parameters=[s.PlaybookQuery],
    responses={200: s.PlaybookDetail},
)
@api_view(["GET"])
def playbook(request: Request, key: str) -> Response:
    number = parsed(s.PlaybookQuery, request.query_params).get("version")
    version = find_version(key, number)
    if version is None:
        raise NotFound(_("No such playbook."))
    return Response(s.PlaybookDetail(version, context={"request": request}).data)


# --- the description of all this ------------------------------------------------------------------


class Docs(SpectacularSwaggerSplitView):
    """Swagger UI on the schema, from files served here (no CDN) and with no inline script
    or style, so it works offline and under a strict Content-Security-Policy."""

    template_name = "api/docs.html"
    url_name = "api:schema"
