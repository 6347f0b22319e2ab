"""The rule editor's backtest. The page answers at once on a bounded recent window — at
most ``MAX_DAYS`` days and, within them, the newest ``MAX_MESSAGES`` messages — and the
whole range runs as a background job (``dashboard._backtest_jobs``) through the same
``run``. The backtest and the diff against the saved version come from one read of the
messages; the figures equal ``reports.backtest``'s ``backtest`` and ``diff_versions`` over the
window actually scanned (tested).

Where the time goes (1,000,000-message archive, docs/benchmarks.md): loading a message from
the store costs ~50 µs (JSON and the Message object), matching it with two rule versions
~5 µs, so a window is bounded by how many messages it holds, not by days. The search index is
no candidate pre-filter: its phrase search does not see evasive spellings (回-扣, huikou).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from analyzers.rules.engine import RuleEngine
from analyzers.rules.model import Rule
from core.errors import BadInput
from core.models import Message, MessageFilter, Scope, Violation
from store.base import Store
from store.highlight import mark_ranges

DAY_MS = 86_400_000
MAX_DAYS = 92
MAX_MESSAGES = 5_000  # the page's window: ~0.3 s of loading and matching at 1M (docs/benchmarks.md)
PROGRESS_EVERY = 1_000  # messages between progress reports (and cancellation checks)
SAMPLE = 20
DIFF_LIMIT = 100

Progress = Callable[[float, str], object]  # what it returns is ignored (st.progress returns its element)
JsonObject = dict[str, object]


class Cancelled(Exception):
    """The run was cancelled between two progress reports."""


def _as(rule: Rule, rule_id: str) -> Rule:
    return Rule.from_dict({**rule.to_dict(), "id": rule_id, "enabled": True})  # the name stays: explanations use it


Render = Callable[[str, Any], str]


def _row(m: Message, v: Violation, render: Render) -> JsonObject:
    return {
        "msgid": m.msgid,
        "time": m.time_ms,
        "text": render(m.text, v.spans),
        "terms": v.terms,
        "spans": v.spans,
        "explanation": v.explanation,
    }


def recent_window(
    store: Store, scope: Scope, time_from: int | None, time_to: int | None, limit: int | None
) -> tuple[int | None, int]:
    """(start, messages): where the newest ``limit`` messages of ``[time_from, time_to)`` begin
    (``time_from`` itself when the range holds no more) and how many messages the window
    holds. Messages sharing the start's millisecond are all inside, so a window may hold a few
    more than ``limit``."""
    whole = MessageFilter(time_from=time_from, time_to=time_to)
    if limit is None:
        return time_from, store.count(whole, scope=scope)
    total, page = store.list_messages(whole, scope=scope, sort="time_desc", limit=1, offset=max(0, limit - 1))
    if total <= limit or not page:
        return time_from, total
    start = page[0].time_ms
    return start, store.count(MessageFilter(time_from=start, time_to=time_to), scope=scope)


def run(
    store: Store,
    rule: Rule,
    saved: Rule | None,
    scope: Scope,
    time_from: int | None,
    time_to: int | None,
    *,
    tz: str,
    progress: Progress,
    render: Render = mark_ranges,
    max_days: int | None = MAX_DAYS,
    max_messages: int | None = MAX_MESSAGES,
    cancelled: Callable[[], bool] = lambda: False,
) -> tuple[JsonObject, JsonObject | None]:
    """(backtest, diff against ``saved`` or None) over the newest ``max_messages`` messages of
    ``[time_from, time_to)`` (None: no bound; the background job), reporting progress every
    ``PROGRESS_EVERY`` messages and raising ``Cancelled`` when ``cancelled()`` says so. The shapes
    are those of ``backtest.backtest`` and ``backtest.diff_versions``, and the backtest also has
    ``window``: ``{"from", "to", "messages", "truncated"}`` (what was scanned). ``render`` draws a
    hit (``chatarchive.actions.backtest_render`` decides: marked, or masked for this account)."""
    if max_days is not None and (time_from is None or time_to is None or time_to - time_from > max_days * DAY_MS):
        raise BadInput(f"回测区间最长 {max_days} 天；更长的区间请用后台回测或命令行 chatarchive rules backtest")
    start, expected = recent_window(store, scope, time_from, time_to, max_messages)
    zone = ZoneInfo(tz)
    engine = RuleEngine([_as(rule, "new")] + ([_as(saved, "old")] if saved is not None else []))
    total = gained_total = lost_total = scanned = 0
    by_day: Counter[str] = Counter()
    sample: list[JsonObject] = []
    gained: list[JsonObject] = []
    lost: list[JsonObject] = []
    progress(0.0, f"0/{expected:,}")
    for m in store.iter_messages(MessageFilter(time_from=start, time_to=time_to), scope=scope):
        scanned += 1
        if scanned % PROGRESS_EVERY == 0:
            if cancelled():
                raise Cancelled()
            progress(min(1.0, scanned / max(expected, 1)), f"{scanned:,}/{expected:,}")
        found = {v.rule_id: v for v in engine.match(m)}
        new = found.get("new")
        if new is not None:
            total += 1
            by_day[datetime.fromtimestamp(new.time_ms / 1000, zone).strftime("%Y-%m-%d")] += 1
            if len(sample) < SAMPLE:
                sample.append(_row(m, new, render))
        if saved is not None and ("old" in found) != (new is not None):
            if new is not None:
                gained_total += 1
                if len(gained) < DIFF_LIMIT:
                    gained.append(_row(m, new, render))
            else:
                lost_total += 1
                if len(lost) < DIFF_LIMIT:
                    lost.append(_row(m, found["old"], render))
    progress(1.0, f"{scanned:,}/{scanned:,}")
    result: JsonObject = {
        "total": total,
        "by_day": dict(sorted(by_day.items())),
        "sample": sample,
        "window": {"from": start, "to": time_to, "messages": scanned, "truncated": start != time_from},
    }
    diff: JsonObject | None = None
    if saved is not None:
        diff = {"gained": gained, "lost": lost, "gained_total": gained_total, "lost_total": lost_total}
    return result, diff


def shown_rows(result: JsonObject, diff: JsonObject | None) -> list[JsonObject]:
    """Every hit a backtest shows, its samples and the diff's examples: what a reason must cover."""
    parts = [(result, "sample")] + ([(diff, "gained"), (diff, "lost")] if diff is not None else [])
    return [row for part, key in parts for row in cast(list[JsonObject], part[key])]
