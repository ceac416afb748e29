from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crisisflow.incidents.inputs import validate_one_line
from crisisflow.watch.kinds import kind_of
from crisisflow.watch.models.edited import Edited

# Hour-of-week buckets of the spike baseline: Monday 00:00 UTC is 0, Sunday 23:00 is 167.
BUCKETS = 168


class Series(Edited):
    """One metric over time, for the organisation, a brand or product, or an incident.

    The latest point and the last z-score are kept on the row (updated as points come
    in), so a rule reads them instead of the history."""

    class Scope(models.TextChoices):
        ORGANISATION = "organisation", _("Organisation")
        BRAND = "brand", _("Brand or product")
        INCIDENT = "incident", _("Incident")

    key = models.SlugField(_("key"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=160, blank=True, validators=[validate_one_line])
    kind = models.CharField(_("kind"), max_length=40)
    platform = models.CharField(_("platform"), max_length=20, blank=True)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices, default=Scope.BRAND)
    brand = models.ForeignKey(
        "watch.Brand", on_delete=models.PROTECT, null=True, blank=True, related_name="series", verbose_name=_("brand")
    )
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Negative share computed from the brand's posts (watch.sentiment), not pushed in.
    from_posts = models.BooleanField(_("computed from posts"), default=False)

    # Running state, moved forward by ingestion only (points older than last_at are
    # stored but do not move it: a late or repeated point cannot count twice).
    last_at = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_z = models.FloatField(null=True, blank=True)
    points_count = models.PositiveBigIntegerField(default=0)
    # When points last came in: the rule job looks only at rules whose series changed.
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("metric series")
        verbose_name_plural = _("metric series")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                name="series_scope_matches",
                condition=(
                    Q(scope="organisation", brand__isnull=True, incident__isnull=True)
                    | Q(scope="brand", brand__isnull=False, incident__isnull=True)
                    | Q(scope="incident", incident__isnull=False)
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.key

    @property
    def kind_label(self) -> str:
        return kind_of(self.kind).label

    @property
    def unit(self) -> str:
        return kind_of(self.kind).unit


class Point(models.Model):
    """One value of a series at one moment; at most one per (series, moment), so a
    batch sent twice changes nothing."""

    # The key is (series, moment): one index serves uniqueness, upserts and every
    # lookup of a window, and millions of rows carry no surrogate id.
    pk = models.CompositePrimaryKey("series_id", "at")
    # No index of its own: the key's first column serves. No foreign-key constraint in
    # the database either: its check is one query per inserted point, a good part of
    # what a batch costs; ingestion locks the series rows it writes to instead (one
    # statement per batch, watch.ingest), and deleting a series deletes its points.
    series = models.ForeignKey(
        Series, on_delete=models.CASCADE, related_name="points", db_index=False, db_constraint=False
    )
    at = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        verbose_name = _("point")
        verbose_name_plural = _("points")

    def __str__(self) -> str:
        return f"{self.series_id}@{self.at.isoformat()}={self.value}"


class Baseline(models.Model):
    """The spike baseline of one hour-of-week of one series: exponentially weighted
    mean and variance of the values seen in that hour of the week, so a Monday 9:00 is
    compared with earlier Monday 9:00s. Updated per new point, never recomputed."""

    pk = models.CompositePrimaryKey("series_id", "bucket")
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="baselines", db_index=False)
    bucket = models.PositiveSmallIntegerField()
    n = models.PositiveIntegerField(default=0)
    mean = models.FloatField(default=0.0)
    var = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"{self.series_id}/{self.bucket}: n={self.n} mean={self.mean:.3g}"
