"""The aggregation subset (store.base) over messages, in Elasticsearch's response shape."""

from __future__ import annotations

import pytest

from core.errors import BadInput
from core.models import ALL, Batch, MessageFilter, Scope
from store.base import AGG_FIELDS, Store
from tests.conformance.corpus import Factory

HOUR = 3_600_000
DAY = 24 * HOUR
# 2026-03-02 00:00 in Asia/Shanghai is 2026-03-01 16:00 UTC
LOCAL_MIDNIGHT = 1_772_380_800_000


@pytest.fixture
def week(store: Store) -> Store:
    """Six messages over two local days; messages at 23:30 and 00:30 local fall on different days."""
    f = Factory()
    plan = [  # (local time offset from midnight of day 1, sender, msgtype, reply_ms)
        (9 * HOUR, "zhangsan", "text", 1000),
        (9 * HOUR + 10 * 60_000, "zhangsan", "text", 3000),
        (23 * HOUR + 30 * 60_000, "wangwu", "image", -1),
        (DAY + 30 * 60_000, "wangwu", "text", 5000),
        (DAY + 10 * HOUR, "lisi", "text", 7000),
        (DAY + 10 * HOUR + 5, "zhangsan", "voice", -1),
    ]
    msgs = [
        f.message(
            f"第{i}条",
            seq=i + 1,
            time_ms=LOCAL_MIDNIGHT + dt,
            sender=s,
            msgtype=t,
            reply_ms=r,
            flagged=(i == 0),
            to=["sunqi", "wmCUST0001"] if i == 4 else ["sunqi"],
        )  # one message with a customer in it
        for i, (dt, s, t, r) in enumerate(plan)
    ]
    store.write_batch(Batch(messages=msgs, checkpoint=len(msgs)))
    store.refresh()
    return store


def test_terms_orders_by_count_then_key(week: Store) -> None:
    """GIVEN senders with 3, 2, 1 messages WHEN a terms aggregation runs THEN buckets are count desc, key asc, cut at
    size."""
    result = week.aggregate(MessageFilter(), {"s": {"terms": {"field": "sender", "size": 2}}}, scope=ALL)
    assert [(b["key"], b["doc_count"]) for b in result["s"]["buckets"]] == [("zhangsan", 3), ("wangwu", 2)]
    types = week.aggregate(MessageFilter(), {"t": {"terms": {"field": "msgtype"}}}, scope=ALL)["t"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in types] == [("text", 4), ("image", 1), ("voice", 1)]


def test_terms_on_multi_valued_and_boolean_fields(week: Store) -> None:
    """GIVEN departments (multi-valued) and flagged (boolean) WHEN aggregated THEN each value is a bucket."""
    result = week.aggregate(
        MessageFilter(),
        {"d": {"terms": {"field": "departments", "size": 20}}, "f": {"terms": {"field": "flagged"}}},
        scope=ALL,
    )
    departments = {b["key"]: b["doc_count"] for b in result["d"]["buckets"]}
    assert departments[1] == 6 and departments[3] == 2 and departments[6] == 2 and departments[2] == 4
    flags = {b["key"]: b["doc_count"] for b in result["f"]["buckets"]}
    assert flags == {0: 5, 1: 1}


def test_date_histogram_buckets_are_local_days(week: Store) -> None:
    """GIVEN messages at 23:30 and 00:30 local time WHEN bucketed by 1d THEN they fall on their local days (keys in
    epoch ms)."""
    result = week.aggregate(
        MessageFilter(), {"d": {"date_histogram": {"field": "time", "fixed_interval": "1d"}}}, scope=ALL
    )
    assert [(b["key"], b["doc_count"]) for b in result["d"]["buckets"]] == [
        (LOCAL_MIDNIGHT, 3),
        (LOCAL_MIDNIGHT + DAY, 3),
    ]


def test_date_histogram_by_hour_omits_empty_buckets_and_nests_terms(week: Store) -> None:
    """GIVEN messages in four local hours WHEN bucketed by 1h with a terms sub-aggregation THEN four buckets with
    their senders."""
    result = week.aggregate(
        MessageFilter(),
        {
            "h": {
                "date_histogram": {"field": "time", "fixed_interval": "1h"},
                "aggs": {"who": {"terms": {"field": "sender"}}},
            }
        },
        scope=ALL,
    )
    buckets = result["h"]["buckets"]
    assert [b["key"] for b in buckets] == [
        LOCAL_MIDNIGHT + 9 * HOUR,
        LOCAL_MIDNIGHT + 23 * HOUR,
        LOCAL_MIDNIGHT + DAY,
        LOCAL_MIDNIGHT + DAY + 10 * HOUR,
    ]
    assert [b["doc_count"] for b in buckets] == [2, 1, 1, 2]
    assert [(x["key"], x["doc_count"]) for x in buckets[3]["who"]["buckets"]] == [("lisi", 1), ("zhangsan", 1)]


def test_metrics(week: Store) -> None:
    """GIVEN reply times 1000, 3000, 5000, 7000 (and two -1) WHEN metrics run on replies THEN ES-shaped values."""
    aggs = {
        "n": {"value_count": {"field": "reply_ms"}},
        "lo": {"min": {"field": "reply_ms"}},
        "hi": {"max": {"field": "reply_ms"}},
        "sum": {"sum": {"field": "reply_ms"}},
        "avg": {"avg": {"field": "reply_ms"}},
        "st": {"stats": {"field": "reply_ms"}},
        "senders": {"cardinality": {"field": "sender"}},
        "p": {"percentiles": {"field": "reply_ms", "percents": [50]}},
    }
    result = week.aggregate(MessageFilter(), aggs, scope=ALL)
    assert result["n"] == {"value": 6}
    assert result["lo"]["value"] == -1 and result["hi"]["value"] == 7000
    assert result["sum"]["value"] == 15998 and result["avg"]["value"] == pytest.approx(15998 / 6)
    assert result["st"] == {"count": 6, "min": -1, "max": 7000, "avg": pytest.approx(15998 / 6), "sum": 15998}
    assert result["senders"] == {"value": 3}
    assert 990 <= result["p"]["values"]["50.0"] <= 3100  # engines estimate percentiles


def test_aggregations_respect_query_filters_and_scope(week: Store) -> None:
    """GIVEN a text query, a filter and a scope WHEN aggregating THEN only messages matching all three count."""
    aggs = {"t": {"terms": {"field": "msgtype"}}}
    scoped = week.aggregate(MessageFilter(), aggs, scope=Scope.of(users=["wangwu"]))["t"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in scoped] == [("image", 1), ("text", 1)]
    by_query = week.aggregate(MessageFilter(senders=["zhangsan"]), aggs, scope=ALL, query='"第1"')
    assert [(b["key"], b["doc_count"]) for b in by_query["t"]["buckets"]] == [("text", 1)]
    empty = week.aggregate(MessageFilter(), {"c": {"value_count": {"field": "time"}}, "t": aggs["t"]}, scope=Scope.of())
    assert empty["c"] == {"value": 0} and empty["t"]["buckets"] == []


@pytest.mark.parametrize("field", sorted(AGG_FIELDS))
def test_every_agg_field_aggregates(week: Store, field: str) -> None:
    """GIVEN any field in AGG_FIELDS WHEN a terms and a cardinality aggregation name it THEN both work."""
    result = week.aggregate(
        MessageFilter(),
        {"t": {"terms": {"field": field, "size": 100}}, "c": {"cardinality": {"field": field}}},
        scope=ALL,
    )
    assert sum(b["doc_count"] for b in result["t"]["buckets"]) >= (1 if field == "externals" else 6)
    assert result["c"]["value"] >= 1


@pytest.mark.parametrize(
    "aggs",
    [
        {"x": {"terms": {"field": "text"}}},
        {"x": {"terms": {"field": "raw"}}},
        {"x": {"date_histogram": {"field": "time", "fixed_interval": "7m"}}},
        {"x": {"bogus": {"field": "time"}}},
    ],
    ids=["text-field", "raw-field", "bad-interval", "unknown-type"],
)
def test_bad_aggregations_are_bad_input(week: Store, aggs: dict) -> None:
    """GIVEN an aggregation outside the subset WHEN asked THEN BadInput names the problem."""
    with pytest.raises(BadInput):
        week.aggregate(MessageFilter(), aggs, scope=ALL)
