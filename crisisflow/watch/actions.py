"""What people do on the watch page: upload a CSV, enter a point or a post by hand,
snooze, mute and unmute a rule. The views call these; the signed API calls watch.ingest directly
(a source, not a person)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.incidents import permissions
from crisisflow.incidents.errors import Conflict, Invalid, NotFound
from crisisflow.incidents.inputs import clean_reason
from crisisflow.people.models import RosterEntry
from crisisflow.vocab import Role
from crisisflow.watch import ingest
from crisisflow.watch.models import Rule, Series

MAX_CSV_BYTES = 5 * 1024 * 1024
POINT_COLUMNS = ("series", "at", "value")
POST_COLUMNS = ("url", "brand", "platform", "author", "reach", "flag", "at", "text")
MAX_SNOOZE_HOURS = 24 * 30


def may_manage(user) -> bool:
    """Duty commanders, public-opinion analysts and staff feed data in and quiet rules."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return RosterEntry.objects.filter(user=user, role__in=[Role.COMMANDER, Role.ANALYST]).exists()


def _require_manager(actor) -> None:
    permissions.require(may_manage(actor), _("Only duty commanders and public-opinion analysts can do this."))


class CsvInvalid(Invalid):
    """A CSV file with bad lines; nothing of it was stored. `lines`: (line, field, message)."""

    def __init__(self, lines: list[tuple[int, str, str]]):
        self.lines = lines
        number, name, message = lines[0]
        text = _("Line %(line)d, %(field)s: %(message)s") % {"line": number, "field": name, "message": message}
        super().__init__(text, field="file")


def _local_moment(value: str) -> str | datetime:
    """A time without a zone is read in the uploader's own time zone."""
    parsed = parse_datetime(value.strip()) if isinstance(value, str) and value.strip() else None
    if parsed is not None and parsed.tzinfo is None:
        return timezone.make_aware(parsed, timezone.get_current_timezone())
    return value


def upload_csv(actor, content: bytes) -> ingest.Received:
    """Points (columns series, at, value) or posts (url, brand, platform, author, reach,
    flag, at, text): all lines or none. Every bad line is reported with its number."""
    _require_manager(actor)
    if len(content) > MAX_CSV_BYTES:
        raise Invalid(_("The file is larger than 5 MB; split it."), field="file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(_("The file must be UTF-8 text (CSV)."), field="file") from None
    if "\x00" in text:
        raise Invalid(_("The file must be UTF-8 text (CSV)."), field="file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise Invalid(_("The file is empty."), field="file") from None
    except csv.Error as err:
        raise CsvInvalid([(1, "header", str(err))]) from None
    if header[:3] == list(POINT_COLUMNS) and len(header) == 3:
        kind, columns = "points", POINT_COLUMNS
    elif set(header) >= {"url", "platform", "at"} and set(header) <= set(POST_COLUMNS) | {"language"}:
        kind, columns = "posts", tuple(header)
    else:
        raise CsvInvalid(
            [
                (
                    1,
                    "header",
                    _("The first line must be “%(points)s” (points) or name post columns: %(posts)s.")
                    % {"points": ",".join(POINT_COLUMNS), "posts": ",".join(POST_COLUMNS)},
                )
            ]
        )
    items, lines, bad = [], [], []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                found = {"n": len(columns), "m": len(row)}
                bad.append((reader.line_num, "line", _("expected %(n)d columns, found %(m)d") % found))
                continue
            item = dict(zip(columns, row, strict=True))
            item["at"] = _local_moment(item["at"])
            items.append(item)
            lines.append(reader.line_num)
    except csv.Error as err:
        bad.append((reader.line_num, "line", str(err)))
    if not items and not bad:
        raise Invalid(_("The file has no lines after the header."), field="file")
    try:
        if kind == "points":
            points, posts = ingest.check_points(items), []
        else:
            points, posts = [], ingest.check_posts(items)
    except ingest.BatchInvalid as refusal:
        bad.extend((lines[p.index], p.field, p.message) for p in refusal.problems)
        points = posts = []
    if bad:
        raise CsvInvalid(sorted(bad))
    return ingest.receive(points=points, posts=posts)


def add_point(actor, series: Series | str, at: datetime, value) -> ingest.Received:
    """One value typed in by hand (a rating read off the app store, a share price)."""
    _require_manager(actor)
    key = series.key if isinstance(series, Series) else series
    return ingest.receive(points=ingest.check_points([{"series": key, "at": at, "value": value}]))


def add_post(actor, item: dict) -> ingest.Received:
    """One post typed in by hand (a screenshot from a chat group, a call from a reporter):
    the same checks, sentiment classifier and idempotency per URL as a signed batch."""
    _require_manager(actor)
    try:
        posts = ingest.check_posts([item])
    except ingest.BatchInvalid as refusal:
        problem = refusal.problems[0]
        raise Invalid(problem.message, field=problem.field) from None
    return ingest.receive(posts=posts)


# --- quieting rules ------------------------------------------------------------------------------


def _lock_rule(actor, rule: Rule | int, expected_version: int | None) -> Rule:
    _require_manager(actor)
    pk = rule.pk if isinstance(rule, Rule) else rule
    locked = Rule.objects.select_for_update(of=("self",)).select_related("quieted_by").filter(pk=pk).first()
    if locked is None:
        raise NotFound(_("No such rule."))
    if expected_version is not None and locked.version != expected_version:
        who = str(locked.quieted_by) if locked.quieted_by else None
        if who:
            raise Conflict(_("This rule was changed by %(who)s; reload the page and try again.") % {"who": who})
        raise Conflict(_("Someone else changed this rule; reload the page and try again."))
    return locked


def _save(rule: Rule, actor, reason: str) -> Rule:
    rule.quiet_reason = reason
    rule.quieted_by = actor
    rule.version += 1
    rule.save(update_fields=["muted", "snoozed_until", "quiet_reason", "quieted_by", "version"])
    return rule


@transaction.atomic
def snooze_rule(actor, rule: Rule | int, hours, reason: str, *, expected_version: int | None = None) -> Rule:
    """Quiet a rule for some hours (a known campaign, a planned outage), with a reason."""
    rule = _lock_rule(actor, rule, expected_version)
    try:
        hours = int(hours)
    except (TypeError, ValueError):
        raise Invalid(_("Give the hours as a whole number."), field="hours") from None
    if not 1 <= hours <= MAX_SNOOZE_HOURS:
        raise Invalid(_("Snooze for 1 to %(n)d hours.") % {"n": MAX_SNOOZE_HOURS}, field="hours")
    reason = clean_reason(reason)
    rule.snoozed_until = clock.now() + timedelta(hours=hours)
    return _save(rule, actor, reason)


@transaction.atomic
def mute_rule(actor, rule: Rule | int, reason: str, *, expected_version: int | None = None) -> Rule:
    """Quiet a rule until someone unmutes it, with a reason."""
    rule = _lock_rule(actor, rule, expected_version)
    reason = clean_reason(reason)
    rule.muted = True
    return _save(rule, actor, reason)


@transaction.atomic
def unmute_rule(actor, rule: Rule | int, *, expected_version: int | None = None) -> Rule:
    """Let a muted or snoozed rule speak again."""
    rule = _lock_rule(actor, rule, expected_version)
    rule.muted = False
    rule.snoozed_until = None
    return _save(rule, actor, "")
