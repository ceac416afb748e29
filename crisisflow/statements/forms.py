"""The forms of the statement pages: the fact sheet and the statement editor.

As elsewhere they only turn posted text into values; the rules live in the use cases
(crisisflow.statements.facts, .versions), whose refusals name a field path
(`sections.next[2].due`) that `field_for_path` turns back into the input beside which
the message is shown (`next-2-due`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crisisflow.statements import facts
from crisisflow.vocab import Role
from crisisflow.web.forms import DATETIME_LOCAL, LineField, MomentField, TextField, VersionedForm

ROLE_CHOICES = [("", "—"), *[(r.value, r.label) for r in Role if r != Role.OBSERVER]]
CAUSE_CHOICES = [("under_investigation", _("Under investigation")), ("known", _("Known"))]
LISTS = {"done": ("text",), "next": ("text", "due"), "qa": ("question", "answer")}
# Empty rows offered below the filled ones, to add to a list.
SPARE_ROWS = 2
_ROW = re.compile(r"^(done|next|qa)-(\d+)-")


def field_for_path(path: str | None) -> str | None:
    """The form input a use case's field path is about."""
    if not path:
        return None
    path = path.removeprefix("sections.")
    m = re.match(r"^(\w+)\[(\d+)\]\.(\w+)$", path)
    if m:
        return f"{m[1]}-{m[2]}-{m[3]}"
    parts = path.split(".")
    if parts[0] == "when":
        parts = parts[1:]
    return "_".join(parts)


def _confirmation_fields(form: forms.Form, prefix: str) -> None:
    form.fields[f"{prefix}confirmed"] = forms.BooleanField(label=_("Confirmed"), required=False)
    form.fields[f"{prefix}by"] = forms.ChoiceField(label=_("Confirmed by"), choices=ROLE_CHOICES, required=False)


class FactSheetForm(VersionedForm):
    """Every fact of the sheet as inputs; list sections as numbered rows."""

    def __init__(self, *args, rows: dict[str, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        f = self.fields
        for name in facts.SINGLE_FACTS:
            f[f"{name}_text"] = TextField(
                label=facts.SECTION_LABELS[name], required=False, widget=forms.Textarea(attrs={"rows": 2})
            )
            _confirmation_fields(self, f"{name}_")
        for name, label in (("outbreak", _("Outbreak (began) at")), ("discovery", _("Discovered at"))):
            f[f"{name}_at"] = MomentField(
                not_after_now=True,
                field_name=f"sections.when.{name}.at",
                label=label,
                required=False,
                input_formats=[DATETIME_LOCAL],
                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
            )
            _confirmation_fields(self, f"{name}_")
        f["cause_status"] = forms.ChoiceField(label=_("Cause"), choices=CAUSE_CHOICES, required=False)
        f["cause_text"] = TextField(label=_("The cause"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
        _confirmation_fields(self, "cause_")
        f["help_hotline"] = LineField(label=_("Hotline"), required=False)
        f["help_page"] = LineField(label=_("Help page (address)"), required=False)
        f["help_email"] = LineField(label=_("Help e-mail"), required=False)
        rows = rows if rows is not None else self._posted_rows()
        self.rows = rows
        for name, count in rows.items():
            for i in range(count):
                if name == "qa":
                    f[f"qa-{i}-question"] = TextField(label=_("Question"), required=False)
                    f[f"qa-{i}-answer"] = TextField(
                        label=_("Answer"), required=False, widget=forms.Textarea(attrs={"rows": 2})
                    )
                else:
                    f[f"{name}-{i}-text"] = TextField(
                        label=_("What"), required=False, widget=forms.Textarea(attrs={"rows": 1})
                    )
                if name == "next":
                    f[f"next-{i}-due"] = forms.DateField(
                        label=_("By (date)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
                    )
                _confirmation_fields(self, f"{name}-{i}-")

    def _posted_rows(self) -> dict[str, int]:
        counts = {name: 0 for name in LISTS}
        for key in self.data or {}:
            m = _ROW.match(key)
            if m:
                counts[m[1]] = max(counts[m[1]], min(int(m[2][:4]), facts.MAX_ITEMS) + 1)
        return counts

    @classmethod
    def for_content(cls, content: dict, version: int, zone) -> FactSheetForm:
        s = content["sections"]
        initial: dict[str, Any] = {"version": version}
        for name in facts.SINGLE_FACTS:
            initial.update(_fact_initial(f"{name}_", s[name]))
        for name in facts.MOMENTS:
            moment = s["when"][name]
            if moment["at"]:
                initial[f"{name}_at"] = datetime.fromisoformat(moment["at"]).astimezone(zone)
            initial.update(_fact_initial(f"{name}_", moment, text=False))
        initial.update(_fact_initial("cause_", s["cause"]))
        initial["cause_status"] = s["cause"]["status"]
        for key in facts.HELP_FIELDS:
            initial[f"help_{key}"] = s["help"][key]
        for name in LISTS:
            for i, item in enumerate(s[name]):
                for key in (*LISTS[name], "confirmed", "by"):
                    initial[f"{name}-{i}-{key}"] = item.get(key)
        rows = {name: len(s[name]) + SPARE_ROWS for name in LISTS}
        return cls(initial=initial, rows=rows)

    def content(self) -> dict:
        """The sheet as the use case takes it (it checks everything itself)."""
        d = self.cleaned_data
        sections: dict[str, Any] = {}
        for name in facts.SINGLE_FACTS:
            sections[name] = _fact(d, f"{name}_", {"text": d.get(f"{name}_text") or ""})
        sections["when"] = {
            name: _fact(d, f"{name}_", {"at": d[f"{name}_at"].isoformat() if d.get(f"{name}_at") else ""})
            for name in facts.MOMENTS
        }
        sections["cause"] = _fact(
            d, "cause_", {"status": d.get("cause_status") or "under_investigation", "text": d.get("cause_text") or ""}
        )
        sections["help"] = {key: d.get(f"help_{key}") or "" for key in facts.HELP_FIELDS}
        for name, keys in LISTS.items():
            items = []
            for i in range(self.rows.get(name, 0)):
                values = {}
                for key in keys:
                    value = d.get(f"{name}-{i}-{key}")
                    values[key] = value.isoformat() if hasattr(value, "isoformat") else (value or "")
                items.append(_fact(d, f"{name}-{i}-", values))
            sections[name] = items
        return {"sections": sections}

    def row_fields(self, name: str) -> list[list]:
        keys = (*LISTS[name], "confirmed", "by")
        return [[self[f"{name}-{i}-{key}"] for key in keys] for i in range(self.rows.get(name, 0))]

    @property
    def done_rows(self):
        return self.row_fields("done")

    @property
    def next_rows(self):
        return self.row_fields("next")

    @property
    def qa_rows(self):
        return self.row_fields("qa")


def _fact(d: dict, prefix: str, values: dict) -> dict:
    return {**values, "confirmed": bool(d.get(f"{prefix}confirmed")), "by": d.get(f"{prefix}by") or ""}


def _fact_initial(prefix: str, fact: dict, text: bool = True) -> dict:
    initial = {f"{prefix}confirmed": fact["confirmed"], f"{prefix}by": fact["by"]}
    if text:
        initial[f"{prefix}text"] = fact["text"]
    return initial


class StatementForm(VersionedForm):
    """The editor: title (for kinds with one), text, and what a correction changes."""

    title = LineField(label=_("Title or subject"), required=False, max_length=200)
    body = TextField(label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 16}))
    correction_note = TextField(
        label=_("What this correction changes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class NewStatementForm(forms.Form):
    kind = forms.CharField(max_length=64)
    language = forms.CharField(max_length=16)


class MessageSetForm(forms.Form):
    language = forms.ChoiceField(
        choices=[("", _("Both languages")), ("zh-hans", "简体中文"), ("en", "English")], required=False
    )
