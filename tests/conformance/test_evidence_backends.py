"""The evidence checks use only the Store protocol, so tampering through the store's own API
must be caught identically on every backend: altered text, altered raw with its hash, a
deleted message followed by new messages of that day, deleted digests, a violation
dismissed in the store, an edited dead letter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from compliance import integrity
from compliance.evidence import verify_archive
from core.models import ALL, Batch, MessageFilter, ViolationFilter, sha256_hex
from tests.evidence_corpus import deadletter, fill, message


def _alter_text(store: Any) -> str:
    m = store.get_messages(["m5"], scope=ALL)[0]
    m.text = "改过的内容"
    store.update_messages([m])
    return "message m5"


def _alter_raw_and_hash(store: Any) -> str:
    m = store.get_messages(["m5"], scope=ALL)[0]
    m.raw = m.raw.replace("第5条", "第500条")
    m.raw_sha256 = sha256_hex(m.raw)
    store.update_messages([m])
    return "message m5"


def _delete_then_write_more_of_that_day(store: Any) -> str:
    store.delete_messages(["m5"])
    store.refresh()
    batch = Batch(messages=[message(50, 5 % 3), message(53, 5 % 3)], checkpoint=60)
    store.write_batch(batch)
    store.refresh()
    integrity.record_batch(store, batch)
    integrity.update_digests(store)
    return "message m5"


def _delete_digests(store: Any) -> str:
    for row in store.find_records("digests"):
        store.delete_record("digests", row["_id"])
    store.delete_record("meta", "digests_head")
    return "never sealed"


def _dismiss_violation(store: Any) -> str:
    store.update_violation("m4:r1", {"status": "false_positive"})
    return "violation m4:r1"


def _edit_deadletter(store: Any) -> str:
    forged = deadletter(13)
    forged.record["encrypt_chat_msg"] = "forged"
    store.write_batch(Batch(deadletters=[forged]))
    return "dead letter dead13"


ATTACKS: list[tuple[str, Callable[[Any], str]]] = [
    ("alter-text", _alter_text),
    ("alter-raw-and-hash", _alter_raw_and_hash),
    ("delete-then-write-more-of-that-day", _delete_then_write_more_of_that_day),
    ("delete-digests", _delete_digests),
    ("dismiss-violation", _dismiss_violation),
    ("edit-dead-letter", _edit_deadletter),
]


def test_a_filled_archive_verifies(store: Any) -> None:
    fill(store)
    report = verify_archive(store)
    assert report.ok, report.problems
    assert report.records.messages == 12


@pytest.mark.parametrize("attack", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_tampering_through_the_store_api_is_named(store: Any, attack: Callable[[Any], str]) -> None:
    """GIVEN a sealed archive WHEN tampered with through the Store API THEN verify fails and a
    problem names the item."""
    fill(store)
    named = attack(store)
    store.refresh()
    report = verify_archive(store)
    assert not report.ok
    assert any(named in p for p in report.problems), report.problems


def test_the_retention_purge_removes_sealed_content_and_records_what_it_removed(store: Any) -> None:
    """GIVEN sealed days WHEN the purge deletes one day's messages (and their violations) THEN
    verify passes and the ledger's purge entry lists every removed item with its hash."""
    messages = fill(store)
    doomed = [m for m in messages if int(m.msgid[1:]) % 3 == 0]
    violations = store.list_violations(ViolationFilter(msgids=[m.msgid for m in doomed]), scope=ALL)[1]
    store.delete_messages([m.msgid for m in doomed])
    store.refresh()
    integrity.record_purge(store, doomed, violations, actor="cli:admin")
    store.refresh()
    assert verify_archive(store).ok
    purge = [e for e in store.find_records("digests") if e.get("kind") == "purge"]
    removed = {k: h for e in purge for k, h in e["removed"].items()}
    assert removed == {
        **{f"m:{m.msgid}": integrity.message_hash(m) for m in doomed},
        **{f"v:{v.id}": integrity.violation_hash(v) for v in violations},
    }
    assert store.count(MessageFilter(), scope=ALL) == len(messages) - len(doomed)
