"""Which incidents are drills (exercises), for the apps that must leave them out.

The drill flag lives on the incident's public notice (crisisflow.notices.actions.mark_drill);
analytics and reviews read it through these functions, never through the model."""

from __future__ import annotations

from django.db.models import QuerySet

from crisisflow.incidents.models import Incident
from crisisflow.notices.models import PublicNotice


def drill_incident_ids() -> QuerySet:
    """The ids of the incidents marked as drills, as a subquery (`pk__in=…`)."""
    return PublicNotice.objects.filter(drill=True).order_by().values("incident_id")


def without_drills(incidents: QuerySet) -> QuerySet:
    """`incidents` with the drills left out."""
    return incidents.exclude(pk__in=drill_incident_ids())


def is_drill(incident: Incident | int) -> bool:
    pk = incident.pk if isinstance(incident, Incident) else incident
    return PublicNotice.objects.filter(incident_id=pk, drill=True).exists()
