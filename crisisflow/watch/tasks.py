"""The early-warning job, run by Celery beat (settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from crisisflow.watch.rules import evaluate_changed


@shared_task
def evaluate_rules() -> int:
    """Evaluate the rules whose data changed; safe to run on several workers at once."""
    return evaluate_changed()
