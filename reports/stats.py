"""Message and violation volumes for the statistics page (数据报表)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.directory import Directory
from core.models import MessageFilter, Scope, ViolationFilter
from store.base import Store, buckets

WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
MAX_TERMS = 10_000


def per_day(store: Store, filters: MessageFilter, *, scope: Scope) -> list[tuple[int, int]]:
    """``[(day_start_ms, messages)]`` in the archive's days, empty days omitted."""
    r = store.aggregate(filters, {"d": {"date_histogram": {"field": "time", "fixed_interval": "1d"}}}, scope=scope)
    return [(int(b["key"]), int(b["doc_count"])) for b in buckets(r, "d")]


def hour_of_week(store: Store, filters: MessageFilter, *, scope: Scope, tz: str) -> list[list[int]]:
    """A 7×24 matrix (Monday first) of message counts by local weekday and hour."""
    r = store.aggregate(filters, {"h": {"date_histogram": {"field": "time", "fixed_interval": "1h"}}}, scope=scope)
    grid = [[0] * 24 for _ in range(7)]
    zone = ZoneInfo(tz)
    for b in buckets(r, "h"):
        local = datetime.fromtimestamp(int(b["key"]) / 1000, zone)
        grid[local.weekday()][local.hour] += int(b["doc_count"])
    return grid


def by_field(
    store: Store, filters: MessageFilter, field: str, *, scope: Scope, size: int = 50
) -> list[tuple[Any, int]]:
    """``[(value, messages)]`` for a keyword field, most first (ties by value)."""
    r = store.aggregate(filters, {"t": {"terms": {"field": field, "size": size}}}, scope=scope)
    return [(b["key"], int(b["doc_count"])) for b in buckets(r, "t")]


def top_employees(store: Store, filters: MessageFilter, *, scope: Scope, size: int = 20) -> list[tuple[str, int]]:
    """Employees by messages they sent."""
    f = MessageFilter(**{**filters.__dict__, "sender_kinds": ["employee"]})
    return [(str(k), n) for k, n in by_field(store, f, "sender", scope=scope, size=size)]


def by_department(
    store: Store, filters: MessageFilter, *, scope: Scope, departments: Iterable[int] | None = None
) -> list[tuple[int, int]]:
    """Messages per department. A message counts for each department it involves and
    every department above it, so a parent's figure includes its sub-departments;
    ``departments`` keeps only those (e.g. the top level)."""
    rows = [(int(k), n) for k, n in by_field(store, filters, "departments", scope=scope, size=MAX_TERMS)]
    if departments is not None:
        keep = set(departments)
        rows = [(d, n) for d, n in rows if d in keep]
    return rows


def new_customers_per_day(
    directory: Directory, *, tz: str, time_from: int | None, time_to: int | None, scope: Scope
) -> list[tuple[str, int]]:
    """``[(YYYY-MM-DD, customers added)]`` from the organisation's external contacts;
    a customer counts when one of its followers is within ``scope``."""
    zone = ZoneInfo(tz)
    counts: dict[str, int] = {}
    for x in directory.externals:
        added = int(x.get("added_ms") or 0)
        if not added or (time_from is not None and added < time_from) or (time_to is not None and added >= time_to):
            continue
        followers = x.get("followers") or []
        if not scope.all and not any(scope.allows_employee(f, directory.departments_of(f)) for f in followers):
            continue
        day = datetime.fromtimestamp(added / 1000, zone).strftime("%Y-%m-%d")
        counts[day] = counts.get(day, 0) + 1
    return sorted(counts.items())


def violations_per_day(
    store: Store, filters: ViolationFilter, *, scope: Scope, split: str = "category"
) -> list[tuple[int, str, int]]:
    """``[(day_start_ms, category|severity|rule_id, violations)]``."""
    r = store.aggregate_violations(
        filters,
        {
            "d": {
                "date_histogram": {"field": "time", "fixed_interval": "1d"},
                "aggs": {"s": {"terms": {"field": split, "size": 100}}},
            }
        },
        scope=scope,
    )
    out: list[tuple[int, str, int]] = []
    for b in buckets(r, "d"):
        for s in buckets(b, "s"):
            out.append((int(b["key"]), str(s["key"]), int(s["doc_count"])))
    return out


def violations_by(
    store: Store, filters: ViolationFilter, field: str, *, scope: Scope, size: int = 50
) -> list[tuple[Any, int]]:
    r = store.aggregate_violations(filters, {"t": {"terms": {"field": field, "size": size}}}, scope=scope)
    return [(b["key"], int(b["doc_count"])) for b in buckets(r, "t")]
