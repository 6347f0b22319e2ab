"""Search folding: width and case, one character in, one character out.

The contract's phrase semantics fold full-width ASCII (U+FF01..U+FF5E) and the
ideographic space to their ASCII forms, then lower-case. The fold is strictly
character-for-character, so an offset in folded text is the same offset in the
original text: highlights computed on folded text mark the original characters.
(The rules' evasion normalization is stronger and lives in ``analyzers.rules``.)
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        ch = chr(code - 0xFEE0)
    elif code == 0x3000:
        ch = " "
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


# Full-width ASCII and the ideographic space → ASCII, as ``_fold_char`` does (str.translate is C).
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: ord(" ")}


def fold(text: str) -> str:
    """Width- and case-folded ``text`` with exactly the same length."""
    if text.isascii():
        return text.lower()
    if "\u03a3" not in text:  # str.lower() reads a capital sigma in context (final ς); per character it is σ
        folded = text.translate(_WIDTH).lower()
        if len(folded) == len(text):
            return folded
    # A character whose lower case is longer (e.g. U+0130), or a sigma: one by one.
    return "".join(_fold_char(c) for c in text)
