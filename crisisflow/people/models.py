from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from crisisflow.incidents.inputs import validate_one_line
from crisisflow.vocab import Role

# Names the zone database lists on some machines that are no place's time: "localtime"
# is this server's own setting (another server may not have it), "Factory" shows a
# warning instead of an abbreviation.
NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


def is_known_time_zone(name) -> bool:
    """A zone name every server can load and that is somebody's local time."""
    return isinstance(name, str) and name not in NOT_PLACES and name in zoneinfo.available_timezones()


def validate_time_zone(value: str) -> None:
    if not is_known_time_zone(value):
        raise ValidationError(_("%(zone)s is not a known time zone"), params={"zone": value})


class User(AbstractUser):
    """A person who may sit on a crisis team."""

    display_name = models.CharField(_("display name"), max_length=120, blank=True, validators=[validate_one_line])
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[validate_time_zone]
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # Channel preferences for reminders and escalations. Whatever they say, a deadline
    # that has passed still reaches the person in the app.
    alert_in_app = models.BooleanField(_("alerts in the app"), default=True)
    alert_email = models.BooleanField(_("alerts by e-mail"), default=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def roster_roles(self) -> set[str]:
        return set(self.roster_entries.values_list("role", flat=True))


class RosterEntry(models.Model):
    """Who stands ready for a role. The team for an incident is proposed from these."""

    class Rank(models.TextChoices):
        PRIMARY = "primary", _("Primary")
        BACKUP = "backup", _("Backup")

    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roster_entries")
    rank = models.CharField(_("rank"), max_length=10, choices=Rank.choices, default=Rank.PRIMARY)
    position = models.PositiveIntegerField(_("order within rank"), default=0)
    # A simple audit (rosters are not incident state, so no timeline): who changed this
    # entry last through the app, and when. Empty for entries made outside it.
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last changed by"),
    )
    updated_at = models.DateTimeField(_("last changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("roster entry")
        verbose_name_plural = _("roster entries")
        ordering = ["role", "-rank", "position", "id"]  # "primary" sorts after "backup"
        constraints = [
            models.UniqueConstraint(fields=["role", "user"], name="roster_one_entry_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.user} ({self.get_rank_display()})"
