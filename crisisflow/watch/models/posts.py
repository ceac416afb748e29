from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")


class Post(models.Model):
    """A post or article about a brand, as a monitoring provider saw it. One per URL:
    the same post sent again updates its reach, it is not counted twice."""

    class Flag(models.TextChoices):
        NONE = "", _("None")
        OFFICIAL_MEDIA = "official_media", _("Official media")
        KOL = "kol", _("Key opinion leader")

    url = models.URLField(_("URL"), max_length=500, unique=True)
    brand = models.ForeignKey(
        "watch.Brand", on_delete=models.PROTECT, null=True, blank=True, related_name="posts", verbose_name=_("brand")
    )
    platform = models.CharField(_("platform"), max_length=20)
    author = models.CharField(_("author"), max_length=120, blank=True)
    reach = models.PositiveBigIntegerField(_("author reach (followers)"), default=0)
    flag = models.CharField(_("account"), max_length=16, choices=Flag.choices, blank=True, default="")
    text = models.TextField(_("text"), blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    posted_at = models.DateTimeField(_("posted at"))
    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices)
    sentiment_score = models.FloatField(_("sentiment score"), default=0.0)
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["-posted_at", "-id"]
        indexes = [models.Index(fields=["brand", "posted_at"], name="post_brand_time")]

    def __str__(self) -> str:
        return self.url
