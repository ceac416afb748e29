"""The in-app inbox: a person's own in-app notifications, and marking them read.

Everything here starts from the signed-in person, never from an incident, so nobody sees
a notification that was not addressed to them — whatever incident, restricted or not, it
is about. Someone else's notification does not exist as far as these functions are
concerned (NotFound, the same answer as for an id that was never used).

The in-app rows are "delivered" the moment the sweep writes them; being read is the only
thing that happens to them afterwards. Rows bundled into a digest are not in the inbox:
the digest is.

A notification stays in the inbox of someone who has since lost sight of its incident
(removed from a restricted incident's team), but shows only that it was about an
incident they can no longer see: whether they may see it is checked as the inbox is
shown, for the whole page in one query (mark_readable), never per row.
"""

from __future__ import annotations

from django.db.models import QuerySet

from crisisflow import clock
from crisisflow.alerts.messages import spoken_of
from crisisflow.alerts.models import Channel, Notification
from crisisflow.incidents.errors import NotFound
from crisisflow.incidents.permissions import visible_incidents

INBOX_SIZE = 100


def _mine(user) -> QuerySet[Notification]:
    # recipient + channel + read_at: the partial index notification_inbox.
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP).exclude(state=Notification.State.BUNDLED)


def unread_count(user) -> int:
    """For the badge in the header on every page: a single COUNT on the inbox index."""
    return _mine(user).filter(read_at__isnull=True).count()


def inbox(user, limit: int = INBOX_SIZE) -> list[Notification]:
    """The person's in-app notifications, newest first."""
    # The recipient too: a message is rendered in its reader's time zone.
    rows = _mine(user).select_related("incident", "recipient").order_by("-created_at", "-id")
    return mark_readable(user, list(rows[:limit]))


def mark_readable(user, rows: list[Notification]) -> list[Notification]:
    """Leave on each row the incidents it speaks of that `user` may see now
    (`row.readable`, which messages.render reads). One query for all the rows, and none
    unless one of them is about a restricted incident."""
    spoken = {row.pk: spoken_of(row) for row in rows}
    doubtful = {pk for about in spoken.values() for pk, restricted in about.items() if restricted is not False}
    visible: set[int] = set()
    if doubtful:
        visible = set(visible_incidents(user).filter(pk__in=doubtful).values_list("pk", flat=True))
    for row in rows:
        row.readable = {pk for pk, restricted in spoken[row.pk].items() if restricted is False or pk in visible}
    return rows


def mark_read(user, notification_id: int) -> Notification:
    """Mark one of the person's notifications read (reading it twice keeps the first time)."""
    notification = _mine(user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound()
    if notification.read_at is None:
        now = clock.now()
        # Only an unread row is stamped, so a second tab cannot move the time read.
        _mine(user).filter(pk=notification_id, read_at__isnull=True).update(read_at=now)
        notification.refresh_from_db(fields=["read_at"])
    return notification


def mark_all_read(user) -> int:
    """Mark every unread notification of the person read; returns how many there were."""
    return _mine(user).filter(read_at__isnull=True).update(read_at=clock.now())
