"""The person's start page (the dashboard), My tasks, and the live fragments of both and
of the incident page.

Read-only views: they find what the person may see and show it. The task buttons on My
tasks post to the task views in crisisflow.web.views (the same use cases as the incident
page); those answer an HTMX request from My tasks with the task's card (live.task_card).

Every region here is a live region (crisisflow.web.live): a page asks once for all its
regions (`page_changes`, `incident_changes`) and gets back only those whose stamp changed;
each region's own fragment view answers 304 while its stamp has not changed. A fixed
number of queries whatever the number of incidents or tasks: counts are annotated,
never asked per row.
"""

from __future__ import annotations

import functools
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from crisisflow import clock
from crisisflow.alerts import inbox
from crisisflow.incidents import permissions
from crisisflow.incidents.models import Incident, Task
from crisisflow.incidents.models.task import UNFINISHED
from crisisflow.vocab import OPEN_STATES, STAGE_OF_STATE, Severity, State
from crisisflow.web import guards, incident_page, live
from crisisflow.web.templatetags import crisisflow_live as live_tags

# The dashboard's short lists; My tasks and the inbox have the rest.
DASHBOARD_TASKS = 8
DASHBOARD_NOTIFICATIONS = 10

# Most severe first; an incident whose severity is not set yet comes after all of them.
SEVERITY_ORDER = Case(
    *[When(severity=s.value, then=Value(rank)) for rank, s in enumerate(reversed(Severity))],
    default=Value(len(Severity)),
    output_field=IntegerField(),
)


# --- what the person sees ------------------------------------------------------------------------------


def active_incidents(user, now: datetime) -> QuerySet[Incident]:
    """Open incidents the person may see, most urgent first: reports still waiting to be
    confirmed or dismissed (their clocks run already), then severity, then the golden
    clock still running (soonest first), then the number of overdue tasks."""
    unfinished = Q(tasks__status__in=UNFINISHED)
    soon = Q(tasks__due_at__gte=now, tasks__due_at__lt=now + live.DUE_SOON)
    return (
        # Visibility as a subquery: its joins (team) would multiply the task counts.
        Incident.objects.filter(pk__in=permissions.visible_incidents(user).values("pk"), state__in=OPEN_STATES)
        .select_related("commander")
        .annotate(
            overdue=Count("tasks", filter=unfinished & Q(tasks__due_at__lt=now)),
            due_soon=Count("tasks", filter=unfinished & soon),
            awaiting_triage=Case(When(state=State.REPORTED, then=Value(0)), default=Value(1)),
            severity_rank=SEVERITY_ORDER,
            # The clock runs until the first public statement is out.
            clock_due=Case(When(first_statement_at__isnull=True, then=F("statement_due_at"))),
        )
        .order_by(
            "awaiting_triage", "severity_rank", F("clock_due").asc(nulls_last=True), "-overdue", "-detected_at", "pk"
        )
    )


def my_open_tasks(user) -> QuerySet[Task]:
    """Tasks assigned to the person and not finished, on open incidents they may see,
    by due time (those still waiting for their starting point last)."""
    return (
        Task.objects.filter(
            assignee=user,
            status__in=UNFINISHED,
            incident__state__in=OPEN_STATES,
            incident__in=permissions.visible_incidents(user).values("pk"),
        )
        .select_related("incident")
        .order_by(F("due_at").asc(nulls_last=True), "incident__reference", "position", "pk")
    )


# --- the regions: what each shows, and its stamp ---------------------------------------------------------


def _incidents_region(request: HttpRequest, now: datetime) -> dict:
    incidents = list(active_incidents(request.user, now))
    for incident in incidents:
        incident.stage = STAGE_OF_STATE[incident.state]
    worker = guards.worker_status(now)
    shown = [(i.pk, i.version, i.state, i.overdue, i.due_soon) for i in incidents]
    return {"incidents": incidents, **worker, "now": now, "stamp": live.stamp("incidents", shown, worker["worker_key"])}


def _task_rows(request: HttpRequest, now: datetime) -> list[dict]:
    return [live.my_task_row(task, now) for task in my_open_tasks(request.user)]


def _rows_stamp(name: str, rows: list[dict]) -> str:
    shown = [(r["task"].pk, r["task"].version, r["overdue"], r["due_soon"], r["incident"].version) for r in rows]
    return live.stamp(name, shown)


def _tasks_region(request: HttpRequest, now: datetime) -> dict:
    rows = _task_rows(request, now)
    return {"rows": rows[:DASHBOARD_TASKS], "total": len(rows), "now": now, "stamp": _rows_stamp("dash-tasks", rows)}


def _notifications_region(request: HttpRequest, now: datetime) -> dict:
    items = inbox.inbox(request.user, limit=DASHBOARD_NOTIFICATIONS)
    unread = inbox.unread_count(request.user)
    # Who may see what is part of it: losing sight of an incident changes the region.
    shown = [(n.pk, n.read_at, sorted(n.readable)) for n in items]
    return {"items": items, "unread": unread, "now": now, "stamp": live.stamp("notifications", shown, unread)}


def _my_tasks_region(request: HttpRequest, now: datetime) -> dict:
    rows = _task_rows(request, now)
    return {"rows": rows, "now": now, "stamp": _rows_stamp("my-tasks", rows)}


DASHBOARD_REGIONS = {
    "incidents": (_incidents_region, "web/_live_dash_incidents.html"),
    "tasks": (_tasks_region, "web/_live_dash_tasks.html"),
    "notifications": (_notifications_region, "web/_live_dash_notifications.html"),
}


# --- the pages -------------------------------------------------------------------------------------------


@login_required
def show_dashboard(request: HttpRequest) -> HttpResponse:
    now = clock.now()
    context = {name: build(request, now) for name, (build, _template) in DASHBOARD_REGIONS.items()}
    return render(request, "web/dashboard.html", context)


@login_required
def my_tasks(request: HttpRequest) -> HttpResponse:
    return render(request, "web/my_tasks.html", {"region": _my_tasks_region(request, clock.now())})


# --- the live fragments ------------------------------------------------------------------------------------


def unread_region(request: HttpRequest) -> live.Region:
    """The unread count in the header, on every page."""
    count = inbox.unread_count(request.user)
    return live.Region(
        stamp=live_tags.unread_stamp(count),
        render=lambda: render_to_string("web/_unread_badge.html", {"unread": count}, request),
        standing=tuple,  # a number: the same for everyone who has that many
    )


def _person_region(request: HttpRequest, build, template: str) -> live.Region:
    """A region of the person's own pages: theirs alone."""
    context = build(request, clock.now())
    return live.Region(stamp=context["stamp"], render=lambda: render_to_string(template, {"region": context}, request))


PERSON_REGIONS = {**DASHBOARD_REGIONS, "my-tasks": (_my_tasks_region, "web/_live_my_tasks.html")}


def _person_regions(request: HttpRequest) -> dict:
    regions = {
        name: functools.partial(_person_region, request, build, template)
        for name, (build, template) in PERSON_REGIONS.items()
    }
    regions["unread"] = functools.partial(unread_region, request)
    return regions


@require_safe
@login_required
def page_changes(request: HttpRequest) -> HttpResponse:
    """The poll of the dashboard, My tasks and every other page (the header's badge)."""
    return live.changes(request, _person_regions(request))


@require_safe
@login_required
def dashboard_region(request: HttpRequest, region: str) -> HttpResponse:
    if region not in DASHBOARD_REGIONS:
        raise Http404()
    return live.fragment(request, region, _person_regions(request)[region]())


@require_safe
@login_required
def my_tasks_region(request: HttpRequest) -> HttpResponse:
    return live.fragment(request, "my-tasks", _person_regions(request)["my-tasks"]())


def _incident_regions(request: HttpRequest, reference: str, stamps: dict[str, str]) -> dict:
    """The incident page's regions as this person sees them. The stamps come first, from
    one query, before any content is read: a change landing in between shows at the
    next poll instead of being missed. The incident itself is loaded only when a region
    has to be rendered."""

    @functools.cache
    def room() -> incident_page.Room:
        incident = guards.incident_for(request, reference)
        incident._live_stamps = stamps  # what the regions say they show: what they were asked about
        return incident_page.Room(request, incident)

    def region(name: str) -> live.Region:
        return live.Region(
            stamp=stamps[name],
            render=lambda: incident_page.render_region(request, room(), name),
            standing=lambda: (room().incident.pk, *room().standing(name)),
        )

    regions = {name: functools.partial(region, name) for name in live.INCIDENT_REGIONS}
    regions["unread"] = functools.partial(unread_region, request)
    return regions


def _visible_stamps(request: HttpRequest, reference: str) -> dict[str, str]:
    """The stamps of an incident the person may see; 404 otherwise (restricted ones too).
    A poll reads the few columns visibility needs with the stamps, not the incident."""
    row = live.stamp_row(reference=reference)
    if row is None:
        raise Http404()
    pk, restricted, commander_id, reporter_id = row[:4]
    outline = Incident(pk=pk, restricted=restricted, commander_id=commander_id, reporter_id=reporter_id)
    if not permissions.can_view(request.user, outline):
        raise Http404()
    return live.stamps_from(row)


@require_safe
@login_required
def incident_changes(request: HttpRequest, reference: str) -> HttpResponse:
    """The incident page's poll: which of its regions changed, with their new markup."""
    stamps = _visible_stamps(request, reference)
    return live.changes(request, _incident_regions(request, reference, stamps))


@require_safe
@login_required
def incident_region(request: HttpRequest, reference: str, region: str) -> HttpResponse:
    """One region of the incident page, from its own template."""
    if region not in live.INCIDENT_REGIONS:
        raise Http404()
    stamps = _visible_stamps(request, reference)
    return live.fragment(request, region, _incident_regions(request, reference, stamps)[region]())
