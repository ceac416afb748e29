"""The shared vocabulary of CrisisFlow.

Roles, stages, states, severities, crisis types, anchors, deliverables and incident
facts are used by the playbook files, the validator, the incident engine and the UI.
They live here, in one place, so a playbook and the engine can never disagree on a word.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Role(models.TextChoices):
    COMMANDER = "commander", _("Commander")
    PR = "pr", _("PR")
    LEGAL = "legal", _("Legal")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    BRAND_MARKETING = "brand_marketing", _("Brand marketing")
    ANALYST = "analyst", _("Public-opinion analyst")
    TECH_SECURITY = "tech_security", _("Tech / security")
    EXECUTIVE = "executive", _("Executive sponsor")
    OBSERVER = "observer", _("Observer")


class Severity(models.TextChoices):
    # Ordered from least to most severe; see SEVERITY_RANK.
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}


def severity_at_least(severity: str | None, floor: str) -> bool:
    if not severity:
        return False
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[floor]


class State(models.TextChoices):
    REPORTED = "reported", _("Reported")
    CONFIRMED = "confirmed", _("Confirmed")
    PLAN_ACTIVATED = "plan_activated", _("Plan activated")
    TEAM_ASSEMBLED = "team_assembled", _("Team assembled")
    INFO_PUBLISHED = "info_published", _("Information published")
    REMEDIATING = "remediating", _("Remediating")
    IN_REVIEW = "in_review", _("In review")
    CLOSED = "closed", _("Closed")
    DISMISSED = "dismissed", _("Dismissed")


OPEN_STATES = frozenset(s.value for s in State) - {State.CLOSED, State.DISMISSED}


class Stage(models.TextChoices):
    """The six stages of the response (DOMAIN.md, "The lifecycle")."""

    CONFIRM = "confirm", pgettext_lazy("stage", "Confirm the crisis")
    ACTIVATE = "activate", pgettext_lazy("stage", "Activate the plan")
    ASSEMBLE = "assemble", pgettext_lazy("stage", "Assemble the team")
    PUBLISH = "publish", pgettext_lazy("stage", "Publish information")
    REMEDIATE = "remediate", pgettext_lazy("stage", "Remediate")
    REVIEW = "review", pgettext_lazy("stage", "Review")


# The state an incident is in while a stage's work is being done.
STAGE_OF_STATE = {
    State.REPORTED: Stage.CONFIRM,
    State.CONFIRMED: Stage.ACTIVATE,
    State.PLAN_ACTIVATED: Stage.ASSEMBLE,
    State.TEAM_ASSEMBLED: Stage.PUBLISH,
    State.INFO_PUBLISHED: Stage.REMEDIATE,
    State.REMEDIATING: Stage.REMEDIATE,
    State.IN_REVIEW: Stage.REVIEW,
    State.CLOSED: Stage.REVIEW,
    State.DISMISSED: Stage.CONFIRM,
}

# States a playbook task may gate (it blocks the transition *into* that state).
GATEABLE_STATES = (
    State.CONFIRMED,
    State.PLAN_ACTIVATED,
    State.TEAM_ASSEMBLED,
    State.INFO_PUBLISHED,
    State.REMEDIATING,
    State.IN_REVIEW,
    State.CLOSED,
)


class CrisisType(models.TextChoices):
    """Built-in crisis types (DOMAIN.md). Playbooks may define more."""

    DATA_BREACH = "data_breach", _("Data breach / privacy")
    SERVICE_OUTAGE = "service_outage", _("Service outage / technical fault")
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    PRODUCT_SAFETY = "product_safety", _("Product safety accident")
    COUNTERFEIT = "counterfeit", _("Counterfeit goods")
    SERVICE_QUALITY = "service_quality", _("Service quality")
    SUPPLY_CHAIN = "supply_chain", _("Supply chain")
    CYBER_ATTACK = "cyber_attack", _("Cyber attack / fraud")
    USER_MISUNDERSTANDING = "user_misunderstanding", _("User misunderstanding")
    NEGATIVE_OPINION = "negative_opinion", _("Negative opinion / malicious attack")
    REGULATORY_CHANGE = "regulatory_change", _("Regulatory change")
    PARTNER_EVENT = "partner_event", _("Partner / associated event")


class Anchor(models.TextChoices):
    """What a task's due time is counted from. `task:<key>` is also allowed."""

    DETECTED = "detected", _("detection (outbreak)")
    CONFIRMED = "confirmed", _("confirmation")
    PLAN_ACTIVATED = "plan_activated", _("plan activation")
    TEAM_ASSEMBLED = "team_assembled", _("team assembly")
    FIRST_STATEMENT = "first_statement", _("first public statement")


TASK_ANCHOR_PREFIX = "task:"


class Deliverable(models.TextChoices):
    NONE = "none", _("No deliverable")
    HOLDING_STATEMENT = "holding_statement", _("First public (holding) statement")
    PUBLIC_STATEMENT = "public_statement", _("Public statement")
    INTERNAL_NOTICE = "internal_notice", _("Internal notice")
    CS_SCRIPT = "cs_script", _("Customer-service script")
    REGULATOR_NOTICE = "regulator_notice", _("Regulator notice")
    USER_NOTIFICATION = "user_notification", _("Notice to affected users")
    COMPENSATION_PLAN = "compensation_plan", _("Compensation plan")
    APOLOGY_LETTER = "apology_letter", _("Executive apology letter")
    MEDIA_BRIEFING = "media_briefing", _("Media briefing")
    OPINION_REPORT = "opinion_report", _("Public-opinion report")
    ROOT_CAUSE_REPORT = "root_cause_report", _("Root-cause report")
    TRANSPARENCY_REPORT = "transparency_report", _("Transparency report")
    REVIEW_REPORT = "review_report", _("Post-mortem review")


@dataclass(frozen=True)
class Fact:
    """An incident fact a playbook condition may test."""

    name: str
    kind: type  # int or bool
    label: str


# Incident facts that playbook conditions may refer to. Each maps to an Incident field
# of the same name.
FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        Fact("affected_users", int, "estimated number of affected users"),
        Fact("personal_data", bool, "personal data is involved"),
        Fact("injuries", bool, "people were injured"),
        Fact("financial_loss", bool, "users suffered financial loss"),
        Fact("regulator_involved", bool, "a regulator is involved or must be notified"),
        Fact("media_coverage", bool, "mainstream media are covering it"),
    )
}

NUMBER_COMPARISONS = ("gt", "gte", "lt", "lte", "eq")

# The golden 4 hours: a plan serving high or critical severity must have its first
# public statement due no later than this after detection (DOMAIN.md).
GOLDEN_CLOCK_SECONDS = 4 * 3600
