"""The review as a document: one list of blocks, written out as Markdown or as HTML
(and from the HTML, with WeasyPrint, as PDF), so both exports carry the same content.
Times are in UTC; charts are SVG (embedded as an image in the Markdown)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils.html import escape
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.notices import drills
from crisisflow.playbooks.models import crisis_type_label
from crisisflow.reviews import charts, metrics
from crisisflow.reviews import content as review_content
from crisisflow.reviews.models import SIGNING_ROLES, ActionItem, Review
from crisisflow.vocab import Role, Severity

FONTS = '"Noto Sans CJK SC", "Noto Serif CJK SC", "Noto Sans", sans-serif'


@dataclass
class Block:
    kind: str  # h1, h2, h3, p, table, list, svg
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)  # table: the first row is the header
    items: list[str] = field(default_factory=list)


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def document(review: Review, now: datetime | None = None) -> list[Block]:
    now = now or clock.now()
    incident = review.incident
    figures = metrics.compute(incident, now)
    content = review.content or review_content.empty()
    b: list[Block] = [
        Block("h1", _("Review of %(ref)s %(title)s") % {"ref": incident.reference, "title": incident.title})
    ]
    if drills.is_drill(incident):
        b.append(
            Block(
                "p",
                _("This incident is a drill (an exercise).")
                + " "
                + _("Its review is kept, but it never counts in the analytics."),
            )
        )
    b.append(
        Block(
            "list",
            items=[
                _("Crisis type: %(type)s")
                % {"type": crisis_type_label(incident.crisis_type) if incident.crisis_type else "—"},
                _("Severity: %(severity)s")
                % {"severity": Severity(incident.severity).label if incident.severity else "—"},
                _("State: %(state)s") % {"state": incident.get_state_display()},
                _("Review version %(version)d, SHA-256 %(hash)s")
                % {"version": review.version, "hash": review.content_hash},
                _("Written out at %(when)s") % {"when": _when(now)},
            ],
        )
    )
    b.append(Block("h2", _("Milestones")))
    rows = [[_("Milestone"), _("When"), _("Since the outbreak"), _("Since the previous"), _("Event")]]
    for m in figures.milestones:
        rows.append(
            [
                m.label,
                _when(m.at),
                metrics.duration_text(m.since_outbreak),
                metrics.duration_text(m.since_previous) if m.since_previous is not None else "—",
                f"#{m.seq}" if m.seq else "—",
            ]
        )
    b.append(Block("table", rows=rows))
    svg = charts.milestone_chart(figures.milestones, incident.statement_due_at, label_due=_("golden deadline"))
    if svg:
        b.append(Block("svg", text=svg))
    for label, chart in charts.series_charts(metrics.all_series(incident), figures.milestones):
        b.append(Block("h3", label))
        b.append(Block("svg", text=chart))
    b.append(Block("h2", _("Figures")))
    rows = [[_("Figure"), _("Value"), _("From events")]]
    for m in figures.metrics:
        rows.append([str(m.label), m.text, ", ".join(f"#{s}" for s in m.events) or "—"])
    b.append(Block("table", rows=rows))
    if figures.tasks_by_role:
        b.append(Block("h3", _("Tasks by role")))
        b.append(Block("table", rows=_task_rows(figures.tasks_by_role)))
        b.append(Block("h3", _("Tasks by stage")))
        b.append(Block("table", rows=_task_rows(figures.tasks_by_stage)))
    if figures.approvals_by_role:
        b.append(Block("h3", _("Approval latency by role")))
        rows = [[_("Role"), _("Approvals"), _("Median wait"), _("Longest wait")]]
        rows += [
            [str(r["label"]), str(r["count"]), r["median_text"], r["longest_text"]] for r in figures.approvals_by_role
        ]
        b.append(Block("table", rows=rows))
    b.append(Block("h2", _("Effect evaluation")))
    for key, label in review_content.DIMENSIONS.items():
        rating = content["ratings"].get(key) or {}
        b.append(Block("h3", str(label)))
        value = rating.get("rating")
        b.append(
            Block(
                "list",
                items=[
                    _("Rating: %(rating)s") % {"rating": review_content.RATINGS[value] if value else _("not rated")},
                    _("Evidence: %(text)s") % {"text": rating.get("evidence") or "—"},
                    _("Comment: %(text)s") % {"text": rating.get("comment") or "—"},
                ],
            )
        )
    b.append(Block("h2", _("Narrative")))
    for key, label in review_content.NARRATIVE.items():
        b.append(Block("h3", str(label)))
        text = content.get(key) or "—"
        if key == "root_cause" and content.get("root_cause_origin"):
            text = f"[{review_content.ORIGINS[content['root_cause_origin']]}] {text}"
        b.append(Block("p", text=text))
    b.append(Block("h3", _("Five whys")))
    b.append(Block("list", items=[w or "—" for w in content.get("five_whys") or []]))
    b.append(Block("h2", _("Action items")))
    items = list(ActionItem.objects.filter(review=review).select_related("owner").order_by("due_at", "id"))
    if items:
        rows = [[_("Action"), _("Kind"), _("Owner"), _("Due"), _("Status"), _("Playbook")]]
        for item in items:
            where = f"{item.playbook_key} v{item.playbook_version}" if item.playbook_key else "—"
            if item.task_key:
                where += f" / {item.task_key}"
            rows.append(
                [
                    item.title,
                    item.get_kind_display(),
                    str(item.owner),
                    _when(item.due_at),
                    item.get_status_display(),
                    where,
                ]
            )
        b.append(Block("table", rows=rows))
    else:
        b.append(Block("p", text=_("No action items.")))
    b.append(Block("h2", _("Sign-offs")))
    from crisisflow.reviews.use_cases import live_sign_offs

    signed = {s.role: s for s in live_sign_offs(review)}
    rows = [[_("Role"), _("Signed by"), _("Version"), _("When")]]
    for role in SIGNING_ROLES:
        s = signed.get(role)
        rows.append(
            [
                str(Role(role).label),
                str(s.person) if s else _("not signed"),
                f"v{s.version}" if s else "—",
                _when(s.signed_at) if s else "—",
            ]
        )
    b.append(Block("table", rows=rows))
    return b


def _task_rows(rows: list[dict]) -> list[list[str]]:
    out = [["", _("On time"), _("Late"), _("Overdue"), _("Open"), _("Skipped")]]
    for r in rows:
        out.append([str(r["label"]), *(str(r[k]) for k in ("on_time", "late", "overdue", "open", "skipped"))])
    return out


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(block.kind[1]) + " " + block.text, ""]
        elif block.kind == "p":
            lines += [block.text, ""]
        elif block.kind == "list":
            lines += [f"- {item}".replace("\n", " ") for item in block.items] + [""]
        elif block.kind == "table":
            header, *body = block.rows
            lines.append("| " + " | ".join(_md_cell(c) for c in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in body]
            lines.append("")
        elif block.kind == "svg":
            data = base64.b64encode(block.text.encode()).decode()
            lines += [f"![{_('Timeline chart')}](data:image/svg+xml;base64,{data})", ""]
    return "\n".join(lines)


def html(blocks: list[Block], *, language: str = "en") -> str:
    body: list[str] = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            body.append(f"<{block.kind}>{escape(block.text)}</{block.kind}>")
        elif block.kind == "p":
            body.append("<p>" + escape(block.text).replace("\n", "<br>") + "</p>")
        elif block.kind == "list":
            body.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>")
        elif block.kind == "table":
            header, *rows = block.rows
            body.append(
                "<table><thead><tr>"
                + "".join(f"<th>{escape(c)}</th>" for c in header)
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
                + "</tbody></table>"
            )
        elif block.kind == "svg":
            body.append(f'<figure class="chart">{block.text}</figure>')
    style = (
        f"body{{font-family:{FONTS};font-size:10pt;color:#111}} h1{{font-size:16pt}}"
        " h2{font-size:13pt;margin-top:14pt} table{border-collapse:collapse;width:100%;margin:4pt 0}"
        " th,td{border:1px solid #bbb;padding:2pt 4pt;text-align:left;vertical-align:top;font-size:9pt}"
        " th{background:#eee} svg{max-width:100%;height:auto} @page{size:A4;margin:16mm}"
    )
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8"><style>{style}</style></head>'
        f"<body>{''.join(body)}</body></html>"
    )


def pdf(blocks: list[Block], *, language: str = "en") -> bytes:
    from weasyprint import HTML

    return HTML(string=html(blocks, language=language)).write_pdf()


def export(review: Review, fmt: str, *, language: str = "en") -> bytes:
    """The review written out as `fmt` ("md" or "pdf")."""
    blocks = document(review)
    if fmt == "md":
        return markdown(blocks).encode()
    if fmt == "pdf":
        return pdf(blocks, language=language)
    raise ValueError(fmt)
