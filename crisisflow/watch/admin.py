"""Setting up early warning: brands and products, data sources (with their secrets),
series and rules. Rule parameters are checked by watch.rules.check_params."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from crisisflow import clock
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import check_crisis_type
from crisisflow.watch import configure, kinds
from crisisflow.watch.models import Brand, Firing, Post, Rule, Series, Source
from crisisflow.watch.rules import check_params

EDITED = ("version", "edited_by", "edited_at")


class EditedAdmin(admin.ModelAdmin):
    """A save here counts as a change like one on the setup pages: the version moves on, so
    a setup form opened before it is refused rather than overwriting it."""

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1
        obj.edited_by, obj.edited_at = request.user, clock.now()
        super().save_model(request, obj, form, change)


@admin.register(Brand)
class BrandAdmin(EditedAdmin):
    list_display = ("name", "key", "kind")
    prepopulated_fields = {"key": ("name",)}
    readonly_fields = EDITED


@admin.register(Source)
class SourceAdmin(EditedAdmin):
    list_display = ("name", "key", "active", "last_batch_at")
    readonly_fields = ("last_batch_at", *EDITED)
    # A secret is shown once, on the setup page (/watch/setup/), when it is made or
    # replaced; the admin neither shows nor edits it.
    exclude = ("secret",)

    def save_model(self, request, obj, form, change):
        if not obj.secret:
            obj.secret = configure.new_secret()
        super().save_model(request, obj, form, change)


class SeriesForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=kinds.choices)
    platform = forms.ChoiceField(choices=[("", "—"), *[(k, v[0]) for k, v in kinds.PLATFORMS.items()]], required=False)

    class Meta:
        model = Series
        fields = ("key", "name", "kind", "platform", "scope", "brand", "incident", "from_posts")


@admin.register(Series)
class SeriesAdmin(EditedAdmin):
    form = SeriesForm
    list_display = ("key", "kind", "scope", "brand", "last_at", "last_value", "points_count")
    raw_id_fields = ("incident",)
    readonly_fields = ("last_at", "last_value", "last_z", "points_count", "changed_at", *EDITED)


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = (
            "name",
            "brand",
            "kind",
            "series",
            "params",
            "severity",
            "crisis_type",
            "dedup_minutes",
            "cooldown_minutes",
            "active",
        )

    def clean(self):
        data = super().clean()
        try:
            check_crisis_type(data.get("crisis_type", ""))
            data["params"] = check_params(
                data.get("kind", ""),
                data.get("params"),
                series=data.get("series"),
                brand_id=data["brand"].pk if data.get("brand") else None,
            )
        except Invalid as err:
            raise ValidationError({err.field if err.field in self.fields else "params": str(err.message)}) from None
        return data


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ("name", "brand", "kind", "severity", "crisis_type", "muted", "snoozed_until", "last_fired_at")
    list_filter = ("kind", "brand")


@admin.register(Firing)
class FiringAdmin(admin.ModelAdmin):
    list_display = ("rule", "incident", "at", "opened")
    raw_id_fields = ("incident",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # frozen evidence


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("url", "brand", "platform", "author", "reach", "flag", "sentiment", "posted_at")
    list_filter = ("platform", "sentiment", "flag")
