"""The compliance layer on every backend: it uses only the Store protocol, so the audit
trail's tamper detection, the daily digests and retention with legal holds must behave
the same on the embedded store and on Elasticsearch."""

from __future__ import annotations

from typing import Any

from compliance import audit, integrity, retention
from core.models import ALL, Batch, Message, MessageFilter
from tests.helpers import make_message

NOW = 1_763_600_000_000
DAY = 86_400_000


def _message(msgid: str, age_days: int, employee: str) -> Message:
    return make_message(
        msgid,
        msgid=msgid,
        seq=age_days,
        sender=employee,
        to=("boss",),
        time_ms=NOW - age_days * DAY,
        employees=sorted((employee, "boss")),
        departments=[1],
    )


def test_audit_chain_and_tamper_detection(store: Any) -> None:
    """GIVEN five entries recorded back to back THEN the chain verifies; WHEN a copy with
    entry 3 removed is appended to the same backend's fresh collection THEN verify names seq 3."""
    for i in range(5):
        audit.record(store, "admin", "search", "", {"query": f"q{i}"})
    store.refresh()
    result = audit.verify(store)
    assert result.ok, result.problem
    assert result.checked == 5
    trail = sorted(store.find_records("audit"), key=lambda r: r["seq"])
    assert [r["seq"] for r in trail] == [1, 2, 3, 4, 5]
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(trail, trail[1:]))
    tampered = [{k: v for k, v in r.items() if not k.startswith("_")} for r in trail]
    del tampered[2]
    bad = audit.verify_entries(tampered, store.get_record(*audit.HEAD_RECORD))
    assert not bad.ok and bad.first_bad_seq == 3


def test_digests_detect_a_deleted_message(store: Any) -> None:
    messages = [_message(f"m{i}", i % 3 + 1, "zhangwei") for i in range(9)]
    store.write_batch(Batch(messages=messages, checkpoint=9))
    store.refresh()
    assert len(integrity.update_digests(store).sealed) == 3
    store.refresh()
    assert integrity.verify_messages(store).ok
    store.delete_messages(["m4"])
    store.refresh()
    result = integrity.verify_messages(store)
    assert not result.ok and "deleted" in result.first_problem


def test_purge_respects_legal_holds(store: Any) -> None:
    """GIVEN keep 30 days and a hold on lina WHEN purged THEN old messages go except lina's."""
    messages = [
        _message("old-zw", 100, "zhangwei"),
        _message("old-lina", 100, "lina"),
        _message("new-zw", 1, "zhangwei"),
    ]
    store.write_batch(Batch(messages=messages, checkpoint=3))
    store.refresh()
    retention.set_policy(store, 30)
    retention.add_hold(store, "employee", "lina", "case 1")
    store.refresh()
    result = retention.purge(store, NOW)
    store.refresh()
    assert (result.deleted, result.held) == (1, 1)
    assert {m.msgid for m in store.iter_messages(MessageFilter(), scope=ALL)} == {"old-lina", "new-zw"}
    assert audit.list_entries(store, action="purge")[0]["details"]["deleted"] == 1
