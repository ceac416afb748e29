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
