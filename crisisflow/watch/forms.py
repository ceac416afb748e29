"""The forms of the setup pages and of manual post entry. They only read what was typed;
the rules are in watch.configure and watch.actions."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from crisisflow.playbooks.models import crisis_type_choices
from crisisflow.vocab import Severity
from crisisflow.watch import kinds
from crisisflow.watch.models import Brand, Post, Rule, Series

ID = {"widget": forms.HiddenInput, "required": False, "min_value": 1, "max_value": 2**62}
NONE = [("", "—")]
MINUTES = {"min_value": 0, "max_value": 10**6}


def brand_choices() -> list[tuple[str, str]]:
    return list(Brand.objects.values_list("key", "name"))


def platform_choices() -> list[tuple[str, str]]:
    return [(key, kinds.platform_label(key)) for key in kinds.PLATFORMS]


class EditForm(forms.Form):
    """A setup form that makes a row (its id empty) or edits one: an edit carries the
    version the page showed, so a save made after someone else's is refused (409) instead
    of silently overwriting theirs."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0, max_value=2**31)
    edits = ""  # the hidden field with the id of the row edited

    def clean(self):
        data = super().clean()
        if data.get(self.edits) is not None and data.get("version") is None and "version" not in self.errors:
            raise ValidationError(
                gettext_lazy("The form does not say which version it was opened at; reload the page and try again.")
            )
        return data


class BrandForm(EditForm):
    edits = "brand"
    brand = forms.IntegerField(**ID)
    key = forms.SlugField(
        label=gettext_lazy("Key"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("What providers send, e.g. acme-pay. Fixed once made."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Brand.Kind.choices)


class SourceForm(EditForm):
    edits = "source"
    source = forms.IntegerField(**ID)
    key = forms.SlugField(
        label=gettext_lazy("Key"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("Sent in X-CrisisFlow-Source. Fixed once made."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    active = forms.BooleanField(label=gettext_lazy("Active (its batches are accepted)"), required=False, initial=True)


class RotateForm(forms.Form):
    source = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**62)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31)


class SeriesForm(EditForm):
    edits = "series"
    series = forms.IntegerField(**ID)
    key = forms.SlugField(
        label=gettext_lazy("Key"),
        max_length=80,
        required=False,
        help_text=gettext_lazy("What providers send, e.g. acme-complaints. Fixed once made."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=160, required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind (and unit)"))
    platform = forms.ChoiceField(label=gettext_lazy("Platform"), required=False)
    scope = forms.ChoiceField(label=gettext_lazy("Whose"), choices=Series.Scope.choices)
    brand = forms.ChoiceField(label=gettext_lazy("Brand or product"), required=False)
    incident = forms.CharField(
        label=gettext_lazy("Incident"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("Its reference, e.g. CF-2026-0001 (for an incident's series)."),
    )
    from_posts = forms.BooleanField(
        label=gettext_lazy("Computed from the brand's posts (negative share)"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind.key, f"{kind.label} ({kind.unit})") for kind in kinds.all_kinds().values()]
        self.fields["platform"].choices = NONE + platform_choices()
        self.fields["brand"].choices = NONE + brand_choices()


# Each kind's parameters: form field → key in Rule.params.
RULE_PARAMS = {
    Rule.Kind.THRESHOLD: {"threshold_op": "op", "threshold_value": "value"},
    Rule.Kind.RATE: {"rate_percent": "percent", "rate_window_minutes": "window_minutes"},
    Rule.Kind.SPIKE: {"spike_z": "z"},
    Rule.Kind.COMPOSITE: {"composite_rules": "rules", "composite_mode": "mode"},
    Rule.Kind.FLAG: {
        "flag_official_media": "official_media",
        "flag_min_reach": "min_reach",
        "flag_negative_only": "negative_only",
        "flag_window_minutes": "window_minutes",
    },
}


class RuleForm(EditForm):
    edits = "rule"
    rule = forms.IntegerField(**ID)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=160)
    brand = forms.ChoiceField(label=gettext_lazy("Brand or product"))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Rule.Kind.choices)
    series = forms.ChoiceField(
        label=gettext_lazy("Series"),
        required=False,
        help_text=gettext_lazy("For a threshold, a rate of change or a spike."),
    )
    threshold_op = forms.ChoiceField(
        label=gettext_lazy("Threshold: fires when the latest value is"),
        required=False,
        choices=[("above", gettext_lazy("above")), ("below", gettext_lazy("below"))],
    )
    threshold_value = forms.FloatField(label=gettext_lazy("Threshold: limit"), required=False)
    rate_percent = forms.FloatField(
        label=gettext_lazy("Rate of change: at least (%)"),
        required=False,
        help_text=gettext_lazy("Negative for a fall, e.g. -30."),
    )
    rate_window_minutes = forms.IntegerField(
        label=gettext_lazy("Rate of change: within (minutes)"), required=False, **MINUTES
    )
    spike_z = forms.FloatField(
        label=gettext_lazy("Spike: spreads above the usual level for the hour of the week"),
        required=False,
        initial=3.0,
    )
    composite_mode = forms.ChoiceField(
        label=gettext_lazy("Composite: fires when"),
        required=False,
        choices=[("all", gettext_lazy("all of these hold")), ("any", gettext_lazy("any of these holds"))],
    )
    composite_rules = forms.MultipleChoiceField(
        label=gettext_lazy("Composite: rules of the same brand"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    flag_official_media = forms.BooleanField(
        label=gettext_lazy("Flag: an official-media account posts"), required=False
    )
    flag_min_reach = forms.IntegerField(
        label=gettext_lazy("Flag: or an account with at least this many followers"),
        required=False,
        min_value=0,
        max_value=10**12,
    )
    flag_negative_only = forms.BooleanField(label=gettext_lazy("Flag: negative posts only"), required=False)
    flag_window_minutes = forms.IntegerField(
        label=gettext_lazy("Flag: within (minutes)"), required=False, initial=60, **MINUTES
    )
    severity = forms.ChoiceField(label=gettext_lazy("Severity"), choices=Severity.choices, initial=Severity.MEDIUM)
    crisis_type = forms.ChoiceField(label=gettext_lazy("Suggested crisis type"))
    dedup_minutes = forms.IntegerField(
        label=gettext_lazy("Dedup window (minutes)"),
        initial=24 * 60,
        help_text=gettext_lazy(
            "A firing within this window of an open incident of the same brand and type adds to it."
        ),
        **MINUTES,
    )
    cooldown_minutes = forms.IntegerField(label=gettext_lazy("Quiet after firing (minutes)"), initial=60, **MINUTES)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = brand_choices()
        self.fields["series"].choices = NONE + [
            (key, f"{name or key} ({key})")
            for key, name in Series.objects.filter(incident__isnull=True).values_list("key", "name")
        ]
        simple = Rule.objects.exclude(kind=Rule.Kind.COMPOSITE)
        self.fields["composite_rules"].choices = [
            (str(pk), f"{name} ({brand})") for pk, name, brand in simple.values_list("pk", "name", "brand__name")
        ]
        self.fields["crisis_type"].choices = crisis_type_choices()

    def params(self) -> dict:
        """Rule.params of the chosen kind, from its fields (watch.rules checks them)."""
        data, kind = self.cleaned_data, self.cleaned_data.get("kind")
        if kind == Rule.Kind.THRESHOLD:
            return {"op": data.get("threshold_op") or None, "value": data.get("threshold_value")}
        if kind == Rule.Kind.RATE:
            return {"percent": data.get("rate_percent"), "window_minutes": data.get("rate_window_minutes")}
        if kind == Rule.Kind.SPIKE:
            return {"z": data.get("spike_z")}
        if kind == Rule.Kind.COMPOSITE:
            return {data.get("composite_mode") or "all": [int(pk) for pk in data.get("composite_rules") or []]}
        params = {
            "official_media": bool(data.get("flag_official_media")),
            "negative_only": bool(data.get("flag_negative_only")),
            "window_minutes": data.get("flag_window_minutes") or 60,
        }
        if data.get("flag_min_reach") is not None:
            params["min_reach"] = data["flag_min_reach"]
        return params

    def params_field(self, message: str) -> str:
        """The field a parameter's refusal belongs to ("value: give a number." → threshold_value)."""
        fields = RULE_PARAMS.get(self.cleaned_data.get("kind"), {})
        for field, name in fields.items():
            if message.startswith(f"{name}:"):
                return field
        return next(iter(fields), "kind")

    @staticmethod
    def initial_for(rule: Rule) -> dict:
        params = rule.params or {}
        initial = {
            "rule": rule.pk,
            "version": rule.version,
            "name": rule.name,
            "brand": rule.brand.key,
            "kind": rule.kind,
            "series": rule.series.key if rule.series_id else "",
            "severity": rule.severity,
            "crisis_type": rule.crisis_type,
            "dedup_minutes": rule.dedup_minutes,
            "cooldown_minutes": rule.cooldown_minutes,
            "active": rule.active,
        }
        if rule.kind == Rule.Kind.COMPOSITE:
            mode = "any" if "any" in params else "all"
            initial.update(composite_mode=mode, composite_rules=[str(pk) for pk in params.get(mode, [])])
        else:
            for field, name in RULE_PARAMS.get(rule.kind, {}).items():
                if name in params:
                    initial[field] = params[name]
        return initial


class PostForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("Address (URL)"), max_length=500)
    brand = forms.ChoiceField(label=gettext_lazy("Brand or product"), required=False)
    platform = forms.ChoiceField(label=gettext_lazy("Platform"))
    author = forms.CharField(label=gettext_lazy("Author"), max_length=120, required=False)
    reach = forms.IntegerField(label=gettext_lazy("Author's followers"), required=False, min_value=0, max_value=10**15)
    flag = forms.ChoiceField(label=gettext_lazy("Account"), choices=Post.Flag.choices, required=False)
    at = forms.DateTimeField(
        label=gettext_lazy("Posted at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    text = forms.CharField(label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = NONE + brand_choices()
        self.fields["platform"].choices = platform_choices()
