"""Rules: when a brand's signals say a crisis may be starting.

Each kind reads what ingestion keeps up to date, never the history:

- threshold: the series' latest value above or below a limit;
- rate: the change of the latest value against the value `window_minutes` earlier
  (one lookup in the (series, moment) index), at least `percent` (a fall if negative);
- spike: the latest value's z-score against the usual level for that hour of the week
  (kept per point by watch.ingest), at least `z`;
- composite: all (or any) of other rules of the same brand hold now;
- flag: a post about the brand within `window_minutes` from an official-media account,
  or from an account with at least `min_reach` followers (negative posts only, if asked).

`evaluate_changed` is the periodic job (Celery beat, see watch.tasks): it looks at the
rules whose data changed since it last looked, and fires those whose condition holds
(watch.firing, safe with several workers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.incidents.errors import Invalid
from crisisflow.watch.models import Point, Post, Rule, Series

log = logging.getLogger(__name__)
Kind = Rule.Kind
MAX_WINDOW_MINUTES = 366 * 24 * 60


@dataclass(frozen=True)
class Verdict:
    met: bool
    detail: dict[str, Any]


NOT_MET = Verdict(False, {})


# --- parameters ------------------------------------------------------------------------------


def _number(params: dict, name: str, *, minimum: float | None = None, required: bool = True) -> float | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(_("%(name)s: give a number.") % {"name": name}, field="params")
    if minimum is not None and value < minimum:
        raise Invalid(_("%(name)s: give at least %(min)s.") % {"name": name, "min": minimum}, field="params")
    return float(value)


def check_params(kind: str, params: Any, *, series: Series | None, brand_id: int | None = None) -> dict:
    """The parameters of a rule of `kind`, checked; Invalid naming what is wrong."""
    if kind not in Kind.values:
        raise Invalid(_("Unknown kind of rule."), field="kind")
    if not isinstance(params, dict):
        raise Invalid(_("Give the parameters as an object."), field="params")
    if kind in (Kind.THRESHOLD, Kind.RATE, Kind.SPIKE) and series is None:
        raise Invalid(_("This kind of rule watches a series; choose one."), field="series")
    if kind == Kind.THRESHOLD:
        if params.get("op") not in ("above", "below"):
            raise Invalid(_("op: give above or below."), field="params")
        return {"op": params["op"], "value": _number(params, "value")}
    if kind == Kind.RATE:
        percent = _number(params, "percent")
        if percent == 0:
            raise Invalid(_("percent: give a rise (above 0) or a fall (below 0)."), field="params")
        window = _number(params, "window_minutes", minimum=1)
        if window > MAX_WINDOW_MINUTES:
            raise Invalid(_("window_minutes: at most a year."), field="params")
        return {"percent": percent, "window_minutes": int(window)}
    if kind == Kind.SPIKE:
        z = _number(params, "z", minimum=0.5)
        return {"z": z}
    if kind == Kind.COMPOSITE:
        mode = "all" if "all" in params else "any"
        ids = params.get(mode)
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise Invalid(_("Give the rules to combine as a list of rule numbers under all or any."), field="params")
        found = Rule.objects.filter(pk__in=ids).exclude(kind=Kind.COMPOSITE)
        if brand_id is not None:
            found = found.filter(brand_id=brand_id)
        if found.count() != len(set(ids)):
            raise Invalid(_("Combine only simple rules of the same brand."), field="params")
        return {mode: sorted(set(ids))}
    # flag
    official = bool(params.get("official_media", False))
    reach = _number(params, "min_reach", minimum=0, required=False)
    if not official and reach is None:
        raise Invalid(_("Give official_media, min_reach or both."), field="params")
    window = _number(params, "window_minutes", minimum=1, required=False) or 60
    if window > MAX_WINDOW_MINUTES:
        raise Invalid(_("window_minutes: at most a year."), field="params")
    return {
        "official_media": official,
        "min_reach": int(reach) if reach is not None else None,
        "negative_only": bool(params.get("negative_only", False)),
        "window_minutes": int(window),
    }


# --- conditions ------------------------------------------------------------------------------


_UNKNOWN = object()


def values_before(rules: list[Rule]) -> dict[int, float | None]:
    """For rate rules: each one's series value `window_minutes` before its latest, all
    read with one query (one index lookup per rule) on PostgreSQL."""
    wanted = [
        (rule.pk, rule.series_id, rule.series.last_at - timedelta(minutes=rule.params["window_minutes"]))
        for rule in rules
        if rule.kind == Kind.RATE
        and rule.series is not None
        and rule.series.last_at is not None
        and isinstance(rule.params.get("window_minutes"), int)
    ]
    if not wanted or connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w.rid, (SELECT p.value FROM watch_point p WHERE p.series_id = w.sid AND p.at <= w.cut "
            "ORDER BY p.at DESC LIMIT 1) "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS w(rid, sid, cut)",
            [[w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted]],
        )
        return dict(cursor.fetchall())


def condition(rule: Rule, now: datetime, series: Series | None = None, before=_UNKNOWN) -> Verdict:
    """Whether the rule's condition holds now, with what it saw. `before`: a rate rule's
    earlier value when already read (values_before)."""
    series = series or rule.series
    params = rule.params
    kind = rule.kind
    if kind in (Kind.THRESHOLD, Kind.RATE, Kind.SPIKE):
        if series is None or series.last_value is None:
            return NOT_MET
        seen = {
            "series": series.pk,
            "series_name": str(series),
            "value": series.last_value,
            "at": series.last_at.isoformat(),
        }
        if kind == Kind.THRESHOLD:
            limit = params["value"]
            met = series.last_value > limit if params["op"] == "above" else series.last_value < limit
            return Verdict(met, {"kind": kind, "op": params["op"], "limit": limit, **seen})
        if kind == Kind.SPIKE:
            z = series.last_z
            return Verdict(z is not None and z >= params["z"], {"kind": kind, "z": z, "limit": params["z"], **seen})
        window = timedelta(minutes=params["window_minutes"])
        if before is _UNKNOWN:
            before = (
                Point.objects.filter(series=series, at__lte=series.last_at - window)
                .order_by("-at")
                .values_list("value", flat=True)
                .first()
            )
        if before is None:
            return NOT_MET
        if before == 0:
            change = float("inf") if series.last_value > 0 else (float("-inf") if series.last_value < 0 else 0.0)
        else:
            change = 100.0 * (series.last_value - before) / abs(before)
        percent = params["percent"]
        met = change >= percent if percent > 0 else change <= percent
        shown = change if abs(change) != float("inf") else (1e9 if change > 0 else -1e9)
        return Verdict(
            met,
            {
                "kind": kind,
                "before": before,
                "change": round(shown, 2),
                "limit": percent,
                "window_minutes": params["window_minutes"],
                **seen,
            },
        )
    if kind == Kind.COMPOSITE:
        mode = "all" if "all" in params else "any"
        parts = list(Rule.objects.filter(pk__in=params[mode], brand_id=rule.brand_id).select_related("series"))
        verdicts = [condition(part, now) for part in parts]
        held = [v.met for v in verdicts]
        met = bool(parts) and (all(held) if mode == "all" else any(held))
        return Verdict(
            met,
            {
                "kind": kind,
                "mode": mode,
                "parts": [v.detail for v in verdicts if v.met],
                "names": [p.name for p in parts],
            },
        )
    if kind == Kind.FLAG:
        since = now - timedelta(minutes=params.get("window_minutes") or 60)
        posts = Post.objects.filter(brand_id=rule.brand_id, posted_at__gte=since, posted_at__lte=now)
        which = Q()
        if params.get("official_media"):
            which |= Q(flag=Post.Flag.OFFICIAL_MEDIA)
        if params.get("min_reach") is not None:
            which |= Q(reach__gte=params["min_reach"])
        posts = posts.filter(which)
        if params.get("negative_only"):
            posts = posts.filter(sentiment="negative")
        post = posts.order_by("-reach", "-posted_at").values("url", "author", "reach", "flag", "platform").first()
        if post is None:
            return NOT_MET
        return Verdict(True, {"kind": kind, "post": post, "min_reach": params.get("min_reach")})
    return NOT_MET


def explain(detail: dict) -> str:
    """A verdict in the reader's words."""
    kind = detail.get("kind")
    name = detail.get("series_name", "")
    if kind == Kind.THRESHOLD:
        text = (
            _("%(series)s is %(value)s, above %(limit)s")
            if detail.get("op") == "above"
            else _("%(series)s is %(value)s, below %(limit)s")
        )
        return text % {"series": name, "value": _fmt(detail.get("value")), "limit": _fmt(detail.get("limit"))}
    if kind == Kind.RATE:
        return _("%(series)s changed by %(change)s %% within %(minutes)d minutes (limit %(limit)s %%)") % {
            "series": name,
            "change": _fmt(detail.get("change")),
            "minutes": int(detail.get("window_minutes") or 0),
            "limit": _fmt(detail.get("limit")),
        }
    if kind == Kind.SPIKE:
        return _("%(series)s is %(value)s, %(z)s spreads above its usual level for this hour of the week") % {
            "series": name,
            "value": _fmt(detail.get("value")),
            "z": _fmt(detail.get("z")),
        }
    if kind == Kind.COMPOSITE:
        return "; ".join(explain(part) for part in detail.get("parts") or []) or _("all combined rules hold")
    if kind == Kind.FLAG:
        post = detail.get("post") or {}
        if post.get("flag") == Post.Flag.OFFICIAL_MEDIA:
            return _("Official media account %(author)s posted (%(reach)s followers)") % {
                "author": post.get("author") or "?",
                "reach": f"{post.get('reach', 0):,}",
            }
        return _("%(author)s, with %(reach)s followers, posted") % {
            "author": post.get("author") or "?",
            "reach": f"{post.get('reach', 0):,}",
        }
    return ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


# --- the job --------------------------------------------------------------------------------


def quiet(rule: Rule, now: datetime) -> bool:
    """Muted, snoozed or switched off: its condition is not even looked at."""
    return not rule.active or rule.muted or (rule.snoozed_until is not None and rule.snoozed_until > now)


def rules_to_check(now: datetime, *, series_ids=None, brand_ids=None) -> list[Rule]:
    """The rules whose data changed since they were last checked (or those watching the
    given series and brands), composites of those too."""
    live = Rule.objects.filter(active=True, muted=False).filter(
        Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)
    )
    if series_ids is None and brand_ids is None:
        changed = Q(series__changed_at__isnull=False) & (
            Q(checked_at__isnull=True) | Q(series__changed_at__gt=F("checked_at"))
        )
        posts = Q(kind__in=[Kind.FLAG, Kind.COMPOSITE], brand__posts_changed_at__isnull=False) & (
            Q(checked_at__isnull=True) | Q(brand__posts_changed_at__gt=F("checked_at"))
        )
        simple = list(live.filter(changed | posts).select_related("series"))
    else:
        simple = list(
            live.filter(
                Q(series_id__in=series_ids or []) | Q(kind=Kind.FLAG, brand_id__in=brand_ids or [])
            ).select_related("series")
        )
    brands = {rule.brand_id for rule in simple}
    seen = {rule.pk for rule in simple}
    composites = [rule for rule in live.filter(kind=Kind.COMPOSITE, brand_id__in=brands) if rule.pk not in seen]
    return simple + composites


def evaluate(rules: list[Rule], now: datetime | None = None, *, fresh: bool = False) -> list:
    """Check each rule and fire the ones that hold. One broken rule is logged and
    skipped; it cannot stop the others. Returns the firings. `fresh`: the rules (and
    their series) were just read, as rules_to_check does; otherwise they are read again."""
    from crisisflow.watch.firing import fire

    now = now or clock.now()
    fired = []
    # As they are now (a caller's copies may be stale).
    if not fresh:
        rules = list(Rule.objects.filter(pk__in=[rule.pk for rule in rules]).select_related("series"))
    earlier = values_before(rules)
    for rule in rules:
        try:
            verdict = condition(rule, now, before=earlier.get(rule.pk, _UNKNOWN))
            if verdict.met and not quiet(rule, now) and _cooled(rule, now):
                firing = fire(rule.pk, verdict.detail, now)
                if firing is not None:
                    fired.append(firing)
        except Exception:
            log.exception("early warning: rule %s could not be evaluated", rule.pk)
    if rules:
        Rule.objects.filter(pk__in=[rule.pk for rule in rules]).update(checked_at=now)
    return fired


def _cooled(rule: Rule, now: datetime) -> bool:
    return rule.last_fired_at is None or rule.last_fired_at <= now - timedelta(minutes=rule.cooldown_minutes)


def evaluate_changed(now: datetime | None = None) -> int:
    """The periodic job: evaluate every rule whose data changed; how many fired."""
    now = now or clock.now()
    return len(evaluate(rules_to_check(now), now, fresh=True))
