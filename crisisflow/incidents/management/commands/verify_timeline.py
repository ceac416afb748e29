from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from crisisflow.incidents.models import Incident
from crisisflow.incidents.timeline import verify


class Command(BaseCommand):
    help = "Check every incident's timeline hash chain; report the first broken link of each."

    def add_arguments(self, parser):
        parser.add_argument("references", nargs="*", help="incident references (default: all)")

    def handle(self, *args, references, **options):
        incidents = Incident.objects.order_by("id")
        if references:
            incidents = incidents.filter(reference__in=references)
            missing = set(references) - set(incidents.values_list("reference", flat=True))
            if missing:
                raise CommandError("no incident " + ", ".join(sorted(missing)))
        broken = 0
        checked = 0
        for incident in incidents.iterator():
            checked += 1
            problem = verify(incident)
            if problem is not None:
                broken += 1
                self.stdout.write(f"BROKEN {problem}")
        if broken:
            raise CommandError(f"{broken} of {checked} timelines are broken")
        self.stdout.write(f"{checked} timelines intact")
