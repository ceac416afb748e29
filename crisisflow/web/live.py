"""Live regions: parts of a page that bring themselves up to date within seconds.

A live region is an element with a name and a stamp:

    <section id="tasks" data-live-region="tasks" data-live-stamp="3f9a…">

- `data-live-stamp` is a short hash of what the region shows (versions, counts, the last
  timeline event…) and of who reads it (language, time zone), made with one or two cheap
  queries for all the regions of a page together.
- Each page asks once every few seconds (static/crisisflow/live.js), sending the stamps of
  its regions to the page's live address (`<meta name="cf-live">`). The answer names only
  the regions whose stamp changed, each with its new markup; while nothing changed it is
  a few bytes. So a page costs one cheap query per poll, not one per region.
- A region is rendered from its own template (an include), never cut out of the whole
  page, and one render serves everyone who sees the same thing: renders are shared by
  (region, stamp, standing) — the stamp carries the language and time zone, the
  standing the buttons the person gets (commander, role lead, assignee…).
- live.js holds a region back while the person is typing in it or has text there they
  have not sent yet: a swap would throw it away. It is swapped at the next poll after.

Every region also has its own address (`fragment`): an empty 304 while its stamp is the
one sent as If-None-Match, else the region.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.middleware.csrf import get_token
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

# How often a page asks; with the answer's own time a change shows within 5 seconds,
# on a loaded machine too (a poll that finds nothing costs a millisecond or two).
POLL_SECONDS = 2

# A task due within this is "due soon" on the dashboard and My tasks.
DUE_SOON = timedelta(hours=2)


# --- stamps and the conditional answer ------------------------------------------------------------


def stamp(*parts: object) -> str:
    """A short, stable hash of what a region shows, for the reader (the active language
    and time zone are part of it)."""
    reader = (translation.get_language(), timezone.get_current_timezone_name())
    digest = hashlib.blake2b(repr((reader, parts)).encode(), digest_size=10)
    return digest.hexdigest()


@dataclass
class Region:
    """One live region as this request would show it."""

    stamp: str
    render: Callable[[], str]  # its markup (its own template)
    # What else decides the markup for this person; None: theirs alone, never shared.
    standing: Callable[[], tuple] | None = None


# --- one render for everyone who sees the same thing -----------------------------------------------

_CSRF_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_CSRF_MARK = "\x00csrf\x00"


class SharedRenders:
    """Rendered regions by (region, stamp, standing), least recently used dropped past
    `max_bytes`. Each process keeps its own; a render is made once even when many
    viewers ask for it at the same moment (the others wait for it).

    Forms in a shared render carry a mark where the CSRF token goes; each answer puts
    the reader's own token there."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024):
        self.max_bytes = max_bytes
        self.size = 0
        self.items: OrderedDict[tuple, str] = OrderedDict()
        self.lock = threading.Lock()
        self.making: dict[tuple, threading.Lock] = {}
        self.renders = 0  # how many were made (the tests and the bench read it)

    def get(self, key: tuple, make: Callable[[], str]) -> str:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            making = self.making.setdefault(key, threading.Lock())
        with making:
            with self.lock:
                if key in self.items:
                    return self.items[key]
            html = _CSRF_FIELD.sub(rf"\g<1>{_CSRF_MARK}\g<2>", make())
            with self.lock:
                self.renders += 1
                self.items[key] = html
                self.size += len(html)
                self.making.pop(key, None)
                while self.size > self.max_bytes and len(self.items) > 1:
                    _key, dropped = self.items.popitem(last=False)
                    self.size -= len(dropped)
            return html

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.size = 0


shared = SharedRenders()


def markup(request: HttpRequest, name: str, region: Region) -> str:
    """The region's markup for this reader: a shared render when it may be shared."""
    if region.standing is None:
        html = _CSRF_FIELD.sub(rf"\g<1>{_CSRF_MARK}\g<2>", region.render())
    else:
        html = shared.get((name, region.stamp, region.standing()), region.render)
    return html.replace(_CSRF_MARK, get_token(request)) if _CSRF_MARK in html else html


def fragment(request: HttpRequest, name: str, region: Region) -> HttpResponse:
    """One region's own address: 304 when the If-None-Match is its stamp, else the region.

    Never cached by the browser: the poll sets If-None-Match itself, and a cached copy
    would make the browser answer 200 from its cache, swapping the region for nothing."""
    etag = quote_etag(region.stamp)
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(markup(request, name, region))
    response["ETag"] = etag
    patch_cache_control(response, no_store=True, private=True)
    return response


def asked_stamps(request: HttpRequest) -> dict[str, str]:
    """The regions a page's poll asks about: `region=<name>:<stamp>`, repeated."""
    asked = {}
    for value in request.GET.getlist("region"):
        name, _sep, seen = value.partition(":")
        asked[name] = seen
    return asked


def changes(request: HttpRequest, regions: dict[str, Callable[[], Region]]) -> JsonResponse:
    """The answer to a page's poll: the server's time (clocks count from it) and, for each
    region asked about whose stamp changed, the new stamp and markup. Regions this page
    does not have are ignored."""
    changed = {}
    for name, seen in asked_stamps(request).items():
        if name not in regions:
            continue
        region = regions[name]()
        if region.stamp != seen:
            changed[name] = {"stamp": region.stamp, "html": markup(request, name, region)}
    response = JsonResponse({"now": clock.now().isoformat(), "regions": changed})
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


def _stamps_sql(where: str) -> str:
    """One query for every region's stamp of an incident (and what its visibility needs).
    Written out once, not built by the ORM per poll: it runs on every poll of every
    viewer, and composing the same dozen subqueries each time cost more than running it."""
    incident, task = Incident._meta.db_table, Task._meta.db_table
    event, sent = Event._meta.db_table, Notification._meta.db_table

    def of(table: str, value: str, extra: str = "") -> str:
        return f"(SELECT {value} FROM {table} x WHERE x.incident_id = i.id{extra})"

    unfinished = ", ".join(f"'{status}'" for status in UNFINISHED)
    return f"""
        SELECT i.id, i.restricted, i.commander_id, i.reporter_id, i.version, i.state,
               {of(task, "COUNT(*)")}, {of(task, "SUM(x.version)")},
               {of(task, "COUNT(*)", f" AND x.status IN ({unfinished}) AND x.due_at < %s")},
               {of(event, "MAX(x.seq)")}, {of(event, "MAX(x.seq)", " AND x.kind = %s")},
               {of(sent, "COUNT(*)")}, {of(sent, "MAX(x.id)")},
               {of(sent, "COUNT(*)", " AND x.state = %s")}, {of(sent, "COUNT(*)", " AND x.state = %s")},
               {of(sent, "COUNT(*)", " AND x.state = %s")}, {of(sent, "SUM(x.attempts)")},
               i.statement_due_at, i.first_statement_at
        FROM {incident} i WHERE {where}"""


_SQL: dict[str, str] = {}


def stamp_row(*, pk: int | None = None, reference: str | None = None) -> tuple | None:
    """The row the stamps are made from, by the incident's id or reference."""
    where = "i.id = %s" if pk is not None else "i.reference = %s"
    if where not in _SQL:
        _SQL[where] = _stamps_sql(where)
    State = Notification.State
    now = connection.ops.adapt_datetimefield_value(clock.now())
    params = [now, *(str(v.value) for v in (Event.Kind.COMMENT, State.SENDING, State.DELIVERED, State.FAILED))]
    with connection.cursor() as cursor:
        cursor.execute(_SQL[where], [*params, pk if pk is not None else reference])
        return cursor.fetchone()


def stamps_from(row: tuple | None) -> dict[str, str]:
    """The stamp of every region of the incident page.

    Every change to an incident writes a timeline event and most bump its version; task
    changes bump the task's version (their sum only grows). "Overdue" changes with time
    alone, so the number of overdue tasks is part of the task list's stamp, and the
    minute is part of the header's while its golden clock runs. A
    notification moves pending → sending → delivered or failed, trying again on the way:
    how many there are in each state, and the tries, show every move."""
    if row is None:  # a deleted incident: any stamp will do, its page is gone
        row = (None,) * 19
    version, state = row[4], row[5]
    # While the golden clock runs, the header's own words ("3 hours, 59 minutes left",
    # what shows without JavaScript) change every minute.
    running = row[17] is not None and row[18] is None
    minute = int(clock.now().timestamp() // 60) if running else None
    tasks_now, overdue, last_seq, last_comment = (row[6], row[7]), row[8], row[9], row[10]
    delivery = tuple(row[11:17])
    return {
        "head": stamp("head", version, state, minute),
        # Gates read the tasks and the team, and features may add gates on anything
        # that writes an event.
        "next-step": stamp("next", version, tasks_now, last_seq),
        # Comments on a task change no version, only the timeline: the last one counts.
        "tasks": stamp("tasks", version, tasks_now, overdue, last_comment),
        "team": stamp("team", version, tasks_now),
        "timeline": stamp("timeline", version, last_seq),
        "notifications": stamp("notifications", delivery),
    }


def incident_stamps(incident: Incident) -> dict[str, str]:
    """The stamps of the incident's regions, from one query, kept on the incident object:
    the page asks once per region while it renders."""
    cached = getattr(incident, "_live_stamps", None)
    if cached is None:
        cached = stamps_from(stamp_row(pk=incident.pk))
        incident._live_stamps = cached  # type: ignore[attr-defined]
    return cached


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
