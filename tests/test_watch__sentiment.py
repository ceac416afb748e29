"""Offline sentiment, Chinese and English: the lexicon classifier shipped with the
project, held to its accuracy on the labelled sample (bench/signals.py prints it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisisflow.watch import sentiment

SAMPLE = Path(__file__).resolve().parent / "data" / "sentiment_sample.tsv"


def sample() -> list[tuple[str, str, str]]:
    rows = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, language, text = line.split("\t", 2)
            rows.append((label, language, text))
    return rows


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_classifier_gets_the_labelled_sample_right(language):
    rows = [row for row in sample() if row[1] == language]
    assert len(rows) >= 30
    right = sum(sentiment.classify(text, language)[0] == label for label, _lang, text in rows)
    assert right / len(rows) >= 0.9, f"{right}/{len(rows)}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("服务不错", "positive"),
        ("服务不好", "negative"),  # 不 flips 好
        ("不满意", "negative"),
        ("This is not good", "negative"),
        ("not bad at all", "positive"),
        ("明天出差", "neutral"),  # 差 inside 出差 is no complaint
        ("App又崩了, terrible", "negative"),  # mixed languages count both
        ("", "neutral"),
    ],
)
def test_negation_and_longest_match(text, expected):
    assert sentiment.classify(text)[0] == expected


def test_the_language_is_guessed_from_the_text():
    assert sentiment.language_of("支付宝") == "zh"
    assert sentiment.language_of("Alipay") == "en"
