"""The word lists compiled for speed: one regular expression per list and language.

Literal phrases become one trie-shaped alternation (a text is read once per list, not
once per phrase); patterns are added as groups of their own so a match says which entry
it came from. English phrases are whole words in any case; in Chinese a phrase is found
anywhere, except Latin-letter terms (SDK, OTA) which are whole words there too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from crisisflow.statements.lint import data
from crisisflow.statements.lint.numbers import Nouns, lowered, trie_pattern

logger = logging.getLogger(__name__)

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _edged(word: str) -> bool:
    return word[:1].isascii() and word[:1].isalnum() or word[-1:].isascii() and word[-1:].isalnum()


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    entry: data.Entry


class Matcher:
    """Finds the entries of one list in a lowercased text.

    One scanning expression, made only of non-capturing alternatives that start with
    plain characters, so the regular-expression engine can skip ahead cheaply; when it
    stops somewhere, the alternatives are tried one by one to learn which entry it was.
    Whole-word entries check the character before them here rather than with a
    look-behind (which would switch the engine's skipping off)."""

    def __init__(self, entries: list[data.Entry], *, english: bool) -> None:
        self.literals: dict[str, data.Entry] = {}
        loose, edged = [], []
        for entry in entries:
            if entry.term:
                key = lowered(entry.term)
                if key not in self.literals:
                    self.literals[key] = entry
                    (edged if english or _edged(key) else loose).append(key)
        # (expression, entry or None for a literal trie, whole words?) in trying order
        self.alternatives: list[tuple[re.Pattern, data.Entry | None, bool]] = []
        for words, bounded in ((loose, False), (edged, True)):
            if words:
                body = trie_pattern(words) + ("(?![a-z0-9])" if bounded else "")
                self.alternatives.append((re.compile(body), None, bounded))
        for entry in entries:
            if entry.pattern:
                body = f"(?:{entry.pattern})" + ("(?![a-z0-9])" if english else "")
                self.alternatives.append((re.compile(body), entry, english))
        parts = [a.pattern for a, _, _ in self.alternatives]
        self.regex = re.compile("|".join(parts)) if parts else None

    def _hit(self, low: str, start: int) -> Hit | None:
        for expression, entry, bounded in self.alternatives:
            m = expression.match(low, start)
            if m is None or m.end() == start:
                continue
            if bounded and start and low[start - 1] in _ALNUM and low[start] in _ALNUM:
                continue
            return Hit(start, m.end(), entry or self.literals[m.group(0)])
        return None

    def finditer(self, low: str, start: int = 0, end: int | None = None) -> Iterator[Hit]:
        if self.regex is None:
            return
        end = len(low) if end is None else end
        pos = start
        search = self.regex.search
        while pos < end:
            m = search(low, pos, end)
            if m is None:
                return
            hit = self._hit(low, m.start())
            if hit is None or hit.end > end:
                pos = m.start() + 1
                continue
            yield hit
            pos = max(hit.end, m.start() + 1)

    def search(self, low: str, start: int = 0, end: int | None = None) -> Hit | None:
        return next(self.finditer(low, start, end), None)


@dataclass(eq=False)  # hashed by identity: sheets are cached per ruleset
class Ruleset:
    language: str
    english: bool
    matchers: dict[str, Matcher]
    levels: dict[str, str]
    nouns: Nouns  # both languages' nouns: a fact sheet may be in either

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
    nouns = Nouns(all_nouns)
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
    """The compiled word lists of `language` (built-in plus the organisation's files).

    A broken file of the organisation's does not stop statements being saved: the
    linter keeps to the built-in lists (whole, never half an organisation's) and logs
    every mistake; `lint_statement` and `manage.py check` report them as errors."""
    folders = extra_dirs()
    try:
        return compiled(folders)[normal_language(language)]
    except data.LintDataError as exc:
        if not folders:
            raise  # the built-in lists themselves are broken: nothing to fall back on
        if folders not in _reported:
            _reported.add(folders)
            logger.error("statement linter: the extra word lists are wrong, using the built-in ones:\n%s", exc)
        return compiled(())[normal_language(language)]


_reported: set[tuple[str, ...]] = set()


def clear() -> None:
    """Forget the loaded files (tests; a running server reads them once)."""
    compiled.cache_clear()
    data.cached.cache_clear()
