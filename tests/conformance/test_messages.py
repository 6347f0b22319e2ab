"""Reading and maintaining stored messages: context, iter_messages, update, delete."""

from __future__ import annotations

import dataclasses

import pytest

from core.models import ALL, Batch, MessageFilter, Scope, SearchRequest, ViolationFilter
from store.base import Store
from tests.conformance.corpus import BASE_MS, Factory
from tests.conformance.test_store_basics import violation


@pytest.fixture
def two_chats(store: Store) -> Store:
    """Chat A (zhangsan|lisi): seqs 1..9 odd-numbered minutes, one tie at seq 5/6; chat B interleaved."""
    f = Factory()
    msgs = []
    for seq in range(1, 13):
        in_a = seq not in (2, 8, 11)
        t = BASE_MS + (5 if seq == 6 else seq) * 60_000  # 5 and 6 share a time
        msgs.append(
            f.message(
                f"消息{seq}",
                msgid=f"m{seq:02d}",
                seq=seq,
                time_ms=t,
                sender="zhangsan",
                to=["lisi" if in_a else "wangwu"],
            )
        )
    store.write_batch(Batch(messages=msgs, checkpoint=12))
    store.refresh()
    return store


def test_context_is_the_conversation_around_a_message(two_chats: Store) -> None:
    """GIVEN two interleaved chats WHEN the context of m06 is asked THEN it is chat A's neighbours in (time, seq)
    order."""
    got = [m.msgid for m in two_chats.context("m06", before=2, after=3, scope=ALL)]
    assert got == ["m04", "m05", "m06", "m07", "m09", "m10"]
    edge = [m.msgid for m in two_chats.context("m01", before=5, after=1, scope=ALL)]
    assert edge == ["m01", "m03"]


def test_context_is_empty_for_unknown_or_out_of_scope_messages(two_chats: Store) -> None:
    """GIVEN a missing msgid or a scope that does not allow the message THEN the context is empty."""
    assert two_chats.context("nope", scope=ALL) == []
    assert two_chats.context("m06", scope=Scope.of(users=["wangwu"])) == []
    assert [m.msgid for m in two_chats.context("m08", before=1, after=1, scope=Scope.of(users=["wangwu"]))] == [
        "m02",
        "m08",
        "m11",
    ]


def test_iter_messages_streams_every_match_in_seq_order(two_chats: Store) -> None:
    """GIVEN twelve messages WHEN iterated in small batches, with filters THEN every match comes once, in seq order."""
    got = [m.msgid for m in two_chats.iter_messages(MessageFilter(), scope=ALL, batch_size=5)]
    assert got == [f"m{i:02d}" for i in range(1, 13)]
    chat_b = [
        m.seq
        for m in two_chats.iter_messages(MessageFilter(chats=["wangwu|zhangsan"], seq_from=3), scope=ALL, batch_size=1)
    ]
    assert chat_b == [8, 11]


def test_iter_messages_keeps_messages_that_share_a_seq(store: Store) -> None:
    """GIVEN several messages with the same seq (an import without seqs) WHEN iterated with batch_size 1 THEN none is
    lost or repeated."""
    f = Factory()
    msgs = [f.message(f"导入{i}", msgid=f"imp{i}", seq=0, time_ms=BASE_MS + i) for i in range(4)] + [
        f.message("后", msgid="z", seq=1)
    ]
    store.write_batch(Batch(messages=msgs))
    store.refresh()
    got = [m.msgid for m in store.iter_messages(MessageFilter(), scope=ALL, batch_size=1)]
    assert sorted(got[:4]) == ["imp0", "imp1", "imp2", "imp3"] and got[4:] == ["z"]


def test_update_messages_replaces_by_msgid(two_chats: Store) -> None:
    """GIVEN a stored message WHEN masked via update_messages THEN searches see the new text only, once."""
    original = two_chats.get_messages(["m03"], scope=ALL)[0]
    masked = dataclasses.replace(original, text="［已脱敏］", masked=True, words=[])
    two_chats.update_messages([masked])
    two_chats.refresh()
    assert two_chats.search(SearchRequest(query='"消息3"'), scope=ALL).total == 0
    assert [h.msgid for h in two_chats.search(SearchRequest(query='"已脱敏"'), scope=ALL).hits] == ["m03"]
    assert two_chats.get_messages(["m03"], scope=ALL)[0].masked is True
    assert two_chats.count(MessageFilter(), scope=ALL) == 12


def test_delete_messages_removes_them_and_their_violations(two_chats: Store) -> None:
    """GIVEN messages with a violation WHEN deleted THEN they and the violation are gone and the count of existing
    ones is returned."""
    m1 = two_chats.get_messages(["m01"], scope=ALL)[0]
    two_chats.put_violations([violation(m1)])
    assert two_chats.delete_messages(["m01", "m02", "missing"]) == 2
    two_chats.refresh()
    assert two_chats.get_messages(["m01", "m02"], scope=ALL) == []
    assert two_chats.count(MessageFilter(), scope=ALL) == 10
    assert two_chats.list_violations(ViolationFilter(), scope=ALL)[0] == 0


def test_put_violations_flags_stored_messages(two_chats: Store) -> None:
    """GIVEN stored messages WHEN a retroactive rule adds violations THEN those messages become flagged."""
    m = two_chats.get_messages(["m04"], scope=ALL)[0]
    two_chats.put_violations([violation(m, "r9")])
    two_chats.refresh()
    assert [x.msgid for x in two_chats.list_messages(MessageFilter(flagged=True), scope=ALL)[1]] == ["m04"]
