"""The incident room's impact charts, as one tag the room's template includes."""

from __future__ import annotations

from django import template

from crisisflow import clock
from crisisflow.watch.charts import incident_charts as charts_of
from crisisflow.watch.models import Firing
from crisisflow.watch.rules import explain

register = template.Library()


@register.inclusion_tag("watch/_incident_charts.html")
def incident_charts(incident):
    firings = list(Firing.objects.filter(incident=incident).select_related("rule").order_by("at")[:50])
    for firing in firings:
        firing.why = explain(firing.verdict)
    return {"charts": charts_of(incident, clock.now()), "firings": firings, "incident": incident}
