"""Comparing two versions of a statement.

Chinese is compared character by character (it has no spaces between words, and one
changed character - 万 for 千 - changes the meaning); English word by word, with the
spaces and punctuation between words kept as their own pieces so the pieces put back
together give the texts exactly."""

from __future__ import annotations

import difflib
import re

EQUAL, INSERT, DELETE = "equal", "insert", "delete"

# A word (letters, digits, apostrophes, hyphens inside), a run of spaces, or any other
# single character (punctuation, a CJK character in an English text).
_TOKEN = re.compile(r"[\w'’-]+|\s+|.", re.DOTALL)


def tokens(text: str, language: str) -> list[str]:
    if language == "en":
        return _TOKEN.findall(text)
    return list(text)


# Above this many token pairs a changed block is shown as deleted and inserted whole:
# difflib's matcher is quadratic, and a statement rewritten end to end needs no finer view.
MAX_PAIRS = 4_000_000


def diff_text(old: str, new: str, language: str) -> list[tuple[str, str]]:
    """The texts as (op, text) pieces, op in "equal", "insert", "delete": the equal and
    delete pieces in order give `old`, the equal and insert pieces give `new`.
    Neighbouring pieces of the same op are joined.

    Lines are matched first, then the tokens inside the lines that changed, so a long
    statement with a few edits costs little."""
    pieces: list[tuple[str, str]] = []

    def add(op: str, parts: list[str]) -> None:
        text = "".join(parts)
        if not text:
            return
        if pieces and pieces[-1][0] == op:
            pieces[-1] = (op, pieces[-1][1] + text)
        else:
            pieces.append((op, text))

    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    lines = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in lines.get_opcodes():
        if tag == "equal":
            add(EQUAL, old_lines[i1:i2])
            continue
        a, b = tokens("".join(old_lines[i1:i2]), language), tokens("".join(new_lines[j1:j2]), language)
        if len(a) * len(b) > MAX_PAIRS:
            add(DELETE, a)
            add(INSERT, b)
            continue
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for op, k1, k2, m1, m2 in matcher.get_opcodes():
            if op == "equal":
                add(EQUAL, a[k1:k2])
            else:
                add(DELETE, a[k1:k2])
                add(INSERT, b[m1:m2])
    return pieces


def diff_versions(old, new, language: str) -> dict[str, list[tuple[str, str]]]:
    """Title and body diffs of two StatementVersions."""
    return {
        "title": diff_text(old.title, new.title, language),
        "body": diff_text(old.body, new.body, language),
    }
