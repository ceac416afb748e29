"""Closing an incident waits for its review, signed off on its current version."""

from __future__ import annotations

from django.utils.translation import gettext as _

from crisisflow.incidents.gates import gate
from crisisflow.incidents.models import Incident
from crisisflow.reviews.models import Review
from crisisflow.vocab import Role, State


@gate(State.CLOSED)
def review_signed_off(incident: Incident):
    from crisisflow.reviews.use_cases import missing_sign_offs

    review = Review.objects.filter(incident=incident).first()
    if review is None or review.version == 0:
        yield _("the review has not been written")
        return
    missing = missing_sign_offs(review)
    if missing:
        yield _("the review is not signed off by: %(roles)s") % {
            "roles": ", ".join(str(Role(r).label) for r in missing)
        }
