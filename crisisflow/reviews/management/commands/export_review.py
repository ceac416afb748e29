"""Write an incident's review out as Markdown or PDF:

python manage.py export_review CF-2026-0001 --format pdf --output review.pdf
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from crisisflow.incidents.models import Incident
from crisisflow.reviews import export
from crisisflow.reviews.models import Review


class Command(BaseCommand):
    help = "Export an incident's review as Markdown or PDF (the same content as the page's downloads)."

    def add_arguments(self, parser):
        parser.add_argument("reference")
        parser.add_argument("--format", choices=["md", "pdf"], default="md")
        parser.add_argument(
            "--output", required=True, help="the file to write ('-' for standard output, Markdown only)"
        )
        parser.add_argument("--language", default="en", choices=["en", "zh-hans"])

    def handle(self, *args, **options):
        incident = Incident.objects.filter(reference=options["reference"]).first()
        if incident is None:
            raise CommandError(f"no incident {options['reference']}")
        review = Review.objects.filter(incident=incident).select_related("incident").first()
        if review is None:
            raise CommandError(f"{incident.reference} has no review yet (it opens when the incident enters review)")
        with translation.override(options["language"]):
            body = export.export(review, options["format"], language=options["language"])
        if options["output"] == "-":
            if options["format"] == "pdf":
                raise CommandError("write a PDF to a file (--output FILE)")
            self.stdout.write(body.decode())
            return
        with open(options["output"], "wb") as out:
            out.write(body)
        self.stdout.write(f"{incident.reference}: review version {review.version} written to {options['output']}")
