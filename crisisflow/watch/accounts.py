"""The account rules act as: the reporter of the incidents they open."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from crisisflow.people.models import User

USERNAME = "early-warning"


def service_account() -> User:
    """The early-warning account (made on first use; it cannot sign in)."""
    user = User.objects.filter(username=USERNAME).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            user = User(username=USERNAME, display_name="Early warning / 预警")
            user.set_unusable_password()
            user.save()
            return user
    except IntegrityError:
        return User.objects.get(username=USERNAME)  # another worker made it first
