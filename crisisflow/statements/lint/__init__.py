"""The statement linter: what a crisis-PR reviewer would flag, in zh-Hans and English.

    findings = lint(text, language="zh-hans", kind="holding_statement", facts=facts)

Each Finding has a code (`missing_attitude`, `blame_shifting`…), a level, the span it
covers (character offsets into `text`, or into `title` when `field` is "title"), and a
message with a suggestion in the reader's language (the active Django language, not the
text's). `facts` are the fact sheet's statements (FactRef), for `fact_mismatch`; without
them that rule is silent.

The codes (README, "The statement linter"):
- missing_attitude / missing_facts / missing_action: the three elements of a first
  response; checked for kinds with `three_elements` (holding and full statements) only,
  at the level the word lists give (error by default). Other kinds are not checked: a
  progress update or an SMS need not apologise again.
- blame_shifting, vague_promise, jargon, absolute_claim, minimising, liability_admission:
  phrases from the word lists (crisisflow/statements/lint/data/*.yaml and the folders of
  CRISISFLOW["LINT_EXTRA_DIRS"]).
- fact_mismatch: a figure or date that the fact sheet contradicts, or an unconfirmed fact
  stated as certain.
- channel_length: longer than a channel of the kind allows (SMS: segments counted;
  e-mail: the subject).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from crisisflow.statements.lint.data import LintDataError
from crisisflow.statements.lint.messages import Messages
from crisisflow.statements.lint.numbers import DateRef, Quantity, dates, lowered, quantities, shown, trie_pattern
from crisisflow.statements.lint.rules import Ruleset, normal_language, ruleset


class Level:
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class FactRef:
    """One fact from the fact sheet, as the linter sees it."""

    section: str
    text: str
    confirmed: bool


@dataclass(frozen=True)
class Finding:
    code: str
    level: str
    start: int
    end: int
    message: str
    # "body" (offsets into the text) or "title" (offsets into the title).
    field: str = "body"

    def as_dict(self) -> dict:
        found = {"code": self.code, "level": self.level, "start": self.start, "end": self.end, "message": self.message}
        if self.field != "body":
            found["field"] = self.field  # offsets into the title
        return found

    def line_col(self, text: str) -> tuple[int, int]:
        """1-based line and column of the finding's start in `text`."""
        return line_col(text, self.start)


def line_col(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def has_errors(findings: list[Finding]) -> bool:
    return any(f.level == Level.ERROR for f in findings)


def lint(
    text: str,
    *,
    language: str,
    kind: str | None = None,
    title: str = "",
    facts: list[FactRef] | None = None,
) -> list[Finding]:
    """Every finding in `text`, in order of position (the title's first)."""
    rules = ruleset(language)
    say = Messages()
    spec = _kind(kind)
    # Naming a partner or supplier is blame only in what the public reads; a partner
    # notice or an internal one names them as a matter of course.
    public = spec is None or spec.public
    body = _Text(text)
    findings = _phrases(body, rules, "body", say, public)
    if title:
        findings += _phrases(_Text(title), rules, "title", say, public)
    if spec is not None and spec.three_elements:
        findings += _three_elements(body, title, rules, say)
    if facts:
        findings += _fact_mismatches(body, facts, rules, say)
    if spec is not None:
        findings += _channel_length(text, title, spec, say)
    findings.sort(key=lambda f: (f.field != "title", f.start, f.end, f.code))
    return findings


def dated_promises(text: str, *, language: str) -> list[tuple[int, int]]:
    """Where `text` pledges a remedy with a date or an amount ("we will refund every
    affected order by 5 December", "我们将在12月5日前完成退款"): the span of each pledge
    (`pledge` list) in a sentence that also says when or how much (`concrete`), in order.

    Not a finding — nothing is wrong with the wording — but still a public promise: the
    commitments ledger holds it to an owner and a due date (crisisflow.commitments)."""
    rules = ruleset(language)
    t = _Text(text)
    found: list[tuple[int, int]] = []
    for hit in rules.matchers["pledge"].finditer(t.low):
        start, end = t.sentence(hit.start)
        if rules.matchers["concrete"].search(t.low, start, end):
            found.append((hit.start, hit.end))
    return found


def _kind(key: str | None):
    if not key:
        return None
    from crisisflow.statements.kinds import KINDS

    return KINDS.get(key)


class _Text:
    """A text and, worked out once when first needed, where its sentences end."""

    SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?=\s|$)")

    def __init__(self, text: str) -> None:
        self.text = text
        self.low = lowered(text)
        self._ends: list[int] | None = None

    def sentence(self, pos: int) -> tuple[int, int]:
        if self._ends is None:
            self._ends = [m.end() for m in self.SENTENCE_END.finditer(self.text)]
        i = bisect.bisect_right(self._ends, pos)
        start = self._ends[i - 1] if i else 0
        end = self._ends[i] if i < len(self._ends) else len(self.text)
        return start, end


def _phrases(t: _Text, rules: Ruleset, where: str, say: Messages, public: bool) -> list[Finding]:
    text, low, m = t.text, t.low, rules.matchers
    found: list[Finding] = []
    owned = m["attitude"].search(low)
    owned_at = owned.start if owned else len(text) + 1
    for hit in m["blame_shifting"].finditer(low):
        if hit.entry.always:
            message = say("blame_always", phrase=text[hit.start : hit.end])
        # A title is too short to own anything in; only its outright blame counts.
        elif public and hit.start < owned_at and where == "body":
            message = say("blame_shifting", phrase=text[hit.start : hit.end])
        else:
            continue
        found.append(Finding("blame_shifting", rules.level("blame_shifting"), hit.start, hit.end, message, where))
    for hit in m["vague_promise"].finditer(low):
        start, end = t.sentence(hit.start)
        if m["concrete"].search(low, start, end):
            continue
        phrase = text[hit.start : hit.end]
        found.append(
            Finding(
                "vague_promise",
                rules.level("vague_promise"),
                hit.start,
                hit.end,
                say("vague_promise", phrase=phrase),
                where,
            )
        )
    for code in ("jargon", "absolute_claim", "minimising", "liability_admission"):
        for hit in m[code].finditer(low):
            phrase = text[hit.start : hit.end]
            if code == "jargon" and hit.entry.plain:
                message = say("jargon_plain", phrase=phrase, plain=hit.entry.plain)
            else:
                message = say(code, phrase=phrase)
            found.append(Finding(code, rules.level(code), hit.start, hit.end, message, where))
    return found


def _three_elements(t: _Text, title: str, rules: Ruleset, say: Messages) -> list[Finding]:
    text, m = t.low, rules.matchers
    found = []
    if not (m["attitude"].search(text) or (title and m["attitude"].search(lowered(title)))):
        found.append(Finding("missing_attitude", rules.level("missing_attitude"), 0, 0, say("missing_attitude")))
    what = m["facts_what"].search(text)
    if not (what and (m["facts_when"].search(text) or m["facts_scope"].search(text))):
        found.append(Finding("missing_facts", rules.level("missing_facts"), 0, 0, say("missing_facts")))
    if not m["action"].search(text):
        found.append(Finding("missing_action", rules.level("missing_action"), 0, 0, say("missing_action")))
    return found


# --- fact_mismatch -------------------------------------------------------------------------


@dataclass
class _Sheet:
    figures: list[tuple[Quantity, FactRef]] = field(default_factory=list)
    dates: list[tuple[DateRef, FactRef]] = field(default_factory=list)
    # Runs of words of the unconfirmed facts that no confirmed fact shares.
    unconfirmed: re.Pattern | None = None


@lru_cache(maxsize=64)
def _sheet(facts: tuple[FactRef, ...], rules: Ruleset) -> _Sheet:
    """What the linter needs from a fact sheet, worked out once per sheet (the editor
    lints the same sheet's statements over and over)."""
    sheet = _Sheet()
    for fact in facts:
        found = dates(fact.text)
        sheet.dates += [(d, fact) for d in found + _local_dates(fact.text)]
        figures = quantities(fact.text, rules.nouns, skip=[(d.start, d.end) for d in found])
        if not figures and _DIGIT.search(fact.text):
            # A bare figure ("1200000" for scope.affected_users): its section names what it counts.
            named = re.sub(r"[._\[\]\d]+", " ", fact.section) + ": " + fact.text
            figures = quantities(named, rules.nouns)
        sheet.figures += [(q, fact) for q in figures]
    english = rules.english
    unconfirmed: set = set()
    for fact in facts:
        if not fact.confirmed:
            unconfirmed |= _grams(fact.text, english)
    for fact in facts:
        if fact.confirmed:
            unconfirmed -= _grams(fact.text, english)
    if unconfirmed:
        if english:
            alternatives = sorted(r"\W+".join(words) for words in unconfirmed)
            sheet.unconfirmed = re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")
        else:
            sheet.unconfirmed = re.compile(trie_pattern(sorted(unconfirmed)))
    return sheet


_DIGIT = re.compile(r"\d")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})", re.IGNORECASE)


def _local_dates(text: str) -> list[DateRef]:
    """The local date of each moment the sheet stores in UTC ("2026-03-04T17:00:00+00:00"
    is 5 March in Beijing): a statement may give either."""
    from django.utils import timezone

    found = []
    for m in _MOMENT.finditer(text):
        try:
            moment = datetime.fromisoformat(m.group(0).upper().replace("Z", "+00:00"))
        except ValueError:
            continue
        local = moment.astimezone(timezone.get_default_timezone())
        found.append(DateRef(local.year, local.month, local.day, m.start(), m.end()))
    return found


def _agrees(said: Quantity, value: Decimal, sheet_digits: int) -> bool:
    v = said.value
    if said.qualifier == "more":
        return value >= v
    if said.qualifier == "less":
        return value <= v
    if said.qualifier == "about":
        return abs(value - v) <= value / 10
    # A rounded figure ("1.2 million" for 1,234,567) is not a contradiction; a different
    # figure ("1,000,000" for 1,200,000) is.
    return value == v or (said.digits < sheet_digits and abs(value - v) <= value * Decimal("0.03"))


def _hedged(t: _Text, pos: int, rules: Ruleset) -> bool:
    start, end = t.sentence(pos)
    return rules.matchers["hedges"].search(t.low, start, end) is not None


def _fact_mismatches(t: _Text, facts: list[FactRef], rules: Ruleset, say: Messages) -> list[Finding]:
    text = t.text
    sheet = _sheet(tuple(facts), rules)
    level = rules.level("fact_mismatch")
    found: list[Finding] = []
    flagged_sentences: set[int] = set()
    said_dates = dates(text, t.low)
    for said in said_dates:
        if not sheet.dates:
            break
        phrase = text[said.start : said.end]
        same = [fact for d, fact in sheet.dates if said.same_day(d)]
        if not same:
            on_sheet = ", ".join(sorted({d.shown() for d, _ in sheet.dates}))
            found.append(
                Finding(
                    "fact_mismatch", level, said.start, said.end, say("date_mismatch", phrase=phrase, sheet=on_sheet)
                )
            )
        elif not any(f.confirmed for f in same) and not _hedged(t, said.start, rules):
            found.append(Finding("fact_mismatch", level, said.start, said.end, say("unconfirmed", phrase=phrase)))
            flagged_sentences.add(t.sentence(said.start)[0])
    for said in quantities(text, rules.nouns, skip=[(d.start, d.end) for d in said_dates]):
        if not said.category:
            continue
        same = [(q, fact) for q, fact in sheet.figures if q.category == said.category]
        if not same:
            continue
        phrase = _figure_phrase(text, said)
        agreeing = [fact for q, fact in same if _agrees(said, q.value, q.digits)]
        if not agreeing:
            confirmed = [q for q, fact in same if fact.confirmed] or [q for q, _ in same]
            nearest = min(confirmed, key=lambda q: abs(q.value - said.value))
            found.append(
                Finding(
                    "fact_mismatch",
                    level,
                    said.start,
                    said.end,
                    say("figure_mismatch", phrase=phrase, sheet=shown(nearest.value)),
                )
            )
        elif not any(f.confirmed for f in agreeing) and not _hedged(t, said.start, rules):
            found.append(Finding("fact_mismatch", level, said.start, said.end, say("unconfirmed", phrase=phrase)))
            flagged_sentences.add(t.sentence(said.start)[0])
    found += _unconfirmed_claims(t, sheet, rules, flagged_sentences, say)
    return found


def _figure_phrase(text: str, q: Quantity) -> str:
    return text[q.start : q.end].strip()


# Unbroken runs of letters or digits: a Chinese n-gram never spans punctuation.
_RUN = re.compile(r"[^\W_]+")
_WORD = re.compile(r"[a-z0-9]+")
ZH_GRAM = 6
EN_GRAM = 4


def _grams(text: str, english: bool) -> set:
    """Runs of EN_GRAM words (English) or ZH_GRAM characters (Chinese) of a text."""
    if english:
        words = _WORD.findall(lowered(text))
        return {tuple(words[i : i + EN_GRAM]) for i in range(len(words) - EN_GRAM + 1)}
    return {run[i : i + ZH_GRAM] for run in _RUN.findall(lowered(text)) for i in range(len(run) - ZH_GRAM + 1)}


def _unconfirmed_claims(t: _Text, sheet: _Sheet, rules: Ruleset, flagged: set[int], say: Messages) -> list[Finding]:
    """A sentence that repeats an unconfirmed fact's words, without hedging them."""
    if sheet.unconfirmed is None:
        return []
    found = []
    text = t.text
    for m in sheet.unconfirmed.finditer(t.low):
        start, end = t.sentence(m.start())
        if start in flagged or rules.matchers["hedges"].search(t.low, start, end):
            continue
        flagged.add(start)
        sentence = text[start:end]
        lead = len(sentence) - len(sentence.lstrip())
        tail = len(sentence.rstrip("。！？!?；;.\n "))
        shown_text = sentence.strip().rstrip("。！？!?；;.")
        found.append(
            Finding(
                "fact_mismatch",
                rules.level("fact_mismatch"),
                start + lead,
                start + tail,
                say("unconfirmed", phrase=shown_text[:40] + ("…" if len(shown_text) > 40 else "")),
            )
        )
    return found


# --- channel_length ------------------------------------------------------------------------

# The GSM 03.38 alphabet: a text made only of these goes as 7-bit SMS (160 per segment);
# the extension characters take two places each. Anything else (Chinese) means UCS-2.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")
GSM_SEGMENT, GSM_MULTI = 160, 153


def sms_length(text: str) -> tuple[int, int, int]:
    """(length in the encoding's units, one-message limit, per-part limit when split).
    UCS-2 counts UTF-16 units, so an emoji takes two."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        return sum(2 if ch in GSM_EXTENDED else 1 for ch in text), GSM_SEGMENT, GSM_MULTI
    return len(text.encode("utf-16-le")) // 2, 0, 0


def sms_segments(text: str, segment: int = 70, multi: int = 67) -> int:
    """How many messages the text goes out as (0 for an empty text)."""
    length, gsm_single, gsm_multi = sms_length(text)
    single, per = (gsm_single, gsm_multi) if gsm_single else (segment, multi)
    if length == 0:
        return 0
    return 1 if length <= single else -(-length // per)


def _channel_length(text: str, title: str, spec, say: Messages) -> list[Finding]:
    from crisisflow.statements.kinds import CHANNELS

    found = []
    channels = [CHANNELS[key] for key in spec.channels if key in CHANNELS]
    over = [c for c in channels if c.max_chars is not None and len(text) > c.max_chars]
    # An error when no channel of the kind can carry it; a warning when one can't.
    level = Level.ERROR if over and len(over) == len(channels) else Level.WARNING
    for channel in over:
        found.append(
            Finding(
                "channel_length",
                level,
                channel.max_chars,
                len(text),
                say("too_long", count=len(text), channel=str(channel.label), limit=channel.max_chars),
            )
        )
    for channel in channels:
        if channel.segment_chars:
            length, gsm_single, gsm_multi = sms_length(text)
            single, per = (
                (gsm_single, gsm_multi)
                if gsm_single
                else (channel.segment_chars, channel.multi_segment_chars or channel.segment_chars)
            )
            if length > single:
                segments = -(-length // per)
                start = _offset_of_unit(text, single, gsm=bool(gsm_single))
                found.append(
                    Finding(
                        "channel_length",
                        Level.INFO,
                        start,
                        len(text),
                        say("sms_segments", count=length, segments=segments, per=per, single=single),
                    )
                )
        if channel.max_subject_chars and len(title) > channel.max_subject_chars:
            found.append(
                Finding(
                    "channel_length",
                    Level.WARNING,
                    channel.max_subject_chars,
                    len(title),
                    say("subject_too_long", count=len(title), limit=channel.max_subject_chars),
                    "title",
                )
            )
    return found


def _offset_of_unit(text: str, units: int, *, gsm: bool) -> int:
    """The offset of the first character past `units` units of the SMS encoding."""
    count = 0
    for i, ch in enumerate(text):
        count += 2 if ((gsm and ch in GSM_EXTENDED) or ord(ch) > 0xFFFF) else 1
        if count > units:
            return i
    return len(text)


__all__ = [
    "FactRef",
    "Finding",
    "Level",
    "LintDataError",
    "has_errors",
    "line_col",
    "lint",
    "normal_language",
    "sms_length",
    "sms_segments",
]
