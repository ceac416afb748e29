from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Edited(models.Model):
    """What the setup pages edit (brands and products, sources, series): a version each
    save bumps, and who saved last and when, so a form opened before someone else's save
    is refused with their name instead of silently overwriting what they did."""

    version = models.PositiveIntegerField(_("version"), default=1)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last changed by"),
    )
    edited_at = models.DateTimeField(_("last changed at"), null=True, blank=True)

    class Meta:
        abstract = True
