"""Customer sentiment of one chat message: positive, neutral or negative.

It runs at ingest on every customer message, so it is cheap (a few microseconds, no download):
a lexicon that knows how chat is phrased, plus a linear n-gram model that knows how customers
actually praise and complain (``sentiment_model.py``; trained on public review corpora and on
real customer-service chat).

The lexicon: one Aho-Corasick pass (daachorse, longest match first) finds its terms in the
lower-cased text (``sentiment_lexicon.txt``, which explains each kind of entry); then, clause by
clause, negators flip the next evaluative word, degree adverbs scale it, a contrast ("但是")
shifts the weight to what follows, questions (also "有没有优惠", with no 吗 or "?") damp domain
words ("退款要几天？" is not a complaint) but not rhetorical complaints ("到底还要等多久？"),
exclamation marks amplify, and irony markers ("真是好…", "谢谢啊") turn praise into blame when
the message also complains.

The model (two linear heads over character n-grams) adds its polarity over the message, less the
spans the lexicon already read (the negations it applied, with what they negate, and plain
phrases), when the message reads as an opinion: its opinion head finds the statements (the same
text less its questions) review-like, or its polarity alone is beyond doubt. Such a message is
then decided (positive or negative by the sign of the sum); any other message is the lexicon's
alone, so a request or an arrangement ("帮我把收货地址改成公司的") stays neutral however a model
of reviews would read its words (not always: docs/benchmarks.md says which still are misread).
Accuracy on real customer reviews, on real customer-service chat and on the chat set is in
docs/benchmarks.md (``## Insights``).
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import daachorse

from analyzers.insights.sentiment_model import NgramModel, load_model

if TYPE_CHECKING:
    from core.models import Message

logger = logging.getLogger(__name__)

Label = Literal["positive", "neutral", "negative"]
LABELS: tuple[str, ...] = ("positive", "neutral", "negative")

LEXICON_PATH = Path(__file__).parent / "sentiment_lexicon.txt"
KINDS = frozenset(
    {
        "pos",
        "neg",
        "topic",
        "complaint_q",
        "negator",
        "postneg",
        "degree",
        "contrast",
        "sarcasm",
        "plain",
        "question",
        "request",
    }
)

# A clause ends at a run of these; a question or exclamation mark in the run also tells
# how to read the clause.
_CLAUSE_END = re.compile("[,.!?;~\n…、 。，！？；～\u3000]+")
QUESTION_PARTICLES = frozenset("吗呢么")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Lexicon kinds that carry no sentiment themselves; the asking ones make their clause read as a
# question (a request, "帮我查一下", asks for something and gives no opinion either).
_ASKING = frozenset({"question", "request"})
_NO_SENTIMENT = frozenset({"plain"}) | _ASKING

THRESHOLD = 0.5  # |raw score| at or above it leaves "neutral"
NEGATION_REACH = 3  # a negator reaches an evaluative word at most this many characters later
NEGATED_POSITIVE = -0.9  # "不喜欢": nearly as strong as the negative word
NEGATED_NEGATIVE = 0.6  # "不贵", "没问题": milder praise than the plain positive word
QUESTION_DAMPING = {"pos": 0.5, "neg": 0.8, "topic": 0.15, "complaint_q": 1.0}
EXCLAMATION_BOOST = 1.2
# The n-gram model's polarity counts this much against the lexicon's weights, when the message's
# statements read as an opinion (opinion logit above OPINION_MIN) or its polarity is beyond doubt
# (|logit| above MODEL_CONFIDENT); a message read as an opinion is then decided by the sign of the
# sum, any other by the lexicon alone against THRESHOLD. All three chosen on the dev splits only
# (reviews, the chat set and real customer-service chat; docs/benchmarks.md).
MODEL_WEIGHT = 2.0
OPINION_MIN = -0.5
MODEL_CONFIDENT = 2.5


@dataclass(frozen=True)
class Sentiment:
    label: Label
    score: float  # in [-1, 1]: negative below zero; its size is the strength of the evidence


@dataclass(frozen=True)
class _Entry:
    term: str
    kind: str
    value: float


def load_lexicon(path: Path = LEXICON_PATH) -> list[_Entry]:
    entries: dict[str, _Entry] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        try:
            if len(parts) != 3 or parts[1] not in KINDS:
                raise ValueError("wrong shape or kind")
            value = float(parts[2])
        except ValueError:
            raise ValueError(
                f"{path}:{number}: expected 'term<TAB>kind<TAB>number' with kind one of {sorted(KINDS)}, got {line!r}"
            ) from None
        term = parts[0].strip().lower()
        entries[term] = _Entry(term, parts[1], value)  # a later line overrides an earlier one
    return list(entries.values())


# Width folding would cost more than the rest of classify (it touches every character), so
# the text is only lower-cased and the automaton holds each term in both widths instead.
_WIDEN = str.maketrans({chr(code - 0xFEE0): chr(code) for code in range(0xFF01, 0xFF5F)})


@dataclass(frozen=True)
class _Clauses:
    """Where each clause starts and ends in the folded text, and how it ends."""

    starts: list[int]
    ends: list[int]
    question: list[bool]
    exclaim: list[bool]


def _clauses(folded: str, asking: list[int]) -> _Clauses:
    """The clauses of ``folded``; ``asking`` holds where (in order) the lexicon found a yes/no
    question marker or a request."""
    starts: list[int] = []
    ends: list[int] = []
    question: list[bool] = []
    exclaim: list[bool] = []
    start = 0
    for boundary in _CLAUSE_END.finditer(folded):
        marks = boundary.group()
        starts.append(start)
        ends.append(boundary.start())
        question.append(_is_question(folded, start, boundary.start(), marks, asking))
        exclaim.append("!" in marks or "！" in marks)
        start = boundary.end()
    starts.append(start)
    ends.append(len(folded))
    question.append(_is_question(folded, start, len(folded), "", asking))
    exclaim.append(False)
    return _Clauses(starts, ends, question, exclaim)


def _blank(folded: str, spans: list[tuple[int, int]]) -> str:
    """The text with ``spans`` blanked out ("\n" is no feature of the model, so no bigram
    spans a gap; the length stays, so clause offsets still hold)."""
    if not spans:
        return folded
    chars = list(folded)
    for start, end in spans:
        chars[start:end] = "\n" * (end - start)
    return "".join(chars)


def _statements(folded: str, clauses: _Clauses) -> str:
    """The text of the clauses that are not questions, each with its closing punctuation."""
    if not any(clauses.question):
        return folded
    bounds = clauses.starts[1:] + [len(folded)]
    return "".join(folded[s:e] for s, e, q in zip(clauses.starts, bounds, clauses.question) if not q)


def _is_question(text: str, start: int, end: int, marks: str, asking: list[int]) -> bool:
    """A clause is a question if a "?" ends it, it ends in 吗/呢/么, it starts with 请问, or,
    unless "!" ends it, it holds a yes/no question marker or a request (``asking``: customers in
    chat often leave out both 吗 and "?": "有没有优惠", "帮我查一下")."""
    if "?" in marks or "？" in marks:
        return True
    if (end > start and text[end - 1] in QUESTION_PARTICLES) or text.startswith("请问", start):
        return True
    first = bisect.bisect_left(asking, start)
    return first < len(asking) and asking[first] < end and "!" not in marks and "！" not in marks


class SentimentClassifier:
    def __init__(self, entries: list[_Entry] | None = None, model: NgramModel | None = None) -> None:
        """``entries`` default to the bundled lexicon; ``model`` is the n-gram model to add
        (the bundled one for the default classifier, none for a custom lexicon alone)."""
        self.entries = entries if entries is not None else load_lexicon()
        self.model = model
        terms = [e.term for e in self.entries]
        self._entry_of = list(self.entries)  # pattern id -> entry
        for e in self.entries:  # "１２３７８", "［强］": the full-width spelling of ASCII in a term
            wide = e.term.translate(_WIDEN)
            if wide != e.term and wide not in terms:
                terms.append(wide)
                self._entry_of.append(e)
        self._automaton = daachorse.CharwiseDoubleArrayAhoCorasick(
            terms, match_kind=daachorse.MATCH_KIND_LEFTMOST_LONGEST
        )

    def raw_score(self, text: str) -> float:
        """The signed evidence before squashing: the lexicon's reading plus, for a message that
        reads as an opinion, the n-gram model's polarity (``classify`` says how it is cut)."""
        return self._reading(text)[0]

    def _reading(self, text: str) -> tuple[float, bool]:
        """The raw score, and whether the model read the message as an opinion (then any
        non-zero score decides it; otherwise |score| >= THRESHOLD does)."""
        folded = text.lower()
        try:
            matches = self._automaton.find(folded)
        except UnicodeEncodeError:  # a lone surrogate: ingest replaces them, another caller may not
            folded = _SURROGATE.sub("\ufffd", folded)
            matches = self._automaton.find(folded)
        clauses = _clauses(folded, [start for start, _, i in matches if self._entry_of[i].kind in _ASKING])
        contributions, sarcasm, hidden = self._lexicon_contributions(matches, clauses)
        opinion = False
        if self.model is not None:
            read = _blank(folded, hidden)  # what the lexicon already read is the lexicon's
            statements = _statements(read, clauses)
            if statements.strip():
                whole = self.model.scores(read)
                gate = whole.imag if statements is read else self.model.opinion(statements)
                polarity = whole.real
                if gate > OPINION_MIN or abs(polarity) > MODEL_CONFIDENT:
                    contributions.append(MODEL_WEIGHT * polarity)
                    opinion = True
        if sarcasm and any(w < 0 for w in contributions):
            return sum(-abs(w) for w in contributions), opinion
        return sum(contributions), opinion

    def _lexicon_contributions(
        self, matches: list[tuple[int, int, int]], clauses: _Clauses
    ) -> tuple[list[float], bool, list[tuple[int, int]]]:
        """The weight of each evaluative term found, whether an irony marker was seen, and the
        spans the model must not read: the negations the lexicon applied with what they negate,
        and plain phrases (the lexicon's reading of "不贵" or "麻烦您" is right; the model's
        bigrams are not). A negation the lexicon did not apply ("没有热水") stays the model's."""
        hidden: list[tuple[int, int]] = []
        pending: list[tuple[int, int]] = []  # the spans of the negation not yet applied
        ends, question, exclaim = clauses.ends, clauses.question, clauses.exclaim
        contributions: list[list[float]] = []  # [weight, clause]
        weight_after = 1.0
        clause = -1
        negations, negation_end, degree = 0, -100, 1.0
        last_in_clause: int | None = None
        last_span = (0, 0)
        sarcasm = False
        for start, end, index in matches:
            entry = self._entry_of[index]
            c = bisect.bisect_left(ends, start)
            if c != clause:
                clause, negations, negation_end, degree, last_in_clause = c, 0, -100, 1.0, None
                pending = []
            kind = entry.kind
            if kind in _NO_SENTIMENT:
                hidden.append((start, end))
            if kind == "negator":
                pending.append((start, end))
                negations += 1
                negation_end = end
                degree *= entry.value or 1.0  # "一点都不", "根本不": an emphatic negation
            elif kind == "postneg":
                prev = contributions[last_in_clause] if last_in_clause is not None else None
                if prev is not None and prev[0] < 0:  # "一点异味都没有": the complaint is denied
                    prev[0] = -prev[0] * NEGATED_NEGATIVE
                    hidden += [last_span, (start, end)]
                    last_in_clause = None
                else:  # "都没出问题": it negates what follows
                    pending.append((start, end))
                    negations += 1
                    negation_end = end
            elif kind == "degree":
                degree *= entry.value
            elif kind == "contrast":
                for item in contributions:
                    item[0] *= 0.5
                weight_after = entry.value
            elif kind == "sarcasm":
                sarcasm = True
            elif kind in _NO_SENTIMENT:
                pass
            else:
                w = entry.value * degree * (1.0 if kind == "pos" else -1.0)
                if negations and start - negation_end <= NEGATION_REACH:
                    hidden += [*pending, (start, end)]
                    if negations % 2 == 1:
                        w = w * (NEGATED_POSITIVE if w > 0 else -NEGATED_NEGATIVE)
                if question[c]:
                    w *= QUESTION_DAMPING[kind]
                if exclaim[c]:
                    w *= EXCLAMATION_BOOST
                contributions.append([w * weight_after, c])
                last_in_clause, last_span = len(contributions) - 1, (start, end)
                negations, negation_end, degree, pending = 0, -100, 1.0, []
        return [w for w, _ in contributions], sarcasm, hidden

    def classify(self, text: str) -> Sentiment:
        raw, opinion = self._reading(text or "")
        if (raw > 0) if opinion else (raw >= THRESHOLD):
            label: Label = "positive"
        elif (raw < 0) if opinion else (raw <= -THRESHOLD):
            label = "negative"
        else:
            label = "neutral"
        return Sentiment(label, round(math.tanh(raw / 2.0), 4))


_default: SentimentClassifier | None = None


def default_classifier() -> SentimentClassifier:
    """The process-wide classifier over the bundled lexicon (built once, read-only after)."""
    global _default
    if _default is None:
        _default = SentimentClassifier(model=load_model())
        logger.info(
            "sentiment lexicon loaded: %d terms, model %d n-grams",
            len(_default.entries),
            len(_default.model.weights) if _default.model else 0,
        )
    return _default


def classify(text: str) -> Sentiment:
    """The sentiment of one customer message (empty or lexicon-free text is neutral, score 0)."""
    return default_classifier().classify(text)


def annotate(messages: Iterable[Message]) -> None:
    """Sets ``sentiment``/``sentiment_score`` on customer messages, as ingest does (the
    pipeline calls this; so do tests that write messages to a store directly)."""
    for m in messages:
        if m.customer_wrote:
            mood = classify(m.text)
            m.sentiment, m.sentiment_score = mood.label, mood.score


@dataclass(frozen=True)
class ConversationSentiment:
    label: Label
    score: float  # the mean score of the customer's messages
    positive: int
    neutral: int
    negative: int


def conversation_sentiment(messages: Iterable[Message]) -> ConversationSentiment:
    """The customer's sentiment over a conversation: negative when the customer complained
    at least as often as they were pleased (a complaint is not cancelled by a polite thank-you;
    supervisors would rather see it), positive when pleased more often, neutral otherwise
    (and when the customer said nothing). Uses a message's stored ``sentiment`` label when
    the pipeline set one, else classifies its text."""
    counts = {"positive": 0, "neutral": 0, "negative": 0}
    scores: list[float] = []
    for m in messages:
        if not m.customer_wrote:
            continue
        stored = getattr(m, "sentiment", "")
        if stored in counts:
            label, score = stored, float(getattr(m, "sentiment_score", 0.0) or 0.0)
        else:
            s = classify(m.text)
            label, score = s.label, s.score
        counts[label] += 1
        scores.append(score)
    if counts["negative"] and counts["negative"] >= counts["positive"]:
        overall: Label = "negative"
    elif counts["positive"] > counts["negative"]:
        overall = "positive"
    else:
        overall = "neutral"
    mean = round(sum(scores) / len(scores), 4) if scores else 0.0
    return ConversationSentiment(overall, mean, counts["positive"], counts["neutral"], counts["negative"])
