"""The word lists compiled for speed: one regular expression per list and language.

Literal phrases become one trie-shaped alternation (a text is read once per list, not
once per phrase); patterns are added as groups of their own so a match says which entry
it came from. English phrases are whole words in any case; in Chinese a phrase is found
anywhere, except Latin-letter terms (SDK, OTA) which are whole words there too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from crisisflow.statements.lint import data
from crisisflow.statements.lint.numbers import nouns_pattern

_WORD_EDGE = "a-z0-9"


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


def _edged(word: str) -> bool:
    return word[:1].isascii() and word[:1].isalnum() or word[-1:].isascii() and word[-1:].isalnum()


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    entry: data.Entry


class Matcher:
    """Finds the entries of one list in a text."""

    def __init__(self, entries: list[data.Entry], *, english: bool) -> None:
        self.literals: dict[str, data.Entry] = {}
        edged, loose, parts = [], [], []
        for entry in entries:
            if entry.term:
                key = entry.term.lower()
                if key not in self.literals:
                    self.literals[key] = entry
                    (edged if english or _edged(key) else loose).append(key)
        self.groups: dict[int, data.Entry] = {}
        index = 1
        for words, bounded in ((loose, False), (edged, True)):
            if words:
                body = trie_pattern(words)
                if bounded:
                    body = rf"(?<![{_WORD_EDGE}]){body}(?![{_WORD_EDGE}])"
                parts.append(f"({body})")
                index += 1
        self.literal_groups = index - 1
        for entry in entries:
            if entry.pattern:
                body = entry.pattern
                if english:
                    body = rf"(?<![{_WORD_EDGE}])(?:{body})(?![{_WORD_EDGE}])"
                parts.append(f"({body})")
                self.groups[index] = entry
                index += 1 + re.compile(entry.pattern, re.IGNORECASE).groups
        self.regex = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def _entry(self, m: re.Match) -> data.Entry:
        if m.lastindex is not None and m.lastindex <= self.literal_groups:
            return self.literals[m.group(0).lower()]
        return self.groups[m.lastindex]

    def finditer(self, text: str) -> Iterator[Hit]:
        if self.regex is None:
            return
        for m in self.regex.finditer(text):
            if m.end() > m.start():
                yield Hit(m.start(), m.end(), self._entry(m))

    def search(self, text: str, start: int = 0, end: int | None = None) -> Hit | None:
        if self.regex is None:
            return None
        m = self.regex.search(text, start, len(text) if end is None else end)
        return Hit(m.start(), m.end(), self._entry(m)) if m else None


@dataclass
class Ruleset:
    language: str
    english: bool
    matchers: dict[str, Matcher]
    levels: dict[str, str]
    nouns: re.Pattern | None  # both languages' nouns: a fact sheet may be in either

    def level(self, code: str) -> str:
        return self.levels.get(code) or data.DEFAULT_LEVELS.get(code, "warning")


def extra_dirs() -> tuple[str, ...]:
    from crisisflow.conf import setting

    value = setting("LINT_EXTRA_DIRS") or ()
    if isinstance(value, str | bytes):
        value = (value,)
    return tuple(str(v) for v in value)


@lru_cache(maxsize=8)
def compiled(folders: tuple[str, ...]) -> dict[str, Ruleset]:
    lists = data.cached(folders)
    all_nouns: dict[str, list[str]] = {}
    for wordlists in lists.values():
        for category, words in wordlists.nouns.items():
            all_nouns.setdefault(category, []).extend(words)
    nouns = nouns_pattern(all_nouns)
    return {
        language: Ruleset(
            language=language,
            english=language == "en",
            matchers={name: Matcher(entries, english=language == "en") for name, entries in wordlists.lists.items()},
            levels=dict(wordlists.levels),
            nouns=nouns,
        )
        for language, wordlists in lists.items()
    }


def normal_language(language: str) -> str:
    """ "zh-hans", "zh-Hans", "zh", "zh-cn" → "zh-hans"; anything else → "en"."""
    return "zh-hans" if str(language).lower().startswith("zh") else "en"


def ruleset(language: str) -> Ruleset:
    """The compiled word lists of `language` (built-in plus the organisation's files)."""
    return compiled(extra_dirs())[normal_language(language)]


def clear() -> None:
    """Forget the loaded files (tests; a running server reads them once)."""
    compiled.cache_clear()
    data.cached.cache_clear()
