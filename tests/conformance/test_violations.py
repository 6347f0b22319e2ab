"""Violations: upsert, filters, scope, sorting, the review workflow and aggregations."""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import BadInput
from core.models import ALL, Batch, Scope, ViolationFilter
from store.base import VIOLATION_AGG_FIELDS, Store
from tests.conformance.corpus import Factory
from tests.conformance.test_aggregations import DAY, HOUR, LOCAL_MIDNIGHT
from tests.conformance.test_store_basics import violation


@pytest.fixture
def flagged(store: Store) -> Store:
    """Five violations: two rules, two senders (departments 4<2<1 and 6<3<1), two local days."""
    f = Factory()
    plan = [  # (sender, rule, severity, local time)
        ("zhangsan", "kickback", "high", 9 * HOUR),
        ("zhangsan", "kickback", "high", 10 * HOUR),
        ("wangwu", "kickback", "high", 23 * HOUR),
        ("wangwu", "evasion", "medium", DAY + HOUR),
        ("zhangsan", "evasion", "medium", DAY + 2 * HOUR),
    ]
    msgs, vs = [], []
    for i, (sender, rule, severity, dt) in enumerate(plan):
        m = f.message(f"违规{i}", seq=i + 1, msgid=f"m{i}", sender=sender, to=["sunqi"], time_ms=LOCAL_MIDNIGHT + dt)
        msgs.append(m)
        vs.append(violation(m, rule, severity=severity, category=rule))
    store.write_batch(Batch(messages=msgs, violations=vs, checkpoint=len(msgs)))
    store.refresh()
    return store


@pytest.mark.parametrize(
    "filters, expected",
    [
        (ViolationFilter(), ["m4", "m3", "m2", "m1", "m0"]),
        (ViolationFilter(rule_ids=["evasion"]), ["m4", "m3"]),
        (ViolationFilter(categories=["kickback"], severities=["high"]), ["m2", "m1", "m0"]),
        (ViolationFilter(senders=["wangwu"]), ["m3", "m2"]),
        (ViolationFilter(employees=["wangwu"]), ["m3", "m2"]),
        (ViolationFilter(departments=[2]), ["m4", "m1", "m0"]),
        (ViolationFilter(msgids=["m0", "m9"]), ["m0"]),
        (ViolationFilter(chats=["sunqi|wangwu"]), ["m3", "m2"]),
        (ViolationFilter(statuses=["confirmed"]), []),
        (ViolationFilter(assignee=""), ["m4", "m3", "m2", "m1", "m0"]),
        (ViolationFilter(time_from=LOCAL_MIDNIGHT + 10 * HOUR, time_to=LOCAL_MIDNIGHT + DAY + HOUR), ["m2", "m1"]),
    ],
    ids=lambda v: None,
)
def test_list_violations_filters_newest_first(flagged: Store, filters: ViolationFilter, expected: list[str]) -> None:
    """GIVEN five violations WHEN listed with a filter THEN the matching ones, newest first, with the total."""
    total, items = flagged.list_violations(filters, scope=ALL, limit=100)
    assert total == len(expected) and [v.msgid for v in items] == expected


def test_list_violations_scope_sort_and_paging(flagged: Store) -> None:
    """GIVEN a scope of department 3 THEN only wangwu's violations; time_asc and paging work."""
    total, items = flagged.list_violations(ViolationFilter(), scope=Scope.of(departments=[3]))
    assert total == 2 and {v.sender for v in items} == {"wangwu"}
    assert flagged.list_violations(ViolationFilter(), scope=Scope.of())[0] == 0
    total, page = flagged.list_violations(ViolationFilter(), scope=ALL, sort="time_asc", limit=2, offset=1)
    assert total == 5 and [v.msgid for v in page] == ["m1", "m2"]


def test_violations_are_upserted_by_id(flagged: Store) -> None:
    """GIVEN a stored violation WHEN the same (msgid, rule) is put again THEN there is still one, with the new
    content."""
    _, items = flagged.list_violations(ViolationFilter(msgids=["m0"]), scope=ALL)
    again = dataclasses.replace(items[0], explanation="第二次")
    flagged.put_violations([again])
    total, items = flagged.list_violations(ViolationFilter(msgids=["m0"]), scope=ALL)
    assert total == 1 and items[0].explanation == "第二次"


def test_review_workflow_updates_a_violation(flagged: Store) -> None:
    """GIVEN a violation WHEN reviewed THEN status, reviewer and comment are stored and filterable."""
    vid = "m0:kickback"
    updated = flagged.update_violation(
        vid, {"status": "confirmed", "reviewer": "auditor1", "reviewed_ms": 123, "comment": "属实"}
    )
    assert updated.status == "confirmed" and updated.reviewer == "auditor1"
    total, items = flagged.list_violations(ViolationFilter(statuses=["confirmed"]), scope=ALL)
    assert total == 1 and items[0].comment == "属实" and items[0].reviewed_ms == 123


@pytest.mark.parametrize("changes", [{"status": "maybe"}, {"msgid": "other"}], ids=["bad-status", "immutable-field"])
def test_review_rejects_bad_changes(flagged: Store, changes: dict) -> None:
    """GIVEN a change that is not a review change or a bad status THEN BadInput and nothing changes."""
    with pytest.raises(BadInput):
        flagged.update_violation("m0:kickback", changes)
    assert flagged.list_violations(ViolationFilter(msgids=["m0"]), scope=ALL)[1][0].status == "unreviewed"


def test_review_of_a_missing_violation_is_bad_input(flagged: Store) -> None:
    with pytest.raises(BadInput):
        flagged.update_violation("nope:r1", {"status": "confirmed"})


def test_aggregate_violations(flagged: Store) -> None:
    """GIVEN five violations WHEN aggregated by rule (with a per-day sub-aggregation), department and severity THEN
    ES-shaped buckets."""
    result = flagged.aggregate_violations(
        ViolationFilter(),
        {
            "rules": {
                "terms": {"field": "rule_id"},
                "aggs": {"days": {"date_histogram": {"field": "time", "fixed_interval": "1d"}}},
            },
            "depts": {"terms": {"field": "departments", "size": 2}},
            "days": {"date_histogram": {"field": "time", "fixed_interval": "1d"}},
            "senders": {"cardinality": {"field": "sender"}},
            "n": {"value_count": {"field": "time"}},
        },
        scope=ALL,
    )
    rules = result["rules"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in rules] == [("kickback", 3), ("evasion", 2)]
    assert [(d["key"], d["doc_count"]) for d in rules[0]["days"]["buckets"]] == [(LOCAL_MIDNIGHT, 3)]
    assert [(b["key"], b["doc_count"]) for b in result["depts"]["buckets"]] == [(1, 5), (2, 3)]
    assert [(b["key"], b["doc_count"]) for b in result["days"]["buckets"]] == [
        (LOCAL_MIDNIGHT, 3),
        (LOCAL_MIDNIGHT + DAY, 2),
    ]
    assert result["senders"] == {"value": 2} and result["n"] == {"value": 5}
    scoped = flagged.aggregate_violations(
        ViolationFilter(), {"r": {"terms": {"field": "rule_id"}}}, scope=Scope.of(users=["wangwu"])
    )
    assert [(b["key"], b["doc_count"]) for b in scoped["r"]["buckets"]] == [("evasion", 1), ("kickback", 1)]


@pytest.mark.parametrize("field", sorted(VIOLATION_AGG_FIELDS))
def test_every_violation_agg_field_aggregates(flagged: Store, field: str) -> None:
    result = flagged.aggregate_violations(ViolationFilter(), {"t": {"terms": {"field": field, "size": 50}}}, scope=ALL)
    assert sum(b["doc_count"] for b in result["t"]["buckets"]) >= 5


def test_violation_aggregation_on_unknown_field_is_bad_input(flagged: Store) -> None:
    with pytest.raises(BadInput):
        flagged.aggregate_violations(ViolationFilter(), {"t": {"terms": {"field": "comment"}}}, scope=ALL)
