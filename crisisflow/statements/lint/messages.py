"""What each finding says, in the reader's language (the active Django language).

The suggestion is part of the message: a finding that only says what is wrong leaves the
writer guessing what to put instead. A text can hold dozens of findings and the editor
lints as the person types, so each message is translated once per language and kept."""

from __future__ import annotations

from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_noop as N_

TEMPLATES = {
    "missing_attitude": N_(
        "No apology and no word of responsibility. Say sorry plainly near the start, "
        "e.g. “We are sorry. This was our failure.”"
    ),
    "missing_facts": N_(
        "The facts are missing: say what happened, when, and who is affected (use the figures of the fact sheet)."
    ),
    "missing_action": N_(
        "No concrete action: say what has been done and what will be done, by whom and by when "
        "(fix, refund, hotline, date)."
    ),
    "blame_shifting": N_(
        "“%(phrase)s” points at someone else before the company owns the problem. "
        "Own it first; a partner's part can follow later, as a fact."
    ),
    "blame_always": N_(
        "“%(phrase)s” blames a worker or the users themselves. Own the problem and say what the company will change."
    ),
    "vague_promise": N_(
        "“%(phrase)s” promises nothing anyone can check. Add a date, a scope or an amount "
        "(e.g. “by 18:00 on 5 March”, “every affected user, 50 yuan”)."
    ),
    "jargon_plain": N_("“%(phrase)s” is jargon the public won't follow. Say “%(plain)s”."),
    "jargon": N_("“%(phrase)s” is jargon the public won't follow. Say it in plain words."),
    "absolute_claim": N_(
        "“%(phrase)s” is an absolute claim that may not hold (legal risk). "
        "Say what has been done and what will be checked instead."
    ),
    "minimising": N_("“%(phrase)s” plays the problem down. Give the confirmed figure from the fact sheet instead."),
    "liability_admission": N_(
        "“%(phrase)s” may admit legal liability. Legal should read it on purpose before this goes out."
    ),
    "figure_mismatch": N_("“%(phrase)s” does not match the fact sheet (%(sheet)s). Use the figure on the fact sheet."),
    "date_mismatch": N_(
        "The date “%(phrase)s” is not on the fact sheet (it has %(sheet)s). Check it against the sheet."
    ),
    "unconfirmed": N_(
        "“%(phrase)s” is not confirmed on the fact sheet but is stated as certain. Word it as "
        "preliminary (e.g. “initial findings show…”) or wait until it is confirmed."
    ),
    "too_long": N_(
        "%(count)s characters: longer than %(channel)s allows (%(limit)s). Shorten it or use another channel."
    ),
    "sms_segments": N_(
        "This SMS is %(count)s characters and goes out as %(segments)s messages of up to %(per)s "
        "characters. Keep it to %(single)s characters to send one message."
    ),
    "subject_too_long": N_(
        "The subject has %(count)s characters; mail programs cut it after about %(limit)s. "
        "Put the key fact first and shorten it."
    ),
}

_translated: dict[tuple[str, str], str] = {}


class Messages:
    """The messages in the language active when it was made."""

    def __init__(self) -> None:
        self.language = get_language() or ""

    def __call__(self, key: str, **values) -> str:
        template = _translated.get((self.language, key))
        if template is None:
            template = _translated[(self.language, key)] = gettext(TEMPLATES[key])
        return template % values if values else template


def forget() -> None:
    """Drop the kept translations (after the catalogue changed)."""
    _translated.clear()
