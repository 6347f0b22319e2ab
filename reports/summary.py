"""An extractive summary of a conversation: its key sentences, for the conversation viewer.

Sentences (messages split at 。！？ and line breaks) are ranked with TextRank over
sentences: two sentences are linked by the words they share, normalized by their
lengths (``|common| / (log|a| + log|b|)``, as TextRank's paper and TextRank4ZH do), and
PageRank finds the sentences most of the conversation talks about. Cues then adjust the
rank: the customer's words count more than the employee's (the request is what the
conversation is about), the customer's first request and complaints count more, and
chat filler ("好的，收到", "谢谢") is never a key sentence. The result is in conversation
order, so it reads as a summary.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from analyzers.insights.sentiment import classify
from core.errors import BadInput
from core.models import Message
from reports.keywords import KeywordExtractor, default_extractor

SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
MIN_WORDS = 2  # fewer candidate words than this: filler, not a key sentence
DAMPING = 0.85
MAX_ITERATIONS = 50
TOLERANCE = 1e-6
CUSTOMER_CUE = 1.3
FIRST_REQUEST_CUE = 1.2
COMPLAINT_CUE = 1.3
DUPLICATE_OVERLAP = 0.8  # a sentence sharing this much of its words with a chosen one adds nothing


@dataclass(frozen=True)
class KeySentence:
    msgid: str
    text: str
    score: float


@dataclass
class _Sentence:
    position: int
    msgid: str
    text: str
    words: frozenset[str]
    cue: float = 1.0


def _sentences(messages: Iterable[Message], extractor: KeywordExtractor) -> list[_Sentence]:
    out: list[_Sentence] = []
    first_request_seen = False
    ordered = sorted(messages, key=lambda m: (m.time_ms, m.seq))
    for m in ordered:
        if m.action != "send" or m.msgtype == "revoke" or m.masked or not m.text:
            continue
        for piece in SENTENCE_END.split(m.text):
            text = piece.strip()
            words = frozenset(extractor.words(text))
            if len(words) < MIN_WORDS:
                continue
            s = _Sentence(len(out), m.msgid, text, words)
            if m.sender_kind == "external":
                s.cue *= CUSTOMER_CUE
                if not first_request_seen:
                    s.cue *= FIRST_REQUEST_CUE
                    first_request_seen = True
                if classify(text).label == "negative":
                    s.cue *= COMPLAINT_CUE
            out.append(s)
    return out


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    common = len(a & b)
    if not common:
        return 0.0
    denominator = math.log(len(a) + 1) + math.log(len(b) + 1)  # +1: two one-word sentences stay finite
    return common / denominator


def _graph(sentences: list[_Sentence]) -> list[dict[int, float]]:
    """Sparse similarity graph: only pairs that share a word are compared (via a word index)."""
    by_word: dict[str, list[int]] = defaultdict(list)
    for s in sentences:
        for w in s.words:
            by_word[w].append(s.position)
    edges: list[dict[int, float]] = [{} for _ in sentences]
    for i, s in enumerate(sentences):
        neighbours = {j for w in s.words for j in by_word[w] if j > i}
        for j in neighbours:
            w = _similarity(s.words, sentences[j].words)
            edges[i][j] = edges[j][i] = w
    return edges


def _pagerank(edges: list[dict[int, float]]) -> list[float]:
    """Weighted PageRank by power iteration over the edge list (numpy: long conversations have
    tens of thousands of links)."""
    n = len(edges)
    src = np.fromiter((j for i in range(n) for j in edges[i]), dtype=np.int64)
    dst = np.fromiter((i for i in range(n) for _ in edges[i]), dtype=np.int64)
    weight = np.fromiter((w for i in range(n) for w in edges[i].values()), dtype=np.float64)
    out_sum = np.bincount(src, weights=weight, minlength=n)
    share = weight / out_sum[src] if len(weight) else weight  # of j's rank, the part that flows to i
    rank = np.full(n, 1.0 / n)
    for _ in range(MAX_ITERATIONS):
        new = (1 - DAMPING) / n + DAMPING * np.bincount(dst, weights=share * rank[src], minlength=n)
        new /= new.sum()  # a sentence linked to nothing keeps only the teleport share: renormalize
        done = float(np.abs(new - rank).max()) < TOLERANCE
        rank = new
        if done:
            break
    return rank.tolist()


def summarize(
    messages: Iterable[Message], max_sentences: int = 3, *, extractor: KeywordExtractor | None = None
) -> list[KeySentence]:
    """Up to ``max_sentences`` key sentences of the conversation, in conversation order.
    ``score`` is the sentence's rank with its cues, scaled so the best sentence has 1.0."""
    if max_sentences < 1:
        raise BadInput(f"max_sentences must be at least 1, got {max_sentences}")
    sentences = _sentences(messages, extractor or default_extractor())
    if not sentences:
        return []
    rank = _pagerank(_graph(sentences))
    scored = sorted(((rank[s.position] * s.cue, s) for s in sentences), key=lambda x: (-x[0], x[1].position))
    best = scored[0][0]
    chosen: list[tuple[float, _Sentence]] = []
    for score, s in scored:
        if any(len(s.words & c.words) >= DUPLICATE_OVERLAP * len(s.words) for _, c in chosen):
            continue
        chosen.append((score, s))
        if len(chosen) == max_sentences:
            break
    chosen.sort(key=lambda x: x[1].position)
    return [KeySentence(s.msgid, s.text, round(score / best, 4)) for score, s in chosen]
