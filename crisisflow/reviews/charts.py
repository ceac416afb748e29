"""Charts drawn on the server as SVG: the same picture on the page, in the PDF and in
the Markdown (as an embedded image), with no script."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.html import escape

WIDTH = 640


def milestone_chart(milestones, due_at: datetime | None, *, label_due: str) -> str:
    """The milestones on one line of time since the outbreak, the golden deadline as a
    red line; each milestone a dot with its name below, alternating rows."""
    if not milestones:
        return ""
    start = milestones[0].at
    end = max([m.at for m in milestones] + ([due_at] if due_at else []))
    span = max((end - start).total_seconds(), 60.0)
    left, right = 20, WIDTH - 20

    def x(at: datetime) -> float:
        return round(left + (right - left) * (at - start).total_seconds() / span, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 150" width="{WIDTH}" height="150" '
        f'role="img" class="review-chart" font-family="sans-serif" font-size="10">',
        f'<line x1="{left}" y1="40" x2="{right}" y2="40" stroke="#555" stroke-width="1.5"/>',
    ]
    if due_at is not None:
        parts.append(
            f'<line x1="{x(due_at)}" y1="15" x2="{x(due_at)}" y2="65" stroke="#c0392b" stroke-dasharray="4 2"/>'
        )
        parts.append(f'<text x="{x(due_at)}" y="12" fill="#c0392b" text-anchor="middle">{escape(label_due)}</text>')
    for i, m in enumerate(milestones):
        cx = x(m.at)
        y = 60 + (i % 4) * 22
        colour = "#1f6feb" if "statement" not in m.key else "#2da44e"
        parts.append(f'<circle cx="{cx}" cy="40" r="4" fill="{colour}"/>')
        parts.append(f'<line x1="{cx}" y1="44" x2="{cx}" y2="{y - 9}" stroke="#bbb"/>')
        anchor = "start" if cx < WIDTH / 2 else "end"
        parts.append(f'<text x="{cx}" y="{y}" text-anchor="{anchor}">{escape(m.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(rows: list[tuple[str, float | None]], *, unit: str = "", height: int = 160) -> str:
    """Vertical bars, one per (label, value); a missing value draws no bar."""
    values = [v for _label, v in rows if v is not None]
    top = max(values) if values else 1.0
    top = top or 1.0
    n = max(len(rows), 1)
    step = (WIDTH - 40) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height + 30}" width="{WIDTH}" '
        f'height="{height + 30}" role="img" class="review-chart" font-family="sans-serif" font-size="10">',
        f'<line x1="20" y1="{height}" x2="{WIDTH - 20}" y2="{height}" stroke="#555"/>',
    ]
    for i, (label, value) in enumerate(rows):
        bx = 20 + i * step + step * 0.15
        if value is not None:
            h = (height - 20) * value / top
            parts.append(
                f'<rect x="{bx:.1f}" y="{height - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="#1f6feb"/>'
            )
            parts.append(
                f'<text x="{bx + step * 0.35:.1f}" y="{height - h - 3:.1f}" text-anchor="middle">'
                f"{escape(_number(value))}{escape(unit)}</text>"
            )
        parts.append(f'<text x="{bx + step * 0.35:.1f}" y="{height + 14}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def hours(value: timedelta | None) -> float | None:
    return value.total_seconds() / 3600 if value is not None else None


def series_chart(points, markers, *, baseline: float | None = None, unit: str = "") -> str:
    """A line of (moment, value) points, the baseline dashed, each marker (moment, label)
    a green vertical line: what was said, and what the public did after."""
    if not points:
        return ""
    times = [t for t, _v in points] + [t for t, _l in markers]
    start, end = min(times), max(times)
    span = max((end - start).total_seconds(), 60.0)
    values = [v for _t, v in points] + ([baseline] if baseline is not None else [])
    low, high = min(values), max(values)
    high = high if high > low else low + 1
    left, right, top, bottom = 40, WIDTH - 20, 15, 135

    def x(at) -> float:
        return round(left + (right - left) * (at - start).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(bottom - (bottom - top) * (value - low) / (high - low), 1)

    line = " ".join(f"{x(t)},{y(v)}" for t, v in sorted(points))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 160" width="{WIDTH}" height="160" '
        f'role="img" class="review-chart" font-family="sans-serif" font-size="10">',
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#555"/>',
        f'<text x="2" y="{top + 4}">{escape(_number(high))}{escape(unit)}</text>',
        f'<text x="2" y="{bottom}">{escape(_number(low))}{escape(unit)}</text>',
    ]
    if baseline is not None:
        level = y(baseline)
        parts.append(f'<line x1="{left}" y1="{level}" x2="{right}" y2="{level}" stroke="#888" stroke-dasharray="4 2"/>')
    for at, label in markers:
        parts.append(f'<line x1="{x(at)}" y1="{top}" x2="{x(at)}" y2="{bottom}" stroke="#2da44e"/>')
        parts.append(f'<text x="{x(at) + 2}" y="{bottom + 14}" fill="#2da44e">{escape(label)}</text>')
    parts.append(f'<polyline points="{line}" fill="none" stroke="#1f6feb" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def series_charts(all_series, milestones) -> list[tuple[str, str]]:
    """(label, svg) for each series, with the statements of the milestones marked."""
    markers = [(m.at, m.label.split(" (")[0]) for m in milestones if "statement" in m.key]
    return [(str(s.label), series_chart(s.points, markers, baseline=s.baseline, unit=s.unit)) for s in all_series]
