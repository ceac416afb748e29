"""Finding the promises of a statement version and whether the ledger holds them.

A promise is a sentence that pledges something to the public:
- vague: the linter flagged it `vague_promise` ("尽快", "bear all losses", "free
  identity-theft insurance" with no stated coverage);
- dated: it pledges a remedy with a date or an amount ("we will refund every affected
  order by 5 December", "我们将在12月5日前完成退款"; lint.dated_promises). Concrete
  wording does not make it less of a promise; its date becomes the commitment's due date
  unless someone sets another.
Each must be a commitment with an owner and a due date — or be reworded — before the
statement may be approved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from crisisflow import clock
from crisisflow.statements import lint
from crisisflow.statements.lint.numbers import dates
from crisisflow.statements.models import StatementVersion

# Where a sentence ends: Chinese and Latin full stops, question and exclamation marks,
# semicolons and line breaks. A Latin "." only before a space or the end (not 1.2).
_END = re.compile(r"[。！？；!?;\n]|\.(?=\s|$)")
PROMISE_CODE = "vague_promise"
VAGUE = "vague"
DATED = "dated"


@dataclass(frozen=True)
class Promise:
    sentence: str
    start: int
    end: int
    phrase: str
    kind: str = VAGUE
    # The day a dated promise names ("by 5 December"), the default due date.
    promised_on: date | None = None


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentence holding text[start:end], terminator included."""
    begin = 0
    for match in _END.finditer(text, 0, max(0, start)):
        begin = match.end()
    after = _END.search(text, max(end, start))
    stop = after.end() if after else len(text)
    while begin < stop and text[begin].isspace():
        begin += 1
    return begin, stop


def normal(sentence: str) -> str:
    return " ".join(sentence.split())


def promised_day(sentence: str, after: int = 0, today: date | None = None) -> date | None:
    """The date a sentence promises: the first it names from `after` on (where the pledge
    starts; "on 2 March … we will refund by 9 March" promises the 9th), else the first at
    all. In the year it gives, or else this year — or next year when that day is more
    than two months gone (a promise is about the future)."""
    today = today or clock.now().date()
    found = dates(sentence)
    found = [r for r in found if r.start >= after] or found
    for ref in found:
        year = ref.year or today.year
        try:
            day = date(year, ref.month, ref.day)
        except ValueError:
            continue
        if ref.year is None and (today - day).days > 60:
            try:
                day = date(year + 1, ref.month, ref.day)
            except ValueError:
                continue
        return day
    return None


def due_on(day: date) -> datetime:
    """A promise made for a day is due at its end in China Standard Time (15:59 UTC), as
    the ledger's date fields read."""
    return datetime(day.year, day.month, day.day, 15, 59, tzinfo=UTC)


def promises(version: StatementVersion) -> list[Promise]:
    """The promise sentences of a version, each once, in the order they appear."""
    body = version.body or ""
    seen: dict[tuple[int, int], Promise] = {}
    for start, end in lint.dated_promises(body, language=version.statement.language):
        s, e = sentence_around(body, start, end)
        if (s, e) not in seen:
            day = promised_day(body[s:e], after=start - s)
            seen[(s, e)] = Promise(normal(body[s:e]), s, e, body[start:end], DATED, day)
    for finding in version.findings or []:
        if finding.get("code") != PROMISE_CODE or finding.get("field", "body") != "body":
            continue
        start, end = int(finding.get("start", 0)), int(finding.get("end", 0))
        if not (0 <= start <= end <= len(body)):
            continue
        s, e = sentence_around(body, start, end)
        if (s, e) not in seen:
            seen[(s, e)] = Promise(normal(body[s:e]), s, e, body[start:end])
    return sorted(seen.values(), key=lambda p: p.start)
