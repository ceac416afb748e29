from django.core.management.base import BaseCommand

from crisisflow.evidence.cleanup import remove_orphan_files


class Command(BaseCommand):
    help = "Remove stored evidence files that no attachment names (left by a rolled-back upload)."

    def handle(self, *args, **options):
        removed = remove_orphan_files()
        for name in removed:
            self.stdout.write(f"removed {name}")
        self.stdout.write(f"{len(removed)} orphaned evidence file(s) removed")
