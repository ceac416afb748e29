"""Offline sentiment of a post, in Chinese and English: a lexicon classifier shipped
with the project (data/sentiment_*.txt), no network and no model download.

Chinese text is matched longest-word-first over the lexicon (no word segmenter needed);
English text is split into words. A negator before a sentiment word flips it, an
intensifier multiplies it. The sum decides: below -NEUTRAL_BAND negative, above
+NEUTRAL_BAND positive, else neutral. Its accuracy on the labelled sample in
tests/data/sentiment_sample.tsv is printed by bench/signals.py and held by a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
NEUTRAL_BAND = 0.5
NEGATION_REACH_ZH = 4  # characters
NEGATION_REACH_EN = 3  # words
_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z][a-z'\-]*")


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, float]
    negators: frozenset[str]
    intensifiers: dict[str, float]
    longest: int


def _read(name: str) -> list[list[str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


@cache
def lexicon(language: str) -> Lexicon:
    words = {word: float(weight) for word, weight in _read(f"sentiment_{language}.txt")}
    negators, intensifiers = set(), {}
    for row in _read("sentiment_modifiers.txt"):
        if row[0] == "negator":
            negators.add(row[1])
        elif row[0] == "intensifier":
            intensifiers[row[1]] = float(row[2])
    return Lexicon(words, frozenset(negators), intensifiers, max(map(len, [*words, *negators, *intensifiers])))


def language_of(text: str) -> str:
    """zh when the text has Han characters, else en."""
    return "zh" if _HAN.search(text) else "en"


def _score_zh(text: str, lex: Lexicon) -> float:
    score, i, negated_until, factor = 0.0, 0, -1, 1.0
    while i < len(text):
        for size in range(min(lex.longest, len(text) - i), 0, -1):
            piece = text[i : i + size]
            if piece in lex.words:
                weight = lex.words[piece] * factor
                score += -weight if i <= negated_until else weight
                negated_until, factor = -1, 1.0
                break
            if piece in lex.negators:
                negated_until = i + size + NEGATION_REACH_ZH
                break
            if piece in lex.intensifiers:
                factor = lex.intensifiers[piece]
                break
        else:
            size = 1
        i += size
    return score


def _score_en(text: str, lex: Lexicon) -> float:
    score, negated_for, factor = 0.0, 0, 1.0
    for word in _WORD.findall(text.lower()):
        if word in lex.negators:
            negated_for = NEGATION_REACH_EN
            continue
        if word in lex.intensifiers:
            factor = lex.intensifiers[word]
            continue
        weight = lex.words.get(word) or lex.words.get(word.rstrip("s"))
        if weight:
            score += -weight * factor if negated_for else weight * factor
            factor, negated_for = 1.0, 0
        elif negated_for:
            negated_for -= 1
    return score


def score(text: str, language: str = "") -> float:
    language = language if language in ("zh", "en") else language_of(text)
    if language == "zh":
        # Mixed posts ("App又崩了, terrible") count both.
        return _score_zh(text, lexicon("zh")) + _score_en(text, lexicon("en"))
    return _score_en(text, lexicon("en"))


def classify(text: str, language: str = "") -> tuple[str, float]:
    """("negative" | "neutral" | "positive", score)."""
    value = score(text or "", language)
    if value < -NEUTRAL_BAND:
        return "negative", value
    if value > NEUTRAL_BAND:
        return "positive", value
    return "neutral", value
