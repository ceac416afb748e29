"""The statement linter: what a crisis-PR reviewer would flag, in zh-Hans and English.

    findings = lint(text, language="zh-hans", kind="holding_statement", facts=facts)

Each Finding has a code (`missing_attitude`, `blame_shifting`…), a level, the span it
covers (character offsets into `text`), and a message with a suggestion in the
reader's language. `facts` are the fact sheet's statements (FactRef), for
`fact_mismatch`; without them that rule is silent."""

from __future__ import annotations

from dataclasses import dataclass


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

    def as_dict(self) -> dict:
        return {"code": self.code, "level": self.level, "start": self.start, "end": self.end, "message": self.message}


def lint(
    text: str,
    *,
    language: str,
    kind: str | None = None,
    title: str = "",
    facts: list[FactRef] | None = None,
) -> list[Finding]:
    """Every finding in `text`, in order of position."""
    return []
