from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PublicNotice(models.Model):
    """The public page of one incident: off until the commander turns it on.

    It shows only what was explicitly made public: the published versions of public
    kinds of statement, the commitments those statements made, and the public title,
    help and status chosen here. `drill` marks the incident as an exercise (CrisisFlow
    has no other notion of a drill): a drill's notice is never shown, listed or written
    out, whatever else is set."""

    incident = models.OneToOneField("incidents.Incident", on_delete=models.CASCADE, related_name="public_notice")
    # The address: /notice/<slug>/. Random (unguessable) unless the commander chose one.
    slug = models.SlugField(_("address"), max_length=64, unique=True)
    enabled = models.BooleanField(_("public"), default=False)
    # Listed on the index of active notices (an opt-in of its own).
    listed = models.BooleanField(_("listed on the index"), default=False)
    drill = models.BooleanField(_("drill (exercise)"), default=False)
    title_en = models.CharField(_("public title (English)"), max_length=200, blank=True)
    title_zh = models.CharField(_("public title (Chinese)"), max_length=200, blank=True)
    summary_en = models.CharField(_("share description (English)"), max_length=300, blank=True)
    summary_zh = models.CharField(_("share description (Chinese)"), max_length=300, blank=True)
    # An image for WeChat and Weibo cards (an absolute https URL).
    image_url = models.URLField(_("share image"), max_length=500, blank=True)
    enabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    enabled_at = models.DateTimeField(null=True, blank=True)
    # When what the page shows last changed (a publication, a commitment, these settings).
    updated_at = models.DateTimeField(_("last updated"), null=True, blank=True)
    # Optimistic lock of the commander's form: bumped by every change of these settings.
    version = models.PositiveIntegerField(default=0)
    # Bumped whenever what the page shows may have changed (a publication, a commitment,
    # these settings): renders are kept per generation.
    generation = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("public notice")
        verbose_name_plural = _("public notices")
        indexes = [models.Index(fields=["enabled", "listed"], name="notice_enabled_listed")]

    def __str__(self) -> str:
        return f"{self.slug} ({self.incident_id})"

    @property
    def shown(self) -> bool:
        return self.enabled and not self.drill

    def title(self, language: str) -> str:
        first, second = (self.title_zh, self.title_en) if language.startswith("zh") else (self.title_en, self.title_zh)
        return first or second
