"""Live regions: parts of a page that bring themselves up to date within seconds.

A live region is an element that asks its own fragment URL with HTMX every few seconds
and swaps itself (outerHTML) for the answer:

    <section id="tasks" hx-get="…/live/tasks/" hx-trigger="every 3s [cfLiveIdle(this)]"
             hx-swap="outerHTML" data-live-stamp="3f9a…">

- `cfLiveIdle` (static/crisisflow/live.js) holds the poll back while the person is typing
  in the region or has text there they have not sent yet: a swap would throw it away.
- `data-live-stamp` is a short hash of what the region shows (versions, counts, the last
  timeline event…), made with one or two cheap queries. The poll sends it back as
  If-None-Match; while nothing changed the answer is an empty 304 and the page is left
  alone, so a region is swapped only when something in it did change.
- The markup has one source: a region's fragment is the same template (an include) or,
  for the incident page, the element cut out of the page itself (`cut`).

Stamps also carry the reader's language and time zone: switching either must not be
answered with "nothing changed".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser

from django.db.models import Count, IntegerField, Max, OuterRef, Subquery, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags, quote_etag
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.alerts.models import Notification
from crisisflow.incidents.errors import Blocked, CrisisFlowError
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.incidents.models.task import UNFINISHED

# How often a region asks; with the request itself a change shows within 5 seconds.
POLL_EVERY = "3s"
TRIGGER = f"every {POLL_EVERY} [cfLiveIdle(this)]"

# A task due within this is "due soon" on the dashboard and My tasks.
DUE_SOON = timedelta(hours=2)


# --- stamps and the conditional answer ------------------------------------------------------------


def stamp(*parts: object) -> str:
    """A short, stable hash of what a region shows, for the reader (the active language
    and time zone are part of it)."""
    reader = (translation.get_language(), timezone.get_current_timezone_name())
    digest = hashlib.blake2b(repr((reader, parts)).encode(), digest_size=10)
    return digest.hexdigest()


def fragment(request: HttpRequest, region_stamp: str, render_region: Callable[[], HttpResponse]) -> HttpResponse:
    """304 when the poll's If-None-Match is the region's stamp, else the rendered region.

    Never cached by the browser: the poll sets If-None-Match itself, and a cached copy
    would make the browser answer 200 from its cache, swapping the region for nothing."""
    etag = quote_etag(region_stamp)
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = render_region()
    response["ETag"] = etag
    patch_cache_control(response, no_store=True, private=True)
    return response


# --- the incident page ------------------------------------------------------------------------------

# Region name (in the URL) → the id of its element on the incident page.
INCIDENT_REGIONS = {
    "head": "live-head",  # header, stages and the golden clock
    "next-step": "next-step",
    "tasks": "tasks",
    "team": "live-team",  # wraps the team panel (web/_team.html)
    "timeline": "timeline",
    "notifications": "notifications",
}


def _scalar(queryset, **aggregate) -> Subquery:
    """One aggregate over an incident's rows, as a subquery of the incident row."""
    ((name, expression),) = aggregate.items()
    rows = queryset.filter(incident=OuterRef("pk")).order_by().values("incident")
    return Subquery(rows.annotate(**{name: expression}).values(name)[:1], output_field=IntegerField())


def incident_stamps(incident: Incident) -> dict[str, str]:
    """The stamp of every region of the incident page, from one query.

    Every change to an incident writes a timeline event and most bump its version; task
    changes bump the task's version (their sum only grows). "Overdue" changes with time
    alone, so the number of overdue tasks is part of the task list's stamp.

    Kept on the incident object: the page asks once per region while it renders, and the
    fragment view computes them before rendering (a change landing in between then shows
    at the next poll instead of being missed)."""
    cached = getattr(incident, "_live_stamps", None)
    if cached is not None:
        return cached
    now = clock.now()
    tasks = Task.objects.all()
    sent = Notification.objects.all()
    State = Notification.State
    counts = {
        "task_count": _scalar(tasks, n=Count("pk")),
        "task_versions": _scalar(tasks, n=Sum("version")),
        "overdue": _scalar(tasks.filter(status__in=UNFINISHED, due_at__lt=now), n=Count("pk")),
        "last_seq": _scalar(Event.objects.all(), n=Max("seq")),
        "last_comment": _scalar(Event.objects.filter(kind=Event.Kind.COMMENT), n=Max("seq")),
        # A notification moves pending → sending → delivered or failed, trying again
        # on the way: how many there are in each state, and the tries, show every move.
        "sent": _scalar(sent, n=Count("pk")),
        "sent_last": _scalar(sent, n=Max("pk")),
        "sending": _scalar(sent.filter(state=State.SENDING), n=Count("pk")),
        "delivered": _scalar(sent.filter(state=State.DELIVERED), n=Count("pk")),
        "failed": _scalar(sent.filter(state=State.FAILED), n=Count("pk")),
        "attempts": _scalar(sent, n=Sum("attempts")),
    }
    row = Incident.objects.filter(pk=incident.pk).annotate(**counts).values("version", "state", *counts).first()
    v = (row or {}).get  # a deleted incident: any stamp will do, its page is gone
    tasks_now = (v("task_count"), v("task_versions"))
    delivery = (v("sent"), v("sent_last"), v("sending"), v("delivered"), v("failed"), v("attempts"))
    stamps = {
        "head": stamp("head", v("version"), v("state")),
        # Gates read the tasks and the team, and features may add gates on anything
        # that writes an event.
        "next-step": stamp("next", v("version"), tasks_now, v("last_seq")),
        # Comments on a task change no version, only the timeline: the last one counts.
        "tasks": stamp("tasks", v("version"), tasks_now, v("overdue"), v("last_comment")),
        "team": stamp("team", v("version"), tasks_now),
        "timeline": stamp("timeline", v("version"), v("last_seq")),
        "notifications": stamp("notifications", delivery),
    }
    incident._live_stamps = stamps  # type: ignore[attr-defined]
    return stamps


class _ElementFinder(HTMLParser):
    """Finds where the element with an id starts and ends in a page."""

    def __init__(self, element_id: str):
        super().__init__(convert_charrefs=False)
        self.element_id = element_id
        self.tag: str | None = None
        self.depth = 0
        self.start: tuple[int, int] | None = None
        self.end: tuple[int, int] | None = None

    def handle_starttag(self, tag, attrs):
        if self.end is not None:
            return
        if self.tag is None:
            if dict(attrs).get("id") == self.element_id:
                self.tag, self.depth, self.start = tag, 1, self.getpos()
        elif tag == self.tag:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.tag == tag and self.end is None:
            self.depth -= 1
            if self.depth == 0:
                self.end = self.getpos()


def cut(html: str, element_id: str) -> str:
    """The element with `element_id`, start tag to matching end tag, out of a page.

    Only tags of the element's own name are counted, so the page's other markup (a <p>
    left open, say) cannot throw the count off."""
    finder = _ElementFinder(element_id)
    finder.feed(html)
    finder.close()
    if finder.start is None or finder.end is None:
        return ""
    lines = html.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(pos: tuple[int, int]) -> int:
        return offsets[pos[0] - 1] + pos[1]

    begin = offset(finder.start)
    end = html.index(">", offset(finder.end)) + 1
    return html[begin:end]


# --- My tasks: a task's card, swapped in place ----------------------------------------------------------

CARD_PREFIX = "my-task-"


def card_id(task: Task) -> str:
    return f"{CARD_PREFIX}{task.pk}"


def wants_task_card(request: HttpRequest, task: Task) -> bool:
    """Did My tasks' in-place buttons (HTMX, targeting the task's card) post this?"""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and htmx.target == card_id(task)


def my_task_row(task: Task, now) -> dict:
    """What a card on My tasks needs besides the task (its incident loaded with it)."""
    due = task.due_at
    finished = task.is_finished
    return {
        "task": task,
        "incident": task.incident,
        "overdue": bool(due and due < now and not finished),
        "due_soon": bool(due and now <= due < now + DUE_SOON and not finished),
        # Assigned to the person; the task views check again when a button is pressed.
        "can_work": task.incident.is_open and not finished,
    }


def task_card(request: HttpRequest, task: Task, error: CrisisFlowError | None = None) -> HttpResponse:
    """The task's card for My tasks, as it is now: after the change, or after a refusal
    (the refused change rolled back) with the refusal's words in the card under its
    status (400 Invalid, 409 Conflict or Blocked — live.js swaps those in)."""
    fresh = Task.objects.select_related("incident", "assignee").get(pk=task.pk)
    message, blockers = "", []
    if isinstance(error, Blocked):
        message, blockers = _("This cannot be done yet:"), error.blockers
    elif error is not None:
        message = str(error.message)
    context = {
        "row": my_task_row(fresh, clock.now()),
        "now": clock.now(),
        "error": message,
        "blockers": blockers,
    }
    status = error.status if error is not None else 200
    return render(request, "web/_live_task_card.html", context, status=status)
