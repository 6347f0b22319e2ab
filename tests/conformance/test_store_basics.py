"""The store's lifecycle and ingestion: init, write_batch, checkpoint, get_messages, upsert,
revokes, violations and dead letters written with a batch."""

from __future__ import annotations

from core.models import ALL, Batch, DeadLetter, MessageFilter, Scope, SearchRequest, Violation, ViolationFilter
from store.base import Store
from tests.conformance.corpus import Factory


def violation(message, rule_id: str = "r1", **overrides) -> Violation:
    """A violation of ``rule_id`` on ``message`` (fields as the rules engine fills them)."""
    fields = dict(
        msgid=message.msgid,
        rule_id=rule_id,
        rule_version=1,
        rule_name="私下交易",
        category="私下交易监控",
        severity="high",
        terms=["回扣"],
        spans=[[0, 2]],
        time_ms=message.time_ms,
        sender=message.sender,
        chat_id=message.chat_id,
        chat_kind=message.chat_kind,
        employees=message.employees,
        departments=message.departments,
    )
    fields.update(overrides)
    return Violation(**fields)


def test_init_reports_backend_and_is_repeatable(store: Store) -> None:
    """GIVEN an initialised store WHEN init runs again THEN it reports the same schema and no migration."""
    again = store.init()
    assert again["backend"] == store.backend_name
    assert isinstance(again["schema_version"], int)
    assert again["migrated"] is False


def test_new_store_is_empty(store: Store) -> None:
    """GIVEN a new store THEN the checkpoint is 0 and nothing is stored."""
    assert store.checkpoint() == 0
    assert store.stats(scope=ALL) == {"messages": 0, "violations": 0, "deadletter": 0, "last_seq": 0, "by_msgtype": {}}


def test_write_then_get_search_and_checkpoint(store: Store) -> None:
    """GIVEN a batch of messages with a checkpoint WHEN written THEN they can be fetched
    whole (raw included), found by phrase, and the checkpoint has advanced."""
    f = Factory()
    a = f.message("我们需要验证一下这个客户的身份")
    b = f.message("明天下午三点开会")
    store.write_batch(Batch(messages=[a, b], checkpoint=b.seq))
    store.refresh()

    assert store.checkpoint() == b.seq
    got = store.get_messages([b.msgid, a.msgid, "missing"], scope=ALL)
    assert [m.msgid for m in got] == [b.msgid, a.msgid]
    assert got[1].raw == a.raw and got[1].text == a.text and got[1].departments == a.departments
    result = store.search(SearchRequest(query='"验证"'), scope=ALL)
    assert [h.msgid for h in result.hits] == [a.msgid]
    assert result.total == 1


def test_storing_a_message_twice_keeps_one_copy(store: Store) -> None:
    """GIVEN a message already stored WHEN the same batch is replayed THEN one copy remains."""
    f = Factory()
    m = f.message("重复的消息")
    store.write_batch(Batch(messages=[m], checkpoint=m.seq))
    store.write_batch(Batch(messages=[m, m], checkpoint=m.seq))
    store.refresh()
    assert store.count(MessageFilter(), scope=ALL) == 1
    assert store.search(SearchRequest(query='"重复"'), scope=ALL).total == 1


def test_checkpoint_never_moves_back(store: Store) -> None:
    """GIVEN a checkpoint at 10 WHEN a batch without or with a lower checkpoint is written THEN it stays 10."""
    f = Factory()
    store.write_batch(Batch(messages=[f.message(seq=10)], checkpoint=10))
    store.write_batch(Batch(deadletters=[], checkpoint=None))
    store.write_batch(Batch(messages=[f.message(seq=3)], checkpoint=3))
    assert store.checkpoint() == 10


def test_revokes_mark_originals_in_the_same_and_earlier_batches(store: Store) -> None:
    """GIVEN originals stored earlier and in the same batch WHEN a batch names them in
    revoked_msgids THEN both are marked revoked; a revoke whose original comes later marks it on arrival."""
    f = Factory()
    early, same, late = f.message("第一条"), f.message("第二条"), f.message("第三条")
    store.write_batch(Batch(messages=[early], checkpoint=early.seq))
    store.write_batch(Batch(messages=[same], revoked_msgids=[early.msgid, same.msgid, late.msgid], checkpoint=same.seq))
    store.write_batch(Batch(messages=[late], checkpoint=late.seq))
    store.refresh()
    got = {m.msgid: m.revoked for m in store.get_messages([early.msgid, same.msgid, late.msgid], scope=ALL)}
    assert got == {early.msgid: True, same.msgid: True, late.msgid: True}
    assert store.count(MessageFilter(revoked=True), scope=ALL) == 3


def test_violations_flag_their_messages(store: Store) -> None:
    """GIVEN a batch with a violation WHEN written THEN the message is flagged and the violation listed;
    a replay of the message without the violation keeps the flag."""
    f = Factory()
    m, clean = f.message("给你百分之五的回扣"), f.message("正常的消息")
    store.write_batch(Batch(messages=[m, clean], violations=[violation(m)], checkpoint=clean.seq))
    store.write_batch(Batch(messages=[m], checkpoint=clean.seq))
    store.refresh()
    assert store.count(MessageFilter(flagged=True), scope=ALL) == 1
    assert store.get_messages([m.msgid], scope=ALL)[0].flagged is True
    total, items = store.list_violations(ViolationFilter(), scope=ALL)
    assert total == 1 and items[0].id == f"{m.msgid}:r1"


def test_deadletters_are_upserted_and_resolved(store: Store) -> None:
    """GIVEN dead letters written twice WHEN one is resolved later THEN one copy each, and the resolved one is gone."""
    d1 = DeadLetter(seq=5, msgid="bad1", reason="decrypt failed", stage="decrypt", record={"seq": 5})
    d2 = DeadLetter(
        seq=6, msgid="bad2", reason="unknown key version 9", stage="decrypt", record={"seq": 6}, key_version=9
    )
    store.write_batch(Batch(deadletters=[d1, d2], checkpoint=6))
    store.write_batch(Batch(deadletters=[d1], checkpoint=6))
    total, items = store.list_deadletters()
    assert total == 2 and [d.msgid for d in items] == ["bad1", "bad2"]
    assert items[1].record == {"seq": 6} and items[1].key_version == 9
    store.write_batch(Batch(resolved_deadletters=["bad1"]))
    total, items = store.list_deadletters()
    assert total == 1 and items[0].msgid == "bad2"
    assert store.stats(scope=ALL)["deadletter"] == 1


def test_stats_counts_by_msgtype_within_scope(store: Store) -> None:
    """GIVEN messages of two types by two departments WHEN stats is asked with a scope THEN only the scope counts."""
    f = Factory()
    msgs = [
        f.message("你好", sender="zhangsan", to=["sunqi"]),
        f.message("图片", msgtype="image", sender="wangwu", to=["sunqi"]),
        f.message("文字", sender="wangwu", to=["sunqi"]),
    ]
    store.write_batch(Batch(messages=msgs, checkpoint=msgs[-1].seq))
    store.refresh()
    everything = store.stats(scope=ALL)
    assert everything["messages"] == 3 and everything["by_msgtype"] == {"text": 2, "image": 1}
    assert everything["last_seq"] == msgs[-1].seq
    dept6 = store.stats(scope=Scope.of(departments=[6]))
    assert dept6["messages"] == 2 and dept6["by_msgtype"] == {"image": 1, "text": 1}
