import json

from django.core.management.base import BaseCommand

from crisisflow.subscribers import privacy


class Command(BaseCommand):
    help = "Print, as JSON, everything kept about a subscriber's address (e-mail, webhook URL or mobile number)."

    def add_arguments(self, parser):
        parser.add_argument("address")

    def handle(self, *args, address, **options):
        self.stdout.write(json.dumps(privacy.export(address), ensure_ascii=False, indent=2))
