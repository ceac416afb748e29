from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crisisflow.incidents.inputs import validate_one_line
from crisisflow.watch.models.edited import Edited


class Brand(Edited):
    """A brand or a product the organisation watches. Rules belong to one; its row is
    what a firing locks, so two rules of one brand never open two incidents at once."""

    class Kind(models.TextChoices):
        BRAND = "brand", _("Brand")
        PRODUCT = "product", _("Product")

    key = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120, validators=[validate_one_line])
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.BRAND)
    # When posts about it last came in (flag and composite rules look again then).
    posts_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("brand or product")
        verbose_name_plural = _("brands and products")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Source(Edited):
    """A system that pushes data in (a monitoring or public-opinion provider). Each has
    its own signing secret, so one leaked secret is revoked without stopping the rest."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120, validators=[validate_one_line])
    secret = models.CharField(
        _("signing secret"), max_length=200, help_text=_("HMAC-SHA256 key the source signs its batches with.")
    )
    active = models.BooleanField(_("active"), default=True)
    last_batch_at = models.DateTimeField(_("last batch at"), null=True, blank=True)

    class Meta:
        verbose_name = _("data source")
        verbose_name_plural = _("data sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
