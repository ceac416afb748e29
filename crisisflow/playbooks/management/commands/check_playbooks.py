"""python manage.py check_playbooks [PATH ...] - list every error in the playbook files."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crisisflow.playbooks.schema import PlaybookError, check_files, expand_paths


def error_summary(errors: list[PlaybookError]) -> str:
    files = len({error.path for error in errors})
    return f"{len(errors)} error{'s' if len(errors) != 1 else ''} in {files} file{'s' if files != 1 else ''}"


class Command(BaseCommand):
    help = "Check playbook files (default: every *.yaml in the playbook folder) and list every error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", help="playbook files or folders of *.yaml files")

    def handle(self, *args: Any, paths: list[str], **options: Any) -> None:
        files = expand_paths(paths)
        if not files:
            raise CommandError("no playbook files found")
        definitions, errors = check_files(files)
        for error in errors:
            self.stdout.write(str(error))
        if errors:
            # CommandError makes manage.py exit with status 1; the summary goes to stderr.
            raise CommandError(error_summary(errors))
        count = len(definitions)
        self.stdout.write(self.style.SUCCESS(f"{count} playbook{'s' if count != 1 else ''} OK"))
