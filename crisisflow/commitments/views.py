"""The commitments pages: an incident's ledger (record one, from a statement's promise
or on its own; mark kept with evidence; verify; withdraw; carry over) and, for
executives, every commitment across the incidents they may see."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from crisisflow import clock
from crisisflow.commitments import actions
from crisisflow.commitments.models import Commitment, CommitmentStatus
from crisisflow.commitments.promises import promises
from crisisflow.incidents.errors import CrisisFlowError, Forbidden, NotFound
from crisisflow.incidents.permissions import visible_incidents
from crisisflow.people.models import User
from crisisflow.statements.models import StatementVersion
from crisisflow.web import guards


def _refuse(request, err: CrisisFlowError) -> None:
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        raise PermissionDenied(str(err.message))
    messages.error(request, str(err.message))


def _moment(value: str) -> datetime | str:
    """A date (YYYY-MM-DD, end of that day in UTC+8) or an ISO time with its zone."""
    value = (value or "").strip()
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value)
            return datetime(day.year, day.month, day.day, 15, 59, tzinfo=UTC)
        return datetime.fromisoformat(value)
    except ValueError:
        return value


@login_required
def incident_ledger(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    if request.method == "POST":
        p = request.POST
        try:
            actions.create_commitment(
                request.user,
                incident,
                text=p.get("text", ""),
                owner=p.get("owner", ""),
                due_at=_moment(p.get("due_at", "")),
                statement_version=p.get("statement_version") or None,
                sentence=p.get("sentence", ""),
                scope=p.get("scope", ""),
                amount=p.get("amount", ""),
                coverage=p.get("coverage", ""),
                period=p.get("period", ""),
            )
        except CrisisFlowError as err:
            _refuse(request, err)
            return redirect("commitments:incident", reference=incident.reference)
        messages.success(request, _("Commitment recorded."))
        return redirect("commitments:incident", reference=incident.reference)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    rows = list(Commitment.objects.filter(incident=incident).select_related("owner", "verified_by"))
    now = clock.now()
    prefill = {}
    version_id = request.GET.get("version", "")
    if version_id.isdigit():
        version = StatementVersion.objects.filter(pk=int(version_id), statement__incident=incident).first()
        if version is not None:
            found = promises(version)
            start = request.GET.get("start", "")
            chosen = next((p for p in found if start.isdigit() and p.start <= int(start) < p.end), None)
            chosen = chosen or (found[0] if found else None)
            prefill = {
                "statement_version": version.pk,
                "sentence": chosen.sentence if chosen else "",
                # A dated promise is due on the day it names unless someone says otherwise.
                "due": chosen.promised_on.isoformat() if chosen and chosen.promised_on else "",
                "promises": found,
            }
    return render(
        request,
        "commitments/incident.html",
        {
            "incident": incident,
            "rows": [(c, actions.effective_status(c, now)) for c in rows],
            "may_manage": actions.may_manage(request.user, incident),
            "people": User.objects.filter(is_active=True).order_by("username"),
            "prefill": prefill,
        },
    )


def _commitment(request: HttpRequest, commitment_id: int) -> Commitment:
    c = Commitment.objects.select_related("incident").filter(pk=commitment_id).first()
    if c is None or c.incident_id not in set(
        visible_incidents(request.user).filter(pk=c.incident_id).values_list("pk", flat=True)
    ):
        raise Http404(_("No such commitment."))
    return c


def _version(request: HttpRequest) -> int:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() and len(value) < 10 else -1


@login_required
@require_POST
def keep(request: HttpRequest, commitment_id: int) -> HttpResponse:
    c = _commitment(request, commitment_id)
    try:
        actions.mark_kept(
            request.user,
            c,
            expected_version=_version(request),
            summary=request.POST.get("summary", ""),
            links=request.POST.get("links", ""),
            figures=request.POST.get("figures", ""),
        )
    except CrisisFlowError as err:
        _refuse(request, err)
    return redirect("commitments:incident", reference=c.incident.reference)


@login_required
@require_POST
def verify(request: HttpRequest, commitment_id: int) -> HttpResponse:
    c = _commitment(request, commitment_id)
    try:
        actions.verify(request.user, c, expected_version=_version(request))
    except CrisisFlowError as err:
        _refuse(request, err)
    return redirect("commitments:incident", reference=c.incident.reference)


@login_required
@require_POST
def withdraw(request: HttpRequest, commitment_id: int) -> HttpResponse:
    c = _commitment(request, commitment_id)
    try:
        actions.withdraw(request.user, c, reason=request.POST.get("reason", ""), expected_version=_version(request))
    except CrisisFlowError as err:
        _refuse(request, err)
    return redirect("commitments:incident", reference=c.incident.reference)


@login_required
@require_POST
def carry_over(request: HttpRequest, commitment_id: int) -> HttpResponse:
    c = _commitment(request, commitment_id)
    try:
        actions.carry_over(request.user, c, owner=request.POST.get("owner", ""), expected_version=_version(request))
    except CrisisFlowError as err:
        _refuse(request, err)
    return redirect("commitments:incident", reference=c.incident.reference)


@login_required
@require_safe
def all_commitments(request: HttpRequest) -> HttpResponse:
    """What we owe, to whom, by when, what is late — across the incidents one may see.
    A fixed number of queries however many commitments there are."""
    now = clock.now()
    only = request.GET.get("status", "")
    rows = (
        Commitment.objects.filter(incident__in=visible_incidents(request.user).values("pk"))
        .select_related("incident", "owner", "verified_by")
        .order_by("due_at", "id")
    )
    shown = [(c, actions.effective_status(c, now)) for c in rows]
    if only in CommitmentStatus.values:
        shown = [(c, s) for c, s in shown if s == only]
    late = sum(1 for _c, s in shown if s == CommitmentStatus.LATE)
    return render(
        request,
        "commitments/all.html",
        {"rows": shown, "late": late, "statuses": CommitmentStatus.choices, "only": only},
    )
