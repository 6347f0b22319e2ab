"""Exception suggestions and excerpts of the review desk, against a brute-force reading of the text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.chinese import get_analyzer
from core.models import Message, Violation
from dashboard import review_desk


def message(text: str) -> Message:
    return Message(
        msgid="m1",
        seq=1,
        action="send",
        msgtype="text",
        time_ms=0,
        sender="a",
        sender_kind="employee",
        receivers=["b"],
        roomid="",
        chat_id="a|b",
        chat_kind="external",
        text=text,
        raw="",
        words=get_analyzer().words(text),
    )


def violation(start: int, end: int, term: str) -> Violation:
    return Violation(
        msgid="m1",
        rule_id="r",
        rule_version=1,
        rule_name="r",
        category="c",
        severity="high",
        terms=[term],
        spans=[[start, end]],
        time_ms=0,
        sender="a",
        chat_id="a|b",
    )


def test_the_word_around_the_hit_is_suggested_first() -> None:
    """GIVEN 保本 inside 保本型存款 THEN the suggestion is the longer word, never the bare keyword."""
    text = "这是保本型存款，放心"
    start = text.index("保本")
    suggestions = review_desk.suggest_exceptions(message(text), violation(start, start + 2, "保本"))
    assert suggestions and all("保本" in s and s != "保本" for s in suggestions)
    assert all(s in text for s in suggestions)


def test_a_hit_that_is_a_whole_clause_gets_no_suggestion() -> None:
    """GIVEN the keyword alone between punctuation THEN no exception is proposed (it would allow every hit)."""
    assert review_desk.suggest_exceptions(message("好的。回扣。"), violation(3, 5, "回扣")) == []


TEXT = st.text(alphabet=st.sampled_from(list("回扣返点保本型存款，。 好的abc")), min_size=1, max_size=30)


@settings(deadline=None)  # the first example loads jieba's dictionary; no timing is under test
@given(text=TEXT, data=st.data())
def test_every_suggestion_contains_the_hit_and_is_longer(text: str, data: st.DataObject) -> None:
    """PROPERTY: a suggestion is a substring of the message that covers the hit's position and is longer than
    it (so it silences this hit and nothing shorter); the excerpt holds the hit in 【】."""
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    m, v = message(text), violation(start, end, text[start:end])
    for s in review_desk.suggest_exceptions(m, v):
        assert len(s) > end - start
        assert any(text[p : p + len(s)] == s and p <= start and end <= p + len(s) for p in range(len(text)))
    assert f"【{text[start:end]}】" in review_desk.excerpt(text, v)
