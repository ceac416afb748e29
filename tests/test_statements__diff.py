"""Comparing two versions: character by character in Chinese, word by word in English;
the pieces always put the two texts back together."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crisisflow.statements.diff import diff_text


def test_chinese_is_compared_character_by_character():
    assert diff_text("影响一千名用户", "影响一万名用户", "zh-hans") == [
        ("equal", "影响一"),
        ("delete", "千"),
        ("insert", "万"),
        ("equal", "名用户"),
    ]


def test_english_is_compared_word_by_word():
    assert diff_text("We will fix it soon.", "We will fix it by 5 March.", "en") == [
        ("equal", "We will fix it "),
        ("delete", "soon"),
        ("insert", "by 5 March"),
        ("equal", "."),
    ]


def test_a_changed_line_in_a_long_text_is_found():
    old = "\n".join(f"第{i}段。" for i in range(500))
    new = old.replace("第250段", "第二五〇段")
    pieces = diff_text(old, new, "zh-hans")
    assert [p for p in pieces if p[0] != "equal"] == [("delete", "250"), ("insert", "二五〇")]


@given(st.text(max_size=80), st.text(max_size=80), st.sampled_from(["zh-hans", "en"]))
def test_the_pieces_give_both_texts_back(old, new, language):
    pieces = diff_text(old, new, language)
    assert "".join(t for op, t in pieces if op != "insert") == old
    assert "".join(t for op, t in pieces if op != "delete") == new
