"""Rosters: who stands ready for each role, primary people first, then backups.

The /rosters/ page (and anything else that edits rosters) calls these use cases. Each
one, in one transaction:

1. checks the person may manage rosters (superusers and duty commanders — people on the
   commander roster; everyone signed in may read them),
2. locks the entries of the role it touches, always in the same order, so two changes to
   one role queue up instead of interleaving (moving relies on this),
3. makes the change and keeps the positions 0, 1, 2… within each rank,
4. stamps every entry it changed with who changed it and when.

Rosters are not incident state, so there is no timeline event; the stamp on the entry
and a log line are the audit. Input errors are Invalid(field=…) naming the form field.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.incidents import permissions
from crisisflow.incidents.errors import Forbidden, Invalid, NotFound
from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role

log = logging.getLogger(__name__)

Rank = RosterEntry.Rank
RANKS = (Rank.PRIMARY, Rank.BACKUP)  # the order a proposal reads them in
DIRECTIONS = ("up", "down")


def may_manage(user) -> bool:
    """Superusers and duty commanders may change rosters."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or permissions.is_duty_commander(user)


def _require_manager(actor) -> None:
    if not may_manage(actor):
        raise Forbidden(
            _("Only duty commanders (people on the commander roster) and administrators can change the rosters.")
        )


def _role(value) -> str:
    if value not in Role.values:
        raise Invalid(_("Choose one of the roles."), field="role")
    return str(value)


def _rank(value) -> str:
    if value not in Rank.values:
        raise Invalid(_("Choose primary or backup."), field="rank")
    return str(value)


# Advisory-lock key space of the rosters ("ROST"); the second key is the role's CRC-32.
ROSTER_LOCK_SPACE = 0x524F5354


def _lock_role(role: str) -> list[RosterEntry]:
    """Every entry of the role, locked, in id order (one order for everyone: no deadlock).

    Row locks cannot cover a row someone is inserting: an add and a move at the same
    moment would each number the rank without the other's row. So on PostgreSQL every
    change to a role's roster first takes a transaction-scoped advisory lock for the role
    (SQLite lets one writer in at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = zlib.crc32(role.encode()) & 0x7FFFFFFF
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROSTER_LOCK_SPACE, key])
    entries = RosterEntry.objects.select_for_update(of=("self",)).filter(role=role)
    return list(entries.select_related("user").order_by("id"))


def _lock_entry(entry_id) -> tuple[RosterEntry, list[RosterEntry]]:
    role = RosterEntry.objects.filter(pk=entry_id).values_list("role", flat=True).first()
    if role is None:
        raise NotFound(_("This roster entry no longer exists."))
    entries = _lock_role(role)
    entry = next((e for e in entries if e.pk == entry_id), None)
    if entry is None:  # removed while we waited for the lock
        raise NotFound(_("This roster entry no longer exists."))
    return entry, entries


def _in_rank(entries: list[RosterEntry], rank: str, without: RosterEntry | None = None) -> list[RosterEntry]:
    return sorted(
        (e for e in entries if e.rank == rank and e is not without),
        key=lambda e: (e.position, e.pk),
    )


def _save_order(actor, ranks: dict[str, list[RosterEntry]], touched: RosterEntry | None = None) -> None:
    """Number each rank's entries 0, 1, 2… in the given order; stamp and save the ones
    that changed (and `touched`, whose rank may have changed)."""
    now = clock.now()
    changed = []
    for ordered in ranks.values():
        for position, entry in enumerate(ordered):
            if entry.position != position or entry is touched:
                entry.position = position
                entry.updated_by = actor
                entry.updated_at = now
                changed.append(entry)
    if changed:
        RosterEntry.objects.bulk_update(changed, ["rank", "position", "updated_by", "updated_at"])


@transaction.atomic
def add_to_roster(actor, user: User | None, role: str, rank: str = Rank.PRIMARY, position: int | None = None):
    """Put a person on a role's roster, at `position` within the rank (0 = first;
    None or past the end = last)."""
    _require_manager(actor)
    if user is None:
        raise Invalid(_("Choose a person."), field="user")
    role = _role(role)
    rank = _rank(rank)
    if not user.is_active:
        raise Invalid(_("%(person)s is not an active user.") % {"person": user}, field="user")
    if position is not None and (not isinstance(position, int) or position < 0):
        raise Invalid(_("Give the place as a whole number from 1."), field="position")
    entries = _lock_role(role)
    already = next((e for e in entries if e.user_id == user.pk), None)
    if already is not None:
        raise _already_on(user, already)
    try:
        with transaction.atomic():  # a savepoint: the unique (role, user) may still refuse
            entry = RosterEntry.objects.create(role=role, user=user, rank=rank, position=0)
    except IntegrityError:
        # Someone added the same person a moment ago (the role had no rows to lock).
        raise _already_on(user, RosterEntry.objects.get(role=role, user=user)) from None
    ordered = _in_rank(entries, rank)
    at = len(ordered) if position is None else min(position, len(ordered))
    ordered.insert(at, entry)
    _save_order(actor, {rank: ordered}, touched=entry)
    log.info("roster: %s added %s to %s as %s #%d", actor, user, role, rank, entry.position + 1)
    return entry


def _already_on(user: User, entry: RosterEntry) -> Invalid:
    return Invalid(
        _("%(person)s is already on the %(role)s roster (%(rank)s).")
        % {"person": user, "role": entry.get_role_display(), "rank": entry.get_rank_display()},
        field="user",
    )


@transaction.atomic
def set_rank(actor, entry_id: int, rank: str) -> RosterEntry:
    """Make someone primary or backup; they go to the end of their new rank."""
    _require_manager(actor)
    rank = _rank(rank)
    entry, entries = _lock_entry(entry_id)
    if entry.rank == rank:
        return entry
    before = entry.rank
    ranks = {before: _in_rank(entries, before, without=entry), rank: [*_in_rank(entries, rank), entry]}
    entry.rank = rank
    _save_order(actor, ranks, touched=entry)
    log.info("roster: %s made %s %s on %s", actor, entry.user, rank, entry.role)
    return entry


@transaction.atomic
def move(actor, entry_id: int, direction: str) -> RosterEntry:
    """One place up or down within the rank. At the top (or bottom) nothing changes."""
    _require_manager(actor)
    if direction not in DIRECTIONS:
        raise Invalid(_("Move up or down."), field="direction")
    entry, entries = _lock_entry(entry_id)
    ordered = _in_rank(entries, entry.rank)
    at = ordered.index(entry)
    to = at - 1 if direction == "up" else at + 1
    if not 0 <= to < len(ordered):
        return entry
    ordered[at], ordered[to] = ordered[to], ordered[at]
    _save_order(actor, {entry.rank: ordered}, touched=entry)
    log.info("roster: %s moved %s %s on %s", actor, entry.user, direction, entry.role)
    return entry


@transaction.atomic
def remove_from_roster(actor, entry_id: int) -> None:
    """Take someone off a role's roster. The last duty commander stays: without one,
    nobody could take charge of a new incident (or manage the rosters but admins)."""
    _require_manager(actor)
    entry, entries = _lock_entry(entry_id)
    if entry.role == Role.COMMANDER and len(entries) == 1:
        raise Invalid(
            _("%(person)s is the last duty commander; add another one before removing them.") % {"person": entry.user},
            field="user",
        )
    entry.delete()
    _save_order(actor, {rank: _in_rank(entries, rank, without=entry) for rank in RANKS})
    log.info("roster: %s removed %s from %s", actor, entry.user, entry.role)


# --- reading ----------------------------------------------------------------------------------


@dataclass
class RoleRoster:
    role: str
    primary: list[RosterEntry] = field(default_factory=list)
    backup: list[RosterEntry] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(Role(self.role).label)

    @property
    def ranks(self) -> list[tuple[str, str, list[RosterEntry]]]:
        return [
            (Rank.PRIMARY, str(Rank.PRIMARY.label), self.primary),
            (Rank.BACKUP, str(Rank.BACKUP.label), self.backup),
        ]

    @property
    def entries(self) -> list[RosterEntry]:
        return self.primary + self.backup

    @property
    def last_change(self) -> RosterEntry | None:
        stamped = [e for e in self.entries if e.updated_at is not None]
        return max(stamped, key=lambda e: e.updated_at) if stamped else None


def primary_first():
    """Order expression: primary entries before backups, whatever the rank values sort as."""
    return Case(When(rank=Rank.PRIMARY, then=Value(0)), default=Value(1), output_field=IntegerField())


def rosters(role: str | None = None) -> list[RoleRoster]:
    """Every role (or one) with its people: primary first, then backups, each in order.
    One query."""
    roles = [role] if role else list(Role.values)
    by_role = {r: RoleRoster(r) for r in roles}
    entries = RosterEntry.objects.filter(role__in=roles).select_related("user", "updated_by")
    for entry in entries.order_by("role", primary_first(), "position", "id"):
        target = by_role[entry.role]
        (target.primary if entry.rank == Rank.PRIMARY else target.backup).append(entry)
    return list(by_role.values())
