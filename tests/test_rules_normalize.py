"""The evasion normalization: what counts as the same text for the rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.rules.normalize import (
    normalize_char,
    normalize_fast,
    normalize_for_rules,
    original_span,
    pinyin_view,
)
from tests.helpers import examples

CASES = [
    ("回扣", "回扣"),
    ("回-扣", "回扣"),
    ("回 扣", "回扣"),
    ("回*扣", "回扣"),
    ("回。扣", "回扣"),
    ("回_扣/了", "回扣了"),
    ("回😀扣", "回扣"),
    ("回\u200b扣", "回扣"),  # zero-width space
    ("ＨｕｉＫｏｕ", "huikou"),
    ("HUI kou", "huikou"),
    ("回釦", "回扣"),
    ("穩賺不賠", "稳赚不赔"),
    ("私下交昜", "私下交易"),
    ("１３８ １２３４", "1381234"),
    ("加我ＶＸ", "加我vx"),
    ("", ""),
    ("。。。", ""),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0] or "empty" for c in CASES])
def test_evasive_spellings_normalize_to_the_plain_form(text: str, expected: str) -> None:
    assert normalize_fast(text) == expected
    assert normalize_for_rules(text)[0] == expected


def test_the_offset_map_points_back_at_the_original_characters() -> None:
    """GIVEN an evasively spelled keyword inside a sentence
    WHEN the normalized hit is mapped back
    THEN the span covers exactly the evasive spelling in the original."""
    text = "老规矩，回-扣月底给你"
    norm, offsets = normalize_for_rules(text)
    start = norm.index("回扣")
    s, e = original_span(offsets, start, start + 2)
    assert text[s:e] == "回-扣"


@settings(max_examples=examples(300))
@given(st.text(alphabet=st.sampled_from(list("回扣保本穩賺ＡbＣ1２ -*。_/😀\u3000x")) | st.characters(), max_size=40))
def test_fast_and_mapped_normalization_agree_and_the_map_is_consistent(text: str) -> None:
    norm, offsets = normalize_for_rules(text)
    assert normalize_fast(text) == norm
    assert len(offsets) == len(norm)
    assert offsets == sorted(offsets)
    # each original character contributes exactly its own normalization, in order
    rebuilt = "".join(normalize_char(text[i]) for i in sorted(set(offsets)))
    assert rebuilt == norm


@settings(max_examples=examples(200))
@given(
    st.text(alphabet="回扣保本稳赚返点", min_size=1, max_size=6),
    st.lists(st.sampled_from(["-", " ", "*", "。", "_", "/", "·", "\u3000", "!"]), min_size=1, max_size=8),
)
def test_separators_between_characters_never_change_the_normalized_text(word: str, seps: list[str]) -> None:
    evasive = "".join(ch + seps[i % len(seps)] for i, ch in enumerate(word))
    assert normalize_fast(evasive) == normalize_fast(word)


def test_pinyin_view_spells_chinese_characters_and_maps_back() -> None:
    view, offsets = pinyin_view("加我个人weixin")
    assert view == "jiawogerenweixin"
    assert offsets[view.index("geren")] == 2
