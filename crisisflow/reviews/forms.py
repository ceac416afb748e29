from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crisisflow.reviews import content as review_content
from crisisflow.reviews.models import SIGNING_ROLES, ActionItemKind
from crisisflow.vocab import CrisisType, Role, Severity
from crisisflow.watch import incident_brands


class ReviewForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("not rated"))] + [(str(k), v) for k, v in review_content.RATINGS.items()]
        for key, label in review_content.DIMENSIONS.items():
            self.fields[f"{key}_rating"] = forms.ChoiceField(label=label, choices=choices, required=False)
            self.fields[f"{key}_evidence"] = forms.CharField(
                label=_("Evidence"), required=False, widget=forms.Textarea(attrs={"rows": 2}), strip=False
            )
            self.fields[f"{key}_comment"] = forms.CharField(
                label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}), strip=False
            )
        for key, label in review_content.NARRATIVE.items():
            self.fields[key] = forms.CharField(
                label=label, required=False, widget=forms.Textarea(attrs={"rows": 3}), strip=False
            )
        self.fields["root_cause_origin"] = forms.ChoiceField(
            label=_("Root cause is"), required=False, choices=[("", "—"), *review_content.ORIGINS.items()]
        )
        for i in range(review_content.WHYS):
            self.fields[f"why_{i + 1}"] = forms.CharField(
                label=_("Why? (%(n)d)") % {"n": i + 1}, required=False, strip=False
            )

    def groups(self) -> list[tuple[str, list]]:
        """The fields in their fieldsets: each dimension, the narrative, the five whys."""
        out = [
            (label, [self[f"{key}_rating"], self[f"{key}_evidence"], self[f"{key}_comment"]])
            for key, label in review_content.DIMENSIONS.items()
        ]
        out.append((_("Narrative"), [self[k] for k in (*review_content.NARRATIVE, "root_cause_origin")]))
        out.append((_("Five whys"), [self[f"why_{i + 1}"] for i in range(review_content.WHYS)]))
        return out

    @staticmethod
    def initial_from(review) -> dict:
        c = review.content or review_content.empty()
        data = {"version": review.version}
        for key in review_content.DIMENSIONS:
            r = c["ratings"].get(key) or {}
            data[f"{key}_rating"] = str(r.get("rating") or "")
            data[f"{key}_evidence"] = r.get("evidence", "")
            data[f"{key}_comment"] = r.get("comment", "")
        for key in review_content.NARRATIVE:
            data[key] = c.get(key, "")
        data["root_cause_origin"] = c.get("root_cause_origin", "")
        for i, why in enumerate(c.get("five_whys") or []):
            data[f"why_{i + 1}"] = why
        return data

    def content(self) -> dict:
        d = self.data
        return {
            "ratings": {
                key: {
                    "rating": d.get(f"{key}_rating") or None,
                    "evidence": d.get(f"{key}_evidence", ""),
                    "comment": d.get(f"{key}_comment", ""),
                }
                for key in review_content.DIMENSIONS
            },
            **{key: d.get(key, "") for key in review_content.NARRATIVE},
            "root_cause_origin": d.get("root_cause_origin", ""),
            "five_whys": [d.get(f"why_{i + 1}", "") for i in range(review_content.WHYS)],
        }


class SignOffForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    role = forms.ChoiceField(choices=[(r, Role(r).label) for r in SIGNING_ROLES])


class ActionItemForm(forms.Form):
    title = forms.CharField(label=_("Action"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=ActionItemKind.choices)
    owner = forms.CharField(label=_("Owner (user name)"), max_length=150)
    due_at = forms.DateTimeField(label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    playbook_key = forms.CharField(label=_("Playbook (for a playbook change)"), required=False, max_length=80)
    task_key = forms.CharField(label=_("Playbook task (optional)"), required=False, max_length=80)


class ChangeItemForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    title = forms.CharField(label=_("Action"), max_length=200)
    owner = forms.CharField(label=_("Owner (user name)"), max_length=150)
    due_at = forms.DateTimeField(label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class FinishItemForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    status = forms.ChoiceField(choices=[("done", _("Done")), ("dropped", _("Dropped"))])


class ShareForm(forms.Form):
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=30, initial=7)


class AnalyticsFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    crisis_type = forms.ChoiceField(
        label=_("Crisis type"), required=False, choices=[("", _("Any")), *CrisisType.choices]
    )
    severity = forms.ChoiceField(label=_("Severity"), required=False, choices=[("", _("Any")), *Severity.choices])
    brand = forms.ChoiceField(label=_("Brand or product"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [("", _("Any")), *((b.key, b.name) for b in incident_brands.brands())]
