"""The incident room stays fast in a long crisis: the page costs the same number of
queries for an incident with 200 tasks and 5,000 timeline events as for a new one.

`build_room` and `grow` are shared with bench/pages.py, which times the same page.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crisisflow.evidence import actions as evidence
from crisisflow.incidents import actions, timeline
from crisisflow.incidents.models import Event, Incident, Task, TimelineHead
from crisisflow.incidents.models.event import event_hash
from crisisflow.vocab import Stage, State
from crisisflow.web import incident_page, room
from tests.flows import report, walk_to
from tests.test_evidence__sniff import PDF, png

pytestmark = pytest.mark.django_db

# Every query the incident page makes, whatever the size of the incident. A new query
# on the page must be a fixed one (prefetch, select_related), never one per task/event.
# (+2: the early-warning section reads the incident's firings and series; +1: the
# statements app's gate on publishing reads the incident's publications; +1: the brand
# card reads the incident's brand, +1 the commander's form lists the brands; +1: the
# navigation asks whether the reader may read the analytics; the current playbook
# versions are read once, for every step form and the default plan.)
CEILING = 33

BIG_TASKS = 200
BIG_EVENTS = 5000


def build_room(people, *, title: str = "Payments down in East China") -> Incident:
    """An incident with its team assembled (commander, PR lead, legal, an observer), one
    comment and one evidence file: every part of the room has something to show."""
    incident = walk_to(people, report(people, title=title), State.TEAM_ASSEMBLED)
    actions.add_team_member(people.commander, incident, people.observer, "observer")
    first = incident.tasks.order_by("position").first()
    actions.add_task_comment(people.legal, first, "Counsel has the draft")
    evidence.attach(people.pr_lead, incident, SimpleUploadedFile("weibo.png", png()), "Top post")
    return Incident.objects.get(pk=incident.pk)


def grow(incident: Incident, people, *, tasks: int, events: int, attachments: int = 0) -> None:
    """Pad the incident up to `tasks` tasks and `events` timeline events with bulk
    inserts. The events continue the hash chain exactly as timeline.record would."""
    existing = list(incident.tasks.order_by("position"))
    owners = [("pr", people.pr_lead), ("legal", people.legal), ("commander", people.commander)]
    stages = [s.value for s in Stage]
    statuses = ["open", "in_progress", "open", "blocked", "done", "open"]
    new = []
    for i in range(tasks - len(existing)):
        role, owner = owners[i % len(owners)]
        status = statuses[i % len(statuses)]
        new.append(
            Task(
                incident=incident,
                key=f"extra-{i}",
                position=len(existing) + i,
                title={"en": f"Follow-up {i}: answer the press", "zh": f"跟进 {i}：回复媒体"},
                instructions={"en": "Draft, check with legal, send.", "zh": "起草，法务审核，发出。"},
                role=role,
                stage=stages[i % len(stages)],
                anchor="detected",
                offset=timedelta(hours=1 + i % 48),
                due_at=incident.detected_at + timedelta(hours=1 + i % 48),
                status=status,
                assignee=owner,
                blocked_reason="waiting for the vendor" if status == "blocked" else "",
                checklist=[{"text": {"en": "Checked by legal", "zh": "法务已审"}, "done": i % 2 == 0}],
            )
        )
    Task.objects.bulk_create(new)
    through = Task.depends_on.through
    through.objects.bulk_create([through(from_task_id=new[i].pk, to_task_id=new[i - 1].pk) for i in range(1, len(new))])
    all_tasks = existing + new

    last = incident.events.order_by("-seq").first()
    seq, prev, at = last.seq, last.hash, last.at
    actors = [people.commander, people.pr_lead, people.legal, people.cs]
    rows = []
    for i in range(events - last.seq):
        task = all_tasks[i % len(all_tasks)]
        actor = actors[i % len(actors)]
        pick = i % 10
        if pick in (0, 1):
            kind, data, task = Event.Kind.NOTE, {"text": f"Update {i}: sentiment still negative"}, None
        elif pick in (2, 3):
            kind, data = Event.Kind.TASK, {"task_title": task.title, "before": "open", "after": "in_progress"}
        elif pick == 4:
            kind, data = Event.Kind.ASSIGNMENT, {"task_title": task.title, "before": None, "after": str(actor)}
        elif pick == 5:
            kind, data = Event.Kind.COMMENT, {"task_title": task.title, "text": f"Comment {i}"}
        elif pick in (6, 7):
            kind, actor = Event.Kind.ALERT, None
            data = {"alert": "reminder", "task_title": task.title, "recipients": ["Prlead"], "channels": ["in_app"]}
        else:
            item = {"en": "Checked by legal", "zh": "法务已审"}
            kind, data = Event.Kind.CHECKLIST, {"task_title": task.title, "item": item, "done": True}
        seq += 1
        at += timedelta(seconds=3)
        fields = dict(
            incident_id=incident.pk,
            seq=seq,
            at=at,
            actor_id=actor.pk if actor else None,
            kind=str(kind),
            task_id=task.pk if task else None,
            data=data,
            prev_hash=prev,
        )
        prev = event_hash(**fields)
        rows.append(Event(**fields, hash=prev))
    if rows:
        Event.objects.bulk_create(rows, batch_size=1000)
        # Written past timeline.record(), so the head is moved on as record() would.
        TimelineHead.objects.filter(incident=incident).update(seq=seq, hash=prev)
    for i in range(attachments):
        evidence.attach(people.pr_lead, incident, SimpleUploadedFile(f"doc-{i}.pdf", PDF), f"Document {i}")


@pytest.fixture
def rooms(people, plan):
    small = build_room(people, title="A new crisis")
    big = build_room(people, title="A long crisis")
    grow(big, people, tasks=BIG_TASKS, events=BIG_EVENTS, attachments=35)
    return small, big


def queries_for(client, incident: Incident) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("incident-detail", args=[incident.reference]))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_big_incident_is_what_it_claims(rooms):
    _small, big = rooms
    assert big.tasks.count() == BIG_TASKS
    assert big.events.count() >= BIG_EVENTS
    assert timeline.verify(big) is None  # bulk or not, the chain holds


@pytest.mark.parametrize("viewer", ["commander", "pr_lead", "observer", "outsider"])
def test_the_room_costs_the_same_queries_for_200_tasks_and_5000_events(
    client, people, rooms, viewer, django_assert_max_num_queries
):
    small, big = rooms
    client.force_login(getattr(people, viewer))
    client.get(reverse("incident-detail", args=[small.reference]))  # warm caches (content types…)
    with django_assert_max_num_queries(CEILING):
        client.get(reverse("incident-detail", args=[big.reference]))
    assert queries_for(client, big) == queries_for(client, small)


# The page of a long crisis stays small enough for a phone on a poor connection.
PAGE_BYTES = 250_000


def test_the_big_room_shows_the_work_of_now_and_folds_the_rest(client, people, rooms):
    _small, big = rooms
    client.force_login(people.commander)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("incident-detail", args=[big.reference])).content.decode()
    assert html.count('<li class="event kind-') == room.PAGE_SIZE
    assert 'rel="next"' in html
    assert html.count('class="evidence-item') == 30
    assert "All evidence on the timeline" in html
    assert len(html.encode()) <= PAGE_BYTES
    shown = html.count('<article class="task')
    assert 0 < shown <= len(Stage) * incident_page.CARDS_PER_STAGE
    assert html.count('class="button small unfold"') == len(Stage)  # every stage has more

    # Each stage unfolds on demand (HTMX), and together they hold every task.
    unfolded = 0
    for stage in Stage:
        url = reverse("task-stage", args=[big.reference, stage.value])
        part = client.get(url, headers={"HX-Request": "true"}).content.decode()
        assert f'id="stage-{stage.value}"' in part and "unfold" not in part
        unfolded += part.count('<article class="task')
    assert unfolded == BIG_TASKS

    # Without JavaScript the button is a link to the page with that stage open.
    whole = client.get(reverse("incident-detail", args=[big.reference]) + "?open=review").content.decode()
    review = big.tasks.filter(stage="review").count()
    assert whole.count('<article class="task') == shown - review_shown(html) + review


def review_shown(html: str) -> int:
    part = html[html.index('id="stage-review"') :]
    part = part[: part.index("</div>\n", part.index("unfold"))]
    return part.count('<article class="task')
