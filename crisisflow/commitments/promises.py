"""Finding the promises of a statement version and whether the ledger holds them.

A promise is a sentence the linter flagged `vague_promise` ("尽快", "bear all losses",
"free identity-theft insurance" with no stated coverage). Each must be a commitment with
an owner and a due date — or be reworded — before the statement may be approved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crisisflow.statements.models import StatementVersion

# Where a sentence ends: Chinese and Latin full stops, question and exclamation marks,
# semicolons and line breaks. A Latin "." only before a space or the end (not 1.2).
_END = re.compile(r"[。！？；!?;\n]|\.(?=\s|$)")
PROMISE_CODE = "vague_promise"


@dataclass(frozen=True)
class Promise:
    sentence: str
    start: int
    end: int
    phrase: str


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


def promises(version: StatementVersion) -> list[Promise]:
    """The promise sentences of a version, each once, in the order they appear."""
    body = version.body or ""
    seen: dict[tuple[int, int], Promise] = {}
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
