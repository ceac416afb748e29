"""Removing evidence files that no attachment row names.

`actions.attach` stores the file before it inserts the row, inside the caller's
transaction. If that transaction is rolled back later (a step after the attachment
failed), the row is gone but the file stays on disk: Django offers no hook for a
rollback. A sweep finds such files by name instead, once they are older than any
transaction could be, and removes them.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from django.core.files.storage import default_storage

from crisisflow import clock
from crisisflow.evidence.models import Attachment

# Far longer than any request or worker transaction runs.
GRACE = timedelta(hours=1)
FOLDER = "evidence"


def remove_orphan_files(now: datetime | None = None, *, grace: timedelta = GRACE) -> list[str]:
    """Delete stored evidence files older than `grace` that no attachment names; return
    their storage names."""
    now = now or clock.now()
    root = Path(default_storage.path(FOLDER))
    if not root.is_dir():
        return []
    cutoff = (now - grace).timestamp()
    on_disk = {}
    for folder, _dirs, files in os.walk(root):
        for filename in files:
            path = Path(folder) / filename
            on_disk[str(Path(FOLDER) / path.relative_to(root))] = path
    known = set(Attachment.objects.filter(file__in=list(on_disk)).values_list("file", flat=True))
    removed = []
    for name, path in sorted(on_disk.items()):
        if name in known:
            continue
        try:
            if path.stat().st_mtime >= cutoff:
                continue  # perhaps a transaction still running
            path.unlink()
        except FileNotFoundError:
            continue  # another sweep got there first
        removed.append(name)
    return removed
