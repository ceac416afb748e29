from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EvidenceIsImmutable(Exception):
    """Evidence is evidence: a wrong file is corrected by attaching the right one."""


class AttachmentQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise EvidenceIsImmutable("evidence cannot be changed; attach a corrected file")

    def delete(self):
        raise EvidenceIsImmutable("evidence cannot be deleted")


def stored_path(instance: Attachment, filename: str) -> str:
    # `filename` is already random (see actions.attach); the person's name for the file
    # never reaches the file system.
    return f"evidence/{instance.uploaded_at:%Y/%m}/{filename}"


class Attachment(models.Model):
    """One file attached to an incident, as it was received."""

    class Kind(models.TextChoices):
        SCREENSHOT = "screenshot", _("Screenshot or image")
        DOCUMENT = "document", _("Document")

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))
    original_name = models.CharField(_("original file name"), max_length=255)
    file = models.FileField(_("stored file"), upload_to=stored_path, max_length=200)
    # Decided from the content when it was received, and the only type it is served as.
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    caption = models.CharField(_("caption"), max_length=500, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["incident", "-uploaded_at"], name="attachment_incident_newest")]

    def __str__(self) -> str:
        return self.original_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise EvidenceIsImmutable("evidence cannot be changed; attach a corrected file")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise EvidenceIsImmutable("evidence cannot be deleted")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
