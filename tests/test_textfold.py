"""The search fold: its fast path (str.translate + str.lower) equals folding one character
at a time, which is what makes an offset in folded text an offset in the original."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from analyzers.textfold import _fold_char, fold

# Letters whose lower case is special: İ (two characters), Σ (final ς in context), Kelvin, ẞ.
SPECIAL = "İΣσςKẞ\u3000ＡＺａｚ！～"


def per_character(text: str) -> str:
    return text.lower() if text.isascii() else "".join(_fold_char(c) for c in text)


@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(SPECIAL)), max_size=30))
def test_fold_equals_folding_each_character(text: str) -> None:
    folded = fold(text)
    assert folded == per_character(text)
    assert len(folded) == len(text)


def test_fold_examples() -> None:
    assert fold("ＡＢｃ　回扣") == "abc 回扣"
    assert fold("ΑΣ") == "ασ"  # per character, not str.lower()'s final sigma
    assert fold("İx") == "İx"  # a lower case of two characters keeps the original
