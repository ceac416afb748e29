"""The incident room's "brand or product" card, as one tag the room's template includes."""

from __future__ import annotations

from django import template

from crisisflow.incidents import permissions
from crisisflow.watch import incident_brands

register = template.Library()


@register.inclusion_tag("watch/_incident_brand.html", takes_context=True)
def incident_brand(context, incident):
    """One query for a reader; one more (the brands) for the commander's form."""
    from crisisflow.watch.brand_views import IncidentBrandForm

    user = context["user"]
    link = incident_brands.brand_of(incident)
    refusal = context.get("refusal")
    form = None
    if permissions.commands(user, incident):
        form = context.get("brand_form") or IncidentBrandForm(
            initial={"brand": link.brand.key if link and link.brand else "", "version": link.version if link else 0}
        )
    return {
        "incident": incident,
        "brand": link.brand if link else None,
        "form": form,
        "refusal": refusal if refusal is not None and getattr(refusal, "form_key", "") == "brand" else None,
    }
