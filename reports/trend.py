"""Customer sentiment per employee over time: how the customers an employee talks with feel,
day by day (or week by week), for the insights page.

A customer message counts for every employee in its conversation. When messages carry a
stored ``sentiment`` label (the pipeline classifies customer messages at ingest, and the
store can aggregate the field), the trend is one aggregation per employee; otherwise the
messages are streamed and classified here (exact, but proportional to the selection).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from analyzers.insights.sentiment import LABELS, classify
from core.errors import BadInput
from core.models import Message, MessageFilter, Scope
from store.base import AGG_FIELDS

if TYPE_CHECKING:
    from store.base import Store

INTERVALS = {"1d": 1, "7d": 7}


@dataclass(frozen=True)
class TrendPoint:
    employee: str
    period_ms: int  # local start of the day (or of the 7-day period, counted from the epoch's Monday)
    positive: int
    neutral: int
    negative: int

    @property
    def negative_share(self) -> float:
        total = self.positive + self.neutral + self.negative
        return self.negative / total if total else 0.0


def _label(m: Message) -> str:
    stored = getattr(m, "sentiment", "")
    return stored if stored in LABELS else classify(m.text).label


def _period_start(time_ms: int, zone: ZoneInfo, days: int) -> int:
    local = datetime.fromtimestamp(time_ms / 1000, zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    if days == 7:
        start = datetime.fromordinal(start.toordinal() - start.weekday()).replace(tzinfo=zone)  # Monday
    return int(start.timestamp() * 1000)


def trend_from_messages(
    messages: Iterable[Message], *, tz: str, employees: Iterable[str] | None = None, interval: str = "1d"
) -> list[TrendPoint]:
    """The trend computed from the messages themselves (the reference, and the fallback)."""
    if interval not in INTERVALS:
        raise BadInput(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
    zone, days = ZoneInfo(tz), INTERVALS[interval]
    wanted = set(employees) if employees is not None else None
    counts: dict[tuple[str, int], dict[str, int]] = {}
    for m in messages:
        if not m.customer_wrote:
            continue
        label = _label(m)
        period = _period_start(m.time_ms, zone, days)
        for e in m.employees:
            if wanted is None or e in wanted:
                cell = counts.setdefault((e, period), {x: 0 for x in LABELS})
                cell[label] += 1
    return [TrendPoint(e, p, c["positive"], c["neutral"], c["negative"]) for (e, p), c in sorted(counts.items())]


def sentiment_trend(
    store: Store, filters: MessageFilter, *, scope: Scope, tz: str, employees: Iterable[str], interval: str = "1d"
) -> list[TrendPoint]:
    """Per employee and day (``1d``) or week (``7d``): the customer messages in the employee's
    conversations by sentiment, within ``scope``."""
    employees = list(employees)
    if not employees:
        raise BadInput("choose at least one employee for the sentiment trend")
    if interval not in INTERVALS:
        raise BadInput(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
    customer = {**filters.__dict__, "sender_kinds": ["external"]}
    if "sentiment" not in AGG_FIELDS or interval != "1d":
        f = MessageFilter(**{**customer, "employees": employees})
        return trend_from_messages(store.iter_messages(f, scope=scope), tz=tz, employees=employees, interval=interval)
    out: list[TrendPoint] = []
    for e in employees:
        r = store.aggregate(
            MessageFilter(**{**customer, "employees": [e]}),
            {
                "d": {
                    "date_histogram": {"field": "time", "fixed_interval": "1d"},
                    "aggs": {"s": {"terms": {"field": "sentiment", "size": 3}}},
                }
            },
            scope=scope,
        )
        for b in (r.get("d") or {}).get("buckets") or []:
            sub = b
            c = {str(x["key"]): int(x["doc_count"]) for x in (sub.get("s") or {}).get("buckets") or []}
            out.append(TrendPoint(e, int(b["key"]), c.get("positive", 0), c.get("neutral", 0), c.get("negative", 0)))
    return sorted(out, key=lambda p: (p.employee, p.period_ms))
