"""The one place CrisisFlow asks what time it is.

Always UTC-aware. Tests freeze it with time-machine; nothing else in the code calls
datetime.now() directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

# Every moment a person can set lies in [EARLIEST, LATEST) (crisisflow.incidents.inputs
# checks it; the database keeps the same bounds as CHECK constraints). Nothing the product
# records happened before 2000, and staying far from datetime.min/max means showing a
# stored moment in any time zone can never overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def now() -> datetime:
    return timezone.now()


def seconds(n: int | float) -> timedelta:
    return timedelta(seconds=n)
