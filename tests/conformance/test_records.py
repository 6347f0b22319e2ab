"""Records: named collections of JSON documents for the product's small state."""

from __future__ import annotations

import pytest

from core.errors import BadInput
from store.base import Store


def test_put_get_delete(store: Store) -> None:
    """GIVEN a record WHEN put, replaced, fetched and deleted THEN each step is visible and carries _id."""
    store.put_record("accounts", "alice", {"name": "alice", "role": "auditor", "scope": {"departments": [2]}})
    store.put_record("accounts", "alice", {"name": "alice", "role": "viewer", "scope": {"departments": [2]}})
    assert store.get_record("accounts", "alice") == {
        "_id": "alice",
        "name": "alice",
        "role": "viewer",
        "scope": {"departments": [2]},
    }
    assert store.count_records("accounts") == 1
    assert store.delete_record("accounts", "alice") is True
    assert store.delete_record("accounts", "alice") is False
    assert store.get_record("accounts", "alice") is None


@pytest.fixture
def rules(store: Store) -> Store:
    for i, (name, severity, enabled) in enumerate(
        [("回扣", "high", True), ("飞单", "high", False), ("收益承诺", "medium", True), ("辱骂", "low", True)]
    ):
        store.put_record(
            "rules", f"r{i}", {"name": name, "severity": severity, "enabled": enabled, "order": i, "tags": ["a"]}
        )
    return store


@pytest.mark.parametrize(
    "where, expected",
    [
        (None, ["r0", "r1", "r2", "r3"]),
        ({"severity": "high"}, ["r0", "r1"]),
        ({"severity": ["medium", "low"]}, ["r2", "r3"]),
        ({"enabled": False}, ["r1"]),
        ({"enabled": True, "severity": "high"}, ["r0"]),
        ({"severity": []}, []),
        ({"missing": None}, ["r0", "r1", "r2", "r3"]),
        ({"name": "回扣"}, ["r0"]),
    ],
    ids=lambda v: None,
)
def test_find_and_count_by_top_level_fields(rules: Store, where: dict | None, expected: list[str]) -> None:
    """GIVEN four rules WHEN found by equality / one-of on top-level fields THEN exactly the matching docs."""
    assert sorted(r["_id"] for r in rules.find_records("rules", where)) == expected
    assert rules.count_records("rules", where) == len(expected)


def test_find_orders_and_pages(rules: Store) -> None:
    """GIVEN four rules WHEN ordered by a field descending with limit/offset THEN that page in that order."""
    got = rules.find_records("rules", order_by="order", descending=True, limit=2, offset=1)
    assert [r["_id"] for r in got] == ["r2", "r1"]
    assert [r["name"] for r in rules.find_records("rules", {"enabled": True}, order_by="name")] == sorted(
        ["回扣", "收益承诺", "辱骂"]
    )


def test_append_numbers_monotonically(store: Store) -> None:
    """GIVEN an append-only collection WHEN three docs are appended THEN positions 1, 2, 3, carried as _seq."""
    positions = [store.append_record("audit", {"action": a}) for a in ("login", "search", "export")]
    assert positions == [1, 2, 3]
    docs = store.find_records("audit", order_by="_seq")
    assert [(d["_seq"], d["action"]) for d in docs] == [(1, "login"), (2, "search"), (3, "export")]
    assert [d["_seq"] for d in store.find_records("audit", order_by="_seq", descending=True, limit=1)] == [3]
    assert store.count_records("audit", {"action": "search"}) == 1


def test_collections_are_separate_and_named(store: Store) -> None:
    """GIVEN the same id in two collections THEN they do not collide; an unknown collection is BadInput."""
    store.put_record("rules", "x", {"v": 1})
    store.put_record("settings_log", "x", {"v": 2})
    assert store.get_record("rules", "x")["v"] == 1 and store.get_record("settings_log", "x")["v"] == 2
    with pytest.raises(BadInput):
        store.put_record("nonsense", "x", {})


def test_batch_new_records_are_created_only_if_absent(store: Store) -> None:
    """GIVEN a media item already fetched ("done") WHEN a replayed batch queues it again as
    "pending" with another new item THEN the fetched one is untouched and the new one is created."""
    from core.models import Batch

    store.put_record("media", "m1", {"status": "done", "path": "ab/x.jpg"})
    store.write_batch(
        Batch(
            new_records=[
                ("media", "m1", {"status": "pending", "path": ""}),
                ("media", "m2", {"status": "pending", "path": ""}),
            ]
        )
    )
    store.refresh()
    assert store.get_record("media", "m1")["status"] == "done"
    assert store.get_record("media", "m2")["status"] == "pending"
    assert store.count_records("media", {"status": "pending"}) == 1
