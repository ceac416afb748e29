"""Impact charts: a series over an incident's time line, with a marker for each stage
change and each published statement, as data for ECharts (the interactive chart in the
browser) and as server-side SVG (pages without JavaScript, the review's PDF export).

The SVG renderer is a few lines of our own: lines, axes, markers, text — nothing a
library would add for this. Times are written in the reader's time zone and every
label in the reader's language; the drawing scales to its container (375 px phones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crisisflow.incidents.models import Event, Incident
from crisisflow.vocab import State
from crisisflow.watch.models import Firing, Point, Series

STATEMENT_KIND = "statement_published"
MAX_POINTS = 2000  # per series in one chart
BEFORE = timedelta(hours=24)  # how much of the time before the outbreak a chart shows


@dataclass(frozen=True)
class Marker:
    at: datetime
    kind: str  # "stage" | "statement"
    label: str


@dataclass
class Chart:
    series: Series
    points: list[tuple[datetime, float]]
    markers: list[Marker]
    start: datetime
    end: datetime
    zone: str = ""
    svg: str = field(default="", repr=False)

    def data_json(self) -> str:
        """What static/watch/charts.js draws (times as epoch milliseconds)."""
        return json.dumps(
            {
                "title": str(self.series),
                "kind": self.series.kind_label,
                "zone": self.zone,
                "points": [[int(at.timestamp() * 1000), value] for at, value in self.points],
                "markers": [
                    {"at": int(m.at.timestamp() * 1000), "kind": m.kind, "label": m.label, "n": n}
                    for n, m in enumerate(self.markers, start=1)
                ],
                "start": int(self.start.timestamp() * 1000),
                "end": int(self.end.timestamp() * 1000),
            },
            ensure_ascii=False,
        )


def markers_for(incident: Incident) -> list[Marker]:
    """Stage changes and published statements from the incident's timeline."""
    markers = []
    for at, kind, data in (
        Event.objects.filter(incident=incident, kind__in=[Event.Kind.TRANSITION, Event.Kind.REPORTED, STATEMENT_KIND])
        .order_by("seq")
        .values_list("at", "kind", "data")
    ):
        if kind == STATEMENT_KIND:
            markers.append(Marker(at, "statement", statement_label(data)))
        elif kind == Event.Kind.REPORTED:
            markers.append(Marker(at, "stage", str(State.REPORTED.label)))
        else:
            to = data.get("to", "")
            markers.append(Marker(at, "stage", str(State(to).label) if to in State.values else to))
    return markers


def statement_label(data: dict) -> str:
    """“Statement published: holding_statement (zh) v2 · weibo”, in the reader's words."""
    return _("Statement published: %(kind)s (%(language)s) v%(version)s · %(channel)s") % {
        "kind": str(data.get("kind", "")).replace("_", " "),
        "language": data.get("language", ""),
        "version": data.get("version", ""),
        "channel": data.get("channel", ""),
    }


def series_for(incident: Incident, firings: list[Firing] | None = None) -> list[Series]:
    """The incident's own series and those of the rules that fired into it (one query,
    given the firings with their rules)."""
    if firings is None:
        firings = list(Firing.objects.filter(incident=incident).select_related("rule"))
    fired = {firing.rule.series_id for firing in firings if firing.rule.series_id}
    return list(Series.objects.filter(Q(incident=incident) | Q(pk__in=fired)).order_by("key"))


def incident_charts(incident: Incident, now: datetime, series: list[Series] | None = None) -> list[Chart]:
    series = series_for(incident) if series is None else series
    if not series:
        return []
    markers = markers_for(incident)
    start = min([incident.detected_at, *(m.at for m in markers)]) - BEFORE
    end = now
    if incident.state in (State.CLOSED, State.DISMISSED) and markers:
        end = max(m.at for m in markers) + BEFORE
    # A margin on the right, so the latest point and marker are not drawn on the edge.
    end += max((end - start) / 20, timedelta(minutes=30))
    zone = timezone.get_current_timezone_name()
    charts = []
    for one in series:
        points = list(
            Point.objects.filter(series=one, at__gte=start, at__lte=end)
            .order_by("-at")
            .values_list("at", "value")[:MAX_POINTS]
        )
        points.reverse()
        if points:
            start_here = min(start, points[0][0])
        else:
            start_here = start
        chart = Chart(one, points, markers, start_here, end, zone)
        chart.svg = render_svg(chart)
        charts.append(chart)
    return charts


# --- SVG ----------------------------------------------------------------------------------


WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 40
STAGE_COLOUR, STATEMENT_COLOUR, LINE_COLOUR = "#8a5a00", "#b42318", "#1d4ed8"


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _local(at: datetime, pattern: str) -> str:
    return date_format(timezone.localtime(at), pattern)


def render_svg(chart: Chart) -> str:
    """The chart as an SVG document fragment (title, axes, line, markers)."""
    points, markers = chart.points, chart.markers
    t0, t1 = chart.start.timestamp(), max(chart.end.timestamp(), chart.start.timestamp() + 1)
    values = [v for _a, v in points] or [0.0]
    low, high = min(0.0, min(values)), max(values)
    if high == low:
        high = low + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + plot_w * (at.timestamp() - t0) / (t1 - t0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / (high - low))

    title = f"{chart.series} — {chart.series.kind_label}"
    out = [
        f'<svg class="watch-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="600" fill="#111">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#999"/>',
    ]
    for fraction in (0, 0.5, 1):
        value = low + (high - low) * fraction
        out.append(
            f'<text x="{LEFT - 4}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end" fill="#444">'
            f"{escape(_fmt(value))}</text>"
        )
    for fraction in (0, 0.5, 1):
        at = datetime.fromtimestamp(t0 + (t1 - t0) * fraction, tz=chart.start.tzinfo)
        anchor = "start" if fraction == 0 else ("end" if fraction == 1 else "middle")
        out.append(
            f'<text x="{x(at):.1f}" y="{HEIGHT - 22}" font-size="11" text-anchor="{anchor}" fill="#444">'
            f"{escape(_local(at, 'm-d H:i'))}</text>"
        )
    out.append(
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 6}" font-size="10" text-anchor="end" fill="#666">'
        f"{escape(chart.zone)}</text>"
    )
    for number, marker in enumerate(markers):
        if not (t0 <= marker.at.timestamp() <= t1):
            continue
        colour = STATEMENT_COLOUR if marker.kind == "statement" else STAGE_COLOUR
        mx = x(marker.at)
        dash = "" if marker.kind == "statement" else ' stroke-dasharray="4 3"'
        when = _local(marker.at, "Y-m-d H:i")
        out.append(
            f'<g class="marker marker-{marker.kind}"><title>{escape(marker.label)} — {escape(when)}</title>'
            f'<line x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}" y2="{TOP + plot_h}" stroke="{colour}"{dash}/>'
            f'<text x="{mx + 2:.1f}" y="{TOP + 10 + 11 * (number % 3)}" font-size="10" fill="{colour}">'
            f"{number + 1}</text></g>"
        )
    if points:
        path = " ".join(f"{x(at):.1f},{y(value):.1f}" for at, value in points)
        out.append(f'<polyline fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5" points="{path}"/>')
    else:
        empty = _("No points in this period.")
        out.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" font-size="12" fill="#666">'
            f"{escape(empty)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """A tiny line of the latest values, for lists."""
    if len(values) < 2:
        return f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" aria-hidden="true"></svg>'
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    path = " ".join(f"{i * step:.1f},{height - 2 - (height - 4) * (v - low) / span:.1f}" for i, v in enumerate(values))
    return (
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-hidden="true">'
        f'<polyline fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5" points="{path}"/></svg>'
    )
