"""The Chinese analyzer: jieba words of width/case-folded text, with a user dictionary.

The engine is jieba-rs (``rjieba``): the same dictionary and algorithm as Python jieba,
much faster (see docs/benchmarks.md). The bundled dictionary (``analyzers/dict``) keeps
domain words whole; an installation adds its own in ``DATA/dictionary.txt``. ``reload()``
builds a fresh engine from the files and swaps it in, so a dictionary edit needs no
restart (in-flight calls finish on the old engine).

Words are what bare-word queries and whole-word rules match. Phrase search does not
depend on them (it uses character n-grams), because jieba's segmentation of a message
and of a query can differ.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import rjieba

from analyzers.textfold import fold

logger = logging.getLogger(__name__)

BUNDLED_DICT = Path(__file__).parent / "dict" / "user_dict.txt"


def _is_word(token: str) -> bool:
    """A token worth indexing: has a letter, digit or CJK character (not space/punctuation)."""
    for ch in token:
        cat = unicodedata.category(ch)
        if cat[0] in "LN":
            return True
    return False


def read_dictionary(path: Path) -> list[tuple[str, int | None]]:
    """``word [freq] [tag]`` lines; ``#`` starts a comment."""
    entries: list[tuple[str, int | None]] = []
    if not path.exists():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        entries.append((fold(parts[0]), freq))
    return entries


class ChineseAnalyzer:
    def __init__(self, dictionaries: Iterable[Path] = ()) -> None:
        self.dictionaries = [BUNDLED_DICT, *[Path(p) for p in dictionaries]]
        self._lock = threading.Lock()
        self._engine = self._build()

    def _build(self) -> rjieba.Jieba:
        engine = rjieba.Jieba()
        count = 0
        for path in self.dictionaries:
            for word, freq in read_dictionary(path):
                engine.add_word(word, freq, None)
                count += 1
        logger.info("jieba engine built with %d user words from %d files", count, len(self.dictionaries))
        return engine

    def reload(self) -> None:
        """Rebuilds the engine from the dictionary files and swaps it in."""
        engine = self._build()
        with self._lock:
            self._engine = engine

    def add_words(self, words: Iterable[str]) -> None:
        """Adds words to the running engine (e.g. new rule keywords) without a rebuild."""
        for w in words:
            self._engine.add_word(fold(w), None, None)

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) of the folded text; offsets are characters of ``text``."""
        folded = fold(text)
        return [(w, s, e) for (w, s, e) in self._engine.tokenize(folded, "default", True) if _is_word(w)]

    def words(self, text: str) -> list[str]:
        """The jieba words of the folded text, in order (spaces and punctuation dropped)."""
        return [w for w in self._engine.cut(fold(text), True) if _is_word(w)]


_default: ChineseAnalyzer | None = None
_default_lock = threading.Lock()


def get_analyzer(extra_dictionaries: Iterable[Path] = ()) -> ChineseAnalyzer:
    """The process-wide analyzer (built once; ``reload()`` it after a dictionary edit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ChineseAnalyzer(extra_dictionaries)
        return _default


@lru_cache(maxsize=4096)
def query_words(word: str) -> tuple[str, ...]:
    """How a bare query word is segmented (cached: queries repeat)."""
    return tuple(get_analyzer().words(word))
