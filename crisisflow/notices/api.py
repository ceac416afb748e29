"""The public notice's API for the team: read the notice's settings, turn it on or
change it, turn it off, mark the incident a drill (the commander). The public pages and
feeds themselves need no API: they are /notice/<address>/ and its feed.atom / feed.json."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from crisisflow.api.guards import incident_for, parsed
from crisisflow.api.serializers import Text, UTCDateTimeField
from crisisflow.incidents.models import Incident
from crisisflow.notices import actions, render


class NoticeInput(serializers.Serializer):
    title_zh = Text(required=False, allow_blank=True, default="", max_length=200, help_text="Public title in Chinese.")
    title_en = Text(required=False, allow_blank=True, default="", max_length=200, help_text="Public title in English.")
    summary_zh = Text(required=False, allow_blank=True, default="", max_length=300)
    summary_en = Text(required=False, allow_blank=True, default="", max_length=300)
    image_url = Text(
        required=False, allow_blank=True, default="", max_length=500, help_text="https:// image for cards."
    )
    slug = Text(required=False, allow_blank=True, default="", max_length=64, help_text="Chosen address; empty: random.")
    listed = serializers.BooleanField(required=False, default=False, help_text="On the index of public notices.")
    expected_version = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True, default=None
    )


class NoticeVersionInput(serializers.Serializer):
    expected_version = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True, default=None
    )


class NoticeDrillInput(NoticeVersionInput):
    drill = serializers.BooleanField(help_text="True: the incident is an exercise; nothing of it is ever public.")


class NoticeOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    listed = serializers.BooleanField()
    drill = serializers.BooleanField()
    slug = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_null=True, help_text="The public address while it is on.")
    title_zh = serializers.CharField()
    title_en = serializers.CharField()
    summary_zh = serializers.CharField()
    summary_en = serializers.CharField()
    image_url = serializers.CharField()
    updated_at = UTCDateTimeField(allow_null=True)
    version = serializers.IntegerField()


def _answer(incident: Incident) -> Response:
    n = actions.notice_of(incident)
    data = {
        "enabled": bool(n and n.enabled),
        "listed": bool(n and n.listed),
        "drill": bool(n and n.drill),
        "slug": n.slug if n else None,
        "url": render.site() + render.notice_path(n.slug) if n and n.shown else None,
        "title_zh": n.title_zh if n else "",
        "title_en": n.title_en if n else "",
        "summary_zh": n.summary_zh if n else "",
        "summary_en": n.summary_en if n else "",
        "image_url": n.image_url if n else "",
        "updated_at": n.updated_at if n else None,
        "version": n.version if n else 0,
    }
    return Response(NoticeOutput(data).data)


NOW = {200: OpenApiResponse(NoticeOutput, description="The notice now.")}


@extend_schema(tags=["notices"], summary="The incident's public notice", responses=NOW, methods=["GET"])
@extend_schema(
    tags=["notices"],
    summary="Turn the public notice on, or change it (the commander)",
    request=NoticeInput,
    responses=NOW,
    methods=["POST"],
)
@api_view(["GET", "POST"])
def notice(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference)
    if request.method == "POST":
        d = parsed(NoticeInput, request.data)
        actions.save_notice(request.user, incident, **d)
    return _answer(incident)


@extend_schema(
    tags=["notices"], summary="Turn the public notice off (the commander)", request=NoticeVersionInput, responses=NOW
)
@api_view(["POST"])
def notice_off(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference)
    d = parsed(NoticeVersionInput, request.data)
    actions.disable_notice(request.user, incident, expected_version=d["expected_version"])
    return _answer(incident)


@extend_schema(
    tags=["notices"],
    summary="Mark the incident a drill, or not (the commander)",
    request=NoticeDrillInput,
    responses=NOW,
)
@api_view(["POST"])
def notice_drill(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference)
    d = parsed(NoticeDrillInput, request.data)
    actions.mark_drill(request.user, incident, drill=d["drill"], expected_version=d["expected_version"])
    return _answer(incident)


urlpatterns = [
    path("incidents/<str:reference>/notice/", notice, name="incident-notice"),
    path("incidents/<str:reference>/notice/off/", notice_off, name="incident-notice-off"),
    path("incidents/<str:reference>/notice/drill/", notice_drill, name="incident-notice-drill"),
]
