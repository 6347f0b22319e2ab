"""Highlights: the message text, HTML-escaped, with exactly the matched characters in <mark>.

Both backends use this module instead of their engine's snippet generator, so a hit
looks the same on either, and what is marked is exactly what the query matched:
a phrase or a bare word marks every occurrence of it folded in the folded text (the fold
is character-for-character, so folded offsets are original offsets); a whole word
(``=word``) marks the analyzer's spans of the word's tokens in sequence.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from analyzers.chinese import get_analyzer, query_words
from analyzers.textfold import fold
from store.query import Node, Phrase, Word

ELLIPSIS = "…"


def phrase_ranges(folded_text: str, phrase: str) -> list[tuple[int, int]]:
    """Every occurrence (overlapping ones too) of ``phrase`` folded in the folded text."""
    needle = fold(phrase)
    ranges: list[tuple[int, int]] = []
    if not needle:
        return ranges
    i = folded_text.find(needle)
    while i >= 0:
        ranges.append((i, i + len(needle)))
        i = folded_text.find(needle, i + 1)
    return ranges


def word_ranges(spans: list[tuple[str, int, int]], tokens: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where the analyzer's words of the text contain ``tokens`` in sequence."""
    n = len(tokens)
    ranges: list[tuple[int, int]] = []
    for i in range(len(spans) - n + 1):
        if all(spans[i + k][0] == tokens[k] for k in range(n)):
            ranges.append((spans[i][1], spans[i + n - 1][2]))
    return ranges


def matched_ranges(text: str, terms: list[Node]) -> list[tuple[int, int]]:
    """The merged, sorted [start, end) character ranges of ``text`` that ``terms`` match."""
    folded = fold(text)
    spans: list[tuple[str, int, int]] | None = None
    ranges: list[tuple[int, int]] = []
    for term in terms:
        if isinstance(term, Phrase) or (isinstance(term, Word) and not term.whole):
            ranges.extend(phrase_ranges(folded, term.text))
        elif isinstance(term, Word):
            tokens = query_words(term.text)
            if not tokens:  # punctuation only: the store searches it as a phrase
                ranges.extend(phrase_ranges(folded, term.text))
                continue
            if spans is None:
                spans = get_analyzer().spans(text)
            ranges.extend(word_ranges(spans, tokens))
    return merge(ranges)


def merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def mark_ranges(text: str, ranges: Iterable[Iterable[int]]) -> str:
    """``text`` HTML-escaped with <mark>…</mark> around the ``[start, end)`` character ranges
    (e.g. a violation's spans); overlapping or touching ranges are merged, out-of-text ones cut."""
    clamped = [(max(0, int(s)), min(len(text), int(e))) for s, e in ranges]
    out, pos = [], 0
    for start, end in merge([(s, e) for s, e in clamped if s < e]):
        out.append(html.escape(text[pos:start]))
        out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def highlight(text: str, terms: list[Node], max_chars: int = 240) -> str:
    """``text`` HTML-escaped with <mark>…</mark> around exactly the matched characters; a
    text longer than ``max_chars`` is cut to a window around the first match (… marks a cut)."""
    ranges = matched_ranges(text, terms)
    start, end = 0, len(text)
    if len(text) > max_chars:
        first = ranges[0][0] if ranges else 0
        start = max(0, first - max_chars // 4)
        end = min(len(text), start + max_chars)
        start = max(0, end - max_chars)
    out: list[str] = [ELLIPSIS] if start > 0 else []
    pos = start
    for r_start, r_end in ranges:
        r_start, r_end = max(r_start, start), min(r_end, end)
        if r_start >= r_end:
            continue
        out.append(html.escape(text[pos:r_start]))
        out.append("<mark>" + html.escape(text[r_start:r_end]) + "</mark>")
        pos = r_end
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append(ELLIPSIS)
    return "".join(out)
