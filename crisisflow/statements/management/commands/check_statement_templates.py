"""python manage.py check_statement_templates [PATH ...] - list every error in the
statement template files (default: playbooks/statements/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crisisflow.playbooks.management.commands.check_playbooks import error_summary
from crisisflow.statements import message_templates


class Command(BaseCommand):
    help = "Check statement template files and list every error as path:line: field: message."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", help="template files or folders of *.yaml files")

    def handle(self, *args: Any, paths: list[str], **options: Any) -> None:
        files: list[Path] = []
        for arg in paths:
            path = Path(arg)
            files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
        if not paths:
            cwd = Path.cwd()
            files = [p.relative_to(cwd) if p.is_relative_to(cwd) else p for p in message_templates.default_paths()]
        if not files:
            raise CommandError("no statement template files found")
        templates, errors = message_templates.check_files(files)
        for error in errors:
            self.stdout.write(str(error))
        if errors:
            raise CommandError(error_summary(errors))
        self.stdout.write(self.style.SUCCESS(f"{len(templates)} statement template files OK"))
