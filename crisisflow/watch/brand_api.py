"""The API of an incident's brand or product: read it, and (the commander) set or clear
it. The same use case as the incident room's form
(crisisflow.watch.incident_brands.set_incident_brand)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from crisisflow.api.guards import incident_for, parsed
from crisisflow.api.serializers import Person, UTCDateTimeField, person
from crisisflow.incidents.models import Incident
from crisisflow.watch import incident_brands


class IncidentBrandInput(serializers.Serializer):
    brand = serializers.SlugField(
        max_length=60, allow_null=True, help_text="The key of a brand or product; null: the incident is about none."
    )
    expected_version = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, help_text="The `version` the client saw (0 before any brand was set)."
    )


class BrandOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="brand or product")


class IncidentBrandOutput(serializers.Serializer):
    incident = serializers.CharField(help_text="The incident's reference.")
    brand = BrandOutput(allow_null=True)
    set_by = Person(allow_null=True, help_text="Who set it (the early-warning account when a rule did).")
    set_at = UTCDateTimeField(allow_null=True)
    version = serializers.IntegerField(help_text="Send it back as expected_version.")


def output(incident: Incident) -> dict:
    link = incident_brands.brand_of(incident)
    brand = link.brand if link is not None else None
    return {
        "incident": incident.reference,
        "brand": {"key": brand.key, "name": brand.name, "kind": brand.kind} if brand is not None else None,
        "set_by": person(link.set_by) if link is not None else None,
        "set_at": link.set_at if link is not None else None,
        "version": link.version if link is not None else 0,
    }


@extend_schema(
    tags=["early warning"],
    summary="The brand or product an incident is about",
    responses={200: IncidentBrandOutput},
    methods=["GET"],
)
@extend_schema(
    tags=["early warning"],
    summary="Say which brand or product the incident is about (the commander)",
    request=IncidentBrandInput,
    responses={200: OpenApiResponse(IncidentBrandOutput, description="The incident's brand now.")},
    methods=["POST"],
)
@api_view(["GET", "POST"])
def incident_brand(request: Request, reference: str) -> Response:
    incident = incident_for(request, reference)
    if request.method == "POST":
        d = parsed(IncidentBrandInput, request.data)
        incident_brands.set_incident_brand(request.user, incident, d["brand"], expected_version=d["expected_version"])
    return Response(IncidentBrandOutput(output(incident)).data)


urlpatterns = [path("incidents/<str:reference>/brand/", incident_brand, name="incident-brand")]
