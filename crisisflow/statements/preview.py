"""What the editor shows beside the text: its length against each channel's limit, SMS
segments, and how it looks on the channel (SMS, social post, e-mail).

The same figures are worked out in the browser as the person types
(static/crisisflow/statements.js); this is what the page shows when it loads and
without JavaScript."""

from __future__ import annotations

import math
from dataclasses import dataclass

from crisisflow.statements import kinds

# Plain (GSM 7-bit) SMS text: 160 characters in one message, 153 per part when split.
GSM_SINGLE, GSM_MULTI = 160, 153


@dataclass(frozen=True)
class Count:
    channel: kinds.Channel
    chars: int
    limit: int | None
    segments: int | None = None
    subject_chars: int | None = None

    @property
    def over(self) -> bool:
        if self.limit is not None and self.chars > self.limit:
            return True
        return bool(
            self.channel.max_subject_chars is not None
            and self.subject_chars is not None
            and self.subject_chars > self.channel.max_subject_chars
        )


def is_gsm(text: str) -> bool:
    return all(ord(c) < 128 for c in text)


def sms_segments(text: str, channel: kinds.Channel) -> int:
    n = len(text)
    if n == 0:
        return 0
    single, multi = (GSM_SINGLE, GSM_MULTI) if is_gsm(text) else (channel.segment_chars, channel.multi_segment_chars)
    assert single and multi
    return 1 if n <= single else math.ceil(n / multi)


def counts(kind: str, title: str, body: str) -> list[Count]:
    """One Count per channel the kind goes out on."""
    found = []
    for key in kinds.KINDS[kind].channels:
        channel = kinds.CHANNELS[key]
        segments = sms_segments(body, channel) if channel.segment_chars else None
        subject = len(title) if channel.max_subject_chars else None
        found.append(Count(channel, len(body), channel.max_chars, segments, subject))
    return found


def previews(kind: str) -> list[str]:
    """The previews that fit the kind: "sms", "social", "email", else "page"."""
    channels = set(kinds.KINDS[kind].channels)
    shown = []
    if "sms" in channels:
        shown.append("sms")
    if channels & {"weibo", "wechat"}:
        shown.append("social")
    if "email" in channels:
        shown.append("email")
    return shown or ["page"]
