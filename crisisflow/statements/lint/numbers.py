"""Figures and dates in a text, as values a fact sheet can be checked against.

    1,200,000 users · 1.2 million customers · 120万用户 · 一百二十万名用户 · 逾100万
    5 March 2026 · March 5 · 2026-03-05 · 2026年3月5日 · 3月5日 · 三月五日

A figure is a Quantity (value, how it was qualified: "about", "more than"…, and the
noun category it counts, from the word lists' `nouns:`); a date is (year or None,
month, day). Times of day, percentages and durations are left alone: a statement
says "within 24 hours" without contradicting anything."""

from __future__ import annotations

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

DATE = re.compile(
    r"(?:(?P<zy>\d{4})\s*年\s*)?(?P<zm>\d{1,2})\s*月\s*(?P<zd>\d{1,2})\s*[日号]"
    rf"|(?:(?P<cy>[{_ZHN}]{{4}})年)?(?P<cm>[{_ZHN}]{{1,3}})月(?P<cd>[{_ZHN}]{{1,3}})[日号]"
    r"|(?<!\d)(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?!\d)"
    rf"|(?<![\w])(?P<ed>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_M1}\.?(?:,?\s+(?P<ey>\d{{4}}))?(?![a-z])"
    rf"|(?<![a-z]){_M2}\.?\s+(?P<ed2>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(?P<ey2>\d{{4}}))?",
    re.IGNORECASE,
)

_QUALIFY_BEFORE = {
    "more": re.compile(r"(超过|逾|多于|不少于|至少|more than|over|above|at least|upwards of)\s*$", re.IGNORECASE),
    "about": re.compile(
        r"(约|大约|近|将近|接近|左右|约为|about|around|approximately|nearly|almost|roughly|some|close to)\s*$",
        re.IGNORECASE,
    ),
    "less": re.compile(r"(不到|不足|少于|最多|fewer than|less than|under|up to|at most)\s*$", re.IGNORECASE),
}
NUMBER = re.compile(
    r"(?<![\d.,])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<plus>\+)?\s*(?P<more>余|多)?\s*"
    r"(?P<unit>万|亿|千|(?:thousand|million|billion|mn|bn|k|m)(?![a-z]))?"
    rf"|(?P<zh>[{_ZHN}百千][{_ZHN}百千万亿]*)",
    re.IGNORECASE,
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


def dates(text: str) -> list[DateRef]:
    found = []
    for m in DATE.finditer(text):
        g = m.groupdict()
        try:
            if g["zm"]:
                year, month, day = g["zy"], int(g["zm"]), int(g["zd"])
            elif g["cm"]:
                year = (
                    "".join(str(ZH_DIGITS[c]) for c in g["cy"])
                    if g["cy"] and all(c in ZH_DIGITS for c in g["cy"])
                    else None
                )
                month, day = _zh_small(g["cm"]), _zh_small(g["cd"])
            elif g["im"]:
                year, month, day = g["iy"], int(g["im"]), int(g["id"])
            elif g["m1"]:
                year, month, day = g["ey"], MONTHS[g["m1"].lower()], int(g["ed"])
            else:
                year, month, day = g["ey2"], MONTHS[g["m2"].lower()], int(g["ed2"])
        except (KeyError, ValueError):
            continue
        if month and day and 1 <= month <= 12 and 1 <= day <= 31:
            found.append(
                DateRef(int(year) if year else None, month, day, m.start(), _trimmed(text, m.start(), m.end()))
            )
    return found


_CJK = re.compile(r"[\u3400-\u9fff]")


def quantities(text: str, nouns: re.Pattern | None, *, skip: list[tuple[int, int]] = ()) -> list[Quantity]:
    """Every figure of `text` outside the `skip` spans (dates), with its noun category."""
    found = []
    for m in NUMBER.finditer(text):
        start, end = m.start(), _trimmed(text, m.start(), m.end())
        if any(s <= start < e for s, e in skip):
            continue
        value, digits, more = _value(m)
        if value is None:
            continue
        # A time of day (14:30), a percentage or a version number is not a count.
        following = text[end : end + 1]
        preceding = text[start - 1 : start] if start else ""
        if (following and following in "%％:：") or (preceding and preceding in ":：."):
            continue
        qualifier = "more" if more or m.group("plus") else _qualifier(text[max(0, start - 16) : start])
        english = not _CJK.search(text, max(0, start - 6), end + 6)
        category = _category(text, start, end, nouns, english)
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


def _qualifier(before: str) -> str:
    for name, pattern in _QUALIFY_BEFORE.items():
        if pattern.search(before):
            return name
    return ""


def _category(text: str, start: int, end: int, nouns: re.Pattern | None, english: bool) -> str:
    """The noun the figure counts: the nearest noun just after it ("120万名用户",
    "1.2 million affected customers"), else just before it ("受影响用户约120万",
    "affected users: 1,200,000")."""
    if nouns is None:
        return ""
    after = text[end : end + (24 if english else 8)]
    m = nouns.search(after)
    if m and (not english or len(after[: m.start()].split()) <= 2):
        return m.lastgroup or ""
    before = text[max(0, start - (30 if english else 10)) : start]
    last = None
    for m in nouns.finditer(before):
        last = m
    if (
        last
        and (not english or len(before[last.end() :].split()) <= 3)
        and not re.search(r"[。；;.!?！？]", before[last.end() :])
    ):
        return last.lastgroup or ""
    return ""


def nouns_pattern(nouns: dict[str, list[str]]) -> re.Pattern | None:
    """One pattern naming each noun category as a group: (?P<users>users|用户)|…
    Words in Latin letters are whole words; Chinese ones are found anywhere."""
    parts = []
    for category, words in nouns.items():
        if not category.isidentifier() or not words:
            continue
        alternatives = []
        for word in sorted(set(words), key=len, reverse=True):
            escaped = re.escape(word)
            alternatives.append(rf"(?<![a-z]){escaped}(?![a-z])" if word.isascii() and word.isalpha() else escaped)
        parts.append(f"(?P<{category}>{'|'.join(alternatives)})")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def shown(value: Decimal) -> str:
    """1200000 → "1,200,000" (the way the message shows a figure)."""
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return f"{int(normal):,}"
    return f"{normal:,f}"
