from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from crisisflow.alerts.sweep import sweep
from crisisflow.alerts.tasks import enqueue
from crisisflow.conf import setting


class Command(BaseCommand):
    help = (
        "Fire due reminders, escalations and golden-clock warnings, and queue their delivery. "
        "The Celery beat schedule runs the same sweep every few seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one sweep, then exit")

    def handle(self, *args, once: bool, **options):
        while True:
            report = sweep()
            for line in report.fired:
                self.stdout.write(f"fired {line}")
            for error in report.errors:
                self.stderr.write(f"error {error}")
            enqueue(report.notifications + report.redriven)
            self.stdout.write(str(report))
            if once:
                return
            time.sleep(setting("SWEEP_SECONDS"))
