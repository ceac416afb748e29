"""Lint a statement file: one finding per line, `line:col: level: code: message`.

    python manage.py lint_statement [--lang zh-hans|en] [--kind KIND] [--incident REF] FILE

Exit status: 0 when nothing is an error, 1 when a finding is an error, 2 when the
command could not lint at all (unreadable file, unknown kind or incident, a broken word
list). FILE "-" reads standard input. Without --lang the language is guessed from the
text (any Chinese character: zh-hans)."""

from __future__ import annotations

import re
import sys

from django.core.management.base import BaseCommand, CommandError

from crisisflow.statements.facts import fact_refs
from crisisflow.statements.kinds import KINDS, LANGUAGES
from crisisflow.statements.lint import LintDataError, has_errors, line_col, lint
from crisisflow.statements.lint.data import load
from crisisflow.statements.lint.rules import extra_dirs

CJK = re.compile(r"[\u3400-\u9fff]")


class Command(BaseCommand):
    help = "Lint a public statement the way a crisis-PR reviewer would (exit 1 on errors)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the statement's text file (UTF-8); - for standard input")
        parser.add_argument("--lang", choices=LANGUAGES, help="the text's language (guessed when left out)")
        parser.add_argument("--kind", help=f"the kind of statement: {', '.join(KINDS)}")
        parser.add_argument(
            "--incident", metavar="REF", help="check figures and dates against this incident's fact sheet"
        )

    def handle(self, *args, file, lang, kind, incident, **options):
        if kind is not None and kind not in KINDS:
            raise CommandError(f"--kind: unknown kind {kind!r}; known: {', '.join(KINDS)}", returncode=2)
        text = self.read(file)
        facts = None
        if incident is not None:
            from crisisflow.incidents.models import Incident

            found = Incident.objects.filter(reference=incident).first()
            if found is None:
                raise CommandError(f"--incident: no incident {incident!r}", returncode=2)
            facts = fact_refs(found)
        language = lang or ("zh-hans" if CJK.search(text) else "en")
        try:
            load(extra_dirs())  # the server falls back to the built-in lists; here it is an error
            findings = lint(text, language=language, kind=kind, facts=facts)
        except LintDataError as exc:
            raise CommandError(f"the linter's word lists are wrong:\n{exc}", returncode=2) from None
        for finding in findings:
            line, col = line_col(text, finding.start)
            self.stdout.write(f"{line}:{col}: {finding.level}: {finding.code}: {finding.message}")
        if has_errors(findings):
            sys.exit(1)

    def read(self, file: str) -> str:
        try:
            if file == "-":
                return sys.stdin.read()
            with open(file, encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise CommandError(f"{file}: cannot be read ({exc.strerror})", returncode=2) from None
        except UnicodeDecodeError:
            raise CommandError(f"{file}: not UTF-8 text", returncode=2) from None
