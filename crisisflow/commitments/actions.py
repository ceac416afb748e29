"""The use cases of the commitments ledger.

Every public promise becomes a commitment: text, the statement version and sentence it
came from, an owner, whom it is for, measurable terms (amount, coverage, period) and a
due date. It is open until it is kept (with evidence, verified by someone other than
the owner), withdrawn with a reason, broken, or carried over past the incident's close
to a named owner. Each use case locks the incident, checks the version the person saw,
and writes one timeline event; the deadline ladder restarts when the due date or the
owner changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.commitments import deadlines
from crisisflow.commitments.models import Commitment, CommitmentStatus
from crisisflow.commitments.promises import due_on, promised_day
from crisisflow.incidents import permissions as incident_permissions
from crisisflow.incidents.errors import Conflict, Forbidden, Invalid, NotFound
from crisisflow.incidents.inputs import check_moment, clean_line, clean_reason, clean_text
from crisisflow.incidents.models import Event, Incident, TeamMember
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import lock_incident, person_name, require_open
from crisisflow.people.models import User
from crisisflow.statements.models import StatementVersion
from crisisflow.vocab import Role

CREATED = "commitment_created"
CHANGED = "commitment_changed"
KEPT = "commitment_kept"
VERIFIED = "commitment_verified"
WITHDRAWN = "commitment_withdrawn"
BROKEN = "commitment_broken"
CARRIED = "commitment_carried_over"

MAX_TEXT = 2000
MAX_LINKS = 20
MAX_FIGURES = 20
TERMS = ("scope", "amount", "coverage", "period")

# Who hears that the ledger changed (the public notice regenerates its files).
_listeners: list[Callable[[int], None]] = []


def on_change(fn: Callable[[int], None]) -> Callable[[int], None]:
    """Call fn(incident_id) after a transaction that changed a commitment commits."""
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def changed(incident: Incident) -> None:
    incident_id = incident.pk
    for fn in list(_listeners):
        transaction.on_commit(lambda fn=fn: fn(incident_id))


# --- who may do what ---------------------------------------------------------------------


def _roles(user, incident: Incident) -> frozenset[str]:
    return frozenset(TeamMember.objects.filter(incident=incident, user=user).values_list("role", flat=True))


def may_manage(user, incident: Incident) -> bool:
    """Record, change, withdraw or carry over: the commander, PR and legal on the team."""
    if not user.is_authenticated or not incident_permissions.can_view(user, incident):
        return False
    if incident_permissions.commands(user, incident):
        return True
    return bool(_roles(user, incident) & {Role.PR.value, Role.LEGAL.value})


def may_keep(user, commitment: Commitment) -> bool:
    """Mark kept with evidence: its owner, or those who manage the ledger."""
    return commitment.owner_id == user.pk or may_manage(user, commitment.incident)


def may_verify(user, commitment: Commitment) -> bool:
    """Verify the evidence: the commander, legal or the executive — never the owner."""
    if commitment.owner_id == user.pk or not incident_permissions.can_view(user, commitment.incident):
        return False
    if incident_permissions.commands(user, commitment.incident):
        return True
    return bool(_roles(user, commitment.incident) & {Role.LEGAL.value, Role.EXECUTIVE.value})


# --- input ------------------------------------------------------------------------------------


def _owner(owner, field: str = "owner") -> User:
    if isinstance(owner, User):
        person = owner
    else:
        try:
            person = User.objects.filter(pk=int(owner)).first() if str(owner).isdigit() else None
        except (TypeError, ValueError):
            person = None
        if person is None and isinstance(owner, str) and owner:
            person = User.objects.filter(username=owner).first()
    if person is None or not person.is_active:
        raise Invalid(_("Name the person who owns this commitment."), field=field)
    return person


def _terms(values: dict) -> dict[str, str]:
    return {
        name: clean_line(values.get(name) or "", name, max_length=500 if name == "scope" else 200) for name in TERMS
    }


def _links(links) -> list[str]:
    if links in (None, ""):
        return []
    if isinstance(links, str):
        links = links.split()
    if not isinstance(links, list | tuple) or len(links) > MAX_LINKS:
        raise Invalid(_("Give at most %(n)d links.") % {"n": MAX_LINKS}, field="links")
    found = []
    for link in links:
        link = clean_line(link, "links", max_length=500)
        if not link.startswith(("https://", "http://")):
            raise Invalid(_("A link starts with https:// or http://."), field="links")
        found.append(link)
    return found


def _figures(figures) -> list[dict[str, str]]:
    if figures in (None, ""):
        return []
    if isinstance(figures, str):
        rows = []
        for line in figures.splitlines():
            if line.strip():
                label, _sep, value = line.partition(":")
                rows.append({"label": label, "value": value})
        figures = rows
    if not isinstance(figures, list | tuple) or len(figures) > MAX_FIGURES:
        raise Invalid(_("Give at most %(n)d figures.") % {"n": MAX_FIGURES}, field="figures")
    found = []
    for item in figures:
        if not isinstance(item, dict):
            raise Invalid(_("A figure is a label and a value."), field="figures")
        found.append(
            {
                "label": clean_line(item.get("label") or "", "figures", max_length=200),
                "value": clean_line(item.get("value") or "", "figures", max_length=200),
            }
        )
    return found


def _source(incident: Incident, statement_version) -> StatementVersion | None:
    if statement_version in (None, ""):
        return None
    pk = statement_version.pk if isinstance(statement_version, StatementVersion) else statement_version
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Invalid(_("No such statement version."), field="statement_version") from None
    version = StatementVersion.objects.filter(pk=pk, statement__incident=incident).select_related("statement").first()
    if version is None:
        raise Invalid(_("No such statement version on this incident."), field="statement_version")
    return version


def _lock(actor, commitment: Commitment | int, expected_version: int | None) -> tuple[Incident, Commitment]:
    pk = commitment.pk if isinstance(commitment, Commitment) else commitment
    incident_id = Commitment.objects.filter(pk=pk).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise NotFound(_("No such commitment."))
    incident = lock_incident(actor, incident_id)
    locked = Commitment.objects.select_for_update(of=("self",)).select_related("owner").get(pk=pk)
    locked.incident = incident
    if expected_version is not None and locked.version != expected_version:
        who = (
            Event.objects.filter(incident=incident, kind__startswith="commitment_", data__commitment=pk)
            .exclude(actor__isnull=True)
            .select_related("actor")
            .order_by("-seq")
            .first()
        )
        if who is not None:
            raise Conflict(
                _("%(name)s changed this commitment since you loaded it; reload the page and try again.")
                % {"name": person_name(who.actor)}
            )
        raise Conflict(_("Someone else changed this commitment; reload the page and try again."))
    return incident, locked


def _require_workable(incident: Incident, commitment: Commitment) -> None:
    """An open incident, or a commitment carried over past its close."""
    if not commitment.carried_over:
        require_open(incident)


def data_of(c: Commitment, **extra) -> dict:
    return {"commitment": c.pk, "text": c.text[:200], "owner": person_name(c.owner), **extra}


# --- the use cases ---------------------------------------------------------------------------


@transaction.atomic
def create_commitment(
    actor,
    incident: Incident | int,
    *,
    text: str,
    owner,
    due_at=None,
    statement_version=None,
    sentence: str = "",
    expected_version: int | None = None,
    **terms,
) -> Commitment:
    """Record a promise as a commitment (from a statement's sentence, or on its own).
    Without a due date, it is due at the end of the day the sentence promises ("by 5
    December"), if it names one."""
    incident = lock_incident(actor, incident, expected_version)
    require_open(incident)
    if not may_manage(actor, incident):
        raise Forbidden(_("Only the commander, PR or legal on the team can record commitments."))
    words = clean_text(text or "", "text").strip()
    if not words:
        raise Invalid(_("Say what is promised."), field="text")
    if len(words) > MAX_TEXT:
        raise Invalid(_("At most %(n)d characters.") % {"n": MAX_TEXT}, field="text")
    person = _owner(owner)
    source = _source(incident, statement_version)
    said = clean_text(sentence or "", "sentence").strip()[:MAX_TEXT]
    if due_at in (None, ""):
        day = promised_day(said or words)
        due_at = due_on(day) if day is not None else due_at
    due = check_moment(due_at, "due_at")
    now = clock.now()
    commitment = Commitment(
        incident=incident,
        text=words,
        statement=source.statement if source else None,
        statement_version=source,
        sentence=said,
        owner=person,
        due_at=due,
        created_by=actor,
        created_at=now,
        **_terms(terms),
    )
    deadlines.plan(commitment, now)
    commitment.save()
    record(incident, actor, CREATED, data_of(commitment, due_at=due.isoformat(), statement=commitment.statement_id))
    changed(incident)
    return commitment


@transaction.atomic
def change_commitment(actor, commitment: Commitment | int, *, expected_version: int, **fields) -> Commitment:
    """Change the text, owner, terms or due date of an open or late commitment."""
    incident, c = _lock(actor, commitment, expected_version)
    _require_workable(incident, c)
    if not may_manage(actor, incident):
        raise Forbidden(_("Only the commander, PR or legal on the team can change commitments."))
    if c.status not in (CommitmentStatus.OPEN, CommitmentStatus.LATE):
        raise Conflict(_("This commitment is %(status)s; it cannot be changed.") % {"status": c.get_status_display()})
    before = {"due_at": c.due_at.isoformat(), "owner": person_name(c.owner)}
    if "text" in fields:
        words = clean_text(fields["text"] or "", "text").strip()
        if not words:
            raise Invalid(_("Say what is promised."), field="text")
        c.text = words[:MAX_TEXT]
    if "owner" in fields:
        c.owner = _owner(fields["owner"])
    cleaned = _terms(fields)
    for name in TERMS:
        if name in fields:
            setattr(c, name, cleaned[name])
    now = clock.now()
    if "due_at" in fields:
        c.due_at = check_moment(fields["due_at"], "due_at")
        if c.status == CommitmentStatus.LATE and c.due_at > now:
            c.status = CommitmentStatus.OPEN
    deadlines.plan(c, now)
    c.version += 1
    c.save()
    after = {"due_at": c.due_at.isoformat(), "owner": person_name(c.owner)}
    record(incident, actor, CHANGED, data_of(c, before=before, after=after))
    changed(incident)
    return c


@transaction.atomic
def mark_kept(
    actor,
    commitment: Commitment | int,
    *,
    expected_version: int,
    summary: str,
    links=None,
    figures=None,
    files=None,
) -> Commitment:
    """The owner (or the ledger's managers) says it was kept, with the evidence."""
    incident, c = _lock(actor, commitment, expected_version)
    _require_workable(incident, c)
    if not may_keep(actor, c):
        raise Forbidden(_("Only the owner of the commitment, the commander, PR or legal can mark it kept."))
    if c.status not in (CommitmentStatus.OPEN, CommitmentStatus.LATE):
        raise Conflict(_("This commitment is %(status)s already.") % {"status": c.get_status_display()})
    words = clean_text(summary or "", "summary").strip()
    if not words:
        raise Invalid(_("Sum up the evidence that it was kept."), field="summary")
    attachments = []
    if files:
        if not isinstance(files, list | tuple):
            raise Invalid(_("Name evidence files by their number."), field="files")
        from crisisflow.evidence.models import Attachment

        try:
            wanted = {int(f) for f in files}
        except (TypeError, ValueError):
            raise Invalid(_("Name evidence files by their number."), field="files") from None
        attachments = sorted(Attachment.objects.filter(incident=incident, pk__in=wanted).values_list("pk", flat=True))
        if len(attachments) != len(wanted):
            raise Invalid(_("Only evidence files of this incident."), field="files")
    now = clock.now()
    c.evidence = {
        "summary": words[:MAX_TEXT],
        "links": _links(links),
        "figures": _figures(figures),
        "files": attachments,
    }
    c.status = CommitmentStatus.KEPT
    c.kept_at = now
    c.verified_by = None
    c.verified_at = None
    deadlines.stop(c)
    c.version += 1
    c.save()
    record(incident, actor, KEPT, data_of(c, summary=words[:200], late=now > c.due_at))
    changed(incident)
    return c


@transaction.atomic
def verify(actor, commitment: Commitment | int, *, expected_version: int) -> Commitment:
    """Someone other than the owner checked the evidence."""
    incident, c = _lock(actor, commitment, expected_version)
    if not may_verify(actor, c):
        raise Forbidden(_("The commander, legal or the executive verifies evidence — not the commitment's owner."))
    if c.status != CommitmentStatus.KEPT:
        raise Conflict(_("Only a commitment marked kept has evidence to verify."))
    if c.verified_by_id is not None:
        raise Conflict(_("This evidence was verified already."))
    now = clock.now()
    c.verified_by = actor
    c.verified_at = now
    c.version += 1
    c.save()
    record(incident, actor, VERIFIED, data_of(c))
    changed(incident)
    return c


def _end(actor, commitment, expected_version, reason, status, kind) -> Commitment:
    incident, c = _lock(actor, commitment, expected_version)
    _require_workable(incident, c)
    if not may_manage(actor, incident):
        raise Forbidden(_("Only the commander, PR or legal on the team can do this."))
    if c.status not in (CommitmentStatus.OPEN, CommitmentStatus.LATE):
        raise Conflict(_("This commitment is %(status)s already.") % {"status": c.get_status_display()})
    why = clean_reason(reason)
    c.status = status
    c.reason = why
    deadlines.stop(c)
    c.version += 1
    c.save()
    record(incident, actor, kind, data_of(c, reason=why))
    changed(incident)
    return c


@transaction.atomic
def withdraw(actor, commitment: Commitment | int, *, reason: str, expected_version: int) -> Commitment:
    """Take a promise back, saying why (shown on the public page)."""
    return _end(actor, commitment, expected_version, reason, CommitmentStatus.WITHDRAWN, WITHDRAWN)


@transaction.atomic
def mark_broken(actor, commitment: Commitment | int, *, reason: str, expected_version: int) -> Commitment:
    """Say plainly that a promise was not kept and will not be."""
    return _end(actor, commitment, expected_version, reason, CommitmentStatus.BROKEN, BROKEN)


@transaction.atomic
def carry_over(actor, commitment: Commitment | int, *, owner, expected_version: int) -> Commitment:
    """Keep tracking an open promise after the incident closes, with a named owner."""
    incident, c = _lock(actor, commitment, expected_version)
    require_open(incident)
    if not incident_permissions.commands(actor, incident):
        raise Forbidden(_("Only the incident commander can carry a commitment over."))
    if c.status in (CommitmentStatus.KEPT, CommitmentStatus.WITHDRAWN):
        raise Conflict(_("This commitment is %(status)s; nothing to carry over.") % {"status": c.get_status_display()})
    c.owner = _owner(owner)
    c.carried_over = True
    now = clock.now()
    deadlines.plan(c, now)
    c.version += 1
    c.save()
    record(incident, actor, CARRIED, data_of(c))
    changed(incident)
    return c


def effective_status(c: Commitment, now: datetime | None = None) -> str:
    """Late as soon as the due time passes unkept, even before the sweep says so."""
    now = now or clock.now()
    if c.status == CommitmentStatus.OPEN and c.due_at <= now:
        return CommitmentStatus.LATE
    return c.status


# --- timeline wording ---------------------------------------------------------------------------


@describes(CREATED, label=gettext_lazy("Commitment recorded"))
def _created(event: Event) -> str:
    return _("Commitment “%(text)s” recorded, owned by %(owner)s") % event.data


@describes(CHANGED, label=gettext_lazy("Commitment changed"))
def _changed(event: Event) -> str:
    return _("Commitment “%(text)s” changed (owner %(owner)s)") % event.data


@describes(KEPT, label=gettext_lazy("Commitment kept"))
def _kept(event: Event) -> str:
    return _("Commitment “%(text)s” kept: %(summary)s") % event.data


@describes(VERIFIED, label=gettext_lazy("Commitment evidence verified"))
def _verified(event: Event) -> str:
    return _("Evidence for the commitment “%(text)s” verified") % event.data


@describes(WITHDRAWN, label=gettext_lazy("Commitment withdrawn"))
def _withdrawn(event: Event) -> str:
    return _("Commitment “%(text)s” withdrawn: %(reason)s") % event.data


@describes(BROKEN, label=gettext_lazy("Commitment broken"))
def _broken(event: Event) -> str:
    return _("Commitment “%(text)s” broken: %(reason)s") % event.data


@describes(CARRIED, label=gettext_lazy("Commitment carried over"))
def _carried(event: Event) -> str:
    return _("Commitment “%(text)s” carried over past the close, owned by %(owner)s") % event.data
