"""Write every public notice's static files and the index again (after restoring a
backup, moving NOTICE_DIR, or to refill a CDN's origin folder)."""

from django.core.management.base import BaseCommand

from crisisflow.notices import render
from crisisflow.notices.models import PublicNotice


class Command(BaseCommand):
    help = "Write the static files of every public notice and of the index again; remove those of notices that are off."

    def handle(self, *args, **options):
        written = 0
        for notice in PublicNotice.objects.select_related("incident").order_by("pk"):
            files = render.write_notice(notice)
            if files:
                written += 1
                self.stdout.write(f"/notice/{notice.slug}/: {len(files)} files")
        render.write_index()
        self.stdout.write(f"{written} public notices written to {render.folder()}")
