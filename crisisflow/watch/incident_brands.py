"""Which brand or product an incident is about (one per incident): set when a rule of
the brand opens or adds to the incident, changed by the incident's commander, read by
the analytics to filter by brand.

`set_incident_brand` is the one use case (the room's form and the API call it); the rest
are the public reads other apps use instead of the model."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.incidents import permissions
from crisisflow.incidents.errors import Conflict, Forbidden, Invalid
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import describes, record
from crisisflow.incidents.unit import lock_incident, person_name
from crisisflow.watch.models import Brand, IncidentBrand

BRAND_SET = "incident_brand_set"


# --- reading ----------------------------------------------------------------------------------


def brand_of(incident: Incident | int) -> IncidentBrand | None:
    """The incident's link to its brand (its `brand` None once cleared), or None."""
    pk = incident.pk if isinstance(incident, Incident) else incident
    return IncidentBrand.objects.select_related("brand", "set_by").filter(incident_id=pk).first()


def brands() -> list[Brand]:
    """Every brand and product, by name (the choices of a form or filter)."""
    return list(Brand.objects.order_by("name", "key"))


def incident_ids_of_brand(key: str) -> QuerySet:
    """The ids of the incidents about the brand `key`, as a subquery (`pk__in=…`)."""
    return IncidentBrand.objects.filter(brand__key=key).order_by().values("incident_id")


def brand_names(incident_ids: QuerySet) -> dict[int, str]:
    """incident id → the key of its brand, for the incidents of a subquery. One query."""
    return dict(
        IncidentBrand.objects.filter(incident_id__in=incident_ids, brand__isnull=False).values_list(
            "incident_id", "brand__key"
        )
    )


# --- changing ---------------------------------------------------------------------------------


def _brand(value) -> Brand | None:
    if value is None or value == "":
        return None
    if isinstance(value, Brand):
        return value
    found = Brand.objects.filter(key=value).first() if isinstance(value, str) else None
    if found is None:
        raise Invalid(_("No brand or product “%(key)s”.") % {"key": str(value)[:60]}, field="brand")
    return found


def _write(incident: Incident, actor, link: IncidentBrand | None, brand: Brand | None, now: datetime, *, by_rule=False):
    before = link.brand if link is not None else None
    if link is None:
        link = IncidentBrand(incident=incident)
    link.brand = brand
    link.set_by = actor
    link.set_at = now
    link.version += 1
    link.save()
    record(
        incident,
        actor,
        BRAND_SET,
        {
            "brand": brand.key if brand else None,
            "name": brand.name if brand else None,
            "before": before.name if before else None,
            "by_rule": by_rule,
        },
        at=now,
    )
    return link


@transaction.atomic
def set_incident_brand(actor, incident: Incident | int, brand, *, expected_version: int | None) -> IncidentBrand | None:
    """Say which brand or product the incident is about (None: none). The commander
    only; `expected_version` is the link's version the person saw (0 before any)."""
    incident = lock_incident(actor, incident)
    if not permissions.commands(actor, incident):
        raise Forbidden(_("Only the incident commander can say which brand an incident is about."))
    wanted = _brand(brand)
    link = (
        IncidentBrand.objects.select_for_update(of=("self",))
        .select_related("brand", "set_by")
        .filter(incident=incident)
        .first()
    )
    current = link.version if link is not None else 0
    if expected_version is not None and expected_version != current:
        who = person_name(link.set_by) if link is not None else ""
        if who:
            raise Conflict(
                _("The brand of this incident was changed by %(who)s; reload the page and try again.") % {"who": who}
            )
        raise Conflict(_("Someone else changed the brand of this incident; reload the page and try again."))
    if link is not None and link.brand_id == (wanted.pk if wanted else None):
        return link  # nothing changes: no event
    if link is None and wanted is None:
        return None
    return _write(incident, actor, link, wanted, clock.now())


def brand_from_rule(actor, incident: Incident, brand: Brand, now: datetime) -> IncidentBrand | None:
    """A rule of `brand` opened the incident or added to it: the incident is about that
    brand, unless it already has one (the commander's choice stands). Called with the
    incident locked, in the firing's transaction."""
    link = IncidentBrand.objects.select_for_update().filter(incident=incident).first()
    if link is not None:
        return None
    return _write(incident, actor, None, brand, now, by_rule=True)


@describes(BRAND_SET, label=gettext_lazy("Brand or product"))
def _brand_set(event: Event) -> str:
    data = event.data
    if not data.get("name"):
        return _("No longer about a brand or product (was %(before)s)") % {"before": data.get("before") or "—"}
    if data.get("by_rule"):
        return _("About %(name)s (from the early-warning rule that fired)") % {"name": data["name"]}
    if data.get("before"):
        return _("About %(name)s (was %(before)s)") % {"name": data["name"], "before": data["before"]}
    return _("About %(name)s") % {"name": data["name"]}
