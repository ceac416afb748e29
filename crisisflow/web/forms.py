"""Forms of the web app.

They only turn posted text into Python values (numbers, booleans, aware datetimes in the
person's time zone) and refuse, beside the field, what the shared input checks refuse
(crisisflow.incidents.inputs: dates out of range, control characters). The rules — what
is required, what is allowed — live in the use cases (crisisflow.incidents.actions);
their refusals are put back on these forms with `show_error()` so the message appears
next to the field it is about.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crisisflow import clock
from crisisflow.incidents.errors import CrisisFlowError, Invalid
from crisisflow.incidents.inputs import check_moment, text_problem
from crisisflow.people.models import User
from crisisflow.playbooks.models import PlaybookVersion, crisis_type_choices, current_versions
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


class LineField(forms.CharField):
    """One line of text: refuses control characters, bidi overrides and NUL beside the
    field, with the same words as the use case (crisisflow.incidents.inputs), which then
    turns line breaks and tabs into spaces."""

    multiline = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django's own NUL message reads "empty string not allowed" in Chinese; ours says
        # what is wrong (to_python below refuses NUL first).
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]

    def to_python(self, value):
        value = super().to_python(value)
        problem = text_problem(value, multiline=self.multiline) if value else None
        if problem:
            raise ValidationError(problem, code="bad_characters")
        return value


class TextField(LineField):
    """Multi-line text (notes, summaries, reasons): line breaks stay."""

    multiline = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("strip", False)  # the use case strips, after normalising line ends
        super().__init__(*args, **kwargs)


class MomentField(forms.DateTimeField):
    """A date and time typed in the person's zone, inside the bounds every stored moment
    keeps (crisisflow.incidents.inputs.check_moment); `not_after_now` for moments that
    have happened. The refusal is shown beside the field."""

    def __init__(self, *args, not_after_now: bool = False, field_name: str = "", **kwargs):
        self.not_after_now = not_after_now
        self.field_name = field_name
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        try:
            moment = super().to_python(value)
        except (OverflowError, ValueError):
            # A date Python itself cannot hold once shifted to this zone.
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if moment is None:
            return None
        try:
            return check_moment(moment, self.field_name, not_after_now=self.not_after_now)
        except Invalid as err:
            raise ValidationError(str(err.message), code="out_of_range") from None


def _severity_choices(blank: bool) -> list[tuple[str, str]]:
    return ([NO_CHOICE] if blank else []) + list(Severity.choices)


class SignInForm(AuthenticationForm):
    """Django's sign-in form, with the user name's length checked on the server too.

    Django sets that length only as an HTML attribute, so any length reached
    authenticate(); the sign-in lockout then stored the name tried in a 255-character
    column and a longer one failed with a 500 (and no lockout count)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


def missing_version_message() -> str:
    """A button form posted without the version of the page (or with a broken one)."""
    return gettext("This form came without the version of the page it was on; reload the page and try again.")


class VersionedForm(forms.Form):
    """Every change form carries the version the page showed, so a stale one is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class ScopeFields(forms.Form):
    """The affected scope and facts, shared by the report and the scope-edit forms."""

    title = LineField(
        label=_("Title"),
        required=False,
        widget=forms.TextInput(attrs={"required": True, "maxlength": 200, "autocomplete": "off"}),
    )
    summary = TextField(label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    affected_users = forms.IntegerField(
        label=_("Estimated affected users"), required=False, widget=forms.NumberInput(attrs={"min": 0})
    )
    regions = LineField(label=_("Regions"), required=False, help_text=_("Comma-separated, e.g. Shanghai, Beijing"))
    platforms = LineField(
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
    detected_at = MomentField(
        not_after_now=True,
        field_name="detected_at",
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
    reason = TextField(label=_("Reason"), required=False, widget=forms.TextInput(attrs={"required": True}))


class OutbreakForm(VersionedForm):
    """Correct when the crisis broke out; every deadline counted from it moves."""

    detected_at = MomentField(
        not_after_now=True,
        field_name="detected_at",
        label=_("Outbreak (detected) at"),
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text=_("In your time zone. The golden clock and the tasks counted from detection move with it."),
    )
    reason = TextField(label=_("Reason"), required=False, widget=forms.TextInput(attrs={"required": True}))


class StepForm(VersionedForm):
    """One button of the "Next step" panel; some steps ask for more."""

    step = LineField(widget=forms.HiddenInput)
    reason = TextField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    crisis_type = forms.ChoiceField(label=_("Crisis type"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False, choices=_severity_choices(blank=True))
    playbook = forms.ChoiceField(label=_("Plan"), required=False)

    def __init__(self, *args, versions: list[PlaybookVersion] | None = None, **kwargs):
        """`versions`: the current playbook versions, when the page has read them already."""
        super().__init__(*args, **kwargs)
        versions = current_versions() if versions is None else versions
        self.fields["crisis_type"].choices = [NO_CHOICE, *crisis_type_choices(versions)]
        self.fields["playbook"].choices = [(v.key, f"{v.name()} (v{v.number})") for v in versions]

    def options(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("crisis_type", "severity", "playbook")
            if self.cleaned_data.get(name)
        }


class NoteForm(forms.Form):
    text = TextField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3, "required": True}))


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
    reason = TextField(required=False)


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
    time_zone = LineField(
        label=_("Time zone"),
        required=False,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Pick one or type any zone name, e.g. Asia/Shanghai. All times are shown in it."),
    )
    email = LineField(
        label=_("E-mail address"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = LineField(
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


class ApiTokenForm(forms.Form):
    """The "new API token" form on /me/. crisisflow.api.tokens decides what is valid."""

    name = forms.CharField(
        label=_("Name"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 100, "autocomplete": "off"}),
        help_text=_("What will use it, e.g. “status page” or “monitoring”."),
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=[("read", _("Read only")), ("write", _("Read and write"))],
        initial="read",
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires"),
        choices=[("30", _("in 30 days")), ("90", _("in 90 days")), ("365", _("in a year")), ("", _("never"))],
        coerce=int,
        empty_value=None,
        required=False,
        initial="90",
    )


class HandOverForm(VersionedForm):
    """Hand over command: to a team member or someone on the commander roster (the use
    case refuses anyone not on the roster, with its reason next to the field)."""

    commander = forms.ModelChoiceField(label=_("New commander"), queryset=User.objects.none())
    reason = LineField(label=_("Why (optional)"), required=False, widget=forms.TextInput(attrs={"maxlength": 500}))

    def __init__(self, incident, *args, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = User.objects.filter(is_active=True).filter(
            Q(memberships__incident=incident) | Q(roster_entries__role=Role.COMMANDER)
        )
        if incident.commander_id:
            candidates = candidates.exclude(pk=incident.commander_id)
        self.fields["commander"].queryset = candidates.distinct().order_by("display_name", "username")
