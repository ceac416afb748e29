"""Figures and dates in a text, as values a fact sheet can be checked against.

    1,200,000 users · 1.2 million customers · 120万用户 · 一百二十万名用户 · 逾100万
    5 March 2026 · March 5 · 2026-03-05 · 2026年3月5日 · 3月5日 · 三月五日

A figure is a Quantity (value, how it was qualified: "about", "more than"…, and the
noun category it counts, from the word lists' `nouns:`); a date is (year or None,
month, day). Times of day, percentages and durations are left alone: a statement
says "within 24 hours" without contradicting anything."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
ZH_SMALL = {"十": 10, "百": 100, "千": 1000}
ZH_BIG = {"万": 10_000, "亿": 100_000_000}
EN_UNITS = {
    "thousand": 1_000,
    "k": 1_000,
    "million": 1_000_000,
    "m": 1_000_000,
    "mn": 1_000_000,
    "billion": 1_000_000_000,
    "bn": 1_000_000_000,
}
MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_M1, _M2 = _MONTH.replace("mon", "m1"), _MONTH.replace("mon", "m2")
_ZHN = "零〇一二两三四五六七八九十"

# Dates, each form its own expression (simple ones let the engine skip ahead); all are
# matched against the lowercased text.
ZH_DATE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
ZH_WORD_DATE = re.compile(rf"([{_ZHN}]{{1,3}})月([{_ZHN}]{{1,3}})[日号]")
# The year of a Chinese date, looked for just before the month ("2026年3月5日").
ZH_YEAR = re.compile(rf"(\d{{4}}|[{_ZHN}]{{4}})\s*年\s*$")
ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
DAY_MONTH = re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_M1}\.?(?:,?\s+(\d{{4}}))?(?![a-z])")
MONTH_DAY = re.compile(rf"{_M2}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(\d{{4}}))?")

_QUALIFIER = re.compile(
    r"(?:(?P<more>超过|逾|多于|不少于|至少|more than|over|above|at least|upwards of)"
    r"|(?P<about>约|大约|近|将近|接近|约为|about|around|approximately|nearly|almost|roughly|some|close to)"
    r"|(?P<less>不到|不足|少于|最多|fewer than|less than|under|up to|at most))\s*$"
)
NUMBER = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<plus>\+)?\s*(?P<more>余|多)?\s*"
    r"(?P<unit>万|亿|千|(?:thousand|million|billion|mn|bn|k|m)(?![a-z]))?"
    rf"|(?P<zh>[{_ZHN}百千][{_ZHN}百千万亿]+)"
)


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    start: int
    end: int
    qualifier: str  # "", "more", "less", "about"
    category: str  # a noun category of the word lists, or "" when none was found
    digits: int  # significant digits as written (a rounded figure has few)


@dataclass(frozen=True)
class DateRef:
    year: int | None
    month: int
    day: int
    start: int
    end: int

    def same_day(self, other: DateRef) -> bool:
        return (self.month, self.day) == (other.month, other.day) and (
            self.year is None or other.year is None or self.year == other.year
        )

    def shown(self) -> str:
        return f"{self.year}-{self.month:02d}-{self.day:02d}" if self.year else f"{self.month:02d}-{self.day:02d}"


def zh_number(text: str) -> int | None:
    """一百二十万 → 1200000, 两千 → 2000, 十二 → 12, 一二三 → None (digits read one by one
    are a code, not a count)."""
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in ZH_DIGITS:
            if digit is not None:
                return None
            digit = ZH_DIGITS[ch]
        elif ch in ZH_SMALL:
            section += (1 if digit is None else digit) * ZH_SMALL[ch]
            digit = None
        elif ch in ZH_BIG:
            section += digit or 0
            total = (total + section) * ZH_BIG[ch] if ZH_BIG[ch] > 10_000 else total + section * ZH_BIG[ch]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _zh_small(text: str | None) -> int | None:
    return zh_number(text) if text else None


def lowered(text: str) -> str:
    """`text` in lower case, offset for offset (the few characters whose lower case is
    longer, such as "İ", are left as they are)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def dates(text: str, low: str | None = None) -> list[DateRef]:
    low = lowered(text) if low is None else low
    found = []
    candidates = []
    if "月" in low:
        for m in ZH_DATE.finditer(low):
            start, year = _zh_year(low, m.start())
            candidates.append((m, start, year, m.group(1), m.group(2)))
        for m in ZH_WORD_DATE.finditer(low):
            start, year = _zh_year(low, m.start())
            candidates.append((m, start, year, _zh_small(m.group(1)), _zh_small(m.group(2))))
    if "-" in low:
        for m in ISO_DATE.finditer(low):
            candidates.append((m, m.start(), m.group(1), m.group(2), m.group(3)))
    for m in DAY_MONTH.finditer(low):
        if m.start() and low[m.start() - 1].isalnum():
            continue
        candidates.append((m, m.start(), m.group(3), MONTHS.get(m.group(2)), m.group(1)))
    for m in MONTH_DAY.finditer(low):
        if m.start() and low[m.start() - 1].isalpha():
            continue
        candidates.append((m, m.start(), m.group(3), MONTHS.get(m.group(1)), m.group(2)))
    taken: set[int] = set()
    for m, start, year, month, day in sorted(candidates, key=lambda c: (c[1], -c[0].end())):
        if start in taken:
            continue
        try:
            month, day = int(month or 0), int(day or 0)
        except ValueError:
            continue
        if 1 <= month <= 12 and 1 <= day <= 31:
            taken.update(range(start, m.end()))
            found.append(DateRef(int(year) if year else None, month, day, start, _trimmed(low, start, m.end())))
    return found


def _zh_year(low: str, start: int) -> tuple[int, str | None]:
    m = ZH_YEAR.search(low, max(0, start - 8), start)
    if m is None:
        return start, None
    year = m.group(1)
    if not year.isdigit():
        if not all(c in ZH_DIGITS for c in year):
            return start, None
        year = "".join(str(ZH_DIGITS[c]) for c in year)
    return m.start(), year


_CJK = re.compile(r"[\u3400-\u9fff]")


def quantities(text: str, nouns: Nouns | None, *, skip: list[tuple[int, int]] = ()) -> list[Quantity]:
    """Every figure of `text` that counts something (users, orders, yuan…) outside the
    `skip` spans (dates), with its noun category. Figures that count nothing the word
    lists know (durations, times, versions) are left out."""
    low = lowered(text)
    skipped = set()
    for s, e in skip:
        skipped.update(range(s, e))
    nouns_found = nouns.find(low) if nouns else []
    if not nouns_found:
        return []
    starts = [n[0] for n in nouns_found]
    found = []
    for m in NUMBER.finditer(low):
        start, end = m.start(), _trimmed(low, m.start(), m.end())
        if start in skipped:
            continue
        # A time of day (14:30), a percentage or a version number is not a count (nor is
        # the tail of a figure the expression did not start at: "1.2.3").
        following = low[end : end + 1]
        preceding = low[start - 1 : start] if start else ""
        if (following and following in "%％:：") or (preceding and preceding in ":：.,0123456789"):
            continue
        english = not _CJK.search(low, max(0, start - 6), end + 6)
        category = _category(low, start, end, nouns_found, starts, english)
        if not category:
            continue
        value, digits, more = _value(m)
        if value is None:
            continue
        if more or m.group("plus"):
            qualifier = "more"
        else:
            q = _QUALIFIER.search(low, max(0, start - 16), start)
            qualifier = q.lastgroup if q else ""
        found.append(Quantity(value, start, end, qualifier, category, digits))
    return found


def _trimmed(text: str, start: int, end: int) -> int:
    while end > start and (text[end - 1].isspace() or text[end - 1] == "."):
        end -= 1
    return end


def _value(m: re.Match) -> tuple[Decimal | None, int, bool]:
    if m.group("zh"):
        value = zh_number(m.group("zh"))
        if value is None or value == 0:
            return None, 0, False
        return Decimal(value), len(str(value).rstrip("0")) or 1, False
    raw = m.group("num").replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None, 0, False
    digits = len(raw.replace(".", "").lstrip("0").rstrip("0")) or 1
    unit = (m.group("unit") or "").lower()
    if unit:
        value *= ZH_BIG.get(unit) or ZH_SMALL.get(unit) or EN_UNITS[unit]
    return value, digits, bool(m.group("more"))


# What may not stand between a figure and its noun: the end of a sentence, another figure,
# and (after the figure) a comma: "14时起，100万用户" counts users with 100万, not 14.
_BREAK_BEFORE = re.compile(r"[。；;.!?！？\d]")
_BREAK_AFTER = re.compile(r"[。；;.!?！？，,、\d]")


def _category(
    low: str, start: int, end: int, nouns: list[tuple[int, int, str]], starts: list[int], english: bool
) -> str:
    """The noun the figure counts: the nearest noun just after it ("120万名用户",
    "1.2 million affected customers"), else just before it ("受影响用户约120万",
    "affected users: 1,200,000")."""
    i = bisect.bisect_left(starts, end)
    if i < len(nouns):
        n_start, _n_end, category = nouns[i]
        between = low[end:n_start]
        if n_start - end <= (24 if english else 8) and (len(between.split()) <= 2 if english else True):
            if not _BREAK_AFTER.search(between):
                return category
    j = bisect.bisect_left(starts, start) - 1
    if j >= 0:
        _n_start, n_end, category = nouns[j]
        between = low[n_end:start]
        if n_end <= start and start - n_end <= (30 if english else 10) and not _BREAK_BEFORE.search(between):
            if not english or len(between.split()) <= 3:
                return category
    return ""


def trie_pattern(words: list[str]) -> str:
    """One alternation matching any of `words`, longest first, shaped as a trie."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str | None:
        if list(node) == [""]:
            return None
        alternatives, single = [], []
        for ch in sorted(k for k in node if k):
            rest = build(node[ch])
            if rest is None:
                single.append(re.escape(ch))
            else:
                alternatives.append(re.escape(ch) + rest)
        if single:
            alternatives.append(single[0] if len(single) == 1 else "[" + "".join(single) + "]")
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie) or ""


class Nouns:
    """The count nouns of the word lists (users, 用户, accounts…), each with its category.
    Words in Latin letters are whole words; Chinese ones are found anywhere."""

    def __init__(self, nouns: dict[str, list[str]]) -> None:
        self.category: dict[str, str] = {}
        for category, words in nouns.items():
            for word in words:
                self.category.setdefault(word.lower(), category)
        latin = [w for w in self.category if w.isascii() and w.isalpha()]
        other = [w for w in self.category if not (w.isascii() and w.isalpha())]
        parts = []
        if other:
            parts.append(trie_pattern(other))
        if latin:
            parts.append(trie_pattern(latin) + "(?![a-z])")
        self.regex = re.compile("|".join(parts)) if parts else None

    def find(self, low: str) -> list[tuple[int, int, str]]:
        """(start, end, category) of every noun in a lowercased text."""
        if self.regex is None:
            return []
        found = []
        for m in self.regex.finditer(low):
            word = m.group(0)
            if word.isascii() and m.start() and low[m.start() - 1].isalpha():
                continue
            found.append((m.start(), m.end(), self.category[word]))
        return found


def shown(value: Decimal) -> str:
    """1200000 → "1,200,000" (the way the message shows a figure)."""
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return f"{int(normal):,}"
    return f"{normal:,f}"
