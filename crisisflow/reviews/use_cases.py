"""The review's use cases: one function per thing a person does with a review.

Each locks the incident (crisisflow.incidents.unit), checks who may, refuses a stale
form naming who changed the review, and writes one timeline event in the same
transaction; the wording of those events is registered here with @describes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.incidents.errors import Conflict, Forbidden, Invalid, NotFound
from crisisflow.incidents.inputs import check_moment, clean_line
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import lock_incident, person_name
from crisisflow.people.models import User
from crisisflow.playbooks.models import Playbook
from crisisflow.reviews import content as review_content
from crisisflow.reviews import deadlines
from crisisflow.reviews import permissions as may
from crisisflow.reviews.models import (
    SIGNING_ROLES,
    ActionItem,
    ActionItemKind,
    ActionItemStatus,
    Review,
    ReviewVersion,
    ShareLink,
    SignOff,
    content_hash,
)
from crisisflow.vocab import Role, State

SAVED = "review_saved"
SIGNED = "review_signed_off"
ITEM_ADDED = "action_item_added"
ITEM_FINISHED = "action_item_finished"
ITEM_CHANGED = "action_item_changed"
SHARED = "review_shared"
REVIEW_STATES = (State.IN_REVIEW, State.CLOSED)
SHARE_DAYS_MAX = 30


# --- opening ------------------------------------------------------------------------------------


def open_review(incident: Incident, now: datetime) -> Review:
    """The incident's review, opened empty if it has none (called when it enters review)."""
    blank = review_content.empty()
    review, _created = Review.objects.get_or_create(
        incident=incident,
        defaults={"opened_at": now, "updated_at": now, "content": blank, "content_hash": content_hash(blank)},
    )
    return review


def review_of(user, incident: Incident) -> Review | None:
    """The review a person may read: None before the incident entered review. An incident
    that entered review before reviews existed gets its review now."""
    if not may.may_read(user, incident):
        raise NotFound()
    review = Review.objects.filter(incident=incident).first()
    if review is None and incident.state in REVIEW_STATES:
        with transaction.atomic():
            review = open_review(incident, clock.now())
    return review


def _locked_review(actor, incident: Incident | int) -> tuple[Incident, Review]:
    incident = lock_incident(actor, incident)
    review = Review.objects.select_for_update(of=("self",)).filter(incident=incident).first()
    if review is None:
        raise Invalid(_("This incident has no review yet; it opens when the incident enters review."))
    review.incident = incident
    return incident, review


def _require_version(review: Review, expected_version: int | None) -> None:
    if expected_version is not None and review.version != expected_version:
        who = person_name(review.updated_by)
        if who:
            raise Conflict(_("This review was changed by %(who)s; reload the page and try again.") % {"who": who})
        raise Conflict(_("Someone else changed this review; reload the page and try again."))


# --- writing ----------------------------------------------------------------------------------


def live_sign_offs(review: Review) -> list[SignOff]:
    return [s for s in review.sign_offs.filter(voided_at__isnull=True) if s.content_hash == review.content_hash]


def missing_sign_offs(review: Review) -> list[str]:
    signed = {s.role for s in live_sign_offs(review)}
    return [role for role in SIGNING_ROLES if role not in signed]


@transaction.atomic
def save_review(actor, incident: Incident | int, raw: dict, *, expected_version: int | None) -> Review:
    """Save a new version of the review; every sign-off of an older version is void."""
    incident, review = _locked_review(actor, incident)
    if not may.may_edit(actor, incident):
        raise Forbidden(_("Only the commander and the team may edit the review while the incident is in review."))
    _require_version(review, expected_version)
    cleaned = review_content.clean(raw)
    now = clock.now()
    review.version += 1
    review.content = cleaned
    review.content_hash = content_hash(cleaned)
    review.updated_at = now
    review.updated_by = actor
    review.save()
    ReviewVersion.objects.create(
        review=review,
        number=review.version,
        content=cleaned,
        content_hash=review.content_hash,
        author=actor,
        saved_at=now,
    )
    voided = list(review.sign_offs.filter(voided_at__isnull=True).values_list("role", flat=True))
    review.sign_offs.filter(voided_at__isnull=True).update(voided_at=now)
    record(incident, actor, SAVED, {"version": review.version, "hash": review.content_hash, "voided": voided}, at=now)
    return review


@transaction.atomic
def sign_off(actor, incident: Incident | int, role: str, *, expected_version: int | None) -> SignOff:
    """Sign the review's current version off in `role`, bound to its hash."""
    if role not in SIGNING_ROLES:
        raise Invalid(_("Sign off as commander, PR, legal or executive."), field="role")
    incident, review = _locked_review(actor, incident)
    if incident.state != State.IN_REVIEW:
        raise Invalid(_("The review can be signed off only while the incident is in review."))
    if not may.may_sign(actor, incident, role):
        raise Forbidden(_("Only a person holding the role %(role)s may sign off as it.") % {"role": Role(role).label})
    _require_version(review, expected_version)
    if review.version == 0:
        raise Invalid(_("Write the review before signing it off."), field="role")
    now = clock.now()
    review.sign_offs.filter(role=role, voided_at__isnull=True).update(voided_at=now)
    signed = SignOff.objects.create(
        review=review,
        role=role,
        person=actor,
        version=review.version,
        content_hash=review.content_hash,
        signed_at=now,
    )
    record(incident, actor, SIGNED, {"role": role, "version": review.version, "hash": review.content_hash}, at=now)
    return signed


# --- action items ------------------------------------------------------------------------------


def _owner(value) -> User:
    if isinstance(value, User):
        return value
    user = None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        user = User.objects.filter(pk=int(value), is_active=True).first()
    elif isinstance(value, str) and value:
        user = User.objects.filter(username=value, is_active=True).first()
    if user is None:
        raise Invalid(_("Choose who owns this action item."), field="owner")
    return user


@transaction.atomic
def add_action_item(
    actor,
    incident: Incident | int,
    *,
    title: str,
    kind: str,
    owner,
    due_at: datetime,
    playbook_key: str = "",
    task_key: str = "",
) -> ActionItem:
    """An action item; a playbook change names the playbook (and the task, if any)."""
    incident, review = _locked_review(actor, incident)
    if not may.may_edit(actor, incident):
        raise Forbidden(_("Only the commander and the team may add action items while the incident is in review."))
    title = clean_line(title, "title")
    if not title:
        raise Invalid(_("Say what is to be done."), field="title")
    if kind not in ActionItemKind.values:
        raise Invalid(_("Choose a kind of action item."), field="kind")
    owner = _owner(owner)
    due_at = check_moment(due_at, "due_at")
    playbook_key = clean_line(playbook_key, "playbook_key", 80)
    task_key = clean_line(task_key, "task_key", 80)
    version_number = None
    if kind == ActionItemKind.PLAYBOOK:
        playbook = Playbook.objects.select_related("current_version").filter(key=playbook_key).first()
        if playbook is None:
            raise Invalid(_("Name the playbook to change."), field="playbook_key")
        version_number = playbook.current_version.number if playbook.current_version else None
        if task_key and playbook.current_version is not None:
            keys = {t.get("key") for t in playbook.current_version.definition.get("tasks", [])}
            if task_key not in keys:
                raise Invalid(_("This playbook has no task “%(key)s”.") % {"key": task_key}, field="task_key")
    elif playbook_key or task_key:
        raise Invalid(_("Only a playbook change names a playbook."), field="playbook_key")
    now = clock.now()
    item = ActionItem(
        review=review,
        incident=incident,
        title=title,
        kind=kind,
        owner=owner,
        due_at=due_at,
        playbook_key=playbook_key,
        task_key=task_key,
        playbook_version=version_number,
        created_by=actor,
        created_at=now,
    )
    deadlines.plan(item, now)
    item.save()
    record(
        incident,
        actor,
        ITEM_ADDED,
        {"item": item.pk, "title": title, "kind": kind, "owner": person_name(owner), "due_at": due_at.isoformat()},
        at=now,
    )
    return item


def _locked_item(actor, item: ActionItem | int, expected_version: int | None) -> tuple[Incident, ActionItem]:
    pk = item.pk if isinstance(item, ActionItem) else item
    incident_id = ActionItem.objects.filter(pk=pk).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise NotFound()
    incident = lock_incident(actor, incident_id)
    item = ActionItem.objects.select_for_update(of=("self",)).select_related("owner").get(pk=pk)
    if expected_version is not None and item.version != expected_version:
        raise Conflict(_("Someone else changed this action item; reload the page and try again."))
    return incident, item


@transaction.atomic
def change_action_item(
    actor, item: ActionItem | int, *, expected_version: int | None, title=None, owner=None, due_at=None
) -> ActionItem:
    """Change an open action item's title, owner or due date (None: unchanged); a new
    due date restarts its reminders. The commander, or whoever may edit the review."""
    incident, item = _locked_item(actor, item, expected_version)
    from crisisflow.incidents import permissions as incident_permissions

    if not (incident_permissions.commands(actor, incident) or may.may_edit(actor, incident)):
        raise Forbidden(_("Only the commander and the team may change action items while the incident is in review."))
    if item.status != ActionItemStatus.OPEN:
        raise Conflict(_("This action item is already finished."))
    before = {"title": item.title, "owner": person_name(item.owner), "due_at": item.due_at.isoformat()}
    if title is not None:
        title = clean_line(title, "title")
        if not title:
            raise Invalid(_("Say what is to be done."), field="title")
        item.title = title
    if owner is not None:
        item.owner = _owner(owner)
    now = clock.now()
    if due_at is not None:
        item.due_at = check_moment(due_at, "due_at")
        deadlines.plan(item, now)
    after = {"title": item.title, "owner": person_name(item.owner), "due_at": item.due_at.isoformat()}
    if after == before:
        return item
    item.version += 1
    item.save()
    record(incident, actor, ITEM_CHANGED, {"item": item.pk, "before": before, "after": after}, at=now)
    return item


@transaction.atomic
def finish_action_item(actor, item: ActionItem | int, status: str, *, expected_version: int | None) -> ActionItem:
    incident, item = _locked_item(actor, item, None)
    if status not in (ActionItemStatus.DONE, ActionItemStatus.DROPPED):
        raise Invalid(_("Mark it done or dropped."), field="status")
    from crisisflow.incidents import permissions as incident_permissions

    if item.owner_id != actor.pk and not incident_permissions.commands(actor, incident):
        raise Forbidden(_("Only its owner or the commander may finish an action item."))
    if expected_version is not None and item.version != expected_version:
        raise Conflict(_("Someone else changed this action item; reload the page and try again."))
    if item.status != ActionItemStatus.OPEN:
        raise Conflict(_("This action item is already finished."))
    now = clock.now()
    item.status = status
    item.finished_at = now
    item.next_alert_at = None
    item.version += 1
    item.save()
    record(incident, actor, ITEM_FINISHED, {"item": item.pk, "title": item.title, "status": status}, at=now)
    return item


def newer_playbook(item: ActionItem, current_numbers: dict[str, int] | None = None) -> int | None:
    """The number of a version of the item's playbook loaded after the item was written."""
    if item.kind != ActionItemKind.PLAYBOOK or item.playbook_version is None:
        return None
    if current_numbers is None:
        current_numbers = current_playbook_numbers([item])
    number = current_numbers.get(item.playbook_key)
    return number if number is not None and number > item.playbook_version else None


def current_playbook_numbers(items) -> dict[str, int]:
    keys = {i.playbook_key for i in items if i.playbook_key}
    return dict(
        Playbook.objects.filter(key__in=keys, current_version__isnull=False).values_list(
            "key", "current_version__number"
        )
    )


# --- sharing ---------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def share_review(actor, incident: Incident | int, *, days: int = 7) -> tuple[ShareLink, str]:
    """A read-only link to the review that expires after `days`; the token is shown once."""
    incident, review = _locked_review(actor, incident)
    if not may.may_share(actor, incident):
        raise Forbidden(_("Only the commander and the executive sponsor may share the review."))
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= SHARE_DAYS_MAX:
        raise Invalid(_("Give between 1 and %(n)d days.") % {"n": SHARE_DAYS_MAX}, field="days")
    now = clock.now()
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        review=review,
        digest=token_digest(token),
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    record(incident, actor, SHARED, {"link": link.pk, "expires_at": link.expires_at.isoformat()}, at=now)
    return link, token


TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def shared_review(token: str) -> Review:
    """The review a share link opens, while it has not expired (NotFound otherwise)."""
    if not isinstance(token, str) or not TOKEN_SHAPE.match(token):
        raise NotFound()
    link = (
        ShareLink.objects.select_related("review__incident")
        .filter(digest=token_digest(token), revoked_at__isnull=True, expires_at__gt=clock.now())
        .first()
    )
    if link is None:
        raise NotFound()
    return link.review


# --- the timeline's words -------------------------------------------------------------------


@describes(SAVED, label=gettext_lazy("Review saved"))
def _saved(event: Event) -> str:
    text = _("Review version %(version)s saved") % {"version": event.data.get("version")}
    if event.data.get("voided"):
        text += " — " + _("sign-offs voided: %(roles)s") % {
            "roles": ", ".join(str(Role(r).label) for r in event.data["voided"] if r in Role.values)
        }
    return text


@describes(SIGNED, label=gettext_lazy("Review signed off"))
def _signed(event: Event) -> str:
    role = event.data.get("role", "")
    return _("Review version %(version)s signed off as %(role)s") % {
        "version": event.data.get("version"),
        "role": Role(role).label if role in Role.values else role,
    }


@describes(ITEM_ADDED, label=gettext_lazy("Action item added"))
def _item_added(event: Event) -> str:
    return _("Action item “%(title)s” for %(owner)s") % {
        "title": event.data.get("title", ""),
        "owner": event.data.get("owner") or _("nobody"),
    }


@describes(ITEM_FINISHED, label=gettext_lazy("Action item finished"))
def _item_finished(event: Event) -> str:
    status = event.data.get("status", "")
    return _("Action item “%(title)s”: %(status)s") % {
        "title": event.data.get("title", ""),
        "status": ActionItemStatus(status).label if status in ActionItemStatus.values else status,
    }


@describes(ITEM_CHANGED, label=gettext_lazy("Action item changed"))
def _item_changed(event: Event) -> str:
    before, after = event.data.get("before") or {}, event.data.get("after") or {}
    text = _("Action item “%(title)s”: owner %(owner)s, due %(due)s (UTC)") % {
        "title": after.get("title", ""),
        "owner": after.get("owner") or _("nobody"),
        "due": (after.get("due_at") or "")[:16].replace("T", " "),
    }
    if before.get("title") and before.get("title") != after.get("title"):
        text += " — " + _("was “%(title)s”") % {"title": before["title"]}
    return text


@describes(SHARED, label=gettext_lazy("Review shared"))
def _shared(event: Event) -> str:
    return _("A read-only link to the review was made, valid until %(when)s (UTC)") % {
        "when": (event.data.get("expires_at") or "")[:16].replace("T", " ")
    }


def blameless_hints(content: dict) -> list[dict]:
    """The statement linter's blame rules run over the review's prose, as hints."""
    from crisisflow.statements import lint as statement_lint

    hints = []
    for field, text in review_content.texts(content):
        language = "zh-hans" if re.search(r"[\u4e00-\u9fff]", text) else "en"
        for finding in statement_lint.lint(text, language=language):
            if "blame" in finding.code or finding.code in BLAME_CODES:
                hints.append(
                    {
                        "field": field,
                        "code": finding.code,
                        "message": finding.message,
                        "excerpt": text[finding.start : finding.end],
                    }
                )
    return hints


BLAME_CODES = frozenset({"blame_shifting", "scapegoating", "victim_blaming", "blaming_users"})
