"""Celery tasks of the evidence app."""

from __future__ import annotations

from celery import shared_task

from crisisflow.evidence.cleanup import remove_orphan_files


@shared_task(name="crisisflow.evidence.tasks.remove_orphans", ignore_result=True)
def remove_orphans() -> int:
    """Beat runs this hourly; see cleanup.remove_orphan_files."""
    return len(remove_orphan_files())
