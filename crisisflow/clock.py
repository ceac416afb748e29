"""The one place CrisisFlow asks what time it is.

Always UTC-aware. Tests freeze it with time-machine; nothing else in the code calls
datetime.now() directly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def seconds(n: int | float) -> timedelta:
    return timedelta(seconds=n)
