"""The watch page: every series with its sparkline and rules, recent firings, and the
forms to feed data in (CSV, a value or a post by hand) and to quiet a rule."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crisisflow import clock
from crisisflow.incidents import permissions
from crisisflow.incidents.errors import CrisisFlowError, Forbidden, NotFound
from crisisflow.playbooks.models import crisis_type_choices
from crisisflow.vocab import State
from crisisflow.watch import actions, configure
from crisisflow.watch.charts import sparkline
from crisisflow.watch.forms import PostForm
from crisisflow.watch.models import Firing, Point, Rule, Series
from crisisflow.watch.rules import explain

SPARK_POINTS = 48
RECENT_FIRINGS = 20


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Points: series,at,value. Posts: url,brand,platform,author,reach,flag,at,text. "
            "Times without a zone are read in your time zone."
        ),
    )


class PointForm(forms.Form):
    series = forms.ChoiceField(label=gettext_lazy("Series"))
    at = forms.DateTimeField(label=gettext_lazy("When"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    value = forms.FloatField(label=gettext_lazy("Value"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = list(Series.objects.values_list("key", "key"))


class QuietForm(forms.Form):
    ACTIONS = [
        ("snooze", gettext_lazy("Snooze")),
        ("mute", gettext_lazy("Mute")),
        ("unmute", gettext_lazy("Unmute")),
    ]
    rule = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**62)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31)
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=ACTIONS)
    hours = forms.IntegerField(label=gettext_lazy("Hours"), required=False, min_value=1, max_value=24 * 30)
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=2000)


def _show_error(form: forms.Form, err: CrisisFlowError) -> None:
    name = err.field if err.field in form.fields else None
    form.add_error(name, str(err.message))


def recent_values(series_ids: list[int], n: int) -> list[tuple[int, object, float]]:
    """The latest n points of each series, in one query that reads n index entries per
    series on PostgreSQL (a year of history is not scanned for a sparkline)."""
    if not series_ids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.id, p.at, p.value FROM unnest(%s::bigint[]) AS s(id) CROSS JOIN LATERAL "
                "(SELECT at, value FROM watch_point WHERE series_id = s.id ORDER BY at DESC LIMIT %s) AS p",
                [series_ids, n],
            )
            return cursor.fetchall()
    return list(
        Point.objects.filter(series__in=series_ids)
        .annotate(rank=Window(RowNumber(), partition_by=[F("series_id")], order_by=F("at").desc()))
        .filter(rank__lte=n)
        .values_list("series_id", "at", "value")
    )


def watch_context(request: HttpRequest) -> dict:
    now = clock.now()
    series = list(Series.objects.select_related("brand", "incident").order_by("key"))
    # Incident-scoped series only for those who may see the incident.
    series = [s for s in series if s.incident_id is None or permissions.can_view(request.user, s.incident)]
    lines: dict[int, list] = {}
    for series_id, at, value in recent_values([s.pk for s in series], SPARK_POINTS):
        lines.setdefault(series_id, []).append((at, value))
    rules = list(
        Rule.objects.select_related("brand", "series", "quieted_by").annotate(
            opened=Count("firings", filter=Q(firings__opened=True)),
            dismissed=Count("firings", filter=Q(firings__opened=True, firings__incident__state=State.DISMISSED)),
            fired=Count("firings"),
        )
    )
    by_series: dict[int, list[Rule]] = {}
    crisis_types = dict(crisis_type_choices())  # one read for every rule's label
    for rule in rules:
        rule.crisis_type_label = crisis_types.get(rule.crisis_type, rule.crisis_type)
        rule.false_alarm_rate = round(100 * rule.dismissed / rule.opened) if rule.opened else None
        rule.is_snoozed = rule.snoozed_until is not None and rule.snoozed_until > now
        rule.quiet_form = QuietForm(initial={"rule": rule.pk, "version": rule.version}, auto_id=f"rule{rule.pk}_%s")
        by_series.setdefault(rule.series_id, []).append(rule)
    for one in series:
        values = [v for _a, v in sorted(lines.get(one.pk, []))]
        one.spark = sparkline(values)
        one.watching = by_series.get(one.pk, [])
    visible = permissions.visible_incidents(request.user).values("pk")
    firings = list(
        Firing.objects.filter(incident__in=visible).select_related("rule__brand", "incident")[:RECENT_FIRINGS]
    )
    for firing in firings:
        firing.why = explain(firing.verdict)
    return {
        "series": series,
        "rules": rules,
        "other_rules": by_series.get(None, []),
        "firings": firings,
        "may_manage": actions.may_manage(request.user),
        "upload_form": UploadForm(auto_id="upload_%s"),
        "point_form": PointForm(auto_id="point_%s"),
        "post_form": PostForm(auto_id="post_%s"),
        "may_configure": configure.may_configure(request.user),
        "now": now,
    }


def _page(request: HttpRequest, *, status: int = 200, **forms_given) -> HttpResponse:
    context = watch_context(request)
    context.update(forms_given)
    return render(request, "watch/watch.html", context, status=status)


@require_GET
@login_required
def watch_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _refusal(request: HttpRequest, err: CrisisFlowError, form_key: str, form: forms.Form, **extra) -> HttpResponse:
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        raise PermissionDenied(str(err.message))
    if err.status != 409:
        _show_error(form, err)
    return _page(request, status=err.status, refusal=str(err.message), **{form_key: form}, **extra)


@require_POST
@login_required
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES, auto_id="upload_%s")
    if not actions.may_manage(request.user):
        raise_forbidden()
    if not form.is_valid():
        return _page(request, status=400, upload_form=form)
    try:
        received = actions.upload_csv(request.user, form.cleaned_data["file"].read())
    except actions.CsvInvalid as err:
        form.add_error("file", _("Nothing was stored; correct these lines and upload the whole file again."))
        return _page(request, status=400, upload_form=form, csv_lines=err.lines)
    except CrisisFlowError as err:
        return _refusal(request, err, "upload_form", form)
    return _page(
        request,
        done=_("Stored %(points)d points (%(new)d new) and %(posts)d posts (%(newposts)d new).")
        % {
            "points": received.points,
            "new": received.new_points,
            "posts": received.posts,
            "newposts": received.new_posts,
        },
    )


def raise_forbidden() -> None:
    raise PermissionDenied(_("Only duty commanders and public-opinion analysts can do this."))


@require_POST
@login_required
def add_point(request: HttpRequest) -> HttpResponse:
    if not actions.may_manage(request.user):
        raise_forbidden()
    form = PointForm(request.POST, auto_id="point_%s")
    if not form.is_valid():
        return _page(request, status=400, point_form=form)
    data = form.cleaned_data
    try:
        actions.add_point(request.user, data["series"], data["at"], data["value"])
    except CrisisFlowError as err:
        return _refusal(request, err, "point_form", form)
    return redirect(reverse("watch") + "#series")


@require_POST
@login_required
def add_post(request: HttpRequest) -> HttpResponse:
    if not actions.may_manage(request.user):
        raise_forbidden()
    form = PostForm(request.POST, auto_id="post_%s")
    if not form.is_valid():
        return _page(request, status=400, post_form=form)
    data = form.cleaned_data
    item = {**data, "reach": data["reach"] or 0, "brand": data["brand"] or None}
    try:
        received = actions.add_post(request.user, item)
    except CrisisFlowError as err:
        return _refusal(request, err, "post_form", form)
    if received.new_posts:
        done = _("The post was stored.")
    else:
        done = _("A post with this address was already stored; it was updated.")
    return _page(request, done=done)


@require_POST
@login_required
def quiet_rule(request: HttpRequest) -> HttpResponse:
    if not actions.may_manage(request.user):
        raise_forbidden()
    form = QuietForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, quiet_form=form)
    data = form.cleaned_data
    seen = data["version"]
    try:
        if data["action"] == "snooze":
            actions.snooze_rule(request.user, data["rule"], data["hours"], data["reason"], expected_version=seen)
        elif data["action"] == "mute":
            actions.mute_rule(request.user, data["rule"], data["reason"], expected_version=seen)
        else:
            actions.unmute_rule(request.user, data["rule"], expected_version=seen)
    except CrisisFlowError as err:
        return _refusal(request, err, "quiet_form", form)
    return redirect(reverse("watch") + f"#rule-{data['rule']}")
