"""The setup pages: brands and products, data sources, series and rules, for the duty
commanders (watch.configure decides who and what). Each page reads; each form posts to
one save route that calls the use case and shows the page again with the errors next
to their fields, or goes back to the list."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crisisflow.incidents import permissions
from crisisflow.incidents.errors import CrisisFlowError, Forbidden, NotFound
from crisisflow.incidents.models import Incident
from crisisflow.watch import configure
from crisisflow.watch.forms import BrandForm, RotateForm, RuleForm, SeriesForm, SourceForm
from crisisflow.watch.models import Brand, Rule, Series, Source


def _allowed(request: HttpRequest) -> None:
    if not configure.may_configure(request.user):
        raise PermissionDenied(_("Only duty commanders can set up early warning."))


def _edit_page(request, form: forms.Form, title: str, action: str, *, status: int = 200, **extra) -> HttpResponse:
    context = {"form": form, "title": title, "action": reverse(action), **extra}
    return render(request, "watch/setup_edit.html", context, status=status)


def _refused(request, err: CrisisFlowError, form: forms.Form, title: str, action: str, field: str | None = None):
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        raise PermissionDenied(str(err.message))
    name = field or err.field
    form.add_error(name if name in form.fields else None, str(err.message))
    return _edit_page(request, form, title, action, status=err.status)


def _done(anchor: str) -> HttpResponse:
    return redirect(reverse("watch-setup") + f"#{anchor}")


# --- reading ------------------------------------------------------------------------------------------


@require_GET
@login_required
def setup_page(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    return render(
        request,
        "watch/setup.html",
        {
            "brands": Brand.objects.annotate(
                n_series=Count("series", distinct=True), n_rules=Count("rules", distinct=True)
            ),
            "sources": Source.objects.all(),
            "series": Series.objects.select_related("brand", "incident"),
            "rules": Rule.objects.select_related("brand", "series"),
            "brand_form": BrandForm(auto_id="brand_%s"),
            "source_form": SourceForm(auto_id="source_%s", initial={"active": True}),
        },
    )


@require_GET
@login_required
def new_page(request: HttpRequest, what: str) -> HttpResponse:
    _allowed(request)
    if what == "series":
        return _edit_page(request, SeriesForm(), _("New series"), "watch-series-save")
    if what == "rule":
        return _edit_page(request, RuleForm(), _("New rule"), "watch-rule-save")
    raise Http404()


@require_GET
@login_required
def edit_brand(request: HttpRequest, pk: int) -> HttpResponse:
    _allowed(request)
    brand = get_object_or_404(Brand, pk=pk)
    form = BrandForm(
        initial={"brand": brand.pk, "version": brand.version, "key": brand.key, "name": brand.name, "kind": brand.kind}
    )
    form.fields["key"].disabled = True
    return _edit_page(request, form, _("Brand or product: %(name)s") % {"name": brand.name}, "watch-brand-save")


@require_GET
@login_required
def edit_source(request: HttpRequest, pk: int) -> HttpResponse:
    _allowed(request)
    source = get_object_or_404(Source, pk=pk)
    form = SourceForm(
        initial={
            "source": source.pk,
            "version": source.version,
            "key": source.key,
            "name": source.name,
            "active": source.active,
        }
    )
    form.fields["key"].disabled = True
    return _edit_page(
        request,
        form,
        _("Data source: %(name)s") % {"name": source.name},
        "watch-source-save",
        rotate_form=RotateForm(initial={"source": source.pk, "version": source.version}, auto_id="rotate_%s"),
    )


@require_GET
@login_required
def edit_series(request: HttpRequest, pk: int) -> HttpResponse:
    _allowed(request)
    one = get_object_or_404(Series.objects.select_related("brand", "incident"), pk=pk)
    form = SeriesForm(
        initial={
            "series": one.pk,
            "version": one.version,
            "key": one.key,
            "name": one.name,
            "kind": one.kind,
            "platform": one.platform,
            "scope": one.scope,
            "brand": one.brand.key if one.brand_id else "",
            "incident": one.incident.reference if one.incident_id else "",
            "from_posts": one.from_posts,
        }
    )
    form.fields["key"].disabled = True
    return _edit_page(request, form, _("Series: %(name)s") % {"name": one}, "watch-series-save")


@require_GET
@login_required
def edit_rule(request: HttpRequest, pk: int) -> HttpResponse:
    _allowed(request)
    rule = get_object_or_404(Rule.objects.select_related("brand", "series"), pk=pk)
    form = RuleForm(initial=RuleForm.initial_for(rule))
    return _edit_page(request, form, _("Rule: %(name)s") % {"name": rule.name}, "watch-rule-save")


# --- saving -----------------------------------------------------------------------------------------


class _Shown(Exception):
    """A save that answers with the form again (a check only the view can make)."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _posted(request: HttpRequest, form_class, title: str, action: str, save) -> HttpResponse:
    """One setup form posted: checked, saved through its use case by `save(form, data)`
    (which answers), or shown again with what was wrong next to its field — 400 for a
    bad form, the refusal's own answer for a use case's (409 for a stale version)."""
    _allowed(request)
    form = form_class(request.POST)
    if not form.is_valid():
        return _edit_page(request, form, title, action, status=400)
    try:
        return save(form, form.cleaned_data)
    except _Shown as shown:
        return shown.response
    except CrisisFlowError as err:
        field = form.params_field(str(err.message)) if err.field == "params" and form_class is RuleForm else None
        return _refused(request, err, form, title, action, field)


@require_POST
@login_required
def save_brand(request: HttpRequest) -> HttpResponse:
    def save(form, data):
        brand = configure.save_brand(
            request.user,
            data["brand"],
            key=data["key"],
            name=data["name"],
            kind=data["kind"],
            expected_version=data["version"],
        )
        return _done(f"brand-{brand.pk}")

    return _posted(request, BrandForm, _("Brand or product"), "watch-brand-save", save)


@require_POST
@login_required
def save_source(request: HttpRequest) -> HttpResponse:
    def save(form, data):
        if data["source"] is None:
            source, secret = configure.create_source(request.user, key=data["key"], name=data["name"])
            return _secret_page(request, source, secret)
        source = configure.save_source(
            request.user, data["source"], name=data["name"], active=data["active"], expected_version=data["version"]
        )
        return _done(f"source-{source.pk}")

    return _posted(request, SourceForm, _("Data source"), "watch-source-save", save)


@require_POST
@login_required
def rotate_secret(request: HttpRequest) -> HttpResponse:
    def save(form, data):
        source, secret = configure.rotate_secret(request.user, data["source"], expected_version=data["version"])
        return _secret_page(request, source, secret)

    return _posted(request, RotateForm, _("Data source"), "watch-source-rotate", save)


def _secret_page(request: HttpRequest, source: Source, secret: str) -> HttpResponse:
    # Shown once, never stored in a URL or a cache: the answer is not kept by browsers.
    response = render(request, "watch/setup_secret.html", {"source": source, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def save_series(request: HttpRequest) -> HttpResponse:
    title, action = _("Series"), "watch-series-save"

    def save(form, data):
        incident = None
        if data["scope"] == Series.Scope.INCIDENT and data["incident"]:
            incident = Incident.objects.filter(reference=data["incident"].strip()).first()
            if incident is None or not permissions.can_view(request.user, incident):
                form.add_error("incident", _("No such incident."))
                raise _Shown(_edit_page(request, form, title, action, status=400))
        one = configure.save_series(
            request.user,
            data["series"],
            key=data["key"],
            name=data["name"],
            kind=data["kind"],
            platform=data["platform"],
            scope=data["scope"],
            brand=Brand.objects.filter(key=data["brand"]).first() if data["brand"] else None,
            incident=incident,
            from_posts=data["from_posts"],
            expected_version=data["version"],
        )
        return _done(f"series-{one.pk}")

    return _posted(request, SeriesForm, title, action, save)


@require_POST
@login_required
def save_rule(request: HttpRequest) -> HttpResponse:
    def save(form, data):
        rule = configure.save_rule(
            request.user,
            data["rule"],
            name=data["name"],
            brand=Brand.objects.filter(key=data["brand"]).first(),
            kind=data["kind"],
            series=Series.objects.filter(key=data["series"]).first() if data["series"] else None,
            params=form.params(),
            severity=data["severity"],
            crisis_type=data["crisis_type"],
            dedup_minutes=data["dedup_minutes"],
            cooldown_minutes=data["cooldown_minutes"],
            active=data["active"],
            expected_version=data["version"] if data["rule"] else None,
        )
        return _done(f"rule-{rule.pk}")

    return _posted(request, RuleForm, _("Rule"), "watch-rule-save", save)
