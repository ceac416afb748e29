"""Approvals bound to one exact version of a statement.

Which roles must approve a kind: the playbook's `statements: approvals:` if it names the
kind, else the kind's default (kinds.KINDS); on a critical incident a public kind needs
the executive sponsor too. Only a person holding the role on the incident's team gives
that role's approval — the commander never approves in another role's place.

An approval records who, which role, when and the version's content hash. Any edit makes
a new version and voids the approvals of the old one (void_for_edit, called by
versions.save_version). Rejecting needs a reason. A version with error-level lint
findings is approved only with a written reason that overrides them (on the timeline).

Requesting approval notifies the approvers and starts the approval deadline (a deadline
source of the sweep, see deadlines.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.incidents.errors import Blocked, Conflict, Forbidden, Invalid, NotFound
from crisisflow.incidents.inputs import clean_reason
from crisisflow.incidents.models import Event, Incident, TeamMember
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import lock_incident, person_name, require_open
from crisisflow.people.models import User
from crisisflow.statements import deadlines, kinds, permissions, versions
from crisisflow.statements.models import Approval, Statement, StatementState, StatementVersion
from crisisflow.vocab import Role, Severity

REQUESTED = "statement_approval_requested"
APPROVED = "statement_approved"
REJECTED = "statement_rejected"
VOIDED = "statement_approvals_voided"
OVERRIDDEN = "statement_lint_overridden"

# Alert kinds of the outbox (crisisflow.alerts): approval asked for, and the deadline's rungs.
ALERT_REQUESTED = "approval_requested"


# --- what a playbook asks ---------------------------------------------------------------------


def statement_rules(incident: Incident) -> dict:
    """The pinned playbook's `statements:` section (empty without a plan or section)."""
    if incident.playbook_version_id is None:
        return {}
    return (incident.playbook_version.definition or {}).get("statements") or {}


def required_roles(statement: Statement) -> list[str]:
    """The roles that must approve the statement, in the order they are shown."""
    incident = statement.incident
    kind = kinds.kind(statement.kind)
    declared = statement_rules(incident).get("approvals", {}).get(statement.kind)
    roles = list(declared) if declared else list(kind.approvers)
    if kind.public and incident.severity == Severity.CRITICAL and Role.EXECUTIVE.value not in roles:
        roles.append(Role.EXECUTIVE.value)
    return roles


def approval_window(statement: Statement) -> timedelta:
    """How long an approval may take once requested: the playbook's `approval_deadlines`
    for the kind, else the kind's default (30 minutes for a holding statement)."""
    declared = statement_rules(statement.incident).get("approval_deadlines", {}).get(statement.kind)
    seconds = declared if declared else kinds.kind(statement.kind).approval_minutes * 60
    return timedelta(seconds=int(seconds))


# --- checks other apps add -----------------------------------------------------------------------

# (statement, version, role, override_reason) -> blockers, in words. Registered by another
# app's ready() (the commitments ledger: a promise must be a commitment first); an
# approval is refused while any check names a blocker.
ApprovalCheck = Callable[[Statement, StatementVersion, str, str], Iterable[str]]
_approval_checks: list[ApprovalCheck] = []


def approval_check(fn: ApprovalCheck) -> ApprovalCheck:
    """Register a check run before any approval (once per function)."""
    if fn not in _approval_checks:
        _approval_checks.append(fn)
    return fn


def unregister_approval_check(fn: ApprovalCheck) -> None:
    if fn in _approval_checks:
        _approval_checks.remove(fn)


def approval_blockers(
    statement: Statement, version: StatementVersion, role: str, override_reason: str = ""
) -> list[str]:
    """What the registered checks say stands in the way of approving `version` as `role`.
    Runs inside the approval's transaction, with the incident locked."""
    found: list[str] = []
    for check in _approval_checks:
        found.extend(str(b) for b in check(statement, version, role, override_reason))
    return found


# --- who may do what ----------------------------------------------------------------------------


def may_approve(user: User, incident: Incident, role: str) -> bool:
    """Only a person holding `role` on the incident's team; the commander only as commander."""
    return permissions.may_approve(user, incident, role)


def may_request(user: User, statement: Statement) -> bool:
    return permissions.may_request(user, statement)


def approvers(statement: Statement, roles: list[str] | None = None) -> list[User]:
    """The people on the team who hold one of `roles` (default: every required role)."""
    wanted = roles if roles is not None else required_roles(statement)
    incident = statement.incident
    people: list[User] = []
    if Role.COMMANDER.value in wanted and incident.commander_id is not None:
        people.append(incident.commander)
    members = (
        TeamMember.objects.filter(incident=statement.incident, role__in=wanted, user__is_active=True)
        .select_related("user")
        .order_by("-is_lead", "id")
    )
    for member in members:
        if member.role == Role.COMMANDER.value and member.user_id != incident.commander_id:
            continue  # only the incident's commander approves as commander
        if member.user in people:
            continue
        people.append(member.user)
    return people


# --- where a statement stands --------------------------------------------------------------------


@dataclass(frozen=True)
class RoleStatus:
    """One required role and its decision on the current version (None: not yet)."""

    role: str
    approval: Approval | None
    # Approvals of earlier versions voided by an edit, newest first.
    voided: tuple[Approval, ...] = ()

    @property
    def label(self) -> str:
        return str(Role(self.role).label) if self.role in Role.values else self.role

    @property
    def state(self) -> str:
        if self.approval is None:
            return "waiting"
        return self.approval.decision


def live_decisions(statement: Statement, version: StatementVersion | None = None) -> dict[str, Approval]:
    """Each role's latest decision on `version` (default: the current one) that no edit voided."""
    version = version or statement.current
    if version is None:
        return {}
    found: dict[str, Approval] = {}
    rows = Approval.objects.filter(
        statement=statement, statement_version=version, content_hash=version.content_hash, voided_at__isnull=True
    ).select_related("person")
    for approval in rows.order_by("at", "id"):
        found[approval.role] = approval
    return found


def role_status(statement: Statement) -> list[RoleStatus]:
    """Every required role with its decision on the current version and the approvals an
    edit voided (shown, with who edited)."""
    live = live_decisions(statement)
    voided: dict[str, list[Approval]] = {}
    for approval in (
        Approval.objects.filter(statement=statement, voided_at__isnull=False)
        .select_related("person", "voided_by", "statement_version")
        .order_by("-voided_at", "-id")
    ):
        voided.setdefault(approval.role, []).append(approval)
    return [RoleStatus(role, live.get(role), tuple(voided.get(role, ()))) for role in required_roles(statement)]


def is_approved(statement: Statement, version: StatementVersion | None = None) -> bool:
    """Every required role approved this exact version (its hash), none voided."""
    live = live_decisions(statement, version)
    return all(role in live and live[role].decision == Approval.Decision.APPROVED for role in required_roles(statement))


def pending_roles(statement: Statement) -> list[str]:
    live = live_decisions(statement)
    return [
        role
        for role in required_roles(statement)
        if role not in live or live[role].decision != Approval.Decision.APPROVED
    ]


# --- the unit of work ----------------------------------------------------------------------------


def lock_statement(actor, statement: Statement | int, expected_version: int | None) -> tuple[Incident, Statement]:
    """The statement and its incident, both locked (incident first, as everywhere), if
    `actor` may see the incident and the statement is still at `expected_version`."""
    pk = statement.pk if isinstance(statement, Statement) else statement
    incident_id = Statement.objects.filter(pk=pk).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise NotFound()
    incident = lock_incident(actor, incident_id)
    locked = Statement.objects.select_for_update(of=("self",)).select_related("current").get(pk=pk)
    locked.incident = incident
    if expected_version is not None:
        versions.check_expected(locked, expected_version)  # a stale form names who changed it
    return incident, locked


def event_data(statement: Statement, **extra) -> dict:
    version = statement.current
    return {
        "statement": statement.pk,
        "kind": statement.kind,
        "language": statement.language,
        "version": version.number if version is not None else None,
        **extra,
    }


def _require_version(statement: Statement) -> StatementVersion:
    if statement.current is None:
        raise Invalid(_("This statement has no text yet; save a version first."), field="body")
    return statement.current


def _role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


# --- the use cases -------------------------------------------------------------------------------


@transaction.atomic
def request_approval(actor, statement: Statement | int, *, expected_version: int) -> Statement:
    """Ask the approvers to approve the current version: they are notified, and the
    approval deadline starts (reminder, then the role lead, then the commander)."""
    incident, statement = lock_statement(actor, statement, expected_version)
    require_open(incident)
    if not may_request(actor, statement):
        raise Forbidden(_("Only the commander or a member of the team can ask for approval."))
    version = _require_version(statement)
    if statement.state == StatementState.PUBLISHED and not version.correction_note and _is_published(version):
        raise Conflict(_("This version is published; edit it to write a correction first."))
    if statement.state in (StatementState.IN_REVIEW, StatementState.APPROVED):
        raise Conflict(_("Approval has already been asked for this version."))
    if statement.state == StatementState.SUPERSEDED:
        raise Conflict(_("This statement was replaced by another; it cannot be approved."))
    now = clock.now()
    window = approval_window(statement)
    statement.state = StatementState.IN_REVIEW
    statement.review_requested_at = now
    statement.review_requested_by = actor
    statement.approval_due_at = now + window
    deadlines.plan(statement, now)
    statement.version += 1
    statement.save()
    roles = pending_roles(statement)
    people = approvers(statement, roles)
    deadlines.notify(
        incident,
        people,
        kind=ALERT_REQUESTED,
        source=f"statement:{statement.pk}:{statement.approval_generation}:request",
        now=now,
        due_at=statement.approval_due_at,
        statement=deadlines.payload(statement),
    )
    record(
        incident,
        actor,
        REQUESTED,
        event_data(
            statement,
            roles=roles,
            due_at=statement.approval_due_at.isoformat(),
            notified=[str(p) for p in people],
            errors=version.errors,
        ),
        at=now,
    )
    return statement


def _is_published(version: StatementVersion) -> bool:
    return version.publications.exists()


def _decision_checks(actor, incident: Incident, statement: Statement, role: str) -> StatementVersion:
    require_open(incident)
    if role not in required_roles(statement):
        raise Invalid(
            _("%(role)s does not approve this kind of statement; it needs: %(roles)s.")
            % {"role": _role_label(role), "roles": ", ".join(_role_label(r) for r in required_roles(statement))},
            field="role",
        )
    if not may_approve(actor, incident, role):
        raise Forbidden(
            _("Only a person holding the %(role)s role on this incident's team can decide for it.")
            % {"role": _role_label(role)}
        )
    if statement.state != StatementState.IN_REVIEW:
        raise Conflict(
            _("This statement is %(state)s; approval has not been asked for.")
            % {"state": StatementState(statement.state).label.lower()}
        )
    return _require_version(statement)


@transaction.atomic
def approve(
    actor, statement: Statement | int, *, role: str, expected_version: int, override_reason: str = ""
) -> Approval:
    """`actor` approves the current version as `role`. Error-level lint findings block
    it unless `override_reason` says why they may stand (kept on the timeline)."""
    incident, statement = lock_statement(actor, statement, expected_version)
    version = _decision_checks(actor, incident, statement, role)
    live = live_decisions(statement).get(role)
    if live is not None and live.decision == Approval.Decision.APPROVED:
        raise Conflict(_("%(role)s has already approved this version.") % {"role": _role_label(role)})
    checked = approval_blockers(statement, version, role, override_reason or "")
    if checked:
        raise Blocked(_("Approve"), checked)
    overriding = version.errors > 0
    reason = ""
    if overriding:
        if not (override_reason or "").strip():
            raise Blocked(
                _("Approve"),
                [
                    _("this version has %(n)d lint error(s); fix them, or give a reason for approving it as it is")
                    % {"n": version.errors}
                ],
            )
        reason = clean_reason(override_reason, "override_reason")
    now = clock.now()
    approval = Approval.objects.create(
        statement=statement,
        statement_version=version,
        content_hash=version.content_hash,
        role=role,
        decision=Approval.Decision.APPROVED,
        person=actor,
        at=now,
        reason=reason,
        overrode_lint=overriding,
    )
    complete = is_approved(statement)
    if complete:
        statement.state = StatementState.APPROVED
        deadlines.stop(statement)
    statement.version += 1
    statement.save()
    data = event_data(statement, role=role, hash=version.content_hash, complete=complete)
    if overriding:
        record(incident, actor, OVERRIDDEN, {**data, "reason": reason, "errors": version.errors}, at=now)
    else:
        record(incident, actor, APPROVED, data, at=now)
    return approval


@transaction.atomic
def reject(actor, statement: Statement | int, *, role: str, reason: str, expected_version: int) -> Approval:
    """`actor` sends the current version back as `role`, saying why; it returns to draft."""
    incident, statement = lock_statement(actor, statement, expected_version)
    version = _decision_checks(actor, incident, statement, role)
    why = clean_reason(reason)
    now = clock.now()
    approval = Approval.objects.create(
        statement=statement,
        statement_version=version,
        content_hash=version.content_hash,
        role=role,
        decision=Approval.Decision.REJECTED,
        person=actor,
        at=now,
        reason=why,
    )
    statement.state = StatementState.DRAFT
    deadlines.stop(statement)
    statement.version += 1
    statement.save()
    record(incident, actor, REJECTED, event_data(statement, role=role, reason=why), at=now)
    return approval


def void_for_edit(statement: Statement, new_version: StatementVersion, editor, now: datetime) -> int:
    """An edit saved `new_version`: every decision on an older version is void (kept, with
    who edited), and the approval deadline stops. Runs inside the caller's transaction,
    with the incident locked; the caller saves the statement. How many were voided."""
    voided = list(
        Approval.objects.filter(statement=statement, voided_at__isnull=True).exclude(statement_version=new_version)
    )
    deadlines.stop(statement)
    if not voided:
        return 0
    Approval.objects.filter(pk__in=[a.pk for a in voided]).update(voided_at=now, voided_by=editor)
    record(
        statement.incident,
        editor,
        VOIDED,
        {
            "statement": statement.pk,
            "kind": statement.kind,
            "language": statement.language,
            "version": new_version.number,
            "voided": [
                {
                    "role": a.role,
                    "decision": a.decision,
                    "person": person_name(a.person),
                    "version_id": a.statement_version_id,
                }
                for a in voided
            ],
            "editor": person_name(editor),
        },
        at=now,
    )
    return len(voided)


# --- the queue -------------------------------------------------------------------------------------


def waiting_for(user: User) -> QuerySet[Statement]:
    """Statements in review on open incidents that wait for a decision from a role
    `user` may decide for, soonest deadline first. A fixed number of queries however
    many statements there are."""
    from crisisflow.vocab import OPEN_STATES

    if not user.is_authenticated:
        return Statement.objects.none()
    roles_of: dict[int, set[str]] = {}
    for incident_id, role in TeamMember.objects.filter(
        user=user, incident__state__in=OPEN_STATES, incident__statements__state=StatementState.IN_REVIEW
    ).values_list("incident_id", "role"):
        roles_of.setdefault(incident_id, set()).add(role)
    # The commander approves as commander (the internal notice) without a team row.
    for incident_id in Incident.objects.filter(
        commander=user, state__in=OPEN_STATES, statements__state=StatementState.IN_REVIEW
    ).values_list("pk", flat=True):
        roles_of.setdefault(incident_id, set()).add(Role.COMMANDER.value)
    if not roles_of:
        return Statement.objects.none()
    candidates = list(
        Statement.objects.filter(incident_id__in=roles_of, state=StatementState.IN_REVIEW).select_related(
            "incident__playbook_version", "current"
        )
    )
    decided: dict[int, set[str]] = {}
    for statement_id, role in Approval.objects.filter(
        statement__in=candidates,
        voided_at__isnull=True,
        decision=Approval.Decision.APPROVED,
        statement_version_id__in=[s.current_id for s in candidates],
    ).values_list("statement_id", "role"):
        decided.setdefault(statement_id, set()).add(role)
    wanted = []
    for s in candidates:
        mine = roles_of[s.incident_id]
        if s.incident.commander_id != user.pk:
            mine = mine - {Role.COMMANDER.value}  # only the incident's commander decides as commander
        else:
            mine = {Role.COMMANDER.value}  # the commander never decides in another role's place
        if mine & (set(required_roles(s)) - decided.get(s.pk, set())):
            wanted.append(s.pk)
    return (
        Statement.objects.filter(pk__in=wanted).select_related("incident", "current").order_by("approval_due_at", "id")
    )


# --- timeline wording --------------------------------------------------------------------------------


def kind_text(data: dict) -> str:
    key = data.get("kind", "")
    label = str(kinds.KINDS[key].label) if key in kinds.KINDS else key
    return f"{label} ({data.get('language', '')}) v{data.get('version')}"


@describes(REQUESTED, label=gettext_lazy("Statement approval requested"))
def _requested(event: Event) -> str:
    d = event.data
    return _("Approval of the %(statement)s requested from %(roles)s") % {
        "statement": kind_text(d),
        "roles": ", ".join(_role_label(r) for r in d.get("roles", [])),
    }


@describes(APPROVED, label=gettext_lazy("Statement approved"))
def _approved(event: Event) -> str:
    d = event.data
    return _("%(statement)s approved as %(role)s") % {"statement": kind_text(d), "role": _role_label(d.get("role", ""))}


@describes(OVERRIDDEN, label=gettext_lazy("Lint errors overridden"))
def _overridden(event: Event) -> str:
    d = event.data
    return _("%(statement)s approved as %(role)s despite %(n)s lint error(s): %(reason)s") % {
        "statement": kind_text(d),
        "role": _role_label(d.get("role", "")),
        "n": d.get("errors", 0),
        "reason": d.get("reason", ""),
    }


@describes(REJECTED, label=gettext_lazy("Statement rejected"))
def _rejected(event: Event) -> str:
    d = event.data
    return _("%(statement)s rejected as %(role)s: %(reason)s") % {
        "statement": kind_text(d),
        "role": _role_label(d.get("role", "")),
        "reason": d.get("reason", ""),
    }


@describes(VOIDED, label=gettext_lazy("Approvals voided by an edit"))
def _voided(event: Event) -> str:
    d = event.data
    return _("%(editor)s edited the %(statement)s; approvals voided: %(roles)s") % {
        "editor": d.get("editor") or "—",
        "statement": kind_text(d),
        "roles": ", ".join(_role_label(v.get("role", "")) for v in d.get("voided", [])),
    }
