"""The reviews API: an incident's review (figures, milestones, evaluation, narrative,
action items, sign-offs), editing it, its action items, signing off, the Markdown and
PDF exports, share links, and the analytics across incidents as JSON and CSV.

Each endpoint calls the use case the pages call (crisisflow.reviews.use_cases,
crisisflow.reviews.analytics); refusals come back in the shape of
crisisflow/api/errors.py: a stale `expected_version` is a 409 naming who saved in
between, someone who may not do it a 403, an incident they may not see a 404."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpResponse
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, content_negotiation_class
from rest_framework.request import Request
from rest_framework.response import Response

from crisisflow.api.guards import incident_for, parsed, parsed_change, row_for
from crisisflow.api.serializers import MomentInput, Person, Text, UTCDateTimeField, person
from crisisflow.api.views import AnswerInJson
from crisisflow.incidents.errors import Forbidden, NotFound
from crisisflow.incidents.models import Incident
from crisisflow.notices import drills
from crisisflow.reviews import analytics, export, metrics, use_cases
from crisisflow.reviews import content as review_content
from crisisflow.reviews import permissions as may
from crisisflow.reviews.models import SIGNING_ROLES, ActionItem, ActionItemKind, Review
from crisisflow.vocab import CrisisType, Role, Severity, State
from crisisflow.watch import incident_brands

# --- what goes in ----------------------------------------------------------------------------


class ExpectedVersion(serializers.Serializer):
    expected_version = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, help_text="The review's `version` the client saw; a newer one is a 409."
    )


class RatingInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    evidence = Text(multiline=True, required=False, allow_blank=True, max_length=review_content.MAX_TEXT)
    comment = Text(multiline=True, required=False, allow_blank=True, max_length=review_content.MAX_TEXT)


class RatingsInput(serializers.Serializer):
    speed = RatingInput(required=False, help_text="Response speed.")
    team = RatingInput(required=False, help_text="Team performance (collaboration, decision efficiency).")
    sentiment = RatingInput(required=False, help_text="Media and social sentiment.")
    brand = RatingInput(required=False, help_text="Impact on brand image and sales.")


def _prose(help_text: str) -> Text:
    return Text(
        multiline=True, required=False, allow_blank=True, max_length=review_content.MAX_TEXT, help_text=help_text
    )


class ReviewEditInput(ExpectedVersion):
    """Only the parts sent change; the rest of the review stays as it is."""

    ratings = RatingsInput(required=False, help_text="The effect evaluation, per dimension (each part optional).")
    went_well = _prose("What went well.")
    went_badly = _prose("What went badly.")
    lucky = _prose("Where we were lucky.")
    root_cause = _prose("The root cause.")
    root_cause_origin = serializers.ChoiceField(
        choices=["", *review_content.ORIGINS], required=False, help_text="internal or external ('' not said)."
    )
    five_whys = serializers.ListField(
        child=Text(allow_blank=True, max_length=review_content.MAX_TEXT),
        required=False,
        max_length=review_content.WHYS,
        help_text="Up to five answers, in order.",
    )


class SignInput(ExpectedVersion):
    role = serializers.ChoiceField(choices=list(SIGNING_ROLES), help_text="The role signed off as.")


class ActionItemInput(serializers.Serializer):
    title = Text(max_length=200, help_text="What is to be done.")
    kind = serializers.ChoiceField(choices=ActionItemKind.choices)
    owner = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="The owner's user id.")
    due_at = MomentInput(help_text="When it is due (with its time zone).")
    playbook_key = Text(required=False, allow_blank=True, default="", max_length=80, help_text="For a playbook change.")
    task_key = Text(
        required=False, allow_blank=True, default="", max_length=80, help_text="The playbook's task, if any."
    )


class ItemVersion(serializers.Serializer):
    expected_version = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, help_text="The action item's `version` the client saw."
    )


class ActionItemChangeInput(ItemVersion):
    title = Text(required=False, max_length=200)
    owner = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    due_at = MomentInput(required=False, help_text="A new due date restarts its reminders.")


class ActionItemFinishInput(ItemVersion):
    status = serializers.ChoiceField(choices=["done", "dropped"])


class ShareInput(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=use_cases.SHARE_DAYS_MAX, required=False, default=7, help_text="How long it works."
    )


class AnalyticsQuery(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="Outbreaks from this day (UTC).")
    until = serializers.DateField(required=False, help_text="Outbreaks until this day, included (UTC).")
    crisis_type = serializers.ChoiceField(choices=CrisisType.values, required=False)
    severity = serializers.ChoiceField(choices=Severity.values, required=False)
    brand = serializers.SlugField(required=False, max_length=60, help_text="A brand's or product's key.")

    def validate_brand(self, value: str) -> str:
        if value and value not in {b.key for b in incident_brands.brands()}:
            raise serializers.ValidationError(_("No brand or product “%(key)s”.") % {"key": value})
        return value


# --- what comes out -----------------------------------------------------------------------------


class MetricOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    group = serializers.CharField(help_text="response, approvals, tasks or outside (from another app)")
    value = serializers.FloatField(
        allow_null=True, help_text="In `unit`; null: no data. The golden hours: to spare (negative: late by)."
    )
    unit = serializers.ChoiceField(choices=["seconds", "ratio", "count"], allow_null=True)
    text = serializers.CharField(help_text="As the page shows it, in the reader's language.")
    note = serializers.CharField(help_text="The golden clock's state (met, missed, running), else empty.")
    events = serializers.ListField(
        child=serializers.IntegerField(), help_text="Timeline sequence numbers it came from."
    )


class MilestoneOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    at = UTCDateTimeField()
    event = serializers.IntegerField(allow_null=True, help_text="Its timeline sequence number.")
    since_outbreak_seconds = serializers.FloatField()
    since_previous_seconds = serializers.FloatField(allow_null=True)


class EvaluationOutput(serializers.Serializer):
    dimension = serializers.CharField()
    label = serializers.CharField()
    rating = serializers.IntegerField(allow_null=True, help_text="1 (poor) to 5 (excellent); null: not rated.")
    evidence = serializers.CharField()
    comment = serializers.CharField()


class NarrativeOutput(serializers.Serializer):
    went_well = serializers.CharField()
    went_badly = serializers.CharField()
    lucky = serializers.CharField()
    root_cause = serializers.CharField()
    root_cause_origin = serializers.CharField(help_text="internal, external or empty")
    five_whys = serializers.ListField(child=serializers.CharField())


class HintOutput(serializers.Serializer):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    excerpt = serializers.CharField()


class ActionItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.CharField(help_text="The incident's reference.")
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=ActionItemKind.choices)
    owner = Person()
    due_at = UTCDateTimeField()
    status = serializers.CharField(help_text="open, done or dropped")
    playbook_key = serializers.CharField()
    task_key = serializers.CharField()
    playbook_version = serializers.IntegerField(allow_null=True, help_text="The version it was written against.")
    newer_playbook_version = serializers.IntegerField(
        allow_null=True, help_text="A version of the playbook loaded since, if any."
    )
    finished_at = UTCDateTimeField(allow_null=True)
    version = serializers.IntegerField(help_text="Send it back as expected_version.")


class SignOffOutput(serializers.Serializer):
    role = serializers.CharField()
    label = serializers.CharField()
    signed = serializers.BooleanField(help_text="Signed on the current version's hash.")
    person = Person(allow_null=True)
    version = serializers.IntegerField(allow_null=True)
    content_hash = serializers.CharField(allow_null=True)
    signed_at = UTCDateTimeField(allow_null=True)


class ReviewOutput(serializers.Serializer):
    incident = serializers.CharField(help_text="The incident's reference.")
    state = serializers.ChoiceField(choices=State.values, help_text="The incident's state.")
    drill = serializers.BooleanField(help_text="The incident is a drill: it never counts in the analytics.")
    brand = serializers.CharField(allow_null=True, help_text="The key of the brand or product it is about.")
    opened = serializers.BooleanField(help_text="False until the incident enters review.")
    version = serializers.IntegerField(help_text="Send it back as expected_version (0: not written yet).")
    content_hash = serializers.CharField(help_text="SHA-256 of the content: what sign-offs are bound to.")
    updated_at = UTCDateTimeField(allow_null=True)
    updated_by = Person(allow_null=True)
    metrics = MetricOutput(many=True)
    milestones = MilestoneOutput(many=True)
    evaluation = EvaluationOutput(many=True)
    narrative = NarrativeOutput()
    hints = HintOutput(many=True, help_text="Blameless review: words the linter's blame rules flag.")
    action_items = ActionItemOutput(many=True)
    sign_offs = SignOffOutput(many=True)
    missing_sign_offs = serializers.ListField(child=serializers.CharField())


class ShareOutput(serializers.Serializer):
    url = serializers.CharField(help_text="The read-only link; shown once (only its digest is kept).")
    expires_at = UTCDateTimeField()


class RoleCount(serializers.Serializer):
    role = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class RoleLatency(RoleCount):
    median_seconds = serializers.FloatField(allow_null=True)


class CommitmentsOutput(serializers.Serializer):
    kept = serializers.IntegerField(help_text="Kept by the due time.")
    late = serializers.IntegerField(help_text="Kept after the due time.")
    broken = serializers.IntegerField()
    withdrawn = serializers.IntegerField(help_text="Not counted in the rate.")
    open = serializers.IntegerField(help_text="Not kept yet, overdue ones included.")
    overdue = serializers.IntegerField()
    decided = serializers.IntegerField(help_text="kept + late + broken + overdue")
    kept_rate = serializers.FloatField(allow_null=True, help_text="(kept + late) / decided; null: none decided.")


class MonthOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM of the outbreak")
    count = serializers.IntegerField()
    golden_met = serializers.IntegerField()
    golden_decided = serializers.IntegerField()
    median_first_statement_seconds = serializers.FloatField(allow_null=True)


class RootCauseOutput(serializers.Serializer):
    cause = serializers.CharField()
    count = serializers.IntegerField()


class AnalyticsOutput(serializers.Serializer):
    incidents = serializers.IntegerField(help_text="Counted incidents (drills never; false alarms apart).")
    open = serializers.IntegerField()
    dismissed = serializers.IntegerField(help_text="Dismissed as false alarms (counted apart).")
    golden_met = serializers.IntegerField()
    golden_decided = serializers.IntegerField()
    golden_rate = serializers.FloatField(allow_null=True)
    median_first_statement_seconds = serializers.FloatField(allow_null=True)
    p90_first_statement_seconds = serializers.FloatField(allow_null=True)
    median_to_close_seconds = serializers.FloatField(allow_null=True)
    overdue_by_role = RoleCount(many=True)
    approvals_by_role = RoleLatency(many=True)
    commitments = CommitmentsOutput()
    root_causes = RootCauseOutput(many=True, help_text="Root causes written in more than one review.")
    months = MonthOutput(many=True)


# --- how the answers are made -------------------------------------------------------------------------


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _metric(m: metrics.Metric) -> dict:
    value, unit = m.value, None
    if isinstance(value, timedelta):
        value, unit = value.total_seconds(), "seconds"
    elif isinstance(value, bool) or value is None:
        value = None
    elif isinstance(value, float):
        unit = "ratio"
    elif isinstance(value, int):
        unit = "count"
    else:
        value = None
    return {
        "key": m.key,
        "label": str(m.label),
        "group": m.group,
        "value": value,
        "unit": unit,
        "text": str(m.text),
        "note": m.note,
        "events": list(m.events),
    }


def item_output(item: ActionItem, numbers: dict[str, int] | None = None) -> dict:
    return {
        "id": item.pk,
        "incident": item.incident.reference,
        "title": item.title,
        "kind": item.kind,
        "owner": person(item.owner),
        "due_at": item.due_at,
        "status": item.status,
        "playbook_key": item.playbook_key,
        "task_key": item.task_key,
        "playbook_version": item.playbook_version,
        "newer_playbook_version": use_cases.newer_playbook(item, numbers),
        "finished_at": item.finished_at,
        "version": item.version,
    }


def review_output(incident: Incident, review: Review | None) -> dict:
    """The review as the API gives it (the figures even before the review opens)."""
    figures = metrics.compute(incident)
    content = (review.content if review is not None else None) or review_content.empty()
    link = incident_brands.brand_of(incident)
    items: list[ActionItem] = []
    sign_offs = []
    missing: list[str] = []
    if review is not None:
        items = list(review.action_items.select_related("owner", "incident").order_by("due_at", "id"))
        live = {s.role: s for s in use_cases.live_sign_offs(review)}
        for role in SIGNING_ROLES:
            s = live.get(role)
            sign_offs.append(
                {
                    "role": role,
                    "label": str(Role(role).label),
                    "signed": s is not None,
                    "person": person(s.person) if s else None,
                    "version": s.version if s else None,
                    "content_hash": s.content_hash if s else None,
                    "signed_at": s.signed_at if s else None,
                }
            )
        missing = use_cases.missing_sign_offs(review)
    numbers = use_cases.current_playbook_numbers(items)
    ratings = content.get("ratings") or {}
    return {
        "incident": incident.reference,
        "state": incident.state,
        "drill": drills.is_drill(incident),
        "brand": link.brand.key if link is not None and link.brand is not None else None,
        "opened": review is not None,
        "version": review.version if review is not None else 0,
        "content_hash": review.content_hash if review is not None else "",
        "updated_at": review.updated_at if review is not None and review.version else None,
        "updated_by": person(review.updated_by) if review is not None else None,
        "metrics": [_metric(m) for m in figures.metrics],
        "milestones": [
            {
                "key": m.key,
                "label": str(m.label),
                "at": m.at,
                "event": m.seq,
                "since_outbreak_seconds": _seconds(m.since_outbreak) or 0.0,
                "since_previous_seconds": _seconds(m.since_previous),
            }
            for m in figures.milestones
        ],
        "evaluation": [
            {
                "dimension": key,
                "label": str(label),
                "rating": (ratings.get(key) or {}).get("rating"),
                "evidence": (ratings.get(key) or {}).get("evidence", ""),
                "comment": (ratings.get(key) or {}).get("comment", ""),
            }
            for key, label in review_content.DIMENSIONS.items()
        ],
        "narrative": {
            **{key: content.get(key, "") for key in review_content.NARRATIVE},
            "root_cause_origin": content.get("root_cause_origin", ""),
            "five_whys": list(content.get("five_whys") or []),
        },
        "hints": use_cases.blameless_hints(content) if review is not None else [],
        "action_items": [item_output(i, numbers) for i in items],
        "sign_offs": sign_offs,
        "missing_sign_offs": missing,
    }


def _item(request: Request, item_id: int) -> ActionItem:
    return row_for(request, ActionItem.objects.select_related("incident", "owner"), item_id, _("No such action item."))


def _answer(request: Request, reference: str, status: int = 200) -> Response:
    incident = incident_for(request, reference, "commander")
    review = use_cases.review_of(request.user, incident)
    return Response(ReviewOutput(review_output(incident, review)).data, status=status)


def _item_answer(pk: int, status: int = 200) -> Response:
    item = ActionItem.objects.select_related("incident", "owner").get(pk=pk)
    return Response(ActionItemOutput(item_output(item)).data, status=status)


def merged_content(current: dict | None, given: dict) -> dict:
    """The review's content with the parts sent replacing theirs (a rating per dimension)."""
    content = dict(current or review_content.empty())
    ratings = {key: dict(value or {}) for key, value in (content.get("ratings") or {}).items()}
    for key, parts in (given.get("ratings") or {}).items():
        ratings.setdefault(key, {}).update(parts)
    content["ratings"] = ratings
    for key in (*review_content.NARRATIVE, "root_cause_origin", "five_whys"):
        if key in given:
            content[key] = given[key]
    return content


# --- the review -----------------------------------------------------------------------------------

ONE = {200: OpenApiResponse(ReviewOutput, description="The review now.")}
ITEM = {200: OpenApiResponse(ActionItemOutput, description="The action item now.")}


@extend_schema(
    tags=["reviews"],
    summary="An incident's review: figures, milestones, evaluation, narrative, action items, sign-offs",
    responses={200: ReviewOutput},
)
@api_view(["GET"])
def incident_review(request: Request, reference: str) -> Response:
    return _answer(request, reference)


@extend_schema(
    tags=["reviews"],
    summary="Save a new version of the review (the commander and the team, while in review); voids the sign-offs",
    request=ReviewEditInput,
    responses=ONE,
)
@api_view(["POST"])
def edit_review(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference, "commander")
    given, expected = parsed_change(ReviewEditInput, request.data)
    review = use_cases.review_of(request.user, incident)
    content = merged_content(review.content if review is not None else None, given)
    use_cases.save_review(request.user, incident, content, expected_version=expected)
    return _answer(request, reference)


@extend_schema(
    tags=["reviews"],
    summary="Sign the review's current version off in a role you hold",
    request=SignInput,
    responses=ONE,
)
@api_view(["POST"])
def sign_review(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference, "commander")
    d = parsed(SignInput, request.data)
    use_cases.sign_off(request.user, incident, d["role"], expected_version=d["expected_version"])
    return _answer(request, reference)


@extend_schema(
    tags=["reviews"],
    summary="Add an action item (the commander and the team, while in review)",
    request=ActionItemInput,
    responses={201: OpenApiResponse(ActionItemOutput, description="The action item added.")},
)
@api_view(["POST"])
def add_item(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference, "commander")
    d = parsed(ActionItemInput, request.data)
    item = use_cases.add_action_item(
        request.user,
        incident,
        title=d["title"],
        kind=d["kind"],
        owner=d["owner"],
        due_at=d["due_at"],
        playbook_key=d["playbook_key"],
        task_key=d["task_key"],
    )
    return _item_answer(item.pk, 201)


@extend_schema(
    tags=["reviews"],
    summary="Change an open action item's title, owner or due date",
    request=ActionItemChangeInput,
    responses=ITEM,
)
@api_view(["POST"])
def change_item(request: Request, item_id: int) -> Response:
    item = _item(request, item_id)
    d = parsed(ActionItemChangeInput, request.data)
    use_cases.change_action_item(
        request.user,
        item,
        expected_version=d["expected_version"],
        title=d.get("title"),
        owner=d.get("owner"),
        due_at=d.get("due_at"),
    )
    return _item_answer(item.pk)


@extend_schema(
    tags=["reviews"],
    summary="Mark an action item done or dropped (its owner or the commander)",
    request=ActionItemFinishInput,
    responses=ITEM,
)
@api_view(["POST"])
def finish_item(request: Request, item_id: int) -> Response:
    item = _item(request, item_id)
    d = parsed(ActionItemFinishInput, request.data)
    use_cases.finish_action_item(request.user, item, d["status"], expected_version=d["expected_version"])
    return _item_answer(item.pk)


@extend_schema(
    tags=["reviews"],
    summary="Make a read-only link to the review that expires (the commander and the executive sponsors)",
    request=ShareInput,
    responses={201: OpenApiResponse(ShareOutput, description="The link, shown once.")},
)
@api_view(["POST"])
def share_review(request: Request, reference: str) -> Response:
    from django.urls import reverse

    incident = incident_for(request, reference, "commander")
    d = parsed(ShareInput, request.data)
    link, token = use_cases.share_review(request.user, incident, days=d["days"])
    url = request.build_absolute_uri(reverse("reviews:shared", args=[token]))
    return Response(ShareOutput({"url": url, "expires_at": link.expires_at}).data, status=201)


def _download(request: Request, reference: str, fmt: str) -> HttpResponse:
    incident = incident_for(request, reference, "commander")
    review = use_cases.review_of(request.user, incident)
    if review is None:
        raise NotFound(_("This incident has no review yet."))
    body = export.export(review, fmt, language=translation.get_language() or "en")
    kind = "application/pdf" if fmt == "pdf" else "text/markdown; charset=utf-8"
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="review-{incident.reference}.{fmt}"'
    return response


@extend_schema(
    tags=["reviews"],
    summary="The review as Markdown (the same content as the PDF)",
    responses={(200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The Markdown file.")},
)
@api_view(["GET"])
@content_negotiation_class(AnswerInJson)
def review_markdown(request: Request, reference: str) -> HttpResponse:
    return _download(request, reference, "md")


@extend_schema(
    tags=["reviews"],
    summary="The review as PDF (Chinese fonts embedded, charts as SVG)",
    responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF file.")},
)
@api_view(["GET"])
@content_negotiation_class(AnswerInJson)
def review_pdf(request: Request, reference: str) -> HttpResponse:
    return _download(request, reference, "pdf")


# --- analytics -------------------------------------------------------------------------------------

FILTERS = [
    OpenApiParameter("since", OpenApiTypes.DATE, required=False, description="Outbreaks from this day (UTC)."),
    OpenApiParameter("until", OpenApiTypes.DATE, required=False, description="Outbreaks until this day (UTC)."),
    OpenApiParameter("crisis_type", str, enum=CrisisType.values, required=False),
    OpenApiParameter("severity", str, enum=Severity.values, required=False),
    OpenApiParameter("brand", str, required=False, description="A brand's or product's key."),
]


def _analytics(request: Request, *, rows: bool = False) -> analytics.Analytics:
    if not may.may_read_analytics(request.user):
        raise Forbidden(_("Only managers and executives read the analytics."))
    d = parsed(AnalyticsQuery, request.query_params)
    return analytics.compute(request.user, analytics.Filters.from_form(d), rows=rows)


def analytics_output(a: analytics.Analytics) -> dict:
    c = a.commitments
    return {
        "incidents": a.incidents,
        "open": a.open,
        "dismissed": a.dismissed,
        "golden_met": a.golden_met,
        "golden_decided": a.golden_decided,
        "golden_rate": a.golden_rate,
        "median_first_statement_seconds": _seconds(a.median_first_statement()),
        "p90_first_statement_seconds": _seconds(a.p90_first_statement()),
        "median_to_close_seconds": _seconds(a.median_to_close()),
        "overdue_by_role": [
            {"role": r["role"], "label": str(r["label"]), "count": r["count"]} for r in a.overdue_by_role
        ],
        "approvals_by_role": [
            {"role": r["role"], "label": str(r["label"]), "count": r["count"], "median_seconds": _seconds(r["median"])}
            for r in a.approvals_by_role
        ],
        "commitments": {
            "kept": c.kept,
            "late": c.late,
            "broken": c.broken,
            "withdrawn": c.withdrawn,
            "open": c.open,
            "overdue": c.overdue,
            "decided": c.decided,
            "kept_rate": c.kept_rate,
        },
        "root_causes": [{"cause": cause, "count": n} for cause, n in a.root_causes],
        "months": [
            {
                "month": m["month"],
                "count": m["count"],
                "golden_met": m["met"],
                "golden_decided": m["decided"],
                "median_first_statement_seconds": _seconds(m["median_first"]),
            }
            for m in a.months
        ],
    }


@extend_schema(
    tags=["reviews"],
    summary="Analytics across the incidents you may see (managers and executives); drills never count",
    parameters=FILTERS,
    responses={200: AnalyticsOutput},
)
@api_view(["GET"])
def analytics_json(request: Request) -> Response:
    return Response(AnalyticsOutput(analytics_output(_analytics(request))).data)


@extend_schema(
    tags=["reviews"],
    summary="The analytics as CSV, one row per incident (the page's CSV)",
    parameters=FILTERS,
    responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file.")},
)
@api_view(["GET"])
@content_negotiation_class(AnswerInJson)
def analytics_csv(request: Request) -> HttpResponse:
    response = HttpResponse(analytics.csv_text(_analytics(request, rows=True)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="crisisflow-analytics.csv"'
    return response


review = "incidents/<str:reference>/review/"
item = "review-items/<int:item_id>/"

urlpatterns = [
    path(review, incident_review, name="incident-review"),
    path(review + "edit/", edit_review, name="review-edit"),
    path(review + "sign/", sign_review, name="review-sign"),
    path(review + "items/", add_item, name="review-items"),
    path(review + "share/", share_review, name="review-share"),
    path(review + "markdown/", review_markdown, name="review-markdown"),
    path(review + "pdf/", review_pdf, name="review-pdf"),
    path(item + "change/", change_item, name="review-item-change"),
    path(item + "finish/", finish_item, name="review-item-finish"),
    path("analytics/", analytics_json, name="analytics"),
    path("analytics/csv/", analytics_csv, name="analytics-csv"),
]
