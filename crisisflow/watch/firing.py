"""A rule fires: open a reported incident, or add the evidence to the open incident of
the same brand and crisis type within the rule's dedup window, and tell the duty
commanders.

Safe with several workers evaluating at once:
1. the rule is claimed with a compare-and-set update of its last firing time (as it was
   read): of two workers firing one rule, one updates a row, the other none and stops;
2. the brand's row is locked before looking for an open incident, so two rules of one
   brand firing at the same moment queue up: the second finds the incident the first
   opened and adds to it. A unique index (one opening firing per incident) backs it up.

The evidence is frozen into the firing row: the series window as it was and the top
posts by reach, with the verdict; the incident's timeline gets one "early-warning
evidence" event written with the incident locked, like every use case.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from crisisflow.alerts import outbox, recipients
from crisisflow.alerts.ladder import Kind as AlertKind
from crisisflow.alerts.models import Notification
from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import lock_incident
from crisisflow.vocab import OPEN_STATES
from crisisflow.watch import incident_brands
from crisisflow.watch.accounts import service_account
from crisisflow.watch.models import Brand, Firing, Point, Post, Rule, Series
from crisisflow.watch.rules import explain

EVIDENCE = "watch_evidence"
# How much of a series goes into the frozen evidence.
WINDOW = timedelta(hours=24)
MAX_WINDOW_POINTS = 500
TOP_POSTS = 10


@describes(EVIDENCE, label=gettext_lazy("Early-warning evidence"))
def _evidence_event(event) -> str:
    data = event.data
    if data.get("opened"):
        text = _("Rule “%(rule)s” fired and opened this incident: %(why)s")
    else:
        text = _("Rule “%(rule)s” fired again; its evidence was added: %(why)s")
    return text % {"rule": data.get("rule", ""), "why": explain(data.get("verdict") or {})}


def fire(rule_id: int, verdict: dict, now: datetime) -> Firing | None:
    """Fire the rule (see the module's doc). None if another worker fired it first, or
    it is muted, snoozed or quiet after its last firing."""
    with transaction.atomic():
        rule = Rule.objects.select_related("brand", "series").filter(pk=rule_id).first()
        if rule is None or not _may_fire(rule, now):
            return None
        claimed = (
            Rule.objects.filter(pk=rule.pk, last_fired_at=rule.last_fired_at)
            if rule.last_fired_at
            else (Rule.objects.filter(pk=rule.pk, last_fired_at__isnull=True))
        )
        if not claimed.update(last_fired_at=now):
            return None  # another worker fired it a moment ago
        Brand.objects.select_for_update().get(pk=rule.brand_id)
        reporter = service_account()
        evidence = freeze(rule, verdict, now)
        open_one = (
            Firing.objects.filter(
                rule__brand_id=rule.brand_id,
                rule__crisis_type=rule.crisis_type,
                at__gte=now - timedelta(minutes=rule.dedup_minutes),
                incident__state__in=OPEN_STATES,
            )
            .order_by("-at")
            .values_list("incident_id", flat=True)
            .first()
        )
        if open_one is None:
            incident = _open_incident(reporter, rule, verdict, now)
        else:
            incident = Incident.objects.get(pk=open_one)
        firing = Firing.objects.create(
            rule=rule, incident=incident, at=now, opened=open_one is None, verdict=verdict, evidence=evidence
        )
        incident = lock_incident(reporter, incident.pk)
        record(
            incident,
            reporter,
            EVIDENCE,
            {
                "rule": rule.name,
                "rule_id": rule.pk,
                "firing": firing.pk,
                "opened": firing.opened,
                "verdict": verdict,
                "posts": len(evidence["posts"]),
                "points": sum(len(s["points"]) for s in evidence["series"]),
            },
            at=now,
        )
        incident_brands.brand_from_rule(reporter, incident, rule.brand, now)
        if firing.opened:
            tell_duty_commanders(incident, firing, now)
        return firing


def _may_fire(rule: Rule, now: datetime) -> bool:
    if not rule.active or rule.muted or (rule.snoozed_until is not None and rule.snoozed_until > now):
        return False
    return rule.last_fired_at is None or rule.last_fired_at <= now - timedelta(minutes=rule.cooldown_minutes)


def _open_incident(reporter, rule: Rule, verdict: dict, now: datetime) -> Incident:
    with override("en"):
        why = explain(verdict)
    with override("zh-hans"):
        why_zh = explain(verdict)
    return actions.report_incident(
        reporter,
        title=f"{rule.brand.name}: {rule.name}"[:200],
        summary=f"{why}\n{why_zh}" if why_zh != why else why,
        crisis_type=rule.crisis_type,
        severity=rule.severity,
        detected_at=now,
    )


def rule_series(rule: Rule) -> list[Series]:
    """The series a rule watches (a composite's parts' series)."""
    if rule.series_id:
        return [rule.series]
    if rule.kind == Rule.Kind.COMPOSITE:
        ids = rule.params.get("all") or rule.params.get("any") or []
        return list(Series.objects.filter(rules__pk__in=ids).distinct())
    return []


def freeze(rule: Rule, verdict: dict, now: datetime) -> dict:
    """The evidence as it is now: each watched series' last day of points and the
    brand's posts of the last day with the largest reach."""
    series = []
    for one in rule_series(rule):
        end = one.last_at or now
        points = list(
            Point.objects.filter(series=one, at__gt=end - WINDOW, at__lte=end)
            .order_by("-at")
            .values_list("at", "value")[:MAX_WINDOW_POINTS]
        )
        series.append(
            {
                "id": one.pk,
                "key": one.key,
                "name": str(one),
                "kind": one.kind,
                "points": [[at.isoformat(), value] for at, value in reversed(points)],
            }
        )
    posts = [
        {**post, "posted_at": post["posted_at"].isoformat()}
        for post in Post.objects.filter(brand_id=rule.brand_id, posted_at__gt=now - WINDOW, posted_at__lte=now)
        .order_by("-reach", "-posted_at")
        .values("url", "platform", "author", "reach", "flag", "sentiment", "text", "posted_at")[:TOP_POSTS]
    ]
    for post in posts:
        post["text"] = post["text"][:280]
    return {"series": series, "posts": posts, "verdict": verdict, "at": now.isoformat()}


def tell_duty_commanders(incident: Incident, firing: Firing, now: datetime) -> list[int]:
    """Notification rows to the incident's commander or, while it has none, the duty
    commanders (and the team webhooks), through the existing outbox and channels. They
    are written unqueued; the deadline sweep queues them within seconds."""
    people = recipients.stand_ins(incident)
    due_at = incident.triage_due_at or now
    rule = firing.rule
    # The figure that crossed, in both languages: the message is worded when it is sent,
    # in its reader's language.
    figure = {}
    for language, code in (("en", "en"), ("zh", "zh-hans")):
        with override(code):
            figure[language] = explain(firing.verdict)
    payload = outbox.payload_for(
        AlertKind.EARLY_WARNING,
        "early_warning",
        incident,
        due_at=due_at,
        early_warning={"rule": rule.name, "brand": rule.brand.name, "figure": figure, "firing": firing.pk},
    )
    rows = outbox.rows_for(
        source=f"watch:{firing.pk}",
        kind=AlertKind.EARLY_WARNING,
        rung="early_warning",
        incident=incident,
        people=people,
        payload=payload,
        now=now,
        due_at=due_at,
    )
    for row in rows:
        if row.state == Notification.State.PENDING:
            row.enqueued_at = None
    Notification.objects.bulk_create(rows)
    return [row.pk for row in rows]
