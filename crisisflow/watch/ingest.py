"""Points and posts in: one use case (`receive`) for the signed API, the CSV upload,
manual entry and the benchmark.

Idempotent: a point is unique per (series, moment) and a post per URL, so a batch sent
twice changes nothing, and a corrected value simply replaces the old one. A batch is
checked whole before anything is written; one bad item refuses all of it, naming each
bad item and field.

What rules read is kept up to date here, per new point, so that evaluating them costs
what the new points cost and not what the history holds: the series' latest value and
the z-score of that value against the series' usual level for that hour of the week
(an exponentially weighted mean and variance per hour-of-week bucket, watch.Baseline).
On PostgreSQL a batch goes in as one INSERT … ON CONFLICT over arrays (binary, one
round trip), baselines and series likewise; elsewhere through Django's bulk upsert.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import (
    EARLIEST,
    FUTURE_SKEW,
    LATEST,
    MAX_TEXT,
    check_moment,
    clean_line,
    clean_text,
)
from crisisflow.watch import sentiment
from crisisflow.watch.kinds import PLATFORMS
from crisisflow.watch.models import Baseline, Brand, Point, Post, Series
from crisisflow.watch.models.series import BUCKETS

# Most items one batch may hold (an API call, a CSV file).
MAX_ITEMS = 50_000
# Weight of a new value in its hour-of-week baseline once the bucket has 1/ALPHA values
# (before that, a plain average: the first weeks count fully).
ALPHA = 0.1
# A spike needs this many earlier values in the bucket before it can be judged.
MIN_SAMPLES = 3
# Floor of the baseline's spread, as a share of its mean: a series that never moved
# must not call every small change a spike.
MIN_SPREAD = 0.05
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Problem:
    """One bad item of a batch: its position (0-based), the field and what is wrong."""

    index: int
    field: str
    message: str


class BatchInvalid(Invalid):
    """A batch with bad items; nothing of it was written."""

    def __init__(self, kind: str, problems: list[Problem]):
        self.kind = kind  # "points" or "posts"
        self.problems = problems
        first = problems[0]
        # The field is the top-level one; `problems` says which items and fields.
        super().__init__(f"{kind}[{first.index}].{first.field}: {first.message}", field=kind)


@dataclass
class Received:
    points: int = 0
    new_points: int = 0
    changed_points: int = 0
    posts: int = 0
    new_posts: int = 0
    series: set[int] = field(default_factory=set)
    brands: set[int] = field(default_factory=set)


# --- checking a batch -------------------------------------------------------------------------


def _moment(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        parsed = parse_datetime(value.strip()) if value.strip() else None
        if parsed is None:
            raise Invalid(_("Give a date and time such as 2026-03-02T09:00:00+08:00."), field=name)
        value = parsed
    return check_moment(value, name, not_after_now=True)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or value is None:
        raise Invalid(_("Give a number."), field=name)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise Invalid(_("Give a number."), field=name) from None
    if not math.isfinite(number) or abs(number) > 1e15:
        raise Invalid(_("Give a finite number below 10^15."), field=name)
    return number


def _item(data: Any, index: int, problems: list[Problem]) -> dict | None:
    if not isinstance(data, dict):
        problems.append(Problem(index, "item", _("Each item must be an object.")))
        return None
    return data


def check_points(items: list[Any], *, series_keys: dict[str, int] | None = None) -> list[tuple[int, datetime, float]]:
    """(series id, moment in UTC, value) per item, or BatchInvalid naming every bad one."""
    if len(items) > MAX_ITEMS:
        raise Invalid(_("Send at most %(n)d items at once.") % {"n": MAX_ITEMS}, field="points")
    keys = {str(item.get("series")) for item in items if isinstance(item, dict)}
    if series_keys is None:
        series_keys = dict(Series.objects.filter(key__in=keys).values_list("key", "pk"))
    problems: list[Problem] = []
    rows = []
    # The common item (a known key, an ISO time with its zone, a number) is taken in one
    # step; anything else goes through the field checks, which say what is wrong.
    newest = clock.now() + FUTURE_SKEW
    for index, raw in enumerate(items):
        row = _well_formed_point(raw, series_keys, newest)
        if row is not None:
            rows.append(row)
            continue
        item = _item(raw, index, problems)
        if item is None:
            continue
        row = []
        for name, check in (
            ("series", lambda v, n: _series_id(v, n, series_keys)),
            ("at", _moment),
            ("value", _number),
        ):
            try:
                row.append(check(item.get(name), name))
            except Invalid as refusal:
                problems.append(Problem(index, refusal.field or name, str(refusal.message)))
        if len(row) == 3:
            rows.append(tuple(row))
    if problems:
        raise BatchInvalid("points", problems)
    return rows


def _well_formed_point(raw: Any, series_keys: dict[str, int], newest: datetime) -> tuple[int, datetime, float] | None:
    """The point of an item the field checks would accept as it is, else None."""
    try:
        key, text, value = raw["series"], raw["at"], raw["value"]
        pk = series_keys[key] if type(key) is str else None
        if pk is None or type(text) is not str or type(value) not in (int, float) or not abs(value) <= 1e15:
            return None  # NaN fails the comparison too
        at = datetime.fromisoformat(text)
        if at.utcoffset() is None:
            return None
        at = at.astimezone(UTC)
    except (TypeError, KeyError, ValueError, OverflowError):
        return None
    if not EARLIEST <= at <= newest or at >= LATEST:
        return None
    return pk, at, float(value)


def _series_id(value: Any, name: str, known: dict[str, int]) -> int:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(_("Name the series by its key."), field=name)
    pk = known.get(value.strip())
    if pk is None:
        shown = value.strip()[:80].encode("utf-8", "backslashreplace").decode()
        raise Invalid(_("There is no series “%(key)s”.") % {"key": shown}, field=name)
    return pk


def check_posts(items: list[Any]) -> list[dict]:
    """Each post as model fields (sentiment classified), or BatchInvalid."""
    if len(items) > MAX_ITEMS:
        raise Invalid(_("Send at most %(n)d items at once.") % {"n": MAX_ITEMS}, field="posts")
    brand_keys = {str(item.get("brand")) for item in items if isinstance(item, dict) and item.get("brand")}
    brands = dict(Brand.objects.filter(key__in=brand_keys).values_list("key", "pk"))
    problems: list[Problem] = []
    posts = []
    for index, raw in enumerate(items):
        item = _item(raw, index, problems)
        if item is None:
            continue
        before = len(problems)

        def take(name, check, item=item, index=index):
            try:
                return check(item.get(name), name)
            except Invalid as refusal:
                problems.append(Problem(index, refusal.field or name, str(refusal.message)))
                return None

        post = {
            "url": take("url", _url),
            "brand_id": take("brand", lambda v, n: _brand(v, n, brands)),
            "platform": take("platform", _platform),
            "author": take("author", lambda v, n: clean_line(v, n, max_length=120)),
            "reach": take("reach", _reach),
            "flag": take("flag", _flag),
            "text": take("text", _post_text),
            "posted_at": take("at", _moment),
            "language": take("language", _language),
        }
        if len(problems) == before:
            label, value = sentiment.classify(post["text"], post["language"])
            post["language"] = post["language"] or sentiment.language_of(post["text"])
            post["sentiment"], post["sentiment_score"] = label, round(value, 3)
            posts.append(post)
    if problems:
        raise BatchInvalid("posts", problems)
    return posts


def _url(value: Any, name: str) -> str:
    url = clean_line(value, name, max_length=500)
    if not url.lower().startswith(("http://", "https://")) or " " in url:
        raise Invalid(_("Give the post's address (http:// or https://)."), field=name)
    return url


def _brand(value: Any, name: str, brands: dict[str, int]) -> int | None:
    if value in (None, ""):
        return None
    key = clean_line(value, name, max_length=60)
    if key not in brands:
        raise Invalid(_("There is no brand or product “%(key)s”.") % {"key": key}, field=name)
    return brands[key]


def _platform(value: Any, name: str) -> str:
    key = clean_line(value, name, max_length=20).lower()
    if key not in PLATFORMS:
        raise Invalid(_("Give one of: %(names)s.") % {"names": ", ".join(PLATFORMS)}, field=name)
    return key


def _reach(value: Any, name: str) -> int:
    if value in (None, ""):
        return 0
    number = _number(value, name)
    if number < 0 or number != int(number):
        raise Invalid(_("Give the followers as a whole number, 0 or more."), field=name)
    return int(number)


def _flag(value: Any, name: str) -> str:
    flag = clean_line(value, name, max_length=20) if value is not None else ""
    if flag not in Post.Flag.values:
        raise Invalid(_("Give official_media, kol or nothing."), field=name)
    return flag


def _post_text(value: Any, name: str) -> str:
    text = clean_text(value, name)
    if len(text) > MAX_TEXT:
        raise Invalid(_("Keep the text under %(n)d characters.") % {"n": MAX_TEXT}, field=name)
    return text


def _language(value: Any, name: str) -> str:
    if value in (None, ""):
        return ""
    if value not in ("zh", "en"):
        raise Invalid(_("Give zh or en, or leave it out."), field=name)
    return value


# --- the use case ---------------------------------------------------------------------------


@transaction.atomic
def receive(
    *, points: list[tuple[int, datetime, float]] = (), posts: list[dict] = (), now: datetime | None = None
) -> Received:
    """Store checked points and posts (see check_points / check_posts), move each
    series' running state forward, and recompute negative shares from new posts."""
    now = now or clock.now()
    result = Received()
    if posts:
        _store_posts(list(posts), now, result)
    points = list(points) + _negative_shares(list(posts))
    if points:
        store_points(points, now, result)
    return result


def store_points(points: list[tuple[int, datetime, float]], now: datetime, result: Received | None = None) -> Received:
    result = result or Received()
    if connection.vendor == "postgresql":
        _store_pg(points, now, result)
        return result
    latest: dict[tuple[int, datetime], float] = {}
    for series_id, at, value in points:
        # Moments are kept to the second, as on PostgreSQL (where they travel as epoch seconds).
        latest[(series_id, at.replace(microsecond=0))] = value  # the last of two values for one moment wins
    rows = [(s, a, v) for (s, a), v in latest.items()]
    inserted = _upsert_generic(rows)
    result.points += len(rows)
    result.new_points += sum(inserted.values())
    result.series.update(s for s, _a, _v in rows)
    _advance(rows, inserted, now)
    return result


def raw_cursor():
    """A cursor of the PostgreSQL driver itself, binding parameters on the server:
    Django's cursor quotes them into the SQL text, which for arrays of 10,000 moments
    costs more than the statement."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


# --- PostgreSQL: a batch as a few array statements --------------------------------------------
#
# What a batch costs per point is what Python and the server must do for that point and
# little more (bench/signals.py measures it):
# - one pass over the points builds three arrays, sorted in the key's order (each
#   series' index pages are visited once, not once per hour of the batch);
# - arrays are sent in binary (%b): psycopg's text format quotes every element, which
#   costs five times the CPU; moments travel as epoch seconds;
# - nothing comes back per point: the server counts the new points per series, and the
#   baselines return only each series' latest bucket;
# - points carry no foreign-key constraint in the database, whose check is one query per
#   inserted row at commit: the batch locks the rows of the series it writes to instead,
#   once, so no series is deleted under it (and two batches of one series take turns).

INSERT_POINTS = (
    "WITH stored AS ("
    "INSERT INTO watch_point (series_id, at, value) "
    "SELECT s, to_timestamp(e), v FROM unnest(%b::bigint[], %b::bigint[], %b::float8[]) AS t(s, e, v) "
    "ON CONFLICT (series_id, at) DO UPDATE SET value = EXCLUDED.value "
    # A value sent again unchanged is not rewritten.
    "WHERE watch_point.value IS DISTINCT FROM EXCLUDED.value "
    "RETURNING series_id, xmax = 0 AS new) "
    "SELECT series_id, count(*) FROM stored WHERE new GROUP BY series_id"
)

# 1970-01-01 00:00 UTC, a Thursday, is hour 72 of the week (see bucket_of).
EPOCH_HOUR_OF_WEEK = 72


def bucket_of_epoch(epoch: int) -> int:
    """bucket_of for a moment in Unix seconds."""
    return (epoch // 3600 + EPOCH_HOUR_OF_WEEK) % BUCKETS


def _store_pg(points, now: datetime, result: Received) -> None:
    latest: dict[tuple[int, int], float] = {}
    for series_id, at, value in points:
        latest[(series_id, int(at.timestamp()))] = value  # to the second; the last of two values wins
    keys = sorted(latest)
    ids = sorted({s for s, _e in keys})
    with raw_cursor() as cursor:
        # Locked in one order, so two batches sharing series cannot deadlock.
        cursor.execute(
            "SELECT id, extract(epoch FROM last_at)::bigint FROM watch_series WHERE id = ANY(%b::bigint[]) "
            "ORDER BY id FOR NO KEY UPDATE",
            [ids],
        )
        last = dict(cursor.fetchall())
        if len(last) != len(ids):
            raise Invalid(_("A series of this batch was deleted meanwhile; send the batch again."), field="points")
        values = [float(latest[k]) for k in keys]
        cursor.execute(INSERT_POINTS, [[k[0] for k in keys], [k[1] for k in keys], values])
        new = dict(cursor.fetchall())
    result.points += len(keys)
    result.new_points += sum(new.values())
    result.series.update(ids)
    # The points newer than each series' latest move it forward (older ones are history:
    # stored, not learnt twice); a point at its latest moment is a correction of it.
    fresh: dict[int, list[tuple[int, float]]] = defaultdict(list)
    corrected: dict[int, float] = {}
    for (s, epoch), value in zip(keys, values, strict=True):
        seen = last[s]
        if seen is None or epoch > seen:
            fresh[s].append((epoch, value))  # in time order: the keys are sorted
        elif epoch == seen:
            corrected[s] = value
    series_rows = _learn_pg(fresh)
    # A correction of the latest value is the latest value now. The baseline keeps what
    # it learnt (it is a smoothed level; one value moves it little).
    corrected = {s: v for s, v in corrected.items() if s not in fresh}
    buckets = _read_baselines({(s, bucket_of_epoch(last[s])) for s in corrected})
    for s, value in corrected.items():
        n, mean, var = buckets.get((s, bucket_of_epoch(last[s]))) or (0, 0.0, 0.0)
        series_rows.append((s, last[s], value, z_score(value, max(n - 1, 0), mean, var)))
    _write_state_pg(series_rows, [(s, new.get(s, 0)) for s in ids], now)


LEARN_SQL = (
    "WITH learnt AS ("
    "INSERT INTO watch_baseline AS b (series_id, bucket, n, mean, var) "
    "SELECT s, k, 1, v, 0 FROM unnest(%(s)b::bigint[], %(k)b::int[], %(v)b::float8[]) AS t(s, k, v) "
    "ON CONFLICT (series_id, bucket) DO UPDATE SET n = b.n + 1, "
    # learn(): the same exponentially weighted mean and variance, from the old row.
    "mean = b.mean + greatest(%(a)s, 1.0 / (b.n + 1)) * (EXCLUDED.mean - b.mean), "
    "var = (1 - greatest(%(a)s, 1.0 / (b.n + 1))) * (b.var + (EXCLUDED.mean - b.mean) "
    "* greatest(%(a)s, 1.0 / (b.n + 1)) * (EXCLUDED.mean - b.mean)) "
    "RETURNING series_id, bucket, n, mean, var) "
    # Only the buckets of the series' latest points: their z-scores are what rules read.
    "SELECT l.series_id, l.n, l.mean, l.var FROM learnt l "
    "JOIN unnest(%(ls)b::bigint[], %(lk)b::int[]) AS w(s, k) ON l.series_id = w.s AND l.bucket = w.k"
)


def score_before(value: float, n: int, mean: float, var: float) -> float | None:
    """The z-score `value` had against its bucket before the bucket learnt it, from the
    bucket after (n, mean, var): learn() undone."""
    before = n - 1
    if before < MIN_SAMPLES:
        return None
    alpha = max(ALPHA, 1.0 / (before + 1))
    old_mean = (mean - alpha * value) / (1 - alpha)
    diff = value - old_mean
    return z_score(value, before, old_mean, var / (1 - alpha) - alpha * diff * diff)


def _learn_pg(fresh: dict[int, list[tuple[int, float]]]) -> list[tuple[int, int, float, float | None]]:
    """Each series' new points (Unix seconds, value) learnt by its baselines, in time
    order; its latest point's z-score. A batch with two points for one bucket of a
    series goes in rounds, one point per bucket each."""
    rounds: list[tuple[list[int], list[int], list[float]]] = []
    last_round: dict[int, int] = {}
    for s, later in fresh.items():
        buckets = [bucket_of_epoch(epoch) for epoch, _v in later]
        numbers = [0] * len(buckets)
        if len(set(buckets)) < len(buckets):  # a bucket twice: over a week, or two points in an hour
            seen: dict[int, int] = defaultdict(int)
            for index, bucket in enumerate(buckets):
                numbers[index] = seen[bucket]
                seen[bucket] += 1
        while len(rounds) <= max(numbers):
            rounds.append(([], [], []))
        for number, bucket, (_epoch, value) in zip(numbers, buckets, later, strict=True):
            ids, keys, values = rounds[number]
            ids.append(s)
            keys.append(bucket)
            values.append(value)
        last_round[s] = numbers[-1]
    scores: dict[int, float | None] = {}
    with raw_cursor() as cursor:
        for number, (ids, numbers, values) in enumerate(rounds):
            ending = [s for s, r in last_round.items() if r == number]
            cursor.execute(
                LEARN_SQL,
                {
                    "s": ids,
                    "k": numbers,
                    "v": values,
                    "a": ALPHA,
                    "ls": ending,
                    "lk": [bucket_of_epoch(fresh[s][-1][0]) for s in ending],
                },
            )
            for s, n, mean, var in cursor.fetchall():
                scores[s] = score_before(fresh[s][-1][1], n, mean, var)
    return [(s, later[-1][0], later[-1][1], scores.get(s)) for s, later in fresh.items()]


def _read_baselines(wanted: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, float, float]]:
    if not wanted:
        return {}
    if connection.vendor == "postgresql":
        ids, numbers = zip(*wanted, strict=True)
        with raw_cursor() as cursor:
            cursor.execute(
                "SELECT b.series_id, b.bucket, b.n, b.mean, b.var FROM watch_baseline b "
                "JOIN unnest(%b::bigint[], %b::int[]) AS w(s, k) ON b.series_id = w.s AND b.bucket = w.k",
                [list(ids), list(numbers)],
            )
            return {(s, k): (n, m, v) for s, k, n, m, v in cursor.fetchall()}
    ids = {s for s, _k in wanted}
    return {
        (s, k): (n, m, v)
        for s, k, n, m, v in Baseline.objects.filter(series_id__in=ids).values_list(
            "series_id", "bucket", "n", "mean", "var"
        )
        if (s, k) in wanted
    }


def _write_state_pg(series_rows, counted, now: datetime) -> None:
    """One statement for every touched series: its new state (if it moved) and count."""
    state = {r[0]: r for r in series_rows}
    ids = [c[0] for c in counted]
    with raw_cursor() as cursor:
        cursor.execute(
            "UPDATE watch_series s SET last_at = coalesce(to_timestamp(t.a), s.last_at), "
            "last_value = CASE WHEN t.a IS NULL THEN s.last_value ELSE t.v END, "
            "last_z = CASE WHEN t.a IS NULL THEN s.last_z ELSE t.z END, "
            "points_count = s.points_count + t.c, changed_at = %s "
            "FROM unnest(%b::bigint[], %b::float8[], %b::float8[], %b::float8[], %b::bigint[]) "
            "AS t(id, a, v, z, c) WHERE s.id = t.id",
            [
                now,
                ids,
                [float(state[i][1]) if i in state else None for i in ids],
                [state[i][2] if i in state else None for i in ids],
                [state[i][3] if i in state else None for i in ids],
                [c[1] for c in counted],
            ],
        )


# --- elsewhere (SQLite): through the ORM -------------------------------------------------------


def _upsert_generic(rows: list[tuple[int, datetime, float]]) -> dict[int, int]:
    new: dict[int, int] = defaultdict(int)
    ids = {s for s, _a, _v in rows}
    moments = {a for _s, a, _v in rows}
    existing = set(
        Point.objects.filter(series_id__in=ids, at__in=moments).values_list("series_id", "at")
        if len(moments) < 900
        else Point.objects.filter(series_id__in=ids).values_list("series_id", "at")
    )
    for s, a, _v in rows:
        if (s, a) not in existing:
            new[s] += 1
    Point.objects.bulk_create(
        [Point(series_id=s, at=a, value=v) for s, a, v in rows],
        update_conflicts=True,
        unique_fields=["series", "at"],
        update_fields=["value"],
        batch_size=2000,
    )
    return new


def bucket_of(at: datetime) -> int:
    """The hour of the week (UTC) a moment falls in: Monday 00:00–00:59 is 0."""
    return at.weekday() * 24 + at.hour


def z_score(value: float, n: int, mean: float, var: float) -> float | None:
    """How far `value` lies from a bucket's usual level, in spreads; None while the
    bucket has seen fewer than MIN_SAMPLES values."""
    if n < MIN_SAMPLES:
        return None
    spread = max(math.sqrt(max(var, 0.0)), MIN_SPREAD * abs(mean), 1e-9)
    return (value - mean) / spread


def learn(value: float, n: int, mean: float, var: float) -> tuple[int, float, float]:
    """The bucket after seeing `value`: exponentially weighted mean and variance."""
    alpha = max(ALPHA, 1.0 / (n + 1))
    diff = value - mean
    step = alpha * diff
    return n + 1, mean + step, (1 - alpha) * (var + diff * step)


def _advance(rows: list[tuple[int, datetime, float]], new: dict[int, int], now: datetime) -> None:
    """Move each touched series' latest value, z-score and baselines forward with the
    points newer than its latest (older ones are history: stored, not learnt twice)."""
    by_series: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for s, a, v in rows:
        by_series[s].append((a, v))
    states = {
        pk: (last_at, last_value, last_z)
        for pk, last_at, last_value, last_z in Series.objects.filter(pk__in=by_series).values_list(
            "pk", "last_at", "last_value", "last_z"
        )
    }
    fresh: dict[int, list[tuple[datetime, float]]] = {}
    corrected: dict[int, float] = {}
    wanted: set[tuple[int, int]] = set()
    for s, values in by_series.items():
        last_at = states.get(s, (None, None, None))[0]
        later = sorted(p for p in values if last_at is None or p[0] > last_at)
        if later:
            fresh[s] = later
            wanted.update((s, bucket_of(a)) for a, _v in later)
        else:
            # A correction of the latest value: it is the latest value now. The baseline
            # keeps what it learnt (it is a smoothed level; one value moves it little).
            for a, v in values:
                if a == last_at:
                    corrected[s] = v
                    wanted.add((s, bucket_of(a)))
    counted = [(s, new.get(s, 0)) for s in by_series]
    buckets = _read_baselines(wanted)
    changed_buckets: dict[tuple[int, int], tuple[int, float, float]] = {}
    series_rows = []
    for s, later in fresh.items():
        z = None
        for at, value in later:
            key = (s, bucket_of(at))
            n, mean, var = changed_buckets.get(key) or buckets.get(key) or (0, 0.0, 0.0)
            z = z_score(value, n, mean, var)
            changed_buckets[key] = learn(value, n, mean, var)
        at, value = later[-1]
        series_rows.append((s, at, value, z))
    for s, value in corrected.items():
        at = states[s][0]
        n, mean, var = buckets.get((s, bucket_of(at))) or (0, 0.0, 0.0)
        series_rows.append((s, at, value, z_score(value, max(n - 1, 0), mean, var)))
    _write_state(series_rows, counted, changed_buckets, now)


def _write_state(series_rows, counted, buckets, now: datetime) -> None:
    Baseline.objects.bulk_create(
        [Baseline(series_id=s, bucket=k, n=n, mean=m, var=v) for (s, k), (n, m, v) in buckets.items()],
        update_conflicts=True,
        unique_fields=["series", "bucket"],
        update_fields=["n", "mean", "var"],
    )
    rows = {s: Series(pk=s, last_at=a, last_value=v, last_z=z) for s, a, v, z in series_rows}
    Series.objects.bulk_update(list(rows.values()), ["last_at", "last_value", "last_z"])
    counts = dict(Series.objects.filter(pk__in=[c[0] for c in counted]).values_list("pk", "points_count"))
    Series.objects.bulk_update(
        [Series(pk=s, points_count=counts.get(s, 0) + c, changed_at=now) for s, c in counted],
        ["points_count", "changed_at"],
    )


# --- posts ---------------------------------------------------------------------------------------


def _store_posts(posts: list[dict], now: datetime, result: Received) -> None:
    unique = {post["url"]: post for post in posts}  # the last of a URL sent twice wins
    known = set(Post.objects.filter(url__in=list(unique)).values_list("url", flat=True))
    Post.objects.bulk_create(
        [Post(**post, received_at=now) for post in unique.values()],
        update_conflicts=True,
        unique_fields=["url"],
        update_fields=[
            "brand",
            "platform",
            "author",
            "reach",
            "flag",
            "text",
            "language",
            "posted_at",
            "sentiment",
            "sentiment_score",
        ],
        batch_size=1000,
    )
    result.posts += len(unique)
    result.new_posts += len(set(unique) - known)
    brands = {post["brand_id"] for post in unique.values() if post["brand_id"]}
    result.brands.update(brands)
    if brands:
        Brand.objects.filter(pk__in=brands).update(posts_changed_at=now)


def _negative_shares(posts: list[dict]) -> list[tuple[int, datetime, float]]:
    """The negative share (%) of each brand's posts in each hour new posts fell in, as
    points of the brand's series computed from posts."""
    hours: dict[int, set[datetime]] = defaultdict(set)
    for post in posts:
        if post["brand_id"]:
            hours[post["brand_id"]].add(post["posted_at"].replace(minute=0, second=0, microsecond=0))
    if not hours:
        return []
    targets = defaultdict(list)
    for pk, brand_id in Series.objects.filter(brand_id__in=hours, from_posts=True, kind="negative_share").values_list(
        "pk", "brand_id"
    ):
        targets[brand_id].append(pk)
    points = []
    for brand_id, moments in hours.items():
        if not targets[brand_id]:
            continue
        for hour in sorted(moments):
            window = Post.objects.filter(brand_id=brand_id, posted_at__gte=hour, posted_at__lt=hour + HOUR)
            total = window.count()
            negative = window.filter(sentiment="negative").count()
            if total:
                share = round(100.0 * negative / total, 2)
                points.extend((pk, hour, share) for pk in targets[brand_id])
    return points
