"""python manage.py load_playbooks [PATH ...] - load playbook files, all or nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crisisflow.playbooks.loader import LoadedPlaybook, Outcome, PlaybookCheckFailed, load_playbooks
from crisisflow.playbooks.management.commands.check_playbooks import error_summary
from crisisflow.playbooks.schema import expand_paths


def describe(loaded: LoadedPlaybook) -> str:
    what = {
        Outcome.CREATED: f"created v{loaded.number}",
        Outcome.UPDATED: f"updated to v{loaded.number}",
        Outcome.RESTORED: f"updated to v{loaded.number} (an earlier version, current again)",
        Outcome.UNCHANGED: f"unchanged (v{loaded.number})",
    }[loaded.outcome]
    return f"{loaded.key}: {what}  [{loaded.source_path}]"


class Command(BaseCommand):
    help = "Load playbook files (default: every *.yaml in the playbook folder) as new versions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", help="playbook files or folders of *.yaml files")

    def handle(self, *args: Any, paths: list[str], **options: Any) -> None:
        files = expand_paths(paths)
        if not files:
            raise CommandError("no playbook files found")
        try:
            report = load_playbooks(files)
        except PlaybookCheckFailed as failed:
            for error in failed.errors:
                self.stdout.write(str(error))
            raise CommandError(f"{error_summary(failed.errors)}; nothing was loaded") from None
        for loaded in report.playbooks:
            self.stdout.write(describe(loaded))
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(report.playbooks)} playbooks: {len(report.created)} created, "
                f"{len(report.updated)} updated, {len(report.unchanged)} unchanged"
            )
        )
