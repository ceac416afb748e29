"""Setting up early warning: brands and products, data sources (and their signing
secrets), series and rules. The setup pages call these; so may commands and the admin.

Who: duty commanders (the commander roster) and staff — the people who answer for what
a rule opens. Analysts feed data in and quiet rules (watch.actions), but do not decide
what opens an incident.

A key (brand, source, series) is what providers send; it is fixed once made, so a
rename never breaks a provider's feed. A source's secret is made here, shown once, and
replaced (rotated) rather than edited: the old one stops working at once.

Every change is saved with the version bumped and who made it and when; a change made
on a form opened at an older version (expected_version) is refused, naming the person
who saved in between, so neither side is silently lost.
"""

from __future__ import annotations

import secrets

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.incidents import permissions
from crisisflow.incidents.errors import Conflict, Invalid, NotFound
from crisisflow.incidents.inputs import check_crisis_type
from crisisflow.incidents.models import Incident
from crisisflow.incidents.unit import person_name
from crisisflow.vocab import Severity
from crisisflow.watch import kinds
from crisisflow.watch.models import Brand, Rule, Series, Source
from crisisflow.watch.rules import check_params

# Longest dedup window and quiet period a rule may have (minutes): thirty days.
MAX_RULE_MINUTES = 30 * 24 * 60


def may_configure(user) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_staff or permissions.is_duty_commander(user)


def _require(actor) -> None:
    permissions.require(may_configure(actor), _("Only duty commanders can set up early warning."))


def _checked(obj, *, exclude: list[str]) -> None:
    """The model's own checks (lengths, slugs, unique keys), the first failure as Invalid."""
    try:
        obj.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as err:
        name, messages = next(iter(err.message_dict.items()))
        raise Invalid(messages[0], field=None if name == NON_FIELD_ERRORS else name) from None


def _locked(model, pk, message):
    found = model.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound(message)
    return found


def _edited(model, pk, message, expected_version: int | None):
    """The row locked for this transaction, if it is still at `expected_version` (when
    given): the version of the form the person opened."""
    found = model.objects.select_for_update(of=("self",)).select_related("edited_by").filter(pk=pk).first()
    if found is None:
        raise NotFound(message)
    if expected_version is not None and found.version != expected_version:
        raise _stale(found)
    return found


def _stale(found: Brand | Source | Series) -> Conflict:
    """The refusal of a save made on a form older than `found`: who saved in between, when."""
    if found.edited_at is None:  # not saved since versions began: the version sent is made up
        if isinstance(found, Brand):
            return Conflict(_("Someone else changed this brand or product; reload the page and try again."))
        if isinstance(found, Source):
            return Conflict(_("Someone else changed this data source; reload the page and try again."))
        return Conflict(_("Someone else changed this series; reload the page and try again."))
    local = timezone.localtime(found.edited_at)
    names = {
        "who": person_name(found.edited_by) or _("someone else"),
        "when": f"{local:%Y-%m-%d %H:%M} {timezone.get_current_timezone_name()}",
    }
    if isinstance(found, Brand):
        text = _(
            "This brand or product was changed by %(who)s at %(when)s, after you opened it; "
            "reload the page and try again."
        )
    elif isinstance(found, Source):
        text = _(
            "This data source was changed by %(who)s at %(when)s, after you opened it; reload the page and try again."
        )
    else:
        text = _("This series was changed by %(who)s at %(when)s, after you opened it; reload the page and try again.")
    return Conflict(text % names)


def _stamp(obj, actor) -> list[str]:
    """A save by `actor` now: the version bumped (a new row starts at 1). The fields it
    set, for update_fields."""
    if obj.pk is not None:
        obj.version += 1
    obj.edited_by = actor if getattr(actor, "pk", None) else None
    obj.edited_at = clock.now()
    return ["version", "edited_by", "edited_at"]


def _keep_key(obj, key: str) -> None:
    if obj.pk is None:
        obj.key = (key or "").strip()
    elif key and key.strip() != obj.key:
        raise Invalid(_("The key cannot change once made: providers send it."), field="key")


# --- brands and products ------------------------------------------------------------------------


@transaction.atomic
def save_brand(
    actor, brand: Brand | int | None, *, key: str = "", name: str, kind: str, expected_version: int | None = None
) -> Brand:
    """Make a brand or product (brand None) or change its name and kind; a change made by
    someone else since the form was read is refused (expected_version)."""
    _require(actor)
    if brand is None:
        brand = Brand()
    else:
        pk = getattr(brand, "pk", brand)
        brand = _edited(Brand, pk, _("No such brand or product."), expected_version)
    _keep_key(brand, key)
    brand.name, brand.kind = name, kind
    _checked(brand, exclude=["posts_changed_at", "edited_by"])
    stamped = _stamp(brand, actor)
    if brand.pk is None:
        brand.save()
    else:
        # Only what the form sets: ingestion moves posts_changed_at on its own.
        brand.save(update_fields=["name", "kind", *stamped])
    return brand


# --- data sources ---------------------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def create_source(actor, *, key: str, name: str) -> tuple[Source, str]:
    """A data source with a fresh secret; the secret is returned to be shown once."""
    _require(actor)
    secret = new_secret()
    source = Source(key=(key or "").strip(), name=name, secret=secret, active=True)
    _checked(source, exclude=["last_batch_at", "edited_by"])
    _stamp(source, actor)
    source.save()
    return source, secret


@transaction.atomic
def save_source(actor, source: Source | int, *, name: str, active: bool, expected_version: int | None = None) -> Source:
    """Rename a source, or switch it off (its batches are refused) and on; a change made
    by someone else since the form was read is refused (expected_version)."""
    _require(actor)
    source = _edited(Source, getattr(source, "pk", source), _("No such data source."), expected_version)
    source.name, source.active = name, bool(active)
    _checked(source, exclude=["last_batch_at", "edited_by"])
    source.save(update_fields=["name", "active", *_stamp(source, actor)])
    return source


@transaction.atomic
def rotate_secret(actor, source: Source | int, *, expected_version: int | None = None) -> tuple[Source, str]:
    """A new secret for a source (returned to be shown once); the old one stops working.
    Refused if someone else changed the source since the page was read (expected_version):
    two people replacing it at once would each be shown a secret, one of them already dead."""
    _require(actor)
    source = _edited(Source, getattr(source, "pk", source), _("No such data source."), expected_version)
    source.secret = new_secret()
    source.save(update_fields=["secret", *_stamp(source, actor)])
    return source, source.secret


# --- series -----------------------------------------------------------------------------------------


@transaction.atomic
def save_series(
    actor,
    series: Series | int | None,
    *,
    key: str = "",
    name: str = "",
    kind: str,
    platform: str = "",
    scope: str,
    brand: Brand | None = None,
    incident: Incident | None = None,
    from_posts: bool = False,
    expected_version: int | None = None,
) -> Series:
    """Make a series (series None) or change what it measures and whose it is. Its
    points and running state stay; a change made by someone else since the form was read
    is refused (expected_version)."""
    _require(actor)
    if series is None:
        one = Series()
    else:
        one = _edited(Series, getattr(series, "pk", series), _("No such series."), expected_version)
    _keep_key(one, key)
    if kind not in kinds.all_kinds():
        raise Invalid(_("Choose a kind of series."), field="kind")
    if platform and platform not in kinds.PLATFORMS:
        raise Invalid(_("Choose a platform or none."), field="platform")
    if scope not in Series.Scope.values:
        raise Invalid(_("Choose whose series it is."), field="scope")
    if scope == Series.Scope.BRAND and brand is None:
        raise Invalid(_("Choose the brand or product this series is about."), field="brand")
    if scope == Series.Scope.INCIDENT:
        if incident is None:
            raise Invalid(_("Give the incident this series is about."), field="incident")
        permissions.require_view(actor, incident)
    if from_posts and (kind != "negative_share" or scope != Series.Scope.BRAND):
        raise Invalid(
            _("Only a brand's negative share can be computed from its posts."),
            field="from_posts",
        )
    one.name, one.kind, one.platform, one.scope, one.from_posts = name, kind, platform, scope, bool(from_posts)
    one.brand = brand if scope != Series.Scope.ORGANISATION else None
    one.incident = incident if scope == Series.Scope.INCIDENT else None
    running = ["last_at", "last_value", "last_z", "points_count", "changed_at"]
    _checked(one, exclude=[*running, "brand", "incident", "edited_by"])
    if one.pk is not None and one.rules.exclude(brand=one.brand_id).exists() and one.brand_id is not None:
        raise Invalid(_("Rules of another brand watch this series; change them first."), field="brand")
    stamped = _stamp(one, actor)
    if one.pk is None:
        one.save()
    else:
        # Only what the form sets: the running state is ingestion's.
        one.save(update_fields=["name", "kind", "platform", "scope", "from_posts", "brand", "incident", *stamped])
    return one


# --- rules ----------------------------------------------------------------------------------------


def _minutes(value, field: str, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(_("Give whole minutes."), field=field)
    if not least <= value <= MAX_RULE_MINUTES:
        limits = {"least": least, "most": MAX_RULE_MINUTES}
        raise Invalid(_("Give %(least)d to %(most)d minutes.") % limits, field=field)
    return value


@transaction.atomic
def save_rule(
    actor,
    rule: Rule | int | None,
    *,
    name: str,
    brand: Brand,
    kind: str,
    series: Series | None,
    params: dict,
    severity: str,
    crisis_type: str,
    dedup_minutes: int,
    cooldown_minutes: int,
    active: bool = True,
    expected_version: int | None = None,
) -> Rule:
    """Make a rule (rule None) or change it. Its firings and quieting stay; a change made
    by someone else since the form was read is refused (expected_version)."""
    _require(actor)
    if rule is None:
        one = Rule(created_by=actor)
    else:
        one = _locked(Rule, getattr(rule, "pk", rule), _("No such rule."))
        if expected_version is not None and one.version != expected_version:
            raise Conflict(_("Someone else changed this rule; reload the page and try again."))
    if brand is None:
        raise Invalid(_("Choose the brand or product the rule watches."), field="brand")
    if kind in (Rule.Kind.COMPOSITE, Rule.Kind.FLAG):
        series = None  # they read other rules, or posts
    elif series is not None and (series.incident_id is not None or series.brand_id not in (None, brand.pk)):
        raise Invalid(_("Choose a series of this brand or of the organisation."), field="series")
    params = check_params(kind, params, series=series, brand_id=brand.pk)
    if kind == Rule.Kind.COMPOSITE and one.pk is not None:
        ids = params.get("all") or params.get("any") or []
        if one.pk in ids:
            raise Invalid(_("A rule cannot combine itself."), field="params")
    if severity not in Severity.values:
        raise Invalid(_("Choose a severity."), field="severity")
    one.crisis_type = check_crisis_type(crisis_type)
    one.name, one.brand, one.kind, one.series, one.params = name, brand, kind, series, params
    one.severity, one.active = severity, bool(active)
    one.dedup_minutes = _minutes(dedup_minutes, "dedup_minutes", least=1)
    one.cooldown_minutes = _minutes(cooldown_minutes, "cooldown_minutes", least=0)
    if one.pk is not None:
        one.version += 1
    one.checked_at = None  # changed: the rule job looks at it afresh
    _checked(
        one,
        exclude=[
            "brand",
            "series",
            "params",
            "quieted_by",
            "created_by",
            "snoozed_until",
            "last_fired_at",
            "checked_at",
            "quiet_reason",
        ],
    )
    one.save()
    return one
