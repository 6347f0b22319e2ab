"""The evasion normalization every rule sees: one function for message text and keywords.

People who know they are archived write 回-扣, 回 扣, 回*扣, ｈｕｉｋｏｕ or 回釦 instead of
回扣. Normalizing both the text and the keywords the same way makes those spellings
equal to the plain one, so one automaton over the normalized text catches them all:

1. NFKC (full-width letters and digits, compatibility forms such as ① or ㈱);
2. case folding;
3. traditional → simplified, per character (OpenCC's TSCharacters table), so every
   normalized character still comes from exactly one original character;
   plus a few look-alikes (私下交昜 → 私下交易);
4. everything that is not a letter or a digit (spaces, separators, punctuation,
   symbols, emoji, control characters) is dropped.

``normalize_for_rules`` returns the normalized text and an offset map: position ``i``
of the normalized text came from character ``offset_map[i]`` of the original, so a hit
``[s, e)`` on the normalized text is ``[offset_map[s], offset_map[e - 1] + 1)`` in the
original. ``normalize_fast`` gives the same text without the map through ``str.translate``
over a lazily filled table (the hot path: most messages have no hit and need no map).
"""

from __future__ import annotations

import logging
import unicodedata
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)


def _load_ts_characters() -> dict[str, str]:
    """OpenCC's traditional → simplified character table (first candidate of each entry)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or len(parts[0]) != 1:
            continue
        target = parts[1].split(" ")[0]
        if len(target) == 1:
            table[parts[0]] = target
    logger.debug("loaded %d traditional → simplified characters", len(table))
    return table


_TS: dict[str, str] = _load_ts_characters()

# Look-alike characters used to dodge filters that the traditional table does not cover.
_LOOKALIKES: dict[str, str] = {"昜": "易", "啇": "商"}
_TS.update(_LOOKALIKES)


def _keep(ch: str) -> bool:
    """Letters and digits carry meaning; everything else can be inserted to evade."""
    return unicodedata.category(ch)[0] in "LN"


@cache
def normalize_char(ch: str) -> str:
    """What one original character becomes: zero, one or (rarely, NFKC) several characters."""
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        for f in c.casefold():
            f = _TS.get(f, f)
            if _keep(f):
                out.append(f)
    if len(out) > 1:
        _EXPANDING.add(ch)
    return "".join(out)


_EXPANDING: set[str] = set()  # characters that normalize to several (㈱ → 株, ﬁ → fi)


class _LazyTable(dict):
    """A ``str.translate`` table that computes a character's normalization on first sight."""

    def __missing__(self, code: int) -> str:
        value = normalize_char(chr(code))
        self[code] = value
        return value


_TABLE = _LazyTable()


def normalize_fast(text: str) -> str:
    """The normalized text (same as ``normalize_for_rules(text)[0]``), without the offset map.
    (Measured: ``str.translate`` over the filled table beats a regex fast path, whose
    character class of thousands of ranges is scanned per character.)"""
    return text.translate(_TABLE)


def normalize_for_rules(text: str) -> tuple[str, list[int]]:
    """The normalized text and, for each of its characters, the original character's index."""
    normalized = text.translate(_TABLE)  # also fills the table for every character of text
    if not _EXPANDING or _EXPANDING.isdisjoint(text):
        # Every character became zero or one character: the kept ones' positions are the map.
        table = _TABLE
        return normalized, [i for i, ch in enumerate(text) if table[ord(ch)]]
    parts: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        n = _TABLE[ord(ch)]
        if n:
            parts.append(n)
            offsets.extend([i] * len(n))
    return "".join(parts), offsets


def original_span(offset_map: list[int], start: int, end: int) -> tuple[int, int]:
    """The original ``[start, end)`` of the normalized ``[start, end)`` (end > start)."""
    return offset_map[start], offset_map[end - 1] + 1


# ---------------------------------------------------------------------- pinyin view
@cache
def pinyin_of_char(ch: str) -> str:
    """The toneless pinyin (most common reading) of a Chinese character; other characters stay."""
    if not ("\u3400" <= ch <= "\u9fff"):
        return ch
    from pypinyin import lazy_pinyin

    return lazy_pinyin(ch)[0] if ch else ch


class _LazyPinyinTable(dict):
    def __missing__(self, code: int) -> str:
        value = pinyin_of_char(chr(code))
        self[code] = value
        return value


_PINYIN_TABLE = _LazyPinyinTable()


def pinyin_text(normalized: str) -> str:
    """``pinyin_view(normalized)[0]`` without the offsets (the hot path: most have no hit)."""
    return normalized.translate(_PINYIN_TABLE)


def pinyin_view(normalized: str) -> tuple[str, list[int]]:
    """The normalized text with every Chinese character spelled in pinyin, and for each of
    its characters the normalized position it came from (加我个人weixin → jiawogerenweixin),
    so pinyin keywords also catch text that mixes characters and pinyin."""
    parts: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(normalized):
        p = pinyin_of_char(ch)
        parts.append(p)
        offsets.extend([i] * len(p))
    return "".join(parts), offsets
