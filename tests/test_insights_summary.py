"""Extractive summary of a conversation: the key sentences of a known conversation, and the
properties every summary has."""

from __future__ import annotations

import pytest

from core.errors import BadInput
from core.models import Message
from reports.keywords import default_extractor
from reports.summary import KeySentence, summarize
from tests.conformance.corpus import Factory

CUSTOMER, EMPLOYEE = "wmCUST0001", "zhangsan"


def conversation(lines: list[tuple[str, str]], seed: int = 1) -> list[Message]:
    f = Factory(seed=seed)
    return [f.message(text, sender=who, to=[EMPLOYEE if who == CUSTOMER else CUSTOMER]) for who, text in lines]


REDEMPTION = [
    (CUSTOMER, "您好，我上个月买的稳健理财产品到期了，但是赎回的钱一直没有到账。"),
    (EMPLOYEE, "您好，请稍等，我帮您查询一下赎回进度。"),
    (CUSTOMER, "好的"),
    (EMPLOYEE, "查到了，您的赎回申请在三月五日提交，理财产品赎回资金预计三个工作日到账。"),
    (CUSTOMER, "已经超过三个工作日了，赎回资金还是没有到账，太慢了！"),
    (EMPLOYEE, "非常抱歉，我马上联系运营同事加急处理您的赎回资金。"),
    (CUSTOMER, "谢谢"),
    (EMPLOYEE, "不客气，有问题随时联系我。"),
]


def test_known_conversation_gives_request_answer_and_complaint():
    """GIVEN a redemption conversation (request, lookup, answer, complaint, apology, thanks)
    WHEN summarized to three sentences THEN they are the request, the answer with the date and
    the complaint, in conversation order; the complaint ranks first."""
    msgs = conversation(REDEMPTION)
    got = summarize(msgs, max_sentences=3)
    assert [k.msgid for k in got] == [msgs[0].msgid, msgs[3].msgid, msgs[4].msgid]
    assert got[2].score == 1.0
    assert all(0 < k.score <= 1 for k in got)


def test_one_sentence_is_the_most_central():
    msgs = conversation(REDEMPTION)
    (only,) = summarize(msgs, max_sentences=1)
    assert only.msgid == msgs[4].msgid


def test_long_message_is_split_into_sentences():
    """GIVEN one message with several sentences THEN a key sentence is one of them, not the message."""
    msgs = conversation(
        [
            (CUSTOMER, "我想了解定投。基金定投每个月扣款几次？定投的基金可以随时赎回吗？今天天气不错。"),
            (EMPLOYEE, "基金定投每月扣款一次，定投的基金可以随时赎回。"),
        ]
    )
    got = summarize(msgs, max_sentences=2)
    assert all(k.text in (msgs[0].text + msgs[1].text) for k in got)
    assert "今天天气不错。" not in [k.text for k in got]


@pytest.mark.parametrize("seed", range(6), ids=[f"seed{s}" for s in range(6)])
def test_properties_of_any_summary(seed):
    """GIVEN a random conversation WHEN summarized THEN at most max sentences, each from one of its
    messages, in conversation order, best scored 1.0, no filler and no near-duplicate pair."""
    f = Factory(seed=seed)
    msgs = [f.message(sender=CUSTOMER if i % 2 else EMPLOYEE, to=[EMPLOYEE if i % 2 else CUSTOMER]) for i in range(30)]
    got = summarize(msgs, max_sentences=4)
    assert 1 <= len(got) <= 4
    position = {m.msgid: i for i, m in enumerate(msgs)}
    text_of = {m.msgid: m.text for m in msgs}
    assert all(k.text in text_of[k.msgid] for k in got)
    assert [position[k.msgid] for k in got] == sorted(position[k.msgid] for k in got)
    assert max(k.score for k in got) == 1.0
    words = [set(default_extractor().words(k.text)) for k in got]
    assert all(len(w) >= 2 for w in words)
    for i in range(len(words)):
        for j in range(len(words)):
            if i != j:
                assert len(words[i] & words[j]) < 0.8 * len(words[i])


def test_edge_cases():
    """GIVEN nothing, only filler, revoke records or masked text THEN no key sentence; a
    non-positive length is a clear error."""
    f = Factory(seed=2)
    assert summarize([]) == []
    assert summarize(conversation([(CUSTOMER, "好的"), (EMPLOYEE, "收到，谢谢")])) == []
    assert (
        summarize(
            [
                f.message("理财产品赎回资金到账", msgtype="revoke", action="recall"),
                f.message("理财产品赎回资金到账", masked=True),
            ]
        )
        == []
    )
    with pytest.raises(BadInput, match="max_sentences"):
        summarize(conversation(REDEMPTION), max_sentences=0)
    assert isinstance(summarize(conversation(REDEMPTION))[0], KeySentence)
