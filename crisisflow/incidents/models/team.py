from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crisisflow.vocab import Role


class TeamMember(models.Model):
    """A person holding a role on one incident's team. A person may hold several roles."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    is_lead = models.BooleanField(_("leads this role"), default=False)
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        ordering = ["role", "-is_lead", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "user", "role"], name="team_member_once_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.user}"
