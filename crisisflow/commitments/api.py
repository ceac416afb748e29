"""The commitments API: an incident's ledger (list, record), every commitment one may
see (the executives' view), one commitment, and its use cases (change, kept with
evidence, verify, withdraw, broken, carry over). Each endpoint calls the use case the
pages call; refusals come back in the shape of crisisflow/api/errors.py."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from crisisflow import clock
from crisisflow.api.guards import incident_for, parsed, parsed_change, row_for
from crisisflow.api.serializers import MomentInput, Person, Text, UTCDateTimeField, person
from crisisflow.commitments import actions
from crisisflow.commitments.models import Commitment, CommitmentStatus
from crisisflow.incidents.permissions import visible_incidents

# --- what goes in -------------------------------------------------------------------------


class CommitmentTerms(serializers.Serializer):
    scope = Text(required=False, allow_blank=True, default="", max_length=500, help_text="Who it is for.")
    amount = Text(required=False, allow_blank=True, default="", max_length=200)
    coverage = Text(required=False, allow_blank=True, default="", max_length=200)
    period = Text(required=False, allow_blank=True, default="", max_length=200)


class CommitmentInput(CommitmentTerms):
    text = Text(multiline=True, max_length=2000, help_text="What is promised, measurably.")
    owner = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="The owner's user id.")
    due_at = MomentInput(
        required=False,
        allow_null=True,
        default=None,
        help_text="When it is due (with its time zone). Left out: the end of the day the sentence promises "
        "(China Standard Time), if it names one.",
    )
    statement_version = serializers.IntegerField(
        min_value=1,
        max_value=2**62,
        required=False,
        allow_null=True,
        default=None,
        help_text="The statement version it came from (its id).",
    )
    sentence = Text(multiline=True, required=False, allow_blank=True, default="", max_length=2000)


class CommitmentVersionInput(serializers.Serializer):
    expected_version = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, help_text="The commitment's `version` the client saw."
    )


class CommitmentChangeInput(CommitmentVersionInput):
    text = Text(multiline=True, required=False, max_length=2000)
    owner = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    due_at = MomentInput(required=False)
    scope = Text(required=False, allow_blank=True, max_length=500)
    amount = Text(required=False, allow_blank=True, max_length=200)
    coverage = Text(required=False, allow_blank=True, max_length=200)
    period = Text(required=False, allow_blank=True, max_length=200)


class CommitmentFigure(serializers.Serializer):
    label = Text(max_length=200)
    value = Text(max_length=200)


class CommitmentKeptInput(CommitmentVersionInput):
    summary = Text(multiline=True, max_length=2000, help_text="The evidence that it was kept, summed up (public).")
    links = serializers.ListField(child=Text(max_length=500), required=False, default=list, max_length=20)
    figures = CommitmentFigure(many=True, required=False, default=list)
    files = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        required=False,
        default=list,
        max_length=20,
        help_text="CommitmentEvidence attachment ids of the incident.",
    )


class CommitmentReasonInput(CommitmentVersionInput):
    reason = Text(multiline=True, max_length=4000, help_text="Why (required; shown on the public page).")


class CommitmentCarryInput(CommitmentVersionInput):
    owner = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="Who owns it after the close.")


# --- what comes out -----------------------------------------------------------------------------


class CommitmentEvidence(serializers.Serializer):
    summary = serializers.CharField()
    links = serializers.ListField(child=serializers.CharField())
    figures = CommitmentFigure(many=True)
    files = serializers.ListField(child=serializers.IntegerField())


class CommitmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.CharField(help_text="The incident's reference.")
    text = serializers.CharField()
    statement = serializers.IntegerField(allow_null=True)
    statement_version = serializers.IntegerField(allow_null=True)
    sentence = serializers.CharField()
    owner = Person()
    scope = serializers.CharField()
    amount = serializers.CharField()
    coverage = serializers.CharField()
    period = serializers.CharField()
    due_at = UTCDateTimeField()
    status = serializers.ChoiceField(
        choices=CommitmentStatus.values, help_text="late as soon as the due time passed unkept"
    )
    reason = serializers.CharField()
    evidence = CommitmentEvidence(allow_null=True)
    kept_at = UTCDateTimeField(allow_null=True)
    verified_by = Person(allow_null=True)
    verified_at = UTCDateTimeField(allow_null=True)
    carried_over = serializers.BooleanField()
    version = serializers.IntegerField(help_text="Send it back as expected_version.")


ROWS = ("incident", "owner", "verified_by")  # what an answer reads of a commitment


def output(c: Commitment, now=None) -> dict:
    evidence = c.evidence or None
    if evidence is not None:
        evidence = {
            "summary": evidence.get("summary", ""),
            "links": evidence.get("links", []),
            "figures": evidence.get("figures", []),
            "files": evidence.get("files", []),
        }
    return {
        "id": c.pk,
        "incident": c.incident.reference,
        "text": c.text,
        "statement": c.statement_id,
        "statement_version": c.statement_version_id,
        "sentence": c.sentence,
        "owner": person(c.owner),
        "scope": c.scope,
        "amount": c.amount,
        "coverage": c.coverage,
        "period": c.period,
        "due_at": c.due_at,
        "status": actions.effective_status(c, now),
        "reason": c.reason,
        "evidence": evidence,
        "kept_at": c.kept_at,
        "verified_by": person(c.verified_by),
        "verified_at": c.verified_at,
        "carried_over": c.carried_over,
        "version": c.version,
    }


def _commitment(request: Request, commitment_id: int) -> Commitment:
    return row_for(request, Commitment.objects.select_related(*ROWS), commitment_id, _("No such commitment."))


def _answer(pk: int, status: int = 200) -> Response:
    c = Commitment.objects.select_related(*ROWS).get(pk=pk)
    return Response(CommitmentOutput(output(c)).data, status=status)


ONE = {200: OpenApiResponse(CommitmentOutput, description="The commitment now.")}
STATUS = OpenApiParameter("status", str, enum=CommitmentStatus.values, required=False, description="Only these.")


@extend_schema(
    tags=["commitments"],
    summary="An incident's commitments",
    responses={200: CommitmentOutput(many=True)},
    methods=["GET"],
)
@extend_schema(
    tags=["commitments"],
    summary="Record a promise as a commitment (commander, PR or legal on the team)",
    request=CommitmentInput,
    responses={201: OpenApiResponse(CommitmentOutput, description="The commitment recorded.")},
    methods=["POST"],
)
@api_view(["GET", "POST"])
def incident_commitments(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference)
    if request.method == "POST":
        d = parsed(CommitmentInput, request.data)
        c = actions.create_commitment(
            request.user,
            incident,
            text=d["text"],
            owner=d["owner"],
            due_at=d["due_at"],
            statement_version=d["statement_version"],
            sentence=d["sentence"],
            scope=d["scope"],
            amount=d["amount"],
            coverage=d["coverage"],
            period=d["period"],
        )
        return _answer(c.pk, 201)
    now = clock.now()
    rows = Commitment.objects.filter(incident=incident).select_related(*ROWS)
    return Response(CommitmentOutput([output(c, now) for c in rows], many=True).data)


@extend_schema(
    tags=["commitments"],
    summary="Every commitment across the incidents I may see: what we owe, to whom, by when, what is late",
    parameters=[STATUS],
    responses={200: CommitmentOutput(many=True)},
)
@api_view(["GET"])
def all_commitments(request: Request) -> Response:
    now = clock.now()
    rows = (
        Commitment.objects.filter(incident__in=visible_incidents(request.user).values("pk"))
        .select_related(*ROWS)
        .order_by("due_at", "id")
    )
    found = [output(c, now) for c in rows]
    only = request.query_params.get("status", "")
    if only in CommitmentStatus.values:
        found = [row for row in found if row["status"] == only]
    return Response(CommitmentOutput(found, many=True).data)


@extend_schema(tags=["commitments"], summary="One commitment", responses=ONE)
@api_view(["GET"])
def commitment(request: Request, commitment_id: int) -> Response:
    return _answer(_commitment(request, commitment_id).pk)


@extend_schema(
    tags=["commitments"],
    summary="Change its text, owner, terms or due date",
    request=CommitmentChangeInput,
    responses=ONE,
)
@api_view(["POST"])
def change(request: Request, commitment_id: int) -> Response:
    c = _commitment(request, commitment_id)
    changes, expected = parsed_change(CommitmentChangeInput, request.data)
    actions.change_commitment(request.user, c, expected_version=expected, **changes)
    return _answer(c.pk)


@extend_schema(
    tags=["commitments"],
    summary="Mark it kept, with the evidence (owner, commander, PR, legal)",
    request=CommitmentKeptInput,
    responses=ONE,
)
@api_view(["POST"])
def kept(request: Request, commitment_id: int) -> Response:
    c = _commitment(request, commitment_id)
    d = parsed(CommitmentKeptInput, request.data)
    actions.mark_kept(
        request.user,
        c,
        expected_version=d["expected_version"],
        summary=d["summary"],
        links=d["links"],
        figures=[dict(f) for f in d["figures"]],
        files=d["files"],
    )
    return _answer(c.pk)


@extend_schema(
    tags=["commitments"],
    summary="Verify the evidence (commander, legal or executive; never the owner)",
    request=CommitmentVersionInput,
    responses=ONE,
)
@api_view(["POST"])
def verify(request: Request, commitment_id: int) -> Response:
    c = _commitment(request, commitment_id)
    d = parsed(CommitmentVersionInput, request.data)
    actions.verify(request.user, c, expected_version=d["expected_version"])
    return _answer(c.pk)


@extend_schema(tags=["commitments"], summary="Withdraw it, saying why", request=CommitmentReasonInput, responses=ONE)
@api_view(["POST"])
def withdraw(request: Request, commitment_id: int) -> Response:
    c = _commitment(request, commitment_id)
    d = parsed(CommitmentReasonInput, request.data)
    actions.withdraw(request.user, c, reason=d["reason"], expected_version=d["expected_version"])
    return _answer(c.pk)


@extend_schema(tags=["commitments"], summary="Say it was broken, and why", request=CommitmentReasonInput, responses=ONE)
@api_view(["POST"])
def broken(request: Request, commitment_id: int) -> Response:
    c = _commitment(request, commitment_id)
    d = parsed(CommitmentReasonInput, request.data)
    actions.mark_broken(request.user, c, reason=d["reason"], expected_version=d["expected_version"])
    return _answer(c.pk)


@extend_schema(
    tags=["commitments"],
    summary="Carry it over past the incident's close to a named owner (commander)",
    request=CommitmentCarryInput,
    responses=ONE,
)
@api_view(["POST"])
def carry_over(request: Request, commitment_id: int) -> Response:
    c = _commitment(request, commitment_id)
    d = parsed(CommitmentCarryInput, request.data)
    actions.carry_over(request.user, c, owner=d["owner"], expected_version=d["expected_version"])
    return _answer(c.pk)


one = "commitments/<int:commitment_id>/"

urlpatterns = [
    path("commitments/", all_commitments, name="commitments"),
    path("incidents/<str:reference>/commitments/", incident_commitments, name="incident-commitments"),
    path(one, commitment, name="commitment"),
    path(one + "change/", change, name="commitment-change"),
    path(one + "kept/", kept, name="commitment-kept"),
    path(one + "verify/", verify, name="commitment-verify"),
    path(one + "withdraw/", withdraw, name="commitment-withdraw"),
    path(one + "broken/", broken, name="commitment-broken"),
    path(one + "carry-over/", carry_over, name="commitment-carry-over"),
]
