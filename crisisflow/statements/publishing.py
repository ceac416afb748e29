"""Publishing an approved statement, and corrections.

Only a version that every required role approved (that exact hash, none voided) goes
out. Each publication records the channel, where (a URL or the channel's message id),
when and by whom; a published version is frozen — a later edit is a new version, and
publishing it is a correction that says what changed.

The first publication of a public first-statement kind (holding or full statement) is
the incident's first public statement: the golden clock stops then and says met or
missed by how much (crisisflow.incidents.golden_clock). The playbook tasks whose
deliverable the kind fulfils are completed by the publication, linked to it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.incidents import actions, golden_clock
from crisisflow.incidents.errors import Blocked, Conflict, Forbidden, Invalid
from crisisflow.incidents.inputs import clean_line
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import require_open, save_incident
from crisisflow.statements import approvals, kinds, permissions
from crisisflow.statements.models import Publication, Statement, StatementState

PUBLISHED = "statement_published"
CORRECTED = "statement_corrected"
MAX_LOCATION = 500


def may_publish(user, statement: Statement) -> bool:
    return permissions.may_publish(user, statement)


def first_statement_published(incident: Incident) -> Publication | None:
    """The publication that was the incident's first public statement, if any."""
    first = [k.key for k in kinds.KINDS.values() if k.first_statement and k.public]
    return (
        Publication.objects.filter(statement__incident=incident, statement__kind__in=first, is_correction=False)
        .order_by("published_at", "id")
        .first()
    )


def internal_notice_published_at(incident: Incident):
    first = (
        Publication.objects.filter(statement__incident=incident, statement__kind="internal_notice")
        .order_by("published_at", "id")
        .values_list("published_at", flat=True)
        .first()
    )
    return first


def internal_notice_first(incident: Incident) -> bool:
    return bool(approvals.statement_rules(incident).get("internal_notice_first"))


@transaction.atomic
def publish(
    actor, statement: Statement | int, *, channel: str, location: str = "", expected_version: int
) -> Publication:
    """Record that the current (approved) version went out on `channel` at `location`."""
    incident, statement = approvals.lock_statement(actor, statement, expected_version)
    require_open(incident)
    if not may_publish(actor, statement):
        raise Forbidden(
            _("You may not publish a %(kind)s on this incident.")
            % {"kind": str(kinds.kind(statement.kind).label).lower()}
        )
    kind = kinds.kind(statement.kind)
    if channel not in kind.channels:
        raise Invalid(
            _("A %(kind)s goes out on: %(channels)s.")
            % {
                "kind": str(kind.label).lower(),
                "channels": ", ".join(str(kinds.CHANNELS[c].label) for c in kind.channels),
            },
            field="channel",
        )
    where = clean_line(location, "location", max_length=MAX_LOCATION)
    version = statement.current
    if version is None or statement.state not in (StatementState.APPROVED, StatementState.PUBLISHED):
        raise Blocked(_("Publish"), [_("this version is not approved by every role that must approve it")])
    if not approvals.is_approved(statement):
        raise Blocked(_("Publish"), [_("this version is not approved by every role that must approve it")])
    if Publication.objects.filter(statement_version=version, channel=channel).exists():
        raise Conflict(
            _("This version is already published on %(channel)s.") % {"channel": kinds.CHANNELS[channel].label}
        )
    earlier = Publication.objects.filter(statement=statement).exclude(statement_version=version).exists()
    correction = earlier
    if correction and not version.correction_note:
        raise Invalid(
            _("This statement was published before: save the new version with what changed to publish a correction."),
            field="correction_note",
        )
    now = clock.now()
    first = kind.first_statement and kind.public
    if first and incident.first_statement_at is None and internal_notice_first(incident):
        if internal_notice_published_at(incident) is None:
            raise Blocked(
                _("Publish"),
                [_("the playbook asks for the internal notice to go out first; publish it before this statement")],
            )
    publication = Publication.objects.create(
        statement=statement,
        statement_version=version,
        content_hash=version.content_hash,
        channel=channel,
        location=where,
        published_by=actor,
        published_at=now,
        is_correction=correction,
    )
    first_time = statement.first_published_at is None
    statement.state = StatementState.PUBLISHED
    if first_time:
        statement.first_published_at = now
    statement.version += 1
    statement.save()

    stopped = False
    if first and not correction:
        stopped = golden_clock.statement_made(incident, now)
        if stopped:
            save_incident(incident)
    data = approvals.event_data(
        statement,
        channel=channel,
        location=where,
        first_statement=stopped,
        correction=correction,
        publication=publication.pk,
        hash=version.content_hash,
    )
    if stopped:
        result = golden_clock.outcome(incident, now)
        data["clock"] = result.state
        data["margin_seconds"] = int(result.margin.total_seconds()) if result.margin is not None else None
    if correction:
        data["what_changed"] = version.correction_note
    record(incident, actor, CORRECTED if correction else PUBLISHED, data, at=now)
    if first_time and kind.deliverables:
        actions.complete_by_delivery(
            actor,
            incident,
            kind.deliverables,
            {"statement": statement.pk, "kind": statement.kind, "publication": publication.pk, "channel": channel},
        )
    return publication


def outcome_words(incident: Incident) -> str:
    """ "met, 1 h 20 min to spare" / "missed by 35 min" / "" while undecided."""
    result = golden_clock.outcome(incident, clock.now())
    if not result.decided or result.margin is None:
        return ""
    minutes = int(result.margin.total_seconds() // 60)
    span = (
        _("%(h)d h %(m)d min") % {"h": minutes // 60, "m": minutes % 60}
        if minutes >= 60
        else _("%(m)d min") % {"m": minutes}
    )
    if result.state == "met":
        return _("met, %(span)s to spare") % {"span": span}
    return _("missed by %(span)s") % {"span": span}


# --- timeline wording ---------------------------------------------------------------------------


def _channel(key: str) -> str:
    return str(kinds.CHANNELS[key].label) if key in kinds.CHANNELS else key


@describes(PUBLISHED, label=gettext_lazy("Statement published"))
def _published(event: Event) -> str:
    d = event.data
    text = _("%(statement)s published on %(channel)s") % {
        "statement": approvals.kind_text(d),
        "channel": _channel(d.get("channel", "")),
    }
    if d.get("location"):
        text += f" ({d['location']})"
    if d.get("first_statement"):
        text += " · " + (
            _("first public statement: golden clock met")
            if d.get("clock") == "met"
            else _("first public statement: golden clock missed")
        )
    return text


@describes(CORRECTED, label=gettext_lazy("Correction published"))
def _corrected(event: Event) -> str:
    d = event.data
    return _("Correction of the %(statement)s published on %(channel)s: %(what)s") % {
        "statement": approvals.kind_text(d),
        "channel": _channel(d.get("channel", "")),
        "what": d.get("what_changed", ""),
    }
