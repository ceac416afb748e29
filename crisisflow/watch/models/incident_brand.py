from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IncidentBrand(models.Model):
    """The brand or product an incident is about: one per incident. Set when a rule of
    the brand opens or adds to the incident, or by its commander
    (crisisflow.watch.incident_brands); analytics filter by it."""

    incident = models.OneToOneField("incidents.Incident", on_delete=models.CASCADE, related_name="brand_link")
    # None once the commander cleared it (the row stays: its version guards the form).
    brand = models.ForeignKey(
        "watch.Brand",
        on_delete=models.PROTECT,
        null=True,
        related_name="incident_links",
        verbose_name=_("brand or product"),
    )
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    set_at = models.DateTimeField(_("set at"))
    # Optimistic lock of the commander's form: bumped by every change.
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("brand of an incident")
        verbose_name_plural = _("brands of incidents")
        indexes = [models.Index(fields=["brand", "incident"], name="incident_brand_by_brand")]

    def __str__(self) -> str:
        return f"{self.incident_id} → {self.brand_id}"
