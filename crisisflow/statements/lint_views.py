"""Live lint: the editor posts what is being typed and gets the findings back as a fragment.

Nothing is saved: the fragment shows the text with the findings' spans highlighted and the
list of findings (level, code, line:col, message with its suggestion) in the reader's
language. Anyone who may see the incident may ask (a restricted incident is a 404 to
others); the figures are checked against the incident's fact sheet."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from crisisflow.statements.facts import fact_refs
from crisisflow.statements.kinds import KINDS, LANGUAGES
from crisisflow.statements.lint import Finding, LintDataError, line_col, lint
from crisisflow.web.guards import incident_for

# Far above any statement (a long apology letter is a few thousand characters) and far
# below what would make one request expensive.
MAX_BODY = 50_000
LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}


class LintForm(forms.Form):
    title = forms.CharField(label=_("Title"), required=False, max_length=500, strip=False)
    body = forms.CharField(label=pgettext_lazy("lint", "Text"), required=False, max_length=MAX_BODY, strip=False)
    kind = forms.ChoiceField(
        label=pgettext_lazy("lint", "Kind"),
        required=False,
        choices=[("", "—"), *[(k, v.label) for k, v in KINDS.items()]],
    )
    language = forms.ChoiceField(label=_("Language"), choices=[(code, code) for code in LANGUAGES])


@require_POST
def lint_fragment(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = LintForm(request.POST)
    if not form.is_valid():
        return render(request, "statements/_lint_findings.html", {"form": form}, status=400)
    data = form.cleaned_data
    body, title = data["body"].replace("\r\n", "\n"), data["title"]
    try:
        findings = lint(
            body, language=data["language"], kind=data["kind"] or None, title=title, facts=fact_refs(incident)
        )
    except LintDataError:
        form.add_error(None, _("The linter's word lists have mistakes; ask an administrator to run lint_statement."))
        return render(request, "statements/_lint_findings.html", {"form": form}, status=503)
    return render(
        request,
        "statements/_lint_findings.html",
        {
            "form": form,
            "language": data["language"],
            "title_segments": highlight(title, [f for f in findings if f.field == "title"]),
            "body_segments": highlight(body, [f for f in findings if f.field == "body"]),
            "findings": [shown(f, title if f.field == "title" else body) for f in findings],
            "counts": {level: sum(f.level == level for f in findings) for level in LEVEL_ORDER},
        },
    )


def shown(finding: Finding, text: str) -> dict:
    line, col = line_col(text, finding.start)
    return {
        **finding.as_dict(),
        "field": finding.field,
        "line": line,
        "col": col,
        "phrase": text[finding.start : finding.end][:80],
    }


def highlight(text: str, findings: list[Finding]) -> list[dict]:
    """The text cut where findings start and end; each piece with the most severe level
    covering it and the codes and messages to show on it (overlaps allowed)."""
    spans = [f for f in findings if f.end > f.start]
    cuts = sorted({0, len(text), *(min(f.start, len(text)) for f in spans), *(min(f.end, len(text)) for f in spans)})
    pieces = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        if start == end:
            continue
        covering = [f for f in spans if f.start <= start and f.end >= end]
        if covering:
            level = min((f.level for f in covering), key=LEVEL_ORDER.__getitem__)
            note = " · ".join(f"{f.code}: {f.message}" for f in covering)
            pieces.append(
                {"text": text[start:end], "level": level, "note": note, "codes": " ".join(f.code for f in covering)}
            )
        else:
            pieces.append({"text": text[start:end], "level": "", "note": "", "codes": ""})
    return pieces
