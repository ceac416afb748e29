"""The consent wording a subscriber agrees to, with its version: a Consent row stores
the very text shown, in the language it was shown in. A change of wording is a new
version (and a new entry here), never an edit of an old one."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

VERSION = "2026-11-1"


def consent_text(language: str) -> str:
    with translation.override(language):
        return _(
            "I agree that this service stores my address and sends me the public statements "
            "published on the notices I chose, until I unsubscribe. My address is used for "
            "nothing else, is not shared, and is erased on request."
        )
