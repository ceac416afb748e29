"""The review opens when the incident enters review, in the same transaction as the step."""

from __future__ import annotations

from django_fsm.signals import post_transition

from crisisflow.incidents.models import Incident
from crisisflow.vocab import State


def on_transition(sender, instance, name, source, target, **kwargs) -> None:
    if target == State.IN_REVIEW and instance.pk is not None:
        from crisisflow import clock
        from crisisflow.reviews.use_cases import open_review

        open_review(instance, clock.now())


def connect() -> None:
    post_transition.connect(on_transition, sender=Incident, dispatch_uid="reviews.open_on_review")
