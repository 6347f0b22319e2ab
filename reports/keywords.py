"""Keywords and word frequency of a selection of messages (a conversation, a customer, a
search result), for the insights chart.

The algorithms are jieba's (``jieba.analyse``): TF-IDF with jieba's IDF table, and
TextRank over a co-occurrence window of nouns and verbs, with identical formulas
(tests compare with ``jieba.analyse`` on the same words). The words come from jieba-rs
(``rjieba``) with the archive's dictionaries, so domain terms stay whole and the
segmentation matches search and the rules. Two differences from running
``jieba.analyse`` on a concatenation: a Chinese chat stop-word list
(``stopwords.txt``) replaces jieba's English one, and TextRank windows never span two
messages (adjacent messages are not co-occurrences).
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import sys
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import rjieba

from analyzers.chinese import get_analyzer, read_dictionary
from analyzers.textfold import fold
from core.errors import BadInput
from core.models import Message, MessageFilter, Scope, SearchRequest

if TYPE_CHECKING:
    from store.base import Store

logger = logging.getLogger(__name__)

STOPWORDS_PATH = Path(__file__).parent / "stopwords.txt"
TEXTRANK_POS = frozenset({"n", "ns", "nz", "nt", "vn", "v", "eng", ""})  # "": a user-dictionary word
TEXTRANK_SPAN = 5  # jieba's window: a word and the next four tokens
DAMPING = 0.85
ITERATIONS = 10
NOT_A_WORD = "x"  # the tag given to punctuation, numbers and stop words: never a keyword
MAX_SELECTION = 10_000  # messages read for one chart (the newest ones when there are more): ~1 s

Method = Literal["tfidf", "textrank"]


@dataclass(frozen=True)
class Keyword:
    word: str
    weight: float


def load_stopwords(path: Path = STOPWORDS_PATH) -> frozenset[str]:
    words: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        words.update(fold(w) for w in line.split("#", 1)[0].split())
    return frozenset(words)


def _jieba_idf_path() -> Path:
    # Located without importing jieba.analyse, whose import loads jieba's POS model (seconds).
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("jieba is not installed: its IDF table is needed for TF-IDF keywords")
    return Path(list(spec.submodule_search_locations)[0]) / "analyse" / "idf.txt"


def load_idf(path: Path | None = None) -> tuple[dict[str, float], float]:
    """jieba's IDF table and its median (the IDF of a word the table does not know)."""
    idf: dict[str, float] = {}
    with open(path or _jieba_idf_path(), encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 2:
                idf[parts[0]] = float(parts[1])
    values = sorted(idf.values())
    return idf, values[len(values) // 2] if values else 0.0


def _is_candidate(word: str) -> bool:
    """At least two characters, with a letter (CJK included), and not only digits/latin noise."""
    if len(word) < 2 or word.isdigit():
        return False
    return any(unicodedata.category(ch)[0] == "L" for ch in word)


class KeywordExtractor:
    """Holds the segmenter, stop words and IDF table (build once; read-only afterwards)."""

    def __init__(
        self,
        stopwords: Iterable[str] | None = None,
        dictionaries: Iterable[Path] | None = None,
        idf: tuple[dict[str, float], float] | None = None,
    ) -> None:
        self.stopwords = frozenset(stopwords) if stopwords is not None else load_stopwords()
        self._engine = rjieba.Jieba()
        # The archive's dictionaries (bundled + the installation's), as the analyzer loads them.
        for path in dictionaries if dictionaries is not None else get_analyzer().dictionaries:
            for word, freq in read_dictionary(Path(path)):
                self._engine.add_word(word, freq, None)
        self._idf = idf
        self._idf_lock = threading.Lock()
        self._candidates: dict[str, bool] = {}  # word → keyword candidate (a chat's vocabulary is small)

    @property
    def idf(self) -> tuple[dict[str, float], float]:
        with self._idf_lock:
            if self._idf is None:
                self._idf = load_idf()
            return self._idf

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """Every token of the folded text with its part of speech; tokens that can never be
        keywords (punctuation, numbers, single characters, stop words) are tagged ``x``."""
        out = []
        for word, flag in self._engine.tag(fold(text), True):
            if not _is_candidate(word) or word in self.stopwords:
                flag = NOT_A_WORD
            out.append((word, flag))
        return out

    def words(self, text: str) -> list[str]:
        """The candidate words of one text, in order."""
        return [w for w, flag in self.tagged(text) if flag != NOT_A_WORD]

    def words_of(self, message: Message) -> list[str]:
        """A message's candidate words: from the words the pipeline stored at ingest (same
        analyzer, same dictionaries) when it has them, else segmented now."""
        if message.words:
            return [w for w in message.words if self._candidate(w)]
        return self.words(message.text)

    def _candidate(self, word: str) -> bool:
        known = self._candidates.get(word)
        if known is None:
            known = self._candidates[word] = _is_candidate(word) and word not in self.stopwords
        return known

    def word_frequency(self, texts: Iterable[str], top: int = 50) -> list[tuple[str, int]]:
        """``[(word, occurrences)]`` most first, ties by word."""
        return self.frequency_of_words((self.words(t) for t in texts), top)

    def frequency_of_words(self, word_lists: Iterable[list[str]], top: int = 50) -> list[tuple[str, int]]:
        return _most(_count(word_lists), top)

    def tfidf(self, texts: Iterable[str], top: int = 20) -> list[Keyword]:
        """jieba's TF-IDF over the selection as one document: tf = count / all words, times IDF."""
        return self.tfidf_of_words((self.words(t) for t in texts), top)

    def tfidf_of_words(self, word_lists: Iterable[list[str]], top: int = 20) -> list[Keyword]:
        return self.tfidf_of_counts(_count(word_lists), top)

    def tfidf_of_counts(self, counts: Counter[str], top: int = 20) -> list[Keyword]:
        total = sum(counts.values())
        if not total:
            return []
        idf, median = self.idf
        weights = {w: n * idf.get(w, median) / total for w, n in counts.items()}
        return _top(weights, top)

    def textrank(
        self,
        texts: Iterable[str],
        top: int = 20,
        *,
        allow_pos: frozenset[str] = TEXTRANK_POS,
        span: int = TEXTRANK_SPAN,
    ) -> list[Keyword]:
        """jieba's TextRank: words co-occurring within ``span`` tokens are linked (weight = how
        often), ten PageRank iterations (d = 0.85), scores scaled as jieba does."""
        pairs: Counter[tuple[str, str]] = Counter()
        for text in texts:
            tokens = self.tagged(text)
            keep = [flag in allow_pos and flag != NOT_A_WORD for _, flag in tokens]
            for i, (word, _) in enumerate(tokens):
                if not keep[i]:
                    continue
                for j in range(i + 1, min(i + span, len(tokens))):
                    if keep[j]:
                        pairs[(word, tokens[j][0])] += 1
        return _top(rank_graph(pairs), top)


def rank_graph(pairs: Counter[tuple[str, str]] | dict[tuple[str, str], int]) -> dict[str, float]:
    """jieba's ``UndirectWeightedGraph.rank`` on the co-occurrence counts."""
    graph: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (a, b), w in pairs.items():
        graph[a].append((b, float(w)))
        graph[b].append((a, float(w)))
    if not graph:
        return {}
    ws = {n: 1.0 / len(graph) for n in graph}
    out_sum = {n: sum(w for _, w in edges) for n, edges in graph.items()}
    order = sorted(graph)
    for _ in range(ITERATIONS):
        for n in order:  # in place, in sorted order, as jieba does (a Gauss-Seidel sweep)
            ws[n] = (1 - DAMPING) + DAMPING * sum(w / out_sum[m] * ws[m] for m, w in graph[n])
    # jieba's scaling, including its seeds (min starts at the largest float, max at the smallest positive one).
    min_rank = min([sys.float_info.max, *ws.values()])
    max_rank = max([sys.float_info.min, *ws.values()])
    return {n: (w - min_rank / 10.0) / (max_rank - min_rank / 10.0) for n, w in ws.items()}


def _count(word_lists: Iterable[list[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for words in word_lists:
        counts.update(words)
    return counts


def _most(counts: Counter[str], top: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def _top(weights: dict[str, float], top: int) -> list[Keyword]:
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    return [Keyword(w, round(v, 6)) for w, v in ranked[:top]]


_default: KeywordExtractor | None = None
_default_lock = threading.Lock()


def default_extractor() -> KeywordExtractor:
    global _default
    with _default_lock:
        if _default is None:
            _default = KeywordExtractor()
        return _default


_warming: threading.Thread | None = None


def warm_up_in_background() -> None:
    """Builds the default extractor (the archive's dictionaries, jieba's IDF table: ~1 s) in a
    background thread, once per process, so that a page can prepare it before it is asked for."""
    global _warming
    with _default_lock:
        if _warming is not None or (_default is not None and _default._idf is not None):
            return
        _warming = threading.Thread(target=lambda: default_extractor().idf, name="keywords-warm-up", daemon=True)
    _warming.start()


def _readable(m: Message) -> bool:
    """Sent messages with text (revoke records, masked and empty texts skipped; a revoked
    original still counts: it was said)."""
    return m.action == "send" and m.msgtype != "revoke" and bool(m.text) and not m.masked


def message_texts(messages: Iterable[Message]) -> list[str]:
    """The texts insights read."""
    return [m.text for m in messages if _readable(m)]


def keywords(messages: Iterable[Message], *, method: Method = "tfidf", top: int = 20) -> list[Keyword]:
    """Keywords of a selection of messages by ``tfidf`` or ``textrank`` (TextRank needs parts
    of speech, so it always segments; TF-IDF reuses the words stored at ingest)."""
    ex = default_extractor()
    if method == "tfidf":
        return ex.tfidf_of_words((ex.words_of(m) for m in messages if _readable(m)), top)
    if method == "textrank":
        return ex.textrank(message_texts(messages), top)
    raise BadInput(f"keyword method must be tfidf or textrank, got {method!r}")


def keywords_and_frequency(
    messages: Iterable[Message], *, method: Method = "tfidf", top: int = 20, top_words: int = 50
) -> tuple[list[Keyword], list[tuple[str, int]]]:
    """``keywords`` and ``word_frequency`` of the same messages from one pass over their words
    (the statistics page shows both)."""
    ex = default_extractor()
    readable = [m for m in messages if _readable(m)]
    # Stored words are counted at C speed, then the vocabulary (not every occurrence) is filtered.
    counts: Counter[str] = Counter(itertools.chain.from_iterable(m.words for m in readable))
    counts = Counter({w: n for w, n in counts.items() if ex._candidate(w)})
    counts.update(itertools.chain.from_iterable(ex.words(m.text) for m in readable if not m.words))
    if method == "tfidf":
        found = ex.tfidf_of_counts(counts, top)
    elif method == "textrank":
        found = ex.textrank([m.text for m in readable], top)
    else:
        raise BadInput(f"keyword method must be tfidf or textrank, got {method!r}")
    return found, _most(counts, top_words)


def word_frequency(messages: Iterable[Message], *, top: int = 50) -> list[tuple[str, int]]:
    ex = default_extractor()
    return ex.frequency_of_words((ex.words_of(m) for m in messages if _readable(m)), top)


def selection(
    store: Store, filters: MessageFilter, *, scope: Scope, query: str = "", max_messages: int = MAX_SELECTION
) -> list[Message]:
    """The messages of a selection for a chart (within ``scope``; the newest ``max_messages``)."""
    if query:
        result = store.search(
            SearchRequest(query=query, filters=filters, limit=max_messages, highlight=False), scope=scope
        )
        return [h.message for h in result.hits if h.message is not None] or store.get_messages(
            [h.msgid for h in result.hits], scope=scope
        )
    _, page = store.list_messages(filters, scope=scope, sort="time_desc", limit=max_messages)
    return page
