"""Customer sentiment per employee over time, on a real store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from analyzers.insights.sentiment import annotate
from core.errors import BadInput
from core.models import Batch, MessageFilter, Scope
from reports.trend import TrendPoint, sentiment_trend, trend_from_messages
from store.base import AGG_FIELDS
from tests.conformance.corpus import Factory

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)


def at(day: int, hh: int, mm: int = 0) -> int:
    return int(datetime(2026, 3, day, hh, mm, tzinfo=ZONE).timestamp() * 1000)


def build():
    f = Factory(seed=13)
    plan = [  # (time, customer, employee, text)
        (at(2, 10), "wmCUST0001", "zhangsan", "谢谢，很满意"),
        (at(2, 23, 59), "wmCUST0001", "zhangsan", "太慢了，我要投诉"),
        (at(3, 0, 1), "wmCUST0001", "zhangsan", "请问几点开门？"),
        (at(3, 9), "wmCUST0002", "lisi", "你们就是骗子"),
        (at(9, 9), "wmCUST0001", "zhangsan", "服务很好，谢谢"),
    ]
    msgs = [f.message(text, sender=c, to=[e], time_ms=t) for t, c, e, text in plan]
    msgs.append(
        f.message("太差劲了，骗子", sender="zhangsan", to=["wmCUST0001"], time_ms=at(3, 10))
    )  # employee: ignored
    msgs.append(
        f.message("", sender="wmCUST0001", to=["zhangsan"], time_ms=at(3, 11), msgtype="revoke", action="recall")
    )
    annotate(msgs)  # as the pipeline does at ingest
    return msgs


@pytest.fixture
def store(tmp_path: Path):
    from store.embedded import EmbeddedStore

    s = EmbeddedStore(tmp_path / "store", timezone=TZ)
    s.init()
    msgs = build()
    s.write_batch(Batch(messages=msgs, checkpoint=max(m.seq for m in msgs)))
    s.refresh()
    yield s
    s.close()


def test_daily_trend_per_employee_split_at_local_midnight(store):
    """GIVEN customer messages at 23:59 and 00:01 local time, an employee's own complaint-like words
    and a revoke record WHEN the daily trend is read THEN only customer messages count, on their
    local days, for the employee in the conversation."""
    got = sentiment_trend(store, MessageFilter(), scope=Scope.everything(), tz=TZ, employees=["zhangsan", "lisi"])
    assert got == [
        TrendPoint("lisi", at(3, 0), 0, 0, 1),
        TrendPoint("zhangsan", at(2, 0), 1, 0, 1),
        TrendPoint("zhangsan", at(3, 0), 0, 1, 0),
        TrendPoint("zhangsan", at(9, 0), 1, 0, 0),
    ]
    assert got[0].negative_share == 1.0


def test_weekly_trend_starts_on_monday(store):
    got = sentiment_trend(
        store, MessageFilter(), scope=Scope.everything(), tz=TZ, employees=["zhangsan"], interval="7d"
    )
    assert got == [TrendPoint("zhangsan", at(2, 0), 1, 1, 1), TrendPoint("zhangsan", at(9, 0), 1, 0, 0)]


def test_scope_and_filters_apply(store):
    """GIVEN an account that sees only lisi THEN zhangsan's customers are not in the trend."""
    got = sentiment_trend(store, MessageFilter(), scope=Scope.of(users=["lisi"]), tz=TZ, employees=["zhangsan", "lisi"])
    assert [p.employee for p in got] == ["lisi"]
    got = sentiment_trend(
        store, MessageFilter(time_from=at(3, 0)), scope=Scope.everything(), tz=TZ, employees=["zhangsan"]
    )
    assert [p.period_ms for p in got] == [at(3, 0), at(9, 0)]


def test_bad_requests_are_clear_errors(store):
    with pytest.raises(BadInput, match="interval"):
        sentiment_trend(store, MessageFilter(), scope=Scope.everything(), tz=TZ, employees=["zhangsan"], interval="1h")
    with pytest.raises(BadInput, match="at least one employee"):
        sentiment_trend(store, MessageFilter(), scope=Scope.everything(), tz=TZ, employees=[])


@pytest.mark.skipif("sentiment" not in AGG_FIELDS, reason="messages do not carry a stored sentiment field yet")
def test_aggregation_path_matches_the_messages(store):
    """GIVEN stored sentiment labels WHEN the trend is aggregated THEN it equals the trend computed
    from the messages themselves."""
    msgs = list(store.iter_messages(MessageFilter(), scope=Scope.everything()))
    expected = trend_from_messages(msgs, tz=TZ, employees=["zhangsan", "lisi"])
    got = sentiment_trend(store, MessageFilter(), scope=Scope.everything(), tz=TZ, employees=["zhangsan", "lisi"])
    assert got == expected
