"""The review page of an incident, its forms and exports, the shared read-only view, and
the analytics across incidents. Each view: find what the person may see, check the
guard, call the use case (crisisflow.reviews.use_cases)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from crisisflow.incidents.errors import CrisisFlowError, Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describe, kind_label
from crisisflow.notices import drills
from crisisflow.reviews import analytics, export, metrics, use_cases
from crisisflow.reviews import content as review_content
from crisisflow.reviews import permissions as may
from crisisflow.reviews.forms import (
    ActionItemForm,
    AnalyticsFilterForm,
    ChangeItemForm,
    FinishItemForm,
    ReviewForm,
    ShareForm,
    SignOffForm,
)
from crisisflow.reviews.models import SIGNING_ROLES, ActionItem, Review
from crisisflow.vocab import Role
from crisisflow.web import guards

TIMELINE_PAGE = 50


def _raise_page(err: CrisisFlowError) -> None:
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        raise PermissionDenied(str(err.message))


def _timeline(request: HttpRequest, incident: Incident) -> dict:
    """A page of the full timeline: filtered by kind, from a sequence number on."""
    kinds = sorted(set(Event.objects.filter(incident=incident).order_by().values_list("kind", flat=True).distinct()))
    kind = request.GET.get("kind", "")
    kind = kind if kind in kinds else ""
    try:
        start = max(1, int(request.GET.get("from", "1")))
    except ValueError:
        start = 1
    qs = Event.objects.filter(incident=incident, seq__gte=start).select_related("actor").order_by("seq")
    if kind:
        qs = qs.filter(kind=kind)
    events = list(qs[: TIMELINE_PAGE + 1])
    more = events[TIMELINE_PAGE].seq if len(events) > TIMELINE_PAGE else None
    rows = [
        {"seq": e.seq, "at": e.at, "actor": e.actor, "kind": kind_label(e.kind), "text": describe(e)}
        for e in events[:TIMELINE_PAGE]
    ]
    return {"kinds": [(k, kind_label(k)) for k in kinds], "kind": kind, "rows": rows, "more": more, "start": start}


def page_context(request: HttpRequest, incident: Incident, review: Review | None, *, shared: bool = False) -> dict:
    figures = metrics.compute(incident)
    ctx = {
        "incident": incident,
        "review": review,
        "figures": figures,
        "chart": export.charts.milestone_chart(
            figures.milestones, incident.statement_due_at, label_due=_("golden deadline")
        ),
        "shared": shared,
        "drill": drills.is_drill(incident),
        "series": export.charts.series_charts(metrics.all_series(incident), figures.milestones),
        "dimensions": review_content.DIMENSIONS,
        "narrative": review_content.NARRATIVE,
        "origins": review_content.ORIGINS,
        "ratings": review_content.RATINGS,
    }
    if review is None:
        return ctx
    items = list(ActionItem.objects.filter(review=review).select_related("owner").order_by("due_at", "id"))
    numbers = use_cases.current_playbook_numbers(items)
    for item in items:
        item.newer = use_cases.newer_playbook(item, numbers)
    live = {s.role: s for s in use_cases.live_sign_offs(review)}
    signatures = [{"role": r, "label": Role(r).label, "sign_off": live.get(r)} for r in SIGNING_ROLES]
    ctx.update(
        items=items,
        signatures=signatures,
        hints=use_cases.blameless_hints(review.content or {}),
        timeline=None if shared else _timeline(request, incident),
    )
    if not shared:
        user = request.user
        ctx.update(
            may_edit=may.may_edit(user, incident),
            may_share=may.may_share(user, incident),
            signable=[s for s in signatures if may.may_sign(user, incident, s["role"])]
            if incident.state == "in_review"
            else [],
            form=ReviewForm(initial=ReviewForm.initial_from(review)),
            item_form=ActionItemForm(),
            share_form=ShareForm(),
        )
        ctx["form_groups"] = ctx["form"].groups()
    return ctx


@require_safe
@login_required
def show_review(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    review = use_cases.review_of(request.user, incident)
    return render(request, "reviews/review.html", page_context(request, incident, review))


def _rerender(request, incident, err: CrisisFlowError, **forms) -> HttpResponse:
    _raise_page(err)
    review = use_cases.review_of(request.user, incident)
    ctx = page_context(request, incident, review)
    ctx.update(forms)
    if "form" in forms:
        ctx["form_groups"] = forms["form"].groups()
    ctx["refusal"] = str(err.message)
    return render(request, "reviews/review.html", ctx, status=err.status)


def _show_form_error(form, err: CrisisFlowError) -> None:
    name = err.field if err.field in form.fields else None
    form.add_error(name, str(err.message))


def _form_refused(request: HttpRequest, incident: Incident, form, **shown) -> HttpResponse:
    """A posted form that did not validate: the page again, with its first error."""
    name = next(iter(form.errors))
    return _rerender(request, incident, Invalid(form.errors[name][0], field=name), **shown)


def _item_of(incident: Incident, item_id: int) -> ActionItem:
    item = ActionItem.objects.filter(pk=item_id, incident=incident).first()
    if item is None:
        raise Http404(_("No such action item."))
    return item


@require_POST
@login_required
def edit_review(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    form = ReviewForm(request.POST)
    version = (
        form.fields["version"].clean(request.POST.get("version")) if request.POST.get("version", "").isdigit() else None
    )
    try:
        if version is None:
            from crisisflow.web.forms import missing_version_message

            raise Invalid(missing_version_message(), field="version")
        use_cases.save_review(request.user, incident, form.content(), expected_version=version)
    except CrisisFlowError as err:
        _raise_page(err)
        _show_form_error(form, err)
        return _rerender(request, incident, err, form=form)
    messages.success(request, _("Review saved."))
    return redirect(reverse("reviews:show", args=[incident.reference]))


@require_POST
@login_required
def sign_review(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    form = SignOffForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, incident, form)
    try:
        use_cases.sign_off(
            request.user, incident, form.cleaned_data["role"], expected_version=form.cleaned_data["version"]
        )
    except CrisisFlowError as err:
        return _rerender(request, incident, err)
    messages.success(request, _("Signed off."))
    return redirect(reverse("reviews:show", args=[incident.reference]) + "#sign-offs")


@require_POST
@login_required
def add_item(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    form = ActionItemForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, incident, form, item_form=form)
    d = form.cleaned_data
    due = d["due_at"]
    try:
        use_cases.add_action_item(
            request.user,
            incident,
            title=d["title"],
            kind=d["kind"],
            owner=d["owner"],
            due_at=due,
            playbook_key=d["playbook_key"],
            task_key=d["task_key"],
        )
    except CrisisFlowError as err:
        _raise_page(err)
        _show_form_error(form, err)
        return _rerender(request, incident, err, item_form=form)
    return redirect(reverse("reviews:show", args=[incident.reference]) + "#action-items")


@require_POST
@login_required
def change_item(request: HttpRequest, reference: str, item_id: int) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    item = _item_of(incident, item_id)
    form = ChangeItemForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, incident, form)
    d = form.cleaned_data
    try:
        use_cases.change_action_item(
            request.user,
            item,
            expected_version=d["version"],
            title=d["title"],
            owner=d["owner"],
            due_at=d["due_at"],
        )
    except CrisisFlowError as err:
        return _rerender(request, incident, err)
    return redirect(reverse("reviews:show", args=[incident.reference]) + "#action-items")


@require_POST
@login_required
def finish_item(request: HttpRequest, reference: str, item_id: int) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    item = _item_of(incident, item_id)
    form = FinishItemForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, incident, form)
    try:
        use_cases.finish_action_item(
            request.user, item, form.cleaned_data["status"], expected_version=form.cleaned_data["version"]
        )
    except CrisisFlowError as err:
        return _rerender(request, incident, err)
    return redirect(reverse("reviews:show", args=[incident.reference]) + "#action-items")


@require_POST
@login_required
def share(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    form = ShareForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, incident, form, share_form=form)
    try:
        link, token = use_cases.share_review(request.user, incident, days=form.cleaned_data["days"])
    except CrisisFlowError as err:
        return _rerender(request, incident, err, share_form=form)
    review = use_cases.review_of(request.user, incident)
    ctx = page_context(request, incident, review)
    ctx["shared_url"] = request.build_absolute_uri(reverse("reviews:shared", args=[token]))
    ctx["shared_until"] = link.expires_at
    return render(request, "reviews/review.html", ctx)


@require_safe
@login_required
def export_review(request: HttpRequest, reference: str, fmt: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    if fmt not in ("md", "pdf"):
        raise Http404(_("Export as md or pdf."))
    review = use_cases.review_of(request.user, incident)
    if review is None:
        raise Http404(_("This incident has no review yet."))
    return _download(review, fmt)


def _download(review: Review, fmt: str) -> HttpResponse:
    body = export.export(review, fmt, language=translation.get_language() or "en")
    kind = "application/pdf" if fmt == "pdf" else "text/markdown; charset=utf-8"
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="review-{review.incident.reference}.{fmt}"'
    return response


@require_safe
def shared_review(request: HttpRequest, token: str) -> HttpResponse:
    """The read-only review behind a share link: no sign-in, no forms, until it expires."""
    try:
        review = use_cases.shared_review(token)
    except NotFound:
        raise Http404(_("This link has expired or does not exist.")) from None
    if request.GET.get("format") in ("md", "pdf"):
        return _download(review, request.GET["format"])
    response = render(request, "reviews/review.html", page_context(request, review.incident, review, shared=True))
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- analytics -----------------------------------------------------------------------------------


def _analytics(request: HttpRequest, *, rows: bool = False):
    guards.require(may.may_read_analytics(request.user), _("Only managers and executives read the analytics."))
    form = AnalyticsFilterForm(request.GET or None)
    filters = analytics.Filters()
    if form.is_bound and form.is_valid():
        filters = analytics.Filters.from_form(form.cleaned_data)
    return form, analytics.compute(request.user, filters, rows=rows)


@require_safe
@login_required
def show_analytics(request: HttpRequest) -> HttpResponse:
    form, result = _analytics(request)
    return render(request, "reviews/analytics.html", {"form": form, "a": result, "query": request.GET.urlencode()})


@require_safe
@login_required
def analytics_csv(request: HttpRequest) -> HttpResponse:
    _form, result = _analytics(request, rows=True)
    response = HttpResponse(analytics.csv_text(result), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="crisisflow-analytics.csv"'
    return response
