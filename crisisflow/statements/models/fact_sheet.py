from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crisisflow.statements.models.statement import VersionIsImmutable


class FactSheet(models.Model):
    """The one fact sheet of an incident: what the company knows and may say.

    Its content lives in immutable FactSheetVersion rows; this row points at the newest
    and carries the version number a person must have seen to save a new one."""

    incident = models.OneToOneField("incidents.Incident", on_delete=models.CASCADE, related_name="fact_sheet")
    current = models.ForeignKey(
        "statements.FactSheetVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Optimistic lock: bumped by every save (the number of the newest version).
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("fact sheet")
        verbose_name_plural = _("fact sheets")

    def __str__(self) -> str:
        return f"{self.incident_id} fact sheet v{self.version}"


class FactSheetVersionQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise VersionIsImmutable("a fact sheet version cannot be changed; save a new version")


class FactSheetVersion(models.Model):
    """One saved state of a fact sheet. Never changed: a correction is a new version.

    `content` is the whole sheet (sections of facts, each confirmed or not and by whom;
    see crisisflow.statements.facts for its shape and validation)."""

    sheet = models.ForeignKey(FactSheet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField(default=dict)
    content_hash = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("saved at"))

    objects = FactSheetVersionQuerySet.as_manager()

    class Meta:
        ordering = ["sheet", "number"]
        constraints = [models.UniqueConstraint(fields=["sheet", "number"], name="fact_sheet_version_once")]

    def __str__(self) -> str:
        return f"fact sheet {self.sheet_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise VersionIsImmutable("a fact sheet version cannot be changed; save a new version")
        super().save(*args, **kwargs)
