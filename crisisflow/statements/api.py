"""The statements API: the fact sheet, statements, their versions, the diff between any
two, and drafting the message set. The same use cases as the pages
(crisisflow.statements.facts, .versions, .drafting); refusals in the API's error shape,
the fact sheet's naming the field path (`sections.next[2].due`).

crisisflow.api.urls lists `urlpatterns` below among its own.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from crisisflow.api.guards import incident_for, parsed, row_for
from crisisflow.api.serializers import PERSON_OR_NULL, Text, UTCDateTimeField, person
from crisisflow.incidents.errors import Invalid, NotFound
from crisisflow.incidents.models import Incident
from crisisflow.statements import diff, drafting, facts, kinds, versions
from crisisflow.statements.models import Statement, StatementVersion

# --- what goes in and out ---------------------------------------------------------------------------


class FactOut(serializers.Serializer):
    text = serializers.CharField()
    confirmed = serializers.BooleanField()
    by = serializers.CharField(help_text="The role that confirmed it (tech_security, legal…), or empty.")


class MomentFact(serializers.Serializer):
    at = serializers.CharField(help_text="ISO 8601 with its offset, or empty.")
    confirmed = serializers.BooleanField()
    by = serializers.CharField()


class When(serializers.Serializer):
    outbreak = MomentFact()
    discovery = MomentFact()


class Cause(FactOut):
    status = serializers.ChoiceField(choices=facts.CAUSE_STATUSES)


class Commitment(FactOut):
    due = serializers.CharField(help_text="YYYY-MM-DD, or a date and time with its offset.")


class Help(serializers.Serializer):
    hotline = serializers.CharField()
    page = serializers.CharField()
    email = serializers.CharField()


class QA(serializers.Serializer):
    question = serializers.CharField()
    answer = serializers.CharField()
    confirmed = serializers.BooleanField()
    by = serializers.CharField()


class Sections(serializers.Serializer):
    what = FactOut()
    when = When()
    who = FactOut(help_text="In words; the figures are the incident's scope facts.")
    cause = Cause()
    done = FactOut(many=True)
    next = Commitment(many=True)
    compensation = FactOut()
    help = Help()
    qa = QA(many=True)


@extend_schema_field(Sections)
class SectionsField(serializers.JSONField):
    """The sheet's sections as sent; the use case checks them and names the path of the
    first bad field."""


class FactSheetOut(serializers.Serializer):
    version = serializers.IntegerField(help_text="0 before the first save; send it back as expected_version.")
    sections = Sections()
    content_hash = serializers.CharField(allow_null=True)
    saved_by = PERSON_OR_NULL
    saved_at = UTCDateTimeField(allow_null=True)


class FactSheetIn(serializers.Serializer):
    expected_version = serializers.IntegerField(min_value=0, help_text="The version you edited (0 for a new sheet).")
    sections = SectionsField()


class FindingOut(serializers.Serializer):
    code = serializers.CharField()
    level = serializers.ChoiceField(choices=["error", "warning", "info"])
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    message = serializers.CharField()


class VersionOut(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    content_hash = serializers.CharField(help_text="SHA-256 of the JSON list [title, body].")
    author = PERSON_OR_NULL
    created_at = UTCDateTimeField()
    fact_sheet_version = serializers.IntegerField(allow_null=True)
    errors = serializers.IntegerField()
    warnings = serializers.IntegerField()
    findings = FindingOut(many=True)
    correction_note = serializers.CharField()


class StatementOut(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.CharField(help_text="The incident's reference.")
    kind = serializers.ChoiceField(choices=list(kinds.KINDS))
    kind_label = serializers.CharField()
    language = serializers.ChoiceField(choices=list(kinds.LANGUAGES))
    state = serializers.CharField()
    version = serializers.IntegerField(help_text="Send it back as expected_version with the next change.")
    created_by = PERSON_OR_NULL
    created_at = UTCDateTimeField()
    superseded_by = serializers.IntegerField(allow_null=True)
    first_published_at = UTCDateTimeField(allow_null=True)
    current = VersionOut(allow_null=True)


class StatementIn(serializers.Serializer):
    kind = Text(help_text="A kind of statement: " + ", ".join(kinds.KINDS))
    language = Text(help_text="zh-hans or en")
    title = Text(required=False, allow_blank=True, default="")
    body = Text(required=False, allow_blank=True, default="", multiline=True, trim_whitespace=False)
    from_template = serializers.BooleanField(
        required=False, default=False, help_text="Draft the text from the template and the fact sheet."
    )


class VersionIn(serializers.Serializer):
    expected_version = serializers.IntegerField(min_value=0, help_text="The statement's version you edited.")
    title = Text(required=False, allow_blank=True, default="")
    body = Text(multiline=True, trim_whitespace=False)
    correction_note = Text(required=False, allow_blank=True, default="", multiline=True, trim_whitespace=False)


class MessageSetIn(serializers.Serializer):
    language = serializers.ChoiceField(
        choices=list(kinds.LANGUAGES), required=False, allow_null=True, default=None, help_text="None: both."
    )


class DiffOut(serializers.Serializer):
    statement = serializers.IntegerField()
    language = serializers.CharField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    title = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='[op, text] pieces; op "equal", "insert" or "delete".',
    )
    body = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))


# --- answering ----------------------------------------------------------------------------------------


def sheet_out(incident: Incident) -> dict:
    sheet = facts.current_sheet(incident)
    current = sheet.current if sheet else None
    content = current.content if current else facts.blank_content(incident)
    return {
        "version": sheet.version if sheet else 0,
        "sections": content["sections"],
        "content_hash": current.content_hash if current else None,
        "saved_by": person(current.author) if current else None,
        "saved_at": current.created_at if current else None,
    }


def version_out(version: StatementVersion | None) -> dict | None:
    if version is None:
        return None
    return {
        "number": version.number,
        "title": version.title,
        "body": version.body,
        "content_hash": version.content_hash,
        "author": person(version.author),
        "created_at": version.created_at,
        "fact_sheet_version": version.fact_sheet_version.number if version.fact_sheet_version else None,
        "errors": version.errors,
        "warnings": version.warnings,
        "findings": version.findings,
        "correction_note": version.correction_note,
    }


def statement_out(statement: Statement) -> dict:
    return {
        "id": statement.pk,
        "incident": statement.incident.reference,
        "kind": statement.kind,
        "kind_label": versions.kind_text(statement.kind),
        "language": statement.language,
        "state": statement.state,
        "version": statement.version,
        "created_by": person(statement.created_by),
        "created_at": statement.created_at,
        "superseded_by": statement.superseded_by_id,
        "first_published_at": statement.first_published_at,
        "current": version_out(statement.current),
    }


STATEMENT_ROWS = ("created_by", "current__author", "current__fact_sheet_version", "incident")


def _statement(request: Request, statement_id: int) -> Statement:
    return row_for(request, Statement.objects.select_related(*STATEMENT_ROWS), statement_id, _("No such statement."))


def _fresh(statement_id: int) -> dict:
    return statement_out(Statement.objects.select_related(*STATEMENT_ROWS).get(pk=statement_id))


# --- the endpoints ------------------------------------------------------------------------------------


@extend_schema(methods=["GET"], tags=["statements"], summary="The incident's fact sheet", responses=FactSheetOut)
@extend_schema(
    methods=["PUT"],
    tags=["statements"],
    summary="Save a new version of the fact sheet (errors name the field path, e.g. sections.next[2].due)",
    request=FactSheetIn,
    responses={200: OpenApiResponse(FactSheetOut, description="The sheet as it is now.")},
)
@api_view(["GET", "PUT"])
def fact_sheet(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference)
    if request.method == "PUT":
        data = parsed(FactSheetIn, request.data)
        facts.save_fact_sheet(
            request.user, incident, {"sections": data["sections"]}, expected_version=data["expected_version"]
        )
    return Response(FactSheetOut(sheet_out(incident)).data)


@extend_schema(
    methods=["GET"],
    tags=["statements"],
    summary="The incident's statements, every kind and language, with their current versions",
    responses=StatementOut(many=True),
)
@extend_schema(
    methods=["POST"],
    tags=["statements"],
    summary="Start a statement of one kind in one language (its text given, or drafted from the template)",
    request=StatementIn,
    responses={201: OpenApiResponse(StatementOut, description="The statement, as a draft.")},
)
@api_view(["GET", "POST"])
def statements(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference)
    if request.method == "GET":
        rows = Statement.objects.filter(incident=incident).select_related(*STATEMENT_ROWS).order_by("created_at", "id")
        return Response(StatementOut([statement_out(s) for s in rows], many=True).data)
    data = parsed(StatementIn, request.data)
    if data["from_template"] and not (data["title"] or data["body"].strip()):
        made = drafting.draft_statement(request.user, incident, data["kind"], data["language"])
    else:
        made = versions.create_statement(
            request.user, incident, data["kind"], data["language"], title=data["title"], body=data["body"]
        )
    return Response(StatementOut(_fresh(made.pk)).data, status=201)


@extend_schema(
    tags=["statements"],
    summary="Draft the message set: every kind the plan asks for that has no statement yet",
    description="In both languages unless `language` names one; kinds other roles write are left to them.",
    request=MessageSetIn,
    responses={201: OpenApiResponse(StatementOut(many=True), description="The statements drafted (perhaps none).")},
)
@api_view(["POST"])
def message_set(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference)
    data = parsed(MessageSetIn, request.data)
    made = drafting.draft_message_set(request.user, incident, language=data["language"])
    rows = Statement.objects.filter(pk__in=[s.pk for s in made]).select_related(*STATEMENT_ROWS).order_by("id")
    return Response(StatementOut([statement_out(s) for s in rows], many=True).data, status=201)


@extend_schema(tags=["statements"], summary="One statement with its current version", responses=StatementOut)
@api_view(["GET"])
def statement(request: Request, statement_id: int) -> Response:
    return Response(StatementOut(statement_out(_statement(request, statement_id))).data)


@extend_schema(
    methods=["GET"],
    tags=["statements"],
    summary="Every version of a statement, oldest first",
    responses=VersionOut(many=True),
)
@extend_schema(
    methods=["POST"],
    tags=["statements"],
    summary="Save an edit as a new version (linted; the statement goes back to draft and earlier approvals are void)",
    request=VersionIn,
    responses={201: OpenApiResponse(StatementOut, description="The statement with its new current version.")},
)
@api_view(["GET", "POST"])
def statement_versions(request: Request, statement_id: int) -> Response:
    found = _statement(request, statement_id)
    if request.method == "GET":
        rows = found.versions.select_related("author", "fact_sheet_version").order_by("number")
        return Response(VersionOut([version_out(v) for v in rows], many=True).data)
    data = parsed(VersionIn, request.data)
    versions.save_version(
        request.user,
        found,
        title=data["title"],
        body=data["body"],
        expected_version=data["expected_version"],
        correction_note=data["correction_note"],
    )
    return Response(StatementOut(_fresh(found.pk)).data, status=201)


@extend_schema(tags=["statements"], summary="One version of a statement", responses=VersionOut)
@api_view(["GET"])
def statement_version(request: Request, statement_id: int, number: int) -> Response:
    found = _statement(request, statement_id)
    version = found.versions.select_related("author", "fact_sheet_version").filter(number=number).first()
    if version is None:
        raise NotFound(_("No such version."))
    return Response(VersionOut(version_out(version)).data)


@extend_schema(
    tags=["statements"],
    summary="The changes between two versions: character by character in Chinese, word by word in English",
    parameters=[
        OpenApiParameter(
            "from",
            OpenApiTypes.INT,
            OpenApiParameter.QUERY,
            required=False,
            description="Default: the version before the current one.",
        ),
        OpenApiParameter(
            "to", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False, description="Default: the current version."
        ),
    ],
    responses=DiffOut,
)
@api_view(["GET"])
def statement_diff(request: Request, statement_id: int) -> Response:
    found = _statement(request, statement_id)
    numbers = list(found.versions.order_by("number").values_list("number", flat=True))
    if not numbers:
        raise NotFound(_("This statement has no versions yet."))
    picked = {}
    for name, default in (("from", numbers[-2] if len(numbers) > 1 else numbers[-1]), ("to", numbers[-1])):
        raw = request.query_params.get(name, default)
        try:
            picked[name] = int(raw)
        except (TypeError, ValueError):
            raise Invalid(_("Give a version number."), field=name) from None
        if picked[name] not in numbers:
            raise NotFound(_("No such version."))
    old = found.versions.get(number=picked["from"])
    new = found.versions.get(number=picked["to"])
    pieces = diff.diff_versions(old, new, found.language)
    body = {
        "statement": found.pk,
        "language": found.language,
        "from_version": old.number,
        "to_version": new.number,
        "title": [list(p) for p in pieces["title"]],
        "body": [list(p) for p in pieces["body"]],
    }
    return Response(DiffOut(body).data)


incident = "incidents/<str:reference>/"
one = "statements/<int:statement_id>/"

urlpatterns = [
    path(incident + "fact-sheet/", fact_sheet, name="fact-sheet"),
    path(incident + "statements/", statements, name="statement-list"),
    path(incident + "statements/draft/", message_set, name="message-set"),
    path(one, statement, name="statement-detail"),
    path(one + "versions/", statement_versions, name="statement-versions"),
    path(one + "versions/<int:number>/", statement_version, name="statement-version"),
    path(one + "diff/", statement_diff, name="statement-diff"),
]
