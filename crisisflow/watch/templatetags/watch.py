"""The incident room's impact charts, as one tag the room's template includes."""

from __future__ import annotations

from django import template

from crisisflow import clock
from crisisflow.watch.charts import incident_charts as charts_of
from crisisflow.watch.charts import series_for
from crisisflow.watch.models import Firing
from crisisflow.watch.rules import explain

register = template.Library()


@register.inclusion_tag("watch/_incident_charts.html")
def incident_charts(incident):
    firings = list(Firing.objects.filter(incident=incident).select_related("rule").order_by("at")[:50])
    for firing in firings:
        firing.why = explain(firing.verdict)
    # Two queries for an incident without signals (firings, series); the charts' own
    # (markers, points per series) only when there is something to draw.
    charts = charts_of(incident, clock.now(), series_for(incident, firings))
    # The markers are numbered on the charts and named once below them (a phone has no
    # room for a sentence on a vertical line).
    markers = charts[0].markers if charts else []
    return {"charts": charts, "markers": markers, "firings": firings, "incident": incident}
