"""Forms of the web app.

They only turn posted text into Python values (numbers, booleans, aware datetimes in the
person's time zone). The rules — what is required, what is allowed — live in the use
cases (crisisflow.incidents.actions); their refusals are put back on these forms with
`show_error()` so the message appears next to the field it is about.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crisisflow import clock
from crisisflow.incidents.errors import CrisisFlowError
from crisisflow.people.models import User
from crisisflow.playbooks.models import crisis_type_choices, current_versions
from crisisflow.vocab import FACTS, Role, Severity

# A datetime-local input sends "2026-03-02T17:05"; Django reads it in the active zone.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
NO_CHOICE = ("", "—")

FACT_LABELS = {
    "personal_data": _("Personal data is involved"),
    "injuries": _("People were injured"),
    "financial_loss": _("Users suffered financial loss"),
    "regulator_involved": _("A regulator is involved or must be notified"),
    "media_coverage": _("Mainstream media are covering it"),
}
BOOLEAN_FACTS = [name for name, fact in FACTS.items() if fact.kind is bool]


def show_error(form: forms.Form, err: CrisisFlowError) -> None:
    """Put a use case's refusal next to the field it names (or on top of the form)."""
    field = err.field if err.field in form.fields else None
    form.add_error(field, str(err.message))


def _severity_choices(blank: bool) -> list[tuple[str, str]]:
    return ([NO_CHOICE] if blank else []) + list(Severity.choices)


class VersionedForm(forms.Form):
    """Every change form carries the version the page showed, so a stale one is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class ScopeFields(forms.Form):
    """The affected scope and facts, shared by the report and the scope-edit forms."""

    title = forms.CharField(
        label=_("Title"),
        required=False,
        widget=forms.TextInput(attrs={"required": True, "maxlength": 200, "autocomplete": "off"}),
    )
    summary = forms.CharField(label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    affected_users = forms.IntegerField(
        label=_("Estimated affected users"), required=False, widget=forms.NumberInput(attrs={"min": 0})
    )
    regions = forms.CharField(
        label=_("Regions"), required=False, help_text=_("Comma-separated, e.g. Shanghai, Beijing")
    )
    platforms = forms.CharField(
        label=_("Platforms where it spreads"),
        required=False,
        help_text=_("Comma-separated, e.g. Weibo, WeChat"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in BOOLEAN_FACTS:
            self.fields[name] = forms.BooleanField(label=FACT_LABELS.get(name, name), required=False)

    def scope(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("title", "summary", "affected_users", "regions", "platforms", *BOOLEAN_FACTS)
        }

    def fact_fields(self):
        return [self[name] for name in BOOLEAN_FACTS]


class ReportForm(ScopeFields):
    crisis_type = forms.ChoiceField(label=_("Crisis type"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False, choices=_severity_choices(blank=True))
    detected_at = forms.DateTimeField(
        label=_("Outbreak (detected) at"),
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text=_("When it broke out, in your time zone. The golden clock counts from here."),
    )
    restricted = forms.BooleanField(label=_("Restricted: only the team can see it"), required=False)

    field_order = ["title", "summary", "crisis_type", "severity", "detected_at"]

    def __init__(self, *args, **kwargs):
        now = timezone.localtime(clock.now()).replace(second=0, microsecond=0)
        kwargs.setdefault("initial", {"detected_at": now})
        super().__init__(*args, **kwargs)
        self.fields["crisis_type"].choices = [NO_CHOICE, *crisis_type_choices()]


class ScopeForm(VersionedForm, ScopeFields):
    @classmethod
    def for_incident(cls, incident) -> ScopeForm:
        fields = ("title", "summary", "affected_users", *BOOLEAN_FACTS)
        initial = {name: getattr(incident, name) for name in fields}
        initial["regions"] = ", ".join(incident.regions)
        initial["platforms"] = ", ".join(incident.platforms)
        initial["version"] = incident.version
        return cls(initial=initial, auto_id="scope_%s")


class SeverityForm(VersionedForm):
    severity = forms.ChoiceField(label=_("New severity"), choices=_severity_choices(blank=False))
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.TextInput(attrs={"required": True}))


class StepForm(VersionedForm):
    """One button of the "Next step" panel; some steps ask for more."""

    step = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    crisis_type = forms.ChoiceField(label=_("Crisis type"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False, choices=_severity_choices(blank=True))
    playbook = forms.ChoiceField(label=_("Plan"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["crisis_type"].choices = [NO_CHOICE, *crisis_type_choices()]
        self.fields["playbook"].choices = [(v.key, f"{v.name()} (v{v.number})") for v in current_versions()]

    def options(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("crisis_type", "severity", "playbook")
            if self.cleaned_data.get(name)
        }


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3, "required": True}))


class MemberForm(VersionedForm):
    user = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        active = User.objects.filter(is_active=True)
        self.fields["user"].queryset = active.order_by("display_name", "username")


class TaskForm(forms.Form):
    """What the task buttons post: the task's version and, for some, a reason."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    reason = forms.CharField(required=False)


class AssignForm(TaskForm):
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, assignees=None, **kwargs):
        super().__init__(*args, **kwargs)
        if assignees is not None:
            self.fields["assignee"].queryset = assignees


class TickForm(TaskForm):
    index = forms.IntegerField(min_value=0)
    done = forms.BooleanField(required=False)


# Offered in the time-zone field (any other zoneinfo name may be typed): the team's own
# zone first, then where colleagues and vendors usually sit.
COMMON_TIME_ZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "UTC",
]


class PreferencesForm(forms.Form):
    """The /me/ page. Only reads the input; crisisflow.people.prefs decides what is valid."""

    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.CharField(
        label=_("Time zone"),
        required=False,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Pick one or type any zone name, e.g. Asia/Shanghai. All times are shown in it."),
    )
    email = forms.CharField(
        label=_("E-mail address"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("So the commander can call you during a crisis."),
    )
    alert_in_app = forms.BooleanField(label=_("Alerts in the app"), required=False)
    alert_email = forms.BooleanField(label=_("Alerts by e-mail"), required=False)

    @classmethod
    def for_user(cls, user) -> PreferencesForm:
        fields = ("language", "time_zone", "email", "phone", "alert_in_app", "alert_email")
        return cls(initial={name: getattr(user, name) for name in fields}, auto_id="me_%s")

    def time_zones(self) -> list[str]:
        return COMMON_TIME_ZONES


class HandOverForm(VersionedForm):
    """Hand over command: to a team member or someone on the commander roster (the use
    case refuses anyone not on the roster, with its reason next to the field)."""

    commander = forms.ModelChoiceField(label=_("New commander"), queryset=User.objects.none())

    def __init__(self, incident, *args, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = User.objects.filter(is_active=True).filter(
            Q(memberships__incident=incident) | Q(roster_entries__role=Role.COMMANDER)
        )
        if incident.commander_id:
            candidates = candidates.exclude(pk=incident.commander_id)
        self.fields["commander"].queryset = candidates.distinct().order_by("display_name", "username")
