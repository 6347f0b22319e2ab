"""Search semantics every backend must have: phrases, bare words, boolean operators,
folding, filters, scope, sorting, paging, highlights and query errors."""

from __future__ import annotations

import html
import re

import pytest

from core.errors import QueryError
from core.models import ALL, Batch, MessageFilter, Scope, SearchRequest
from store.base import Store
from tests.conformance.corpus import BASE_MS, Factory

TEXTS = {
    "verify": "我们需要验证一下这个客户的身份",
    "kickback": "给你百分之五的回扣，别告诉别人",
    "meeting": "明天下午三点在3楼大会议室开会",
    "order": "ＡＢＣ１２３的订单已经发货了",
    "english": "Please send the Q3 report by Friday",
    "mixed": "退款 500元 已到账，请查收！",
    "punct": "真的吗？？？好的！",
    "laugh": "哈哈哈哈",
    "html": "<b>加粗</b> & 回扣",
    "fine": "好的，明天见",
    "reversed": "的好",
}


@pytest.fixture
def loaded(store: Store) -> Store:
    f = Factory()
    messages = [f.message(text, msgid=key, seq=i + 1) for i, (key, text) in enumerate(TEXTS.items())]
    store.write_batch(Batch(messages=messages, checkpoint=len(messages)))
    store.refresh()
    return store


def ids(store: Store, query: str, **kw) -> set[str]:
    result = store.search(SearchRequest(query=query, limit=100, **kw), scope=ALL)
    assert result.total == len(result.hits)
    return {h.msgid for h in result.hits}


@pytest.mark.parametrize(
    "query, expected",
    [
        ('"验证"', {"verify"}),
        ('"证一"', {"verify"}),  # across jieba words: phrases do not depend on segmentation
        ('"验"', {"verify"}),
        ('"回扣"', {"kickback", "html"}),
        ('"abc123"', {"order"}),  # full-width text found by half-width query
        ('"ＡＢＣ１２３的订单"', {"order"}),
        ('"Q3 REPORT"', {"english"}),  # case folded, space inside the phrase
        ('"q3  report"', set()),  # two spaces are not one
        ('"500元 已"', {"mixed"}),
        ('"？？？"', {"punct"}),
        ('"！"', {"mixed", "punct"}),
        ('"哈哈哈"', {"laugh"}),
        ('"哈哈哈哈哈"', set()),
        ('"<b>"', {"html"}),
        ('"验证一下这个客户的身份"', {"verify"}),
        ('"验证一下这个客户的身分"', set()),
        ("“开会”", {"meeting"}),  # Chinese quotes
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_phrase_matches_exactly_the_texts_containing_it(loaded: Store, query: str, expected: set[str]) -> None:
    """GIVEN a small corpus WHEN a quoted phrase is searched THEN exactly the texts containing it (folded) match."""
    assert ids(loaded, query) == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ("验证", {"verify"}),
        ("回扣", {"kickback", "html"}),
        ("证一", {"verify"}),  # a bare word matches wherever it occurs, like the phrase: across jieba words
        ("议室", {"meeting"}),  # inside the word 会议室
        ("=验证", {"verify"}),  # the whole-word operator
        ("=议室", set()),  # jieba keeps 会议室 whole: the whole word 议室 is not in it
        ("=客户 身份", {"verify"}),
        ("客户 身份", {"verify"}),  # words are ANDed
        ("回扣 OR 开会", {"kickback", "html", "meeting"}),
        ("回扣 -别人", {"html"}),
        ("回扣 NOT 别人", {"html"}),
        ("(回扣 OR 验证) 客户", {"verify"}),
        ("-回扣", set(TEXTS) - {"kickback", "html"}),
        ("-好的", set(TEXTS) - {"fine", "punct"}),
        ("REPORT", {"english"}),
        ("ｒｅｐｏｒｔ", {"english"}),
        ("？？？", {"punct"}),  # punctuation only: searched as a phrase
        ('验证 "客户的"', {"verify"}),
        ("好的", {"fine", "punct"}),
        ("=好的", {"fine", "punct"}),  # jieba splits it into 好 + 的: both words, in sequence
        ("的好", {"reversed"}),
        ("=的好", {"reversed"}),
        ("", set(TEXTS)),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_words_and_boolean_operators(loaded: Store, query: str, expected: set[str]) -> None:
    """GIVEN a small corpus WHEN bare words with AND/OR/NOT/parentheses are searched THEN the boolean result matches."""
    assert ids(loaded, query) == expected


@pytest.mark.parametrize("query", ['"未闭合', "a OR", "(回扣", "回扣)", "NOT", '""', "==回扣"], ids=str)
def test_bad_query_raises_query_error(loaded: Store, query: str) -> None:
    """GIVEN a malformed query WHEN searched THEN QueryError (a BadInput) explains it."""
    with pytest.raises(QueryError):
        loaded.search(SearchRequest(query=query), scope=ALL)


def marked(highlight: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", highlight)]


@pytest.mark.parametrize(
    "query, msgid, marks",
    [
        ('"验证"', "verify", ["验证"]),
        ("回扣", "html", ["回扣"]),
        ('"abc123"', "order", ["ＡＢＣ１２３"]),
        ('"哈哈"', "laugh", ["哈哈哈哈"]),  # overlapping occurrences merge
        ("回扣 OR 加粗", "html", ["加粗", "回扣"]),
        ("回扣 -加粗", "kickback", ["回扣"]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_highlight_marks_exactly_the_matched_characters(
    loaded: Store, query: str, msgid: str, marks: list[str]
) -> None:
    """GIVEN a hit WHEN highlighted THEN exactly the matched characters are inside <mark>, and the text is
    HTML-escaped."""
    hits = {h.msgid: h for h in loaded.search(SearchRequest(query=query, limit=100), scope=ALL).hits}
    assert marked(hits[msgid].highlight) == marks
    assert html.unescape(re.sub(r"</?mark>", "", hits[msgid].highlight)) == TEXTS[msgid]
    if msgid == "html":
        assert "&lt;b&gt;" in hits[msgid].highlight


def test_bare_word_ranks_whole_word_occurrences_first(store: Store) -> None:
    """GIVEN 验证 as a jieba word in one message and inside 验证码 in others
    WHEN the bare word is searched by relevance THEN all three match and the whole-word one ranks first."""
    f = Factory()
    texts = {
        "inside-1": "验证码是8848，不要告诉别人",
        "whole": "我们需要验证一下这个客户的身份",
        "inside-2": "请把验证码发给我",
    }
    messages = [f.message(text, msgid=key, seq=i + 1) for i, (key, text) in enumerate(texts.items())]
    store.write_batch(Batch(messages=messages, checkpoint=len(messages)))
    store.refresh()
    result = store.search(SearchRequest(query="验证", sort="relevance", limit=10), scope=ALL)
    assert {h.msgid for h in result.hits} == set(texts)
    assert result.hits[0].msgid == "whole"
    assert [marked(h.highlight) for h in result.hits] == [["验证"]] * 3


def test_search_reports_took_ms_and_contract_hits(loaded: Store) -> None:
    """GIVEN a search THEN took_ms is a non-negative number and hits have the contract's shape."""
    result = loaded.search(SearchRequest(query="回扣"), scope=ALL)
    assert result.took_ms >= 0
    hit = result.hits[0].to_contract()
    assert set(hit) == {"msgid", "seq", "time", "sender", "chat", "msgtype", "highlight"}


@pytest.fixture
def timeline(store: Store) -> Store:
    """Ten messages; 3 and 4 share a time (ties break by seq); two senders, two chats."""
    f = Factory()
    msgs = []
    for seq in range(1, 11):
        t = BASE_MS + (3 if seq == 4 else seq) * 60_000
        sender = "zhangsan" if seq % 2 else "wangwu"
        msgs.append(
            f.message(
                f"第{seq}条 回扣" if seq % 3 == 0 else f"第{seq}条 消息",
                msgid=f"m{seq:02d}",
                seq=seq,
                time_ms=t,
                sender=sender,
                to=["sunqi"] if seq < 6 else ["wmCUST0001"],
            )
        )
    store.write_batch(Batch(messages=msgs, checkpoint=10))
    store.refresh()
    return store


def test_time_sorting_breaks_ties_by_seq_and_pages(timeline: Store) -> None:
    """GIVEN ten messages (two at the same time) WHEN sorted by time and paged THEN the pages concatenate to the full
    order."""
    asc = [f"m{i:02d}" for i in range(1, 11)]
    for sort, expected in (("time_asc", asc), ("time_desc", asc[::-1])):
        pages = []
        for offset in range(0, 10, 3):
            result = timeline.search(SearchRequest(query="", sort=sort, limit=3, offset=offset), scope=ALL)
            assert result.total == 10
            pages += [h.msgid for h in result.hits]
        assert pages == expected, sort
        total, listed = timeline.list_messages(MessageFilter(), scope=ALL, sort=sort, limit=4, offset=2)
        assert total == 10 and [m.msgid for m in listed] == expected[2:6]


def test_relevance_sort_and_match_all_falls_back_to_newest(timeline: Store) -> None:
    """GIVEN sort=relevance WHEN the query has words THEN hits are the matches; with no words THEN newest first."""
    hits = timeline.search(SearchRequest(query="回扣", sort="relevance"), scope=ALL).hits
    assert {h.msgid for h in hits} == {"m03", "m06", "m09"}
    newest = timeline.search(SearchRequest(query="", sort="relevance", limit=2), scope=ALL).hits
    assert [h.msgid for h in newest] == ["m10", "m09"]


def test_limit_zero_counts_without_hits(timeline: Store) -> None:
    """GIVEN limit 0 WHEN searched THEN the total is reported and no hits are returned."""
    result = timeline.search(SearchRequest(query="消息", limit=0), scope=ALL)
    assert result.total == 7 and result.hits == []


@pytest.mark.parametrize(
    "filters, expected",
    [
        (MessageFilter(time_from=BASE_MS + 3 * 60_000, time_to=BASE_MS + 6 * 60_000), {"m03", "m04", "m05"}),
        (MessageFilter(senders=["wangwu"]), {"m02", "m04", "m06", "m08", "m10"}),
        (MessageFilter(chats=["sunqi|zhangsan"]), {"m01", "m03", "m05"}),
        (MessageFilter(msgtypes=["image"]), set()),
        (MessageFilter(employees=["wangwu"]), {"m02", "m04", "m06", "m08", "m10"}),
        (MessageFilter(externals=["wmCUST0001"]), {"m06", "m07", "m08", "m09", "m10"}),
        (MessageFilter(departments=[2]), {"m01", "m03", "m05", "m07", "m09"}),
        (MessageFilter(chat_kinds=["external"]), {"m06", "m07", "m08", "m09", "m10"}),
        (MessageFilter(sender_kinds=["external"]), set()),
        (MessageFilter(msgids=["m01", "m10", "nope"]), {"m01", "m10"}),
        (MessageFilter(seq_from=9), {"m09", "m10"}),
        (MessageFilter(seq_to=3), {"m01", "m02"}),
        (MessageFilter(flagged=False, revoked=False, senders=["zhangsan"], seq_from=5), {"m05", "m07", "m09"}),
        (MessageFilter(flagged=True), set()),
    ],
    ids=lambda v: None,
)
def test_every_filter_field(timeline: Store, filters: MessageFilter, expected: set[str]) -> None:
    """GIVEN the timeline WHEN filtered by one MessageFilter field THEN search, count and list agree on the matches."""
    assert ids(timeline, "", filters=filters) == expected
    assert timeline.count(filters, scope=ALL) == len(expected)
    total, page = timeline.list_messages(filters, scope=ALL, limit=100)
    assert total == len(expected) and {m.msgid for m in page} == expected


@pytest.mark.parametrize(
    "scope, expected",
    [
        (Scope.everything(), 10),
        (Scope.of(users=["wangwu"]), 5),
        (Scope.of(departments=[2]), 5),  # zhangsan's department 4 is under 2
        (Scope.of(departments=[1]), 10),
        (Scope.of(departments=[5]), 0),
        (Scope.of(), 0),  # an empty scope sees nothing
        (Scope.of(departments=[3], users=["zhangsan"]), 10),
    ],
    ids=lambda v: None,
)
def test_scope_limits_totals_hits_and_aggregations(timeline: Store, scope: Scope, expected: int) -> None:
    """GIVEN a scope WHEN searching, counting and aggregating THEN only messages the scope allows are counted."""
    assert timeline.search(SearchRequest(query="", limit=100), scope=scope).total == expected
    assert timeline.count(MessageFilter(), scope=scope) == expected
    aggs = timeline.aggregate(MessageFilter(), {"by_sender": {"terms": {"field": "sender"}}}, scope=scope)
    assert sum(b["doc_count"] for b in aggs["by_sender"]["buckets"]) == expected
    allowed = {m.msgid for m in timeline.iter_messages(MessageFilter(), scope=scope)}
    assert len(allowed) == expected
