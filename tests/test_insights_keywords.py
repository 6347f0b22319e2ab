"""Keywords and word frequency: jieba's TF-IDF and TextRank (compared with jieba.analyse
itself on the same words), the stop-word list, the archive's dictionary, the selection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import jieba.analyse
import jieba.posseg
import pytest

from core.errors import BadInput
from core.models import Batch, MessageFilter, Scope
from reports.keywords import (
    NOT_A_WORD,
    TEXTRANK_POS,
    TEXTRANK_SPAN,
    default_extractor,
    keywords,
    load_stopwords,
    message_texts,
    selection,
    word_frequency,
)
from tests.conformance.corpus import Factory


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return Factory(seed=11).chat_texts(40) + [
        "您好，我想咨询一下这款保本理财产品的收益率，风险等级高吗？",
        "这个理财产品的收益率是多少，赎回几天到账",
        "退款什么时候到账，我要投诉你们的理财经理",
        "保证稳赚不赔，收益率比银行高",
    ]


class _Tokenizer:
    """Feeds jieba.analyse exactly our tokens, so the comparison is of the algorithms alone."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens

    def cut(self, _sentence: str):
        return [jieba.posseg.pair(w, f) for w, f in self.tokens]


def test_tfidf_matches_jieba_analyse(texts):
    """GIVEN a selection WHEN TF-IDF keywords are computed THEN every weight equals jieba.analyse's
    TF-IDF on the same words with the same stop words."""
    ex = default_extractor()
    ours = {k.word: k.weight for k in ex.tfidf(texts, top=1000)}
    ref = jieba.analyse.TFIDF()
    ref.stop_words = set(ex.stopwords)
    words = [w for t in texts for w in ex.words(t)]
    ref.tokenizer = type("T", (), {"cut": staticmethod(lambda _s: words)})()
    theirs = dict(ref.extract_tags("ignored", topK=None, withWeight=True))
    assert ours.keys() == theirs.keys()
    for w, v in theirs.items():
        assert ours[w] == pytest.approx(v, abs=1e-6), w


def test_textrank_matches_jieba_analyse_and_never_links_across_messages(texts):
    """GIVEN a selection WHEN TextRank keywords are computed THEN the weights equal jieba.analyse's
    TextRank on the same tagged tokens with a span-wide gap between messages (no cross-message link)."""
    ex = default_extractor()
    ours = {k.word: k.weight for k in ex.textrank(texts, top=1000)}
    tokens: list[tuple[str, str]] = []
    for t in texts:
        tokens.extend(ex.tagged(t))
        tokens.extend([("。", NOT_A_WORD)] * TEXTRANK_SPAN)
    ref = jieba.analyse.TextRank()
    ref.stop_words = set(ex.stopwords)
    ref.tokenizer = _Tokenizer(tokens)
    theirs = dict(ref.textrank("ignored", topK=None, withWeight=True, allowPOS=tuple(TEXTRANK_POS)))
    assert ours.keys() == theirs.keys()
    for w, v in theirs.items():
        assert ours[w] == pytest.approx(v, abs=1e-6), w


def test_word_frequency_counts_like_brute_force(texts):
    """GIVEN a selection THEN each word's count equals a plain count of its candidate tokens,
    most frequent first, ties by word; no stop word and no one-character word appears."""
    ex = default_extractor()
    expected = Counter(w for t in texts for w, f in ex.tagged(t) if f != NOT_A_WORD)
    got = ex.word_frequency(texts, top=10_000)
    assert dict(got) == dict(expected)
    assert got == sorted(got, key=lambda kv: (-kv[1], kv[0]))
    stop = load_stopwords()
    assert not [w for w, _ in got if w in stop or len(w) < 2 or w.isdigit()]


@pytest.mark.parametrize(
    "text, expected, absent",
    [
        ("好的，谢谢，收到，您好，请问在吗", [], ["好的", "谢谢", "收到", "您好", "请问"]),
        ("保证稳赚不赔的产品", ["稳赚不赔"], ["稳赚"]),
        ("ＡＢＣ理财产品", ["abc"], ["ＡＢＣ"]),
        ("2026年3月5日 123456", [], ["2026", "123456"]),
    ],
    ids=["fillers-are-stop-words", "domain-dictionary-word-stays-whole", "width-and-case-folded", "numbers-dropped"],
)
def test_candidate_words(text, expected, absent):
    words = default_extractor().words(text)
    for w in expected:
        assert w in words
    for w in absent:
        assert w not in words


def test_keywords_of_messages_skip_revoke_records_and_masked_text():
    """GIVEN messages including a revoke record and a masked message WHEN keywords are taken THEN
    only sent, unmasked texts count; an unknown method is a clear error."""
    f = Factory(seed=3)
    msgs = [
        f.message("基金定投的收益怎么样"),
        f.message("基金定投", msgtype="revoke", action="recall"),
        f.message("身份证号码已脱敏", masked=True),
    ]
    assert message_texts(msgs) == ["基金定投的收益怎么样"]
    assert {k.word for k in keywords(msgs, method="textrank")} | {k.word for k in keywords(msgs)} <= {
        "基金定投",
        "收益",
    }
    assert dict(word_frequency(msgs)) == {"基金定投": 1, "收益": 1}
    with pytest.raises(BadInput, match="tfidf or textrank"):
        keywords(msgs, method="lda")  # type: ignore[arg-type]


def test_selection_stays_within_scope(tmp_path: Path):
    """GIVEN a real store with one employee's chats about funds and another's about refunds
    WHEN an account scoped to the first takes the selection's keywords THEN refunds never appear."""
    from store.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path / "store")
    store.init()
    try:
        f = Factory(seed=5)
        msgs = [f.message("基金定投的收益怎么样", sender="zhangsan", to=["wmCUST0001"]) for _ in range(3)]
        msgs += [f.message("快递退货退款流程", sender="wangwu", to=["wmCUST0002"]) for _ in range(3)]
        store.write_batch(Batch(messages=msgs, checkpoint=max(m.seq for m in msgs)))
        store.refresh()
        mine = selection(store, MessageFilter(), scope=Scope.of(users=["zhangsan"]))
        assert len(mine) == 3
        words = {w for w, _ in word_frequency(mine)}
        assert "基金定投" in words and "退款" not in words
        searched = selection(store, MessageFilter(), scope=Scope.everything(), query="退款")
        assert {m.sender for m in searched} == {"wangwu"}
        assert len(selection(store, MessageFilter(), scope=Scope.everything(), max_messages=4)) == 4
    finally:
        store.close()


def test_stored_words_give_the_same_keywords_as_segmenting():
    """GIVEN messages carrying the words the pipeline stored at ingest THEN TF-IDF and word
    frequency equal those computed by segmenting the texts again."""
    from analyzers.chinese import get_analyzer

    f = Factory(seed=8)
    plain = [f.message() for _ in range(30)]
    stored = [f.message(m.text, words=get_analyzer().words(m.text)) for m in plain]
    assert all(m.words for m in stored)
    assert keywords(stored) == keywords(plain)
    assert word_frequency(stored) == word_frequency(plain)


@pytest.mark.parametrize("method", ["tfidf", "textrank"])
def test_keywords_and_frequency_in_one_pass_equal_the_two_separately(method):
    """GIVEN messages with stored words, without, masked and revoked THEN the one-pass function the statistics
    page uses gives exactly ``keywords`` and ``word_frequency``."""
    from analyzers.chinese import get_analyzer
    from reports.keywords import keywords_and_frequency

    f = Factory(seed=9)
    plain = [f.message() for _ in range(40)]
    stored = [f.message(m.text, words=get_analyzer().words(m.text)) for m in plain[:20]]
    odd = [f.message("基金定投", msgtype="revoke", action="recall"), f.message("身份证号码已脱敏", masked=True)]
    msgs = stored + plain[20:] + odd
    found, frequency = keywords_and_frequency(msgs, method=method, top=60, top_words=80)
    assert found == keywords(msgs, method=method, top=60)
    assert frequency == word_frequency(msgs, top=80)
    with pytest.raises(BadInput, match="tfidf or textrank"):
        keywords_and_frequency(msgs, method="lda")  # type: ignore[arg-type]
