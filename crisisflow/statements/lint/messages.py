"""What each finding says, in the reader's language (the active Django language).

The suggestion is part of the message: a finding that only says what is wrong leaves the
writer guessing what to put instead."""

from __future__ import annotations

from django.utils.translation import gettext as _


def missing_attitude() -> str:
    return _(
        "No apology and no word of responsibility. Say sorry plainly near the start, "
        "e.g. “We are sorry. This was our failure.”"
    )


def missing_facts() -> str:
    return _("The facts are missing: say what happened, when, and who is affected (use the figures of the fact sheet).")


def missing_action() -> str:
    return _(
        "No concrete action: say what has been done and what will be done, by whom and by when "
        "(fix, refund, hotline, date)."
    )


def blame_shifting(phrase: str) -> str:
    return _(
        "“%(phrase)s” points at someone else before the company owns the problem. "
        "Own it first; a partner's part can follow later, as a fact."
    ) % {"phrase": phrase}


def blame_always(phrase: str) -> str:
    return _(
        "“%(phrase)s” blames a worker or the users themselves. Own the problem and say what the company will change."
    ) % {"phrase": phrase}


def vague_promise(phrase: str) -> str:
    return _(
        "“%(phrase)s” promises nothing anyone can check. Add a date, a scope or an amount "
        "(e.g. “by 18:00 on 5 March”, “every affected user, 50 yuan”)."
    ) % {"phrase": phrase}


def jargon(phrase: str, plain: str) -> str:
    if plain:
        return _("“%(phrase)s” is jargon the public won't follow. Say “%(plain)s”.") % {
            "phrase": phrase,
            "plain": plain,
        }
    return _("“%(phrase)s” is jargon the public won't follow. Say it in plain words.") % {"phrase": phrase}


def absolute_claim(phrase: str) -> str:
    return _(
        "“%(phrase)s” is an absolute claim that may not hold (legal risk). "
        "Say what has been done and what will be checked instead."
    ) % {"phrase": phrase}


def minimising(phrase: str) -> str:
    return _("“%(phrase)s” plays the problem down. Give the confirmed figure from the fact sheet instead.") % {
        "phrase": phrase
    }


def liability_admission(phrase: str) -> str:
    return _("“%(phrase)s” may admit legal liability. Legal should read it on purpose before this goes out.") % {
        "phrase": phrase
    }


def figure_mismatch(phrase: str, sheet: str) -> str:
    return _("“%(phrase)s” does not match the fact sheet (%(sheet)s). Use the figure on the fact sheet.") % {
        "phrase": phrase,
        "sheet": sheet,
    }


def date_mismatch(phrase: str, sheet: str) -> str:
    return _("The date “%(phrase)s” is not on the fact sheet (it has %(sheet)s). Check it against the sheet.") % {
        "phrase": phrase,
        "sheet": sheet,
    }


def unconfirmed(phrase: str) -> str:
    return _(
        "“%(phrase)s” is not confirmed on the fact sheet but is stated as certain. Word it as "
        "preliminary (e.g. “initial findings show…”) or wait until it is confirmed."
    ) % {"phrase": phrase}


def too_long(count: int, channel: str, limit: int) -> str:
    return _("%(count)s characters: longer than %(channel)s allows (%(limit)s). Shorten it or use another channel.") % {
        "count": count,
        "channel": channel,
        "limit": limit,
    }


def sms_segments(count: int, segments: int, per: int, single: int) -> str:
    return _(
        "This SMS is %(count)s characters and goes out as %(segments)s messages of up to %(per)s "
        "characters. Keep it to %(single)s characters to send one message."
    ) % {"count": count, "segments": segments, "per": per, "single": single}


def subject_too_long(count: int, limit: int) -> str:
    return _(
        "The subject has %(count)s characters; mail programs cut it after about %(limit)s. "
        "Put the key fact first and shorten it."
    ) % {"count": count, "limit": limit}
