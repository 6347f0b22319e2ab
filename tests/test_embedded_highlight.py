"""store.highlight: the marked characters, unescaped, are exactly the matched ones."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.textfold import fold
from store.highlight import ELLIPSIS, highlight, matched_ranges
from store.query import Phrase, Word
from tests.helpers import examples

MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def marked_positions(text: str, rendered: str) -> set[int]:
    """Character positions of ``text`` inside <mark> in a full (uncut) highlight."""
    positions: set[int] = set()
    pos = 0
    for part in re.split(r"(<mark>.*?</mark>)", rendered, flags=re.S):
        inner = MARK.fullmatch(part)
        plain = html.unescape(inner.group(1) if inner else part)
        if inner:
            positions.update(range(pos, pos + len(plain)))
        pos += len(plain)
    assert pos == len(text)
    return positions


TEXT = st.text(alphabet=st.sampled_from(list("验证码回扣<>&\"'aAｂＢ１1 　，。哈")), min_size=0, max_size=40)


@settings(max_examples=examples(300))
@given(
    text=TEXT,
    needles=st.lists(
        st.text(alphabet=st.sampled_from(list("验证回扣aＡb１1哈<&")), min_size=1, max_size=3), min_size=1, max_size=3
    ),
)
def test_phrase_highlight_marks_exactly_every_occurrence(text: str, needles: list[str]) -> None:
    """GIVEN any text and phrases WHEN highlighted THEN the marked characters are exactly the union of every folded
    occurrence."""
    rendered = highlight(text, [Phrase(n) for n in needles], max_chars=10_000)
    expected: set[int] = set()
    folded = fold(text)
    for n in needles:
        f = fold(n)
        expected.update(p for i in range(len(folded)) if folded.startswith(f, i) for p in range(i, i + len(f)))
    assert marked_positions(text, rendered) == expected
    assert html.unescape(re.sub(r"</?mark>", "", rendered)) == text


@pytest.mark.parametrize(
    "text, terms, marks",
    [
        ("我们需要验证一下", [Word("验证", whole=True)], ["验证"]),
        ("验证码是8848", [Word("验证", whole=True)], []),  # jieba keeps 验证码 whole: the word 验证 is not in it
        ("验证码是8848", [Word("验证")], ["验证"]),  # a bare word marks it wherever it occurs, like the phrase
        ("验证码是8848", [Phrase("验证")], ["验证"]),
        ("请在ＷｅＣｏｍ里确认", [Word("wecom")], ["ＷｅＣｏｍ"]),
        ("请在ＷｅＣｏｍ里确认", [Word("wecom", whole=True)], ["ＷｅＣｏｍ"]),
        ("a<b>&c", [Phrase("<b>")], ["<b>"]),
        ("没有匹配", [], []),
    ],
    ids=[
        "whole-word",
        "whole-word-not-inside-longer-word",
        "bare-word-inside-word",
        "phrase-inside-word",
        "folded-word",
        "folded-whole-word",
        "escaped",
        "no-terms",
    ],
)
def test_word_and_phrase_marks(text: str, terms: list, marks: list[str]) -> None:
    rendered = highlight(text, terms)
    assert [html.unescape(m) for m in MARK.findall(rendered)] == marks


def test_long_text_is_cut_around_the_first_match() -> None:
    """GIVEN a text longer than max_chars WHEN highlighted THEN a window around the first match, with … at the cut
    ends."""
    text = "前" * 300 + "回扣" + "后" * 300
    rendered = highlight(text, [Phrase("回扣")], max_chars=100)
    assert rendered.startswith(ELLIPSIS) and rendered.endswith(ELLIPSIS)
    assert "<mark>回扣</mark>" in rendered
    assert len(html.unescape(re.sub(r"</?mark>", "", rendered))) == 100 + 2
    assert matched_ranges(text, [Phrase("回扣")]) == [(300, 302)]


def test_short_text_without_match_is_whole_and_escaped() -> None:
    assert highlight("<script>", [Phrase("x")]) == "&lt;script&gt;"
