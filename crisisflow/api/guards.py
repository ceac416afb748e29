"""The first two steps of every API endpoint: find what the reader may see, parse the input.

Shared by crisisflow.api.views and every app's API (commitments, notices, statements,
reviews, the incident's brand…), so each finds an incident and reads a body the same way.
The third step, the use case, checks who may do it and the version the client saw; its
refusals, like the errors raised here, become JSON in crisisflow.api.errors:
- an incident, or a row of one, the reader may not see is a 404 exactly like one that
  does not exist, so a restricted incident is not admitted to exist;
- input that does not parse is DRF's ValidationError, the 400 naming the first field.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from crisisflow.incidents.errors import NotFound
from crisisflow.incidents.models import Incident
from crisisflow.incidents.permissions import can_view

Row = TypeVar("Row", bound=Model)


def incident_for(request: Request, reference: str, *related: str) -> Incident:
    """The incident, if the reader may see it (404 otherwise); `related` as select_related."""
    rows = Incident.objects.select_related(*related) if related else Incident.objects.all()
    incident = rows.filter(reference=reference).first()
    if incident is None or not can_view(request.user, incident):
        raise NotFound(_("No such incident."))
    return incident


def row_for(request: Request, rows: QuerySet[Row], pk: int, missing: str) -> Row:
    """Row `pk` of `rows` (a task, a commitment, a statement… anything with an `incident`)
    if the reader may see its incident; a 404 saying `missing` otherwise."""
    row = rows.filter(pk=pk).first()
    if row is None or not can_view(request.user, row.incident):
        raise NotFound(missing)
    return row


def parsed(serializer_class: type[BaseSerializer], data: Any) -> dict:
    """`data` (a body or the query string) checked by `serializer_class`: the validated data."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def parsed_change(serializer_class: type[BaseSerializer], data: Any) -> tuple[dict, int | None]:
    """For a change that sends only what changes: the fields sent, and apart from them the
    version the client saw (None when the serializer lets it be left out and it was)."""
    fields = dict(parsed(serializer_class, data))
    return fields, fields.pop("expected_version", None)
