"""The statement pages of an incident: the Statements tab, the fact sheet, the editor,
the versions and the diff between any two of them.

Each view takes the usual three steps: find what the person may see (a restricted
incident is a 404 to outsiders), check the guard, call the use case in
crisisflow.statements. A refusal is shown beside the field it names, under its status.
"""

from __future__ import annotations

import copy
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from crisisflow.incidents.errors import CrisisFlowError, Forbidden, NotFound
from crisisflow.incidents.models import Incident
from crisisflow.statements import diff, drafting, facts, kinds, lint, permissions, preview, versions
from crisisflow.statements.forms import FactSheetForm, MessageSetForm, NewStatementForm, StatementForm, field_for_path
from crisisflow.statements.models import Statement, StatementState
from crisisflow.vocab import Role
from crisisflow.web import guards

STATE_ORDER = {state: i for i, state in enumerate(StatementState.values)}


def _refusal(form, err: CrisisFlowError, field: str | None = None) -> int:
    """Put a use case's refusal on the form (beside its field when it names a visible
    one); NotFound and Forbidden become the 404 and 403 pages. Returns the status."""
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        raise PermissionDenied(str(err.message))
    name = field or err.field
    visible = name in form.fields and not form.fields[name].widget.is_hidden
    form.add_error(name if visible else None, str(err.message))
    return err.status


def _statement(request: HttpRequest, incident: Incident, statement_id: int) -> Statement:
    try:
        return versions.visible_statement(request.user, incident, statement_id)
    except NotFound:
        raise Http404(_("No such statement.")) from None


# --- the Statements tab -----------------------------------------------------------------------------


def list_context(request: HttpRequest, incident: Incident) -> dict:
    """Every kind with its live statement per language, and what was superseded.
    A fixed number of queries however many statements and versions there are."""
    standing = permissions.standing(request.user, incident)
    statements = list(
        Statement.objects.filter(incident=incident)
        .select_related("current__author")
        .order_by("kind", "language", "-created_at", "-id")
    )
    live: dict[tuple[str, str], Statement] = {}
    history = []
    for statement in statements:
        statement.incident = incident
        if statement.state == StatementState.SUPERSEDED or (statement.kind, statement.language) in live:
            history.append(statement)
        else:
            live[(statement.kind, statement.language)] = statement
    rows = []
    for key, kind in kinds.KINDS.items():
        cells = [
            {"language": lang, "statement": live.get((key, lang)), "may_draft": standing.may_draft(key)}
            for lang in kinds.LANGUAGES
        ]
        rows.append({"kind": kind, "cells": cells, "wanted": False})
    wanted = set(drafting.wanted_kinds(incident))
    for row in rows:
        row["wanted"] = row["kind"].key in wanted
    sheet = facts.current_sheet(incident)
    return {
        "incident": incident,
        "rows": rows,
        "history": history,
        "sheet": sheet,
        "standing": standing,
        "may_draft_any": bool(standing.draftable_kinds()) and incident.is_open,
        "message_set_form": MessageSetForm(),
        "languages": kinds.LANGUAGES,
    }


@require_safe
@login_required
def statement_list(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    return render(request, "statements/list.html", list_context(request, incident))


@require_POST
@login_required
def draft_message_set(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    form = MessageSetForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            made = drafting.draft_message_set(request.user, incident, language=form.cleaned_data["language"] or None)
        except CrisisFlowError as err:
            status = _refusal(form, err)
        else:
            if made:
                messages.success(
                    request,
                    ngettext("%(count)d statement drafted.", "%(count)d statements drafted.", len(made))
                    % {"count": len(made)},
                )
            else:
                messages.info(request, _("Every kind you write already has a statement."))
            return redirect("statements:list", reference=incident.reference)
    context = list_context(request, incident)
    context["message_set_form"] = form
    return render(request, "statements/list.html", context, status=status)


@require_POST
@login_required
def new_statement(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    form = NewStatementForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            statement = drafting.draft_statement(request.user, incident, data["kind"], data["language"])
        except CrisisFlowError as err:
            status = _refusal(form, err)
        else:
            return redirect("statements:edit", reference=incident.reference, statement_id=statement.pk)
    context = list_context(request, incident)
    context["new_form"] = form
    return render(request, "statements/list.html", context, status=status)


# --- the fact sheet ---------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def fact_sheet(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    standing = permissions.standing(request.user, incident)
    sheet = facts.current_sheet(incident)
    status = 200
    if request.method == "POST":
        guards.require(
            standing.may_edit_facts(),
            _("Only the commander and the crisis team (not observers) can edit the fact sheet."),
        )
        form = FactSheetForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                facts.save_fact_sheet(
                    request.user, incident, form.content(), expected_version=form.cleaned_data["version"]
                )
            except CrisisFlowError as err:
                status = _refusal(form, err, field_for_path(err.field))
            else:
                messages.success(request, _("Fact sheet saved."))
                return redirect("statements:facts", reference=incident.reference)
    else:
        form = FactSheetForm.for_content(
            facts.content_or_blank(incident), sheet.version if sheet else 0, timezone.get_current_timezone()
        )
    context = {"incident": incident, "form": form, "sheet": sheet, "standing": standing}
    return render(request, "statements/fact_sheet.html", context, status=status)


# --- the editor, the versions, the diff ---------------------------------------------------------------


def display_content(content: dict) -> dict:
    """The sheet as the editor's side panel shows it: times as times (shown in the
    reader's zone), roles by their names."""
    shown = copy.deepcopy(content)
    roles = dict(Role.choices)
    for _path, fact in facts.iter_facts(shown):
        if fact.get("by"):
            fact["by"] = str(roles.get(fact["by"], fact["by"]))
        if fact.get("at"):
            fact["at"] = datetime.fromisoformat(fact["at"])
    return shown


def editor_context(request: HttpRequest, incident: Incident, statement: Statement, form: StatementForm) -> dict:
    kind = kinds.KINDS[statement.kind]
    standing = permissions.standing(request.user, incident)
    title = form["title"].value() or ""
    body = form["body"].value() or ""
    content = facts.content_or_blank(incident)
    return {
        "incident": incident,
        "statement": statement,
        "kind": kind,
        "form": form,
        "standing": standing,
        "may_edit": standing.may_draft(statement.kind) and incident.is_open and statement.state != "superseded",
        "counts": preview.counts(statement.kind, title, body),
        "previews": preview.previews(statement.kind),
        "preview_title": title,
        "preview_body": body,
        "sheet_content": display_content(content),
        "sheet": facts.current_sheet(incident),
        "section_labels": facts.SECTION_LABELS,
        "findings": statement.current.findings if statement.current else [],
        "dated_promises": dated_promises(statement),
        "language_label": versions.language_text(statement.language),
    }


def dated_promises(statement: Statement) -> list[dict]:
    """The saved version's promises with a date or an amount, for "make this a
    commitment" (a public statement is approved only once each is one)."""
    if statement.current is None or not kinds.KINDS[statement.kind].public:
        return []
    body = statement.current.body
    return [
        {"start": start, "phrase": body[start:end]}
        for start, end in lint.dated_promises(body, language=statement.language)
    ]


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def edit_statement(request: HttpRequest, reference: str, statement_id: int) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    statement = _statement(request, incident, statement_id)
    status = 200
    if request.method == "POST":
        guards.require(
            permissions.may_draft(request.user, incident, statement.kind),
            _("You may not write this kind of statement on this incident."),
        )
        form = StatementForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                version = versions.save_version(
                    request.user,
                    statement,
                    title=data["title"],
                    body=data["body"],
                    expected_version=data["version"],
                    correction_note=data["correction_note"],
                )
            except CrisisFlowError as err:
                status = _refusal(form, err)
                statement = _statement(request, incident, statement_id)
            else:
                messages.success(request, _("Saved as version %(n)d.") % {"n": version.number})
                return redirect("statements:edit", reference=incident.reference, statement_id=statement.pk)
    else:
        current = statement.current
        form = StatementForm(
            initial={
                "version": statement.version,
                "title": current.title if current else "",
                "body": current.body if current else "",
            }
        )
    return render(request, "statements/editor.html", editor_context(request, incident, statement, form), status=status)


@require_safe
@login_required
def version_list(request: HttpRequest, reference: str, statement_id: int) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    statement = _statement(request, incident, statement_id)
    found = list(statement.versions.select_related("author").order_by("-number"))
    context = {
        "incident": incident,
        "statement": statement,
        "kind": kinds.KINDS[statement.kind],
        "versions": found,
        "language_label": versions.language_text(statement.language),
    }
    return render(request, "statements/versions.html", context)


@require_safe
@login_required
def version_diff(request: HttpRequest, reference: str, statement_id: int) -> HttpResponse:
    """Any two versions side by side: ?a=<older>&b=<newer> (default: the last two)."""
    incident = guards.incident_for(request, reference)
    statement = _statement(request, incident, statement_id)
    numbers = list(statement.versions.order_by("number").values_list("number", flat=True))
    if not numbers:
        raise Http404(_("This statement has no versions yet."))
    default_b = numbers[-1]
    default_a = numbers[-2] if len(numbers) > 1 else numbers[-1]
    try:
        old = versions.version_of(statement, request.GET.get("a", default_a))
        new = versions.version_of(statement, request.GET.get("b", default_b))
    except NotFound:
        raise Http404(_("No such version.")) from None
    pieces = diff.diff_versions(old, new, statement.language)
    context = {
        "incident": incident,
        "statement": statement,
        "kind": kinds.KINDS[statement.kind],
        "old": old,
        "new": new,
        "numbers": numbers,
        "title_diff": pieces["title"],
        "body_diff": pieces["body"],
        "language_label": versions.language_text(statement.language),
    }
    return render(request, "statements/diff.html", context)
