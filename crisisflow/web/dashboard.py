"""The person's start page (the dashboard), My tasks, and the live fragments of both and
of the incident page.

Read-only views: they find what the person may see and show it. The task buttons on My
tasks post to the task views in crisisflow.web.views (the same use cases as the incident
page); those answer an HTMX request from My tasks with the task's card (live.task_card).

Every region here is a live region (crisisflow.web.live): its fragment view answers 304
while its stamp has not changed. A fixed number of queries whatever the number of
incidents or tasks: counts are annotated, never asked per row.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from crisisflow import clock
from crisisflow.alerts import inbox
from crisisflow.incidents import permissions
from crisisflow.incidents.models import Incident, Task
from crisisflow.incidents.models.task import UNFINISHED
from crisisflow.incidents.tasks import last_heartbeat
from crisisflow.vocab import OPEN_STATES, STAGE_OF_STATE, Severity, State
from crisisflow.web import live, views

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


def _worker(now: datetime) -> dict:
    """The background worker's state, as the incident list shows it."""
    seen = last_heartbeat()
    ok = seen is not None and now - seen <= views.WORKER_SILENCE
    # While it is silent the line says for how long: a new minute is a change.
    silent_for = None if ok or seen is None else int((now - seen).total_seconds() // 60)
    return {"worker_ok": ok, "worker_seen": seen, "worker_key": (ok, seen is None, silent_for)}


# --- the regions: what each shows, and its stamp ---------------------------------------------------------


def _incidents_region(request: HttpRequest, now: datetime) -> dict:
    incidents = list(active_incidents(request.user, now))
    for incident in incidents:
        incident.stage = STAGE_OF_STATE[incident.state]
    worker = _worker(now)
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


@login_required
def dashboard_region(request: HttpRequest, region: str) -> HttpResponse:
    if region not in DASHBOARD_REGIONS:
        raise Http404()
    build, template = DASHBOARD_REGIONS[region]
    context = build(request, clock.now())
    return live.fragment(request, context["stamp"], lambda: render(request, template, {"region": context}))


@login_required
def my_tasks_region(request: HttpRequest) -> HttpResponse:
    context = _my_tasks_region(request, clock.now())
    return live.fragment(
        request, context["stamp"], lambda: render(request, "web/_live_my_tasks.html", {"region": context})
    )


@login_required
def incident_region(request: HttpRequest, reference: str, region: str) -> HttpResponse:
    """One region of the incident page, cut out of the page itself (one source of markup)."""
    element_id = live.INCIDENT_REGIONS.get(region)
    if element_id is None:
        raise Http404()
    incident = views._incident_for(request, reference)  # 404 for a restricted one the person may not see
    stamps = live.incident_stamps(incident)  # before the content: a change in between shows next time

    def render_region() -> HttpResponse:
        page = views._incident_page(request, incident)
        return HttpResponse(live.cut(page.content.decode(), element_id))

    return live.fragment(request, stamps[region], render_region)
