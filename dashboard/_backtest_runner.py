"""The rule editor's backtest on a bounded window, a chunk of days at a time, so the page
shows progress and the work stays bounded. The backtest and the diff against the saved
version come from one read of the messages; the figures equal ``reports.backtest``'s
``backtest`` and ``diff_versions`` over the whole window (tested). Longer ranges belong to the command
line (``chatarchive rules backtest``), which has no page to keep responsive.
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
CHUNK_DAYS = 7
SAMPLE = 20
DIFF_LIMIT = 100

Progress = Callable[[float, str], object]  # what it returns is ignored (st.progress returns its element)
JsonObject = dict[str, object]


def chunks(time_from: int, time_to: int, days: int = CHUNK_DAYS) -> list[tuple[int, int]]:
    """``[time_from, time_to)`` cut into consecutive windows of ``days`` (the last may be shorter)."""
    out = []
    start = time_from
    while start < time_to:
        out.append((start, min(time_to, start + days * DAY_MS)))
        start = out[-1][1]
    return out


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


def _scan(
    store: Store,
    rule: Rule,
    saved: Rule | None,
    scope: Scope,
    window: tuple[int, int],
    tz: ZoneInfo,
    into: JsonObject,
    render: Render,
) -> None:
    """One pass over the window's messages for both the backtest and the diff (loading the
    messages is most of the cost, so they are read once, not once per question)."""
    engine = RuleEngine([_as(rule, "new")] + ([_as(saved, "old")] if saved is not None else []))
    by_day: Counter[str] = into["by_day"]  # type: ignore[assignment]
    for m in store.iter_messages(MessageFilter(time_from=window[0], time_to=window[1]), scope=scope):
        found = {v.rule_id: v for v in engine.match(m)}
        if "new" in found:
            into["total"] = int(str(into["total"])) + 1
            by_day[datetime.fromtimestamp(found["new"].time_ms / 1000, tz).strftime("%Y-%m-%d")] += 1
            if len(into["sample"]) < SAMPLE:  # type: ignore[arg-type]
                into["sample"].append(_row(m, found["new"], render))  # type: ignore[attr-defined]
        if saved is not None and ("old" in found) != ("new" in found):
            key, v = ("gained", found["new"]) if "new" in found else ("lost", found["old"])
            into[f"{key}_total"] = int(str(into[f"{key}_total"])) + 1
            if len(into[key]) < DIFF_LIMIT:  # type: ignore[arg-type]
                into[key].append(_row(m, v, render))  # type: ignore[attr-defined]


def run(
    store: Store,
    rule: Rule,
    saved: Rule | None,
    scope: Scope,
    time_from: int,
    time_to: int,
    *,
    tz: str,
    progress: Progress,
    render: Render = mark_ranges,
) -> tuple[JsonObject, JsonObject | None]:
    """(backtest, diff against ``saved`` or None) over ``[time_from, time_to)``, reporting progress.
    The shapes are those of ``backtest.backtest`` and ``backtest.diff_versions``; ``render`` draws
    a hit (``chatarchive.actions.backtest_render`` decides: marked, or masked for this account)."""
    if time_to - time_from > MAX_DAYS * DAY_MS:
        raise BadInput(f"回测区间最长 {MAX_DAYS} 天；更长的区间请用命令行 chatarchive rules backtest")
    acc: JsonObject = {
        "total": 0,
        "by_day": Counter(),
        "sample": [],
        "gained": [],
        "lost": [],
        "gained_total": 0,
        "lost_total": 0,
    }
    windows = chunks(time_from, time_to)
    for i, window in enumerate(windows):
        _scan(store, rule, saved, scope, window, ZoneInfo(tz), acc, render)
        progress((i + 1) / len(windows), f"{i + 1}/{len(windows)}")
    result: JsonObject = {
        "total": acc["total"],
        "by_day": dict(sorted(acc["by_day"].items())),  # type: ignore
        "sample": acc["sample"],
    }
    diff = {k: acc[k] for k in ("gained", "lost", "gained_total", "lost_total")} if saved is not None else None
    return result, diff


def shown_rows(result: JsonObject, diff: JsonObject | None) -> list[JsonObject]:
    """Every hit a backtest shows, its samples and the diff's examples: what a reason must cover."""
    parts = [(result, "sample")] + ([(diff, "gained"), (diff, "lost")] if diff is not None else [])
    return [row for part, key in parts for row in cast(list[JsonObject], part[key])]
