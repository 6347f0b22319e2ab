"""One compiled multi-pattern automaton over normalized text, reporting overlapping hits.

Every normalized keyword, allow-list phrase, exclusion and proximity term of every rule
goes into one automaton, so a message is scanned once however many rules there are.
The engine is daachorse's character-wise double-array Aho-Corasick (offsets are
characters, which is what the offset map needs); ahocorasick_rs is the measured
alternative (see bench/bench_rules.py and docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import daachorse

logger = logging.getLogger(__name__)


class PatternMatcher:
    """``find(text) -> [(start, end, pattern_id)]``: every occurrence, overlaps included."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: list[str] = []
        self._ids: dict[str, int] = {}
        for p in patterns:
            if p and p not in self._ids:
                self._ids[p] = len(self.patterns)
                self.patterns.append(p)
        self._automaton = daachorse.CharwiseDoubleArrayAhoCorasick(self.patterns) if self.patterns else None
        logger.debug("compiled %d patterns", len(self.patterns))

    def id_of(self, pattern: str) -> int:
        return self._ids[pattern]

    def find(self, text: str) -> list[tuple[int, int, int]]:
        if self._automaton is None or not text:
            return []
        return self._automaton.find_overlapping(text)

    def __len__(self) -> int:
        return len(self.patterns)
