"""A person's own preferences: language, time zone, contact details and alert channels.

One use case, called by the /me/ page (and anything else that edits preferences). It
changes only the fields it is given and refuses bad input with Invalid(field=…) so the
message lands next to the field that caused it.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import clean_line
from crisisflow.people.models import User, is_known_time_zone

FIELDS = ("language", "time_zone", "email", "phone", "alert_in_app", "alert_email")
# Digits with the usual separators and an optional leading +; e.g. "+86 138-0013-8000".
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,38}[0-9]$")


def _language(value: Any) -> str:
    value = str(value or "").strip()
    if value not in dict(settings.LANGUAGES):
        raise Invalid(_("Choose one of the offered languages."), field="language")
    return value


def _time_zone(value: Any) -> str:
    value = clean_line(str(value or ""), "time_zone", max_length=64)
    if not value:
        raise Invalid(_("A time zone is required, e.g. Asia/Shanghai."), field="time_zone")
    # available_timezones() is read once per process by zoneinfo itself (cached).
    if not is_known_time_zone(value):
        raise Invalid(
            _("“%(zone)s” is not a known time zone; use a name like Asia/Shanghai.") % {"zone": value},
            field="time_zone",
        )
    return value


def _email(value: Any) -> str:
    value = clean_line(str(value or ""), "email", max_length=254)
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise Invalid(_("“%(email)s” is not a valid e-mail address.") % {"email": value}, field="email") from None
    return value


def _phone(value: Any) -> str:
    value = clean_line(str(value or ""), "phone", max_length=40)
    if value and not PHONE.match(value):
        raise Invalid(
            _("Enter the phone number with digits only, optionally starting with + (e.g. +86 138 0013 8000)."),
            field="phone",
        )
    return value


CLEANERS = {
    "language": _language,
    "time_zone": _time_zone,
    "email": _email,
    "phone": _phone,
    "alert_in_app": bool,
    "alert_email": bool,
}


def update_preferences(user: User, **fields: Any) -> User:
    """Change the given preferences of `user` (only the fields passed)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a preference: {', '.join(sorted(unknown))}")
    if not user.is_authenticated:
        raise Invalid(_("Sign in to change your preferences."))
    clean = {name: CLEANERS[name](value) for name, value in fields.items()}
    with transaction.atomic():
        person = User.objects.select_for_update().get(pk=user.pk)
        for name, value in clean.items():
            setattr(person, name, value)
        if person.alert_email and not person.email and {"email", "alert_email"} & set(clean):
            # Otherwise the person believes e-mails will come and none ever does. (Only
            # when one of the two is being changed: a language switch is not refused.)
            raise Invalid(
                _("Enter an e-mail address to get alerts by e-mail, or turn e-mail alerts off."), field="email"
            )
        person.save(update_fields=list(clean))
    for name, value in clean.items():
        setattr(user, name, value)  # the caller's copy (request.user) shows the change at once
    return person
