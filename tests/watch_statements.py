"""Publishing a statement as the statements app records it on the timeline
(kind "statement_published"), for the chart tests. The statements app widens the
timeline's kind column to hold that name; until its migration is in, the marker is put
where the chart reads it (charts.markers_for) instead."""

from __future__ import annotations

from django.db import transaction

from crisisflow.incidents.models import Event
from crisisflow.incidents.timeline import record
from crisisflow.incidents.unit import lock_incident
from crisisflow.watch import charts

KIND = "statement_published"


def kind_fits() -> bool:
    return (Event._meta.get_field("kind").max_length or 0) >= len(KIND)


def publish(
    actor, incident, at, *, language="zh", kind="holding_statement", version=1, channel="weibo", monkeypatch=None
):
    data = {
        "statement": 1,
        "kind": kind,
        "language": language,
        "version": version,
        "channel": channel,
        "location": "",
        "first_statement": True,
        "correction": False,
    }
    if kind_fits():
        with transaction.atomic():
            record(lock_incident(actor, incident.pk), actor, KIND, data, at=at)
        return
    assert monkeypatch is not None, "the timeline cannot hold this kind yet: pass monkeypatch"
    read = charts.markers_for

    def with_statement(one):
        found = read(one)
        if one.pk == incident.pk:
            found.append(charts.Marker(at, "statement", charts.statement_label(data)))
        return found

    monkeypatch.setattr(charts, "markers_for", with_statement)
