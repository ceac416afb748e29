"""The API of approvals and publishing: a statement's approval status, request approval,
approve (with a reason overriding lint errors), reject, publish and publish a correction,
and the "waiting for my approval" queue. Each endpoint calls the same use case as the
web page; refusals come back in the shape of crisisflow/api/errors.py."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from crisisflow import clock
from crisisflow.api.guards import parsed, row_for
from crisisflow.api.serializers import Text, UTCDateTimeField
from crisisflow.incidents import golden_clock
from crisisflow.statements import approvals, kinds, publishing
from crisisflow.statements.models import Approval, Publication, Statement

# --- what goes in ----------------------------------------------------------------------------


class ExpectedVersion(serializers.Serializer):
    expected_version = serializers.IntegerField(
        min_value=0, help_text="The statement's `version` the client saw; a newer one is a 409."
    )


class ApproveInput(ExpectedVersion):
    role = Text(help_text="The role approved as (pr, legal, executive, commander…).")
    override_reason = Text(
        multiline=True,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the version has error-level lint findings: why they may stand.",
    )


class RejectInput(ExpectedVersion):
    role = Text(help_text="The role rejected as.")
    reason = Text(multiline=True, required=False, allow_blank=True, default="", help_text="Why (required).")


class PublishInput(ExpectedVersion):
    channel = serializers.ChoiceField(choices=list(kinds.CHANNELS), help_text="One of the kind's channels.")
    location = Text(required=False, allow_blank=True, default="", help_text="A URL or the channel's message id.")


# --- what comes out ---------------------------------------------------------------------------


class DecisionOutput(serializers.Serializer):
    role = serializers.CharField()
    decision = serializers.CharField(help_text="approved or rejected")
    person = serializers.CharField()
    at = UTCDateTimeField()
    content_hash = serializers.CharField(help_text="The exact version decided on.")
    version_number = serializers.IntegerField()
    reason = serializers.CharField(help_text="Why it was rejected, or why lint errors were overridden.")
    overrode_lint = serializers.BooleanField()
    voided_at = UTCDateTimeField(allow_null=True)
    voided_by = serializers.CharField(allow_null=True, help_text="Whose edit voided it.")


class RoleOutput(serializers.Serializer):
    role = serializers.CharField()
    label = serializers.CharField()
    state = serializers.CharField(help_text="waiting, approved or rejected (on the current version)")
    decision = DecisionOutput(allow_null=True)
    voided = DecisionOutput(many=True, help_text="Decisions on earlier versions voided by an edit, newest first.")


class PublicationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    location = serializers.CharField()
    published_by = serializers.CharField()
    published_at = UTCDateTimeField()
    version_number = serializers.IntegerField()
    content_hash = serializers.CharField()
    is_correction = serializers.BooleanField()


class ClockOutput(serializers.Serializer):
    state = serializers.CharField(help_text="none, running, met or missed")
    due_at = UTCDateTimeField(allow_null=True)
    margin_seconds = serializers.IntegerField(allow_null=True, help_text="Left, to spare, or late by.")


class StatementFlowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.CharField(help_text="The incident's reference.")
    kind = serializers.CharField()
    language = serializers.CharField()
    state = serializers.CharField(help_text="draft, in_review, approved, published or superseded")
    version = serializers.IntegerField(help_text="Send it back as expected_version.")
    current_version = serializers.IntegerField(allow_null=True, help_text="The number of the current text.")
    content_hash = serializers.CharField(allow_null=True)
    lint_errors = serializers.IntegerField()
    required_roles = serializers.ListField(child=serializers.CharField())
    approved = serializers.BooleanField(help_text="Every required role approved this exact version.")
    approval_due_at = UTCDateTimeField(allow_null=True)
    roles = RoleOutput(many=True)
    publications = PublicationOutput(many=True)
    golden_clock = ClockOutput()


def _decision(a: Approval) -> dict:
    return {
        "role": a.role,
        "decision": a.decision,
        "person": str(a.person),
        "at": a.at,
        "content_hash": a.content_hash,
        "version_number": a.statement_version.number,
        "reason": a.reason,
        "overrode_lint": a.overrode_lint,
        "voided_at": a.voided_at,
        "voided_by": str(a.voided_by) if a.voided_by_id else None,
    }


def flow_of(statement: Statement) -> dict:
    """A statement's approval and publishing status, as the API gives it."""
    statement = Statement.objects.select_related("incident", "current").get(pk=statement.pk)
    current = statement.current
    result = golden_clock.outcome(statement.incident, clock.now())
    publications = Publication.objects.filter(statement=statement).select_related("published_by", "statement_version")
    return {
        "id": statement.pk,
        "incident": statement.incident.reference,
        "kind": statement.kind,
        "language": statement.language,
        "state": statement.state,
        "version": statement.version,
        "current_version": current.number if current else None,
        "content_hash": current.content_hash if current else None,
        "lint_errors": current.errors if current else 0,
        "required_roles": approvals.required_roles(statement),
        "approved": approvals.is_approved(statement) if current else False,
        "approval_due_at": statement.approval_due_at,
        "roles": [
            {
                "role": s.role,
                "label": s.label,
                "state": s.state,
                "decision": _decision(s.approval) if s.approval else None,
                "voided": [_decision(v) for v in s.voided],
            }
            for s in approvals.role_status(statement)
        ],
        "publications": [
            {
                "id": p.pk,
                "channel": p.channel,
                "location": p.location,
                "published_by": str(p.published_by),
                "published_at": p.published_at,
                "version_number": p.statement_version.number,
                "content_hash": p.content_hash,
                "is_correction": p.is_correction,
            }
            for p in publications
        ],
        "golden_clock": {
            "state": result.state,
            "due_at": result.due_at,
            "margin_seconds": int(result.margin.total_seconds()) if result.margin is not None else None,
        },
    }


def _statement(request: Request, statement_id: int) -> Statement:
    return row_for(request, Statement.objects.select_related("incident"), statement_id, _("No such statement."))


def _answer(statement: Statement) -> Response:
    return Response(StatementFlowOutput(flow_of(statement)).data)


NOW = {200: OpenApiResponse(StatementFlowOutput, description="The statement's approvals and publications now.")}


@extend_schema(tags=["statements"], summary="A statement's approvals and publications", responses=NOW)
@api_view(["GET"])
def statement_flow(request: Request, statement_id: int) -> Response:
    return _answer(_statement(request, statement_id))


@extend_schema(
    tags=["statements"],
    summary="Ask for approval of the current version (notifies the approvers, starts the approval deadline)",
    request=ExpectedVersion,
    responses=NOW,
)
@api_view(["POST"])
def request_approval(request: Request, statement_id: int) -> Response:
    statement = _statement(request, statement_id)
    data = parsed(ExpectedVersion, request.data)
    approvals.request_approval(request.user, statement, expected_version=data["expected_version"])
    return _answer(statement)


@extend_schema(
    tags=["statements"],
    summary="Approve the current version as a role you hold on the team",
    description="Lint errors on the version block the approval (409) unless `override_reason` says why they may "
    "stand; the override is kept on the timeline.",
    request=ApproveInput,
    responses=NOW,
)
@api_view(["POST"])
def approve(request: Request, statement_id: int) -> Response:
    statement = _statement(request, statement_id)
    data = parsed(ApproveInput, request.data)
    approvals.approve(
        request.user,
        statement,
        role=data["role"],
        expected_version=data["expected_version"],
        override_reason=data["override_reason"],
    )
    return _answer(statement)


@extend_schema(
    tags=["statements"],
    summary="Reject the current version as a role you hold on the team, with a reason",
    request=RejectInput,
    responses=NOW,
)
@api_view(["POST"])
def reject(request: Request, statement_id: int) -> Response:
    statement = _statement(request, statement_id)
    data = parsed(RejectInput, request.data)
    approvals.reject(
        request.user, statement, role=data["role"], reason=data["reason"], expected_version=data["expected_version"]
    )
    return _answer(statement)


@extend_schema(
    tags=["statements"],
    summary="Record that the approved version went out on a channel (a correction when an earlier one did)",
    description="The first publication of a holding or full statement stops the golden clock; `golden_clock` "
    "then says met or missed, and by how much.",
    request=PublishInput,
    responses=NOW,
)
@api_view(["POST"])
def publish(request: Request, statement_id: int) -> Response:
    statement = _statement(request, statement_id)
    data = parsed(PublishInput, request.data)
    publishing.publish(
        request.user,
        statement,
        channel=data["channel"],
        location=data["location"],
        expected_version=data["expected_version"],
    )
    return _answer(statement)


class WaitingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.CharField()
    kind = serializers.CharField()
    language = serializers.CharField()
    version = serializers.IntegerField()
    approval_due_at = UTCDateTimeField(allow_null=True)
    url = serializers.CharField(help_text="This statement's approval status in the API.")


@extend_schema(
    tags=["statements"],
    summary="Statements waiting for my approval",
    responses={200: WaitingOutput(many=True)},
)
@api_view(["GET"])
def waiting(request: Request) -> Response:
    rows = [
        {
            "id": s.pk,
            "incident": s.incident.reference,
            "kind": s.kind,
            "language": s.language,
            "version": s.version,
            "approval_due_at": s.approval_due_at,
            "url": request.build_absolute_uri(f"/api/statements/{s.pk}/approvals/"),
        }
        for s in approvals.waiting_for(request.user)
    ]
    return Response(WaitingOutput(rows, many=True).data)


statement = "statements/<int:statement_id>/"

urlpatterns = [
    path("statements/waiting-for-me/", waiting, name="statements-waiting"),
    path(statement + "approvals/", statement_flow, name="statement-approvals"),
    path(statement + "request-approval/", request_approval, name="statement-request"),
    path(statement + "approve/", approve, name="statement-approve"),
    path(statement + "reject/", reject, name="statement-reject"),
    path(statement + "publish/", publish, name="statement-publish"),
]
