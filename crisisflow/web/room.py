"""The incident room's building blocks: the parts of the incident page a team works from.

- the timeline, newest first, filtered by kind and person (GET parameters, so the form
  works without JavaScript; with HTMX only the timeline is swapped) and paged by
  sequence number, so an incident with thousands of events renders as fast as a new one;
- the team by role, with the lead, phone and e-mail of each member and whether the role
  has the people the plan needs;
- comments on tasks, and evidence files.

The views that use them are in crisisflow.web.views; crisisflow.web.incident_page puts
them together into the page and its live regions.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crisisflow.evidence import actions as evidence
from crisisflow.evidence.models import Attachment
from crisisflow.incidents.models import Event, Incident, Task, TaskStatus, TeamMember
from crisisflow.incidents.models.task import FINISHED
from crisisflow.incidents.timeline import kind_label
from crisisflow.people.models import User
from crisisflow.playbooks.models import localized
from crisisflow.vocab import Role
from crisisflow.web.forms import LineField, TextField
from crisisflow.web.templatetags.crisisflow_web import describe, state_label

Kind = Event.Kind

# --- the timeline ----------------------------------------------------------------------------

# Events per page. A page is what a person reads before filtering or going back in
# time, and the render budget of the incident page (bench/pages.py) is spent on it.
PAGE_SIZE = 50

# What the kind filter offers: the kinds a person thinks in, each one or more event kinds.
KIND_FILTERS: dict[str, tuple[object, tuple[str, ...]]] = {
    "stage": (gettext_lazy("Stage changes"), (Kind.REPORTED, Kind.TRANSITION)),
    "notes": (gettext_lazy("Notes"), (Kind.NOTE,)),
    "comments": (gettext_lazy("Task comments"), (Kind.COMMENT,)),
    "tasks": (gettext_lazy("Task status and checklists"), (Kind.TASK, Kind.CHECKLIST)),
    "assignments": (gettext_lazy("Assignments"), (Kind.ASSIGNMENT,)),
    "team": (gettext_lazy("Team and commander"), (Kind.TEAM, Kind.COMMANDER)),
    "scope": (gettext_lazy("Severity, scope and facts"), (Kind.SEVERITY, Kind.FACTS)),
    "alerts": (gettext_lazy("Reminders, escalations, failed deliveries"), (Kind.ALERT, Kind.DELIVERY)),
    "evidence": (gettext_lazy("Evidence"), (Kind.EVIDENCE,)),
}
# The GET parameters a timeline page is made from.
TIMELINE_QUERY = ("kind", "person", "task", "before")
SYSTEM = "system"  # the person filter's value for events no person wrote (reminders…)


@dataclass
class TimelinePage:
    incident: Incident
    events: list[Event]
    kind: str
    person: str
    task: int | None  # one task's history (its card links here when it has more comments)
    task_title: str
    before: int | None
    people: list[User]
    older: int | None  # the `before` of the next page, if there is one

    @property
    def kinds(self) -> list[tuple[str, str]]:
        return [(key, str(label)) for key, (label, _kinds) in KIND_FILTERS.items()]

    @property
    def filtered(self) -> bool:
        return bool(self.kind or self.person or self.task)

    def link(self, **changes) -> dict[str, str]:
        """This page with some parameters changed: {"page": the incident page's URL (for
        links without JavaScript and the address bar), "feed": the timeline alone (HTMX)}."""
        params = {"kind": self.kind, "person": self.person, "task": self.task or "", "before": self.before or ""}
        params.update(changes)
        query = urlencode({k: v for k, v in params.items() if v})
        page = reverse("incident-detail", args=[self.incident.reference])
        feed = reverse("incident-timeline", args=[self.incident.reference])
        return {
            "page": f"{page}?{query}#timeline" if query else f"{page}#timeline",
            "feed": f"{feed}?{query}" if query else feed,
        }

    @property
    def older_link(self) -> dict[str, str] | None:
        return self.link(before=self.older) if self.older else None

    @property
    def newest_link(self) -> dict[str, str] | None:
        return self.link(before="") if self.before else None

    @property
    def clear_link(self) -> dict[str, str]:
        return self.link(kind="", person="", task="", before="")


def _positive_int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and 0 < int(value) < 2**31 else None


def timeline_page(request: HttpRequest, incident: Incident) -> TimelinePage:
    """One page of the timeline as the GET parameters ask: kind, person, task, before (a
    sequence number: the page holds the events before it). Unknown values are ignored."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in KIND_FILTERS else ""
    person = request.GET.get("person", "")
    person_id = _positive_int(person)
    person = SYSTEM if person == SYSTEM else (str(person_id) if person_id else "")
    task_id = _positive_int(request.GET.get("task"))
    before = _positive_int(request.GET.get("before"))

    events = incident.events.select_related("actor").only(*EVENT_FIELDS)
    if kind:
        events = events.filter(kind__in=KIND_FILTERS[kind][1])
    if person == SYSTEM:
        events = events.filter(actor__isnull=True)
    elif person_id:
        events = events.filter(actor_id=person_id)
    task_title = ""
    if task_id:
        title = incident.tasks.filter(pk=task_id).values_list("title", flat=True).first()
        if title is None:
            task_id = None  # not a task of this incident: ignored like any unknown value
        else:
            task_title = localized(title)
            events = events.filter(task_id=task_id)
    if before:
        events = events.filter(seq__lt=before)
    # One more than a page: whether there is an older page, without counting them all.
    rows = list(events.order_by("-seq")[: PAGE_SIZE + 1])
    older = rows[PAGE_SIZE - 1].seq if len(rows) > PAGE_SIZE else None
    when = clock_in(timezone.get_current_timezone())
    system = _("system")
    for event in rows[:PAGE_SIZE]:  # worked out here, once, rather than by filters in the template
        event.when = when(event.at)
        event.who = str(event.actor) if event.actor_id else system
        event.kind_label = kind_label(event.kind)
        event.line = describe(event)
    # Everyone who wrote on this timeline, even if they have left the team since.
    people = User.objects.filter(pk__in=incident.events.filter(actor__isnull=False).values("actor_id"))
    return TimelinePage(
        incident=incident,
        events=rows[:PAGE_SIZE],
        kind=kind,
        person=person,
        task=task_id,
        task_title=task_title,
        before=before,
        people=list(people.order_by("display_name", "username")),
        older=older,
    )


# What a timeline line shows: not the hashes, not the actor's whole user row.
EVENT_FIELDS = (
    "incident",
    "seq",
    "at",
    "kind",
    "task",
    "data",
    "actor",
    "actor__username",
    "actor__display_name",
    "actor__first_name",
    "actor__last_name",
)


def comments_by_task(incident: Incident, task_ids=None) -> dict[int, list[tuple]]:
    """The tasks' comments (all, or those of `task_ids`), oldest first, as (actor id, at,
    text): one query for the whole incident."""
    comments = incident.events.filter(kind=Kind.COMMENT).order_by("seq")
    if task_ids is not None:
        comments = comments.filter(task_id__in=task_ids)
    found: dict[int, list[tuple]] = {}
    for task_id, actor_id, at, data in comments.values_list("task_id", "actor_id", "at", "data"):
        found.setdefault(task_id, []).append((actor_id, at, data.get("text", "")))
    return found


def prerequisites_by_task(incident: Incident, task_ids=None) -> dict[int, list[tuple[dict, str]]]:
    """What the tasks (all, or those of `task_ids`) depend on, as (title, status): one
    query for the whole incident."""
    links = Task.depends_on.through.objects.filter(from_task__incident=incident).order_by("to_task__position")
    if task_ids is not None:
        links = links.filter(from_task_id__in=task_ids)
    found: dict[int, list[tuple[dict, str]]] = {}
    for task_id, title, status in links.values_list("from_task_id", "to_task__title", "to_task__status"):
        found.setdefault(task_id, []).append((title, status))
    return found


class CommentForm(forms.Form):
    text = TextField(label=gettext_lazy("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


# --- the task cards: what each card shows, worked out once per page -------------------------------
# A long crisis has hundreds of tasks. Labels are translated, URLs built and dates
# formatted here once, so the template's work per task is mostly printing values.


def clock_in(zone):
    """A function giving {"iso": ISO 8601, "text": "Y-m-d H:i"} of a moment in `zone`,
    as the |date filter prints them; made once per page (looking the zone up each time
    costs). Dicts, not tuples: a template finds a key at once, an index only after
    trying it as a key and an attribute."""

    def when(value) -> dict[str, str]:
        local = value.astimezone(zone)
        return {"iso": local.isoformat(), "text": local.strftime("%Y-%m-%d %H:%M")}

    return when


def task_words() -> dict[str, str]:
    """The fixed words of a task card, translated once per page."""
    return {
        # Countdown phrases for clock.js, the same messages as web/_live_due.html.
        "left_tpl": _("%(left)s left") % {"left": "{t}"},
        "overdue_tpl": _("Overdue by %(late)s") % {"late": "{t}"},
        "overdue": _("Overdue"),
        "role": _("Role"),
        "assignee": _("Assignee"),
        "unassigned": _("unassigned"),
        "due": _("Due"),
        "no_due": _("when its starting point happens"),
        "deliverable": _("Deliverable"),
        "gates": _("Gates"),
        "depends_on": _("Depends on"),
        "blocked_because": _("Blocked because:"),
        "skipped_because": _("Skipped because:"),
        "instructions": _("Instructions"),
        "start": _("Start"),
        "done": _("Mark done"),
        "unblock": _("Unblock"),
        "more": _("More…"),
        "why_blocked": _("Why is it blocked?"),
        "block": _("Block"),
        "why_skip": _("Why skip it?"),
        "skip": _("Skip"),
        "assign_to": _("Assign to"),
        "assign": _("Assign"),
        "system": _("system"),
        "comment": _("Comment"),
        "your_comment": _("Your comment on this task"),
        "post_comment": _("Post comment"),
        "history": _("Its history"),
    }


COMMENTS_ON_CARD = 3  # a card shows the newest; a long thread is read on the timeline


def dress_tasks(
    task_groups,
    incident: Incident,
    *,
    team_users,
    csrf_input: str,
    words: dict,
    refused_comment: tuple[int, forms.Form] | None = None,
) -> None:
    """Give every task row of the page its card: a dict of what the card shows, labels,
    URLs, dates and what the task depends on worked out here, so the template's work per
    task is printing values. (A dict, because a template finds a key at once; an
    attribute only after trying it as a key.)

    Keys: id, state, url (the task's own URL: its buttons post to url + "start/"…),
    hidden (the CSRF and version fields of every form of the card), title, status, role,
    assignee, deliverable ("" for none), instructions, checklist, gates, due ({iso, text}
    or None), depends, blocked_reason, skip_reason, overdue, error, can_tick, can_block,
    can_manage, actionable, primary (Start, Done or Unblock: {action, css, label} or
    None), comments (the newest few), comments_title, more_comments, history (the task's
    history on the timeline), comment_form (a refused comment's form, with what was
    typed and why), assign_options."""
    statuses = {value: str(label) for value, label in Task._meta.get_field("status").choices}
    roles = {value: str(label) for value, label in Role.choices}
    deliverables = {value: str(label) for value, label in Task._meta.get_field("deliverable").choices}
    primary = {
        "open": {"action": "start/", "css": "button primary small", "label": words["start"]},
        "in_progress": {"action": "done/", "css": "button primary small", "label": words["done"]},
        "blocked": {"action": "unblock/", "css": "button small", "label": words["unblock"]},
    }
    first = reverse("task-start", args=[incident.reference, 1])
    tasks_url = first[: first.rindex("/1/start/") + 1]
    page_url = reverse("incident-detail", args=[incident.reference])
    when = clock_in(timezone.get_current_timezone())
    key = "zh" if (translation.get_language() or "zh-hans").startswith("zh") else "en"

    def pick(text: dict) -> str:  # playbooks.localized, with the language looked up once
        return text[key]

    version_field = '{}<input type="hidden" name="version" value="{}">'

    @functools.cache
    def comments_title(count: int) -> str:
        return ngettext("%(count)s comment", "%(count)s comments", count) % {"count": count}

    refused_on, refused_form = refused_comment or (None, None)
    people = list(team_users)
    # Only the cards shown: a long crisis folds most of its tasks.
    rows = [row for group in task_groups for role in group["roles"] for row in role["rows"]]
    shown = [row.task.pk for row in rows if not getattr(row, "compact", False)]
    comments = comments_by_task(incident, shown)
    # Who wrote the comments: one query for all of them.
    writers = {actor_id for said in comments.values() for actor_id, _at, _text in said if actor_id}
    names = {person.pk: str(person) for person in User.objects.filter(pk__in=writers)} if writers else {}
    prerequisites = prerequisites_by_task(incident, shown)
    options: dict[int | None, str] = {}

    def assign_options(selected: int | None) -> str:
        # One <select> per distinct assignee, shared by every card that has them.
        if selected not in options:
            rows = ((u.pk, " selected" if u.pk == selected else "", u) for u in people)
            choices = format_html_join("", '<option value="{}"{}>{}</option>', rows)
            options[selected] = format_html('<option value="">{}</option>{}', _("— nobody"), choices)
        return options[selected]

    for group in task_groups:
        for role in group["roles"]:
            for row in role["rows"]:
                task = row.task
                if getattr(row, "compact", False):
                    row.card = {
                        "id": task.pk,
                        "state": task.status,
                        "compact": True,
                        "title": pick(task.title),
                        "status": statuses.get(task.status, task.status),
                        "assignee": str(task.assignee) if task.assignee_id else words["unassigned"],
                        "history": f"{page_url}?task={task.pk}#timeline",
                    }
                    continue
                said = comments.get(task.pk, [])
                pk, state = task.pk, task.status  # the status field is a descriptor: read it once
                row.card = {
                    "id": pk,
                    "state": state,
                    "url": f"{tasks_url}{pk}/",
                    "hidden": format_html(version_field, csrf_input, task.version),
                    "title": pick(task.title),
                    "status": statuses.get(state, state),
                    "role": roles.get(task.role, task.role),
                    "assignee": str(task.assignee) if task.assignee_id else words["unassigned"],
                    "deliverable": deliverables.get(task.deliverable, "") if task.deliverable != "none" else "",
                    "instructions": linebreaksbr(pick(task.instructions), autoescape=True),
                    "checklist": [
                        {"index": i, "text": pick(item["text"]), "done": bool(item.get("done"))}
                        for i, item in enumerate(task.checklist)
                    ],
                    "gates": _("the move to “%(state)s”") % {"state": state_label(task.gates)} if task.gates else "",
                    "due": when(task.due_at) if task.due_at else None,
                    "counting": task.due_at is not None and state not in FINISHED,
                    "depends": ", ".join(
                        f"{pick(title)} ({statuses.get(status, status)})" for title, status in prerequisites.get(pk, [])
                    ),
                    "blocked_reason": task.blocked_reason,
                    "skip_reason": task.skip_reason,
                    "overdue": row.overdue,
                    "error": row.error,
                    "can_tick": row.can_work and state not in FINISHED,
                    "can_block": row.can_work and state != TaskStatus.BLOCKED,
                    "can_manage": row.can_manage,
                    "actionable": row.actionable,
                    "primary": primary.get(state) if row.can_work else None,
                    "comments": [
                        {"actor": names.get(actor_id) or words["system"], "at": when(at), "text": text}
                        for actor_id, at, text in said[-COMMENTS_ON_CARD:]
                    ],
                    "comments_title": comments_title(len(said)),
                    "more_comments": len(said) > COMMENTS_ON_CARD,
                    "comment_form": refused_form if pk == refused_on else None,
                    "history": f"{page_url}?task={pk}#timeline",
                    "assign_options": assign_options(task.assignee_id) if row.can_manage else "",
                }


# --- the team: who holds each role, and how to reach them ----------------------------------------

_NOT_DIALLED = re.compile(r"[^0-9+*#,;]")


def tel_href(phone: str) -> str:
    """A tel: link for a phone number as people write it ("+86 138-0000 0000")."""
    digits = _NOT_DIALLED.sub("", phone or "")
    return f"tel:{digits}" if any(ch.isdigit() for ch in digits) else ""


@dataclass
class MemberRow:
    member: TeamMember

    @property
    def tel(self) -> str:
        return tel_href(self.member.user.phone)


@dataclass
class TeamRole:
    role: str
    needed: int
    members: list[MemberRow] = field(default_factory=list)
    proposed: list[User] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(Role(self.role).label)

    @property
    def missing(self) -> int:
        return max(self.needed - len(self.members), 0)


def team_roles(incident: Incident, members: list[TeamMember], proposals) -> list[TeamRole]:
    """Every role the plan needs or someone holds, in the order of the roles."""
    needed = dict(incident.playbook_version.roles) if incident.playbook_version_id else {}
    roles = {role: TeamRole(role, needed.get(role, 0)) for role in Role.values if role in needed}
    for member in members:
        roles.setdefault(member.role, TeamRole(member.role, needed.get(member.role, 0)))
        roles[member.role].members.append(MemberRow(member))
    for proposal in proposals:
        if proposal.role in roles:
            roles[proposal.role].proposed = list(proposal.proposed)
    order = {role: i for i, role in enumerate(Role.values)}
    return sorted(roles.values(), key=lambda r: order.get(r.role, 99))


# --- evidence --------------------------------------------------------------------------------------

EVIDENCE_SHOWN = 30
ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,.png,.jpg,.jpeg,.gif,.webp,.pdf,.txt"


class EvidenceForm(forms.Form):
    """Only reads the upload; crisisflow.evidence.actions.attach decides what is allowed."""

    file = forms.FileField(
        label=gettext_lazy("File"),
        required=False,
        allow_empty_file=True,
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
    )
    caption = LineField(
        label=gettext_lazy("Caption"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": evidence.MAX_CAPTION, "autocomplete": "off"}),
        help_text=gettext_lazy("What it shows, where and when it was found."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("%(allowed)s; up to %(limit)s.") % {
            "allowed": evidence.ALLOWED,
            "limit": filesizeformat(evidence.max_bytes()),
        }


# --- what the incident page adds from here -------------------------------------------------------


def evidence_context(request: HttpRequest, incident: Incident, bound: dict) -> dict:
    """The evidence panel: the newest files, and the form to attach one."""
    attachments = list(incident.attachments.select_related("uploaded_by")[: EVIDENCE_SHOWN + 1])
    when = clock_in(timezone.get_current_timezone())
    kinds = dict(Attachment.Kind.choices)
    files_url = reverse("evidence-file", args=[incident.reference, 1])[: -len("1/")]
    for attachment in attachments[:EVIDENCE_SHOWN]:
        attachment.url = f"{files_url}{attachment.pk}/"
        attachment.when = when(attachment.uploaded_at)
        attachment.kind_label = str(kinds.get(attachment.kind, attachment.kind))
    return {
        "attachments": attachments[:EVIDENCE_SHOWN],
        "more_attachments": len(attachments) > EVIDENCE_SHOWN,
        "evidence_form": bound.get("evidence") or EvidenceForm(auto_id="evidence_%s"),
    }
