from django.core.management.base import BaseCommand, CommandError

from crisisflow.subscribers import privacy


class Command(BaseCommand):
    help = (
        "Erase everything kept about a subscriber's address: subscriptions, consent records "
        "and the messages sent. Run subscriber_export first if the person asked for a copy."
    )

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, address, yes, **options):
        found = privacy.subscribers_of(address).count()
        if not found:
            raise CommandError("No subscriber has this address.")
        if not yes and input(f"Erase {found} subscription(s) of this address? [y/N] ").strip().lower() != "y":
            raise CommandError("Nothing erased.")
        counts = privacy.erase(address)
        self.stdout.write(
            f"Erased {counts['subscriptions']} subscription(s), {counts['consents']} consent record(s), "
            f"{counts['messages']} message(s)."
        )
