"""Search correctness auditors rely on, as properties against a brute-force scan.

A corpus of a few hundred realistic Chinese chat messages (the simulator's phrase grammar,
plus texts with full-width characters, mixed case, digits, punctuation and spaces) is
stored once per backend. Then:

- a quoted phrase (a substring of 1-8 characters of a corpus text, possibly re-cased or
  widened, or a string from outside the corpus) returns EXACTLY the messages whose
  fold(text) contains fold(phrase);
- a bare word returns exactly what the same word quoted returns (the brute-force scan);
- a random boolean query of phrases, bare words and whole words (``=word``) with AND, OR,
  NOT and parentheses returns exactly what a brute-force evaluator of the same AST returns.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzers.chinese import get_analyzer, query_words
from analyzers.textfold import fold
from core.models import ALL, Message, SearchRequest
from store.base import Store
from store.query import And, Node, Not, Or, Phrase, Word, parse_query
from tests.conformance.conftest import BACKENDS, opened_store
from tests.conformance.corpus import Factory
from tests.helpers import examples

SPECIAL_TEXTS = [
    "ＡＢＣ１２３的订单已经发货了",
    "abc123 订单号 DD800012345678",
    "Hello World　你好世界",
    "请在ＷｅＣｏｍ里确认一下",
    "哈哈哈哈哈",
    "真的吗？？？好的！",
    "退款 500元 已到账，请查收",
    "验证码是 8848，不要告诉别人",
    "OK的 没问题 ok",
    "a  b   c",
    "「报价单」发你了：3.5%",
    "我们需要验证一下客户的身份信息",
]


def build_corpus(n: int = 300) -> list[Message]:
    f = Factory(seed=11)
    texts = f.chat_texts(n) + SPECIAL_TEXTS
    return [f.message(t, seq=i + 1, msgid=f"p{i:04d}") for i, t in enumerate(texts)]


CORPUS = build_corpus()
FOLDED = {m.msgid: fold(m.text) for m in CORPUS}
WORDS = {m.msgid: get_analyzer().words(m.text) for m in CORPUS}
# single words and pairs of adjacent words (a bare word jieba splits in two must match both in sequence)
VOCABULARY = sorted(
    {w for ws in WORDS.values() for w in ws}
    | {a + b for ws in WORDS.values() for a, b in zip(ws, ws[1:])}
    | {"好的", "一下", "的好"}
)
VOCABULARY = [w for w in VOCABULARY if w.isalnum() and w not in ("OR", "AND", "NOT")]
ALPHABET = sorted({ch for t in FOLDED.values() for ch in t if ch != '"'}) + list("乌龙茶Zz9")


@pytest.fixture(scope="module", params=BACKENDS)
def corpus_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with opened_store(request.param, Path(tmp_path_factory.mktemp("phrase")), CORPUS) as s:
        yield s


def widen(text: str, rng: random.Random) -> str:
    """Randomly upper-cases and widens ASCII (what folding must undo)."""
    out = []
    for ch in text:
        if ch.isascii() and ch.isalpha() and rng.random() < 0.5:
            ch = ch.upper()
        if "!" <= ch <= "~" and rng.random() < 0.3:
            ch = chr(ord(ch) + 0xFEE0)
        out.append(ch)
    return "".join(out)


@st.composite
def phrases(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 4)) == 0:  # outside the corpus: random strings over its alphabet
        text = draw(st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=6))
    else:
        m = draw(st.sampled_from(CORPUS))
        length = draw(st.integers(1, 8))
        start = draw(st.integers(0, max(0, len(m.text) - 1)))
        text = m.text[start : start + length]
        text = widen(text, random.Random(draw(st.integers(0, 2**16))))
    text = text.replace('"', "")
    return text


def brute_phrase(phrase: str) -> set[str]:
    needle = fold(phrase)
    return {mid for mid, folded in FOLDED.items() if needle in folded}


def contains_sequence(words: list[str], tokens: tuple[str, ...]) -> bool:
    n = len(tokens)
    return any(tuple(words[i : i + n]) == tokens for i in range(len(words) - n + 1))


def brute(node: Node) -> set[str]:
    """The reference evaluator of the query language."""
    everything = {m.msgid for m in CORPUS}
    if isinstance(node, Phrase):
        return brute_phrase(node.text)
    if isinstance(node, Word) and not node.whole:
        return brute_phrase(node.text)  # a bare word matches wherever it occurs
    if isinstance(node, Word):
        tokens = query_words(node.text)
        if not tokens:
            return brute_phrase(node.text)
        return {mid for mid, ws in WORDS.items() if contains_sequence(ws, tokens)}
    if isinstance(node, Not):
        return everything - brute(node.child)
    if isinstance(node, And):
        result = set(everything)
        for child in node.children:
            result &= brute(child)
        return result
    if isinstance(node, Or):
        result: set[str] = set()
        for child in node.children:
            result |= brute(child)
        return result
    return everything  # MatchAll


def search_ids(store: Store, query: str) -> set[str]:
    result = store.search(SearchRequest(query=query, limit=len(CORPUS) + 1, highlight=False), scope=ALL)
    got = {h.msgid for h in result.hits}
    assert result.total == len(got)
    return got


PROPERTY = settings(max_examples=examples(250), suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(phrase=phrases())
def test_phrase_returns_exactly_the_texts_containing_it(corpus_store: Store, phrase: str) -> None:
    """GIVEN the corpus WHEN any phrase of 1-8 characters is searched THEN the hits are exactly the brute-force
    scan's."""
    if not phrase.strip():
        return  # the parser rejects an empty phrase
    assert search_ids(corpus_store, f'"{phrase}"') == brute_phrase(phrase)


@st.composite
def bare_words(draw: st.DrawFn) -> str:
    """What auditors type: a piece of a corpus text (or a vocabulary word) without quotes or spaces."""
    if draw(st.booleans()):
        return draw(st.sampled_from(VOCABULARY))
    text = draw(phrases())
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "()（）“”「」")
    return text.lstrip("-=") or "的"


@PROPERTY
@given(word=bare_words())
def test_bare_word_returns_exactly_the_texts_containing_it(corpus_store: Store, word: str) -> None:
    """GIVEN the corpus WHEN a bare word is searched THEN the hits are exactly the texts containing it (brute force)."""
    if word in ("OR", "AND", "NOT", "|"):
        return  # operators, not words
    assert search_ids(corpus_store, word) == brute_phrase(word)


@st.composite
def atoms(draw: st.DrawFn) -> tuple[str, Node]:
    if draw(st.booleans()):
        phrase = draw(phrases())
        if not phrase.strip():
            phrase = "的"
        return f'"{phrase}"', Phrase(phrase)
    word = draw(st.sampled_from(VOCABULARY))
    if draw(st.booleans()):
        return "=" + word, Word(word, whole=True)
    return word, Word(word)


def queries(depth: int = 2) -> st.SearchStrategy[tuple[str, Node]]:
    def extend(children: st.SearchStrategy[tuple[str, Node]]) -> st.SearchStrategy[tuple[str, Node]]:
        pair = st.lists(children, min_size=2, max_size=3)
        return st.one_of(
            pair.map(lambda cs: ("(" + " ".join(c[0] for c in cs) + ")", And(tuple(c[1] for c in cs)))),
            pair.map(lambda cs: ("(" + " OR ".join(c[0] for c in cs) + ")", Or(tuple(c[1] for c in cs)))),
            children.map(lambda c: ("-(" + c[0] + ")", Not(c[1]))),
            children.map(lambda c: ("NOT " + c[0], Not(c[1]))),
        )

    return st.recursive(atoms(), extend, max_leaves=6)


@PROPERTY
@given(query=queries())
def test_boolean_queries_match_the_reference_evaluator(corpus_store: Store, query: tuple[str, Node]) -> None:
    """GIVEN the corpus WHEN a random boolean query is searched THEN the hits are exactly the reference evaluator's."""
    text, node = query
    parsed = parse_query(text)
    assert search_ids(corpus_store, text) == brute(parsed) == brute(node)
