"""The rule editor's backtest on a bounded window, a chunk of days at a time, so the page
shows progress and the work stays bounded; merged, the result is exactly that of one pass
(``analyzers.rules.backtest`` over the whole window). Longer ranges belong to the command
line (``chatarchive rules backtest``), which has no page to keep responsive.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from analyzers.rules import backtest as bt
from analyzers.rules.model import Rule
from chatarchive.errors import BadInput
from chatarchive.models import Scope
from store.base import Store

DAY_MS = 86_400_000
MAX_DAYS = 92
CHUNK_DAYS = 7
SAMPLE = 20
DIFF_LIMIT = 100

Progress = Callable[[float, str], None]
JsonObject = dict[str, object]


def chunks(time_from: int, time_to: int, days: int = CHUNK_DAYS) -> list[tuple[int, int]]:
    """``[time_from, time_to)`` cut into consecutive windows of ``days`` (the last may be shorter)."""
    out = []
    start = time_from
    while start < time_to:
        out.append((start, min(time_to, start + days * DAY_MS)))
        start = out[-1][1]
    return out


def _merge_backtest(parts: list[JsonObject]) -> JsonObject:
    by_day: Counter[str] = Counter()
    samples: list[object] = []
    for p in parts:
        by_day.update(p["by_day"])  # type: ignore[arg-type]
        samples.extend(p["sample"])  # type: ignore[arg-type]
    return {"total": sum(int(str(p["total"])) for p in parts), "by_day": dict(sorted(by_day.items())),
            "sample": samples[:SAMPLE]}


def _merge_diff(parts: list[JsonObject]) -> JsonObject:
    out: JsonObject = {"gained": [], "lost": [], "gained_total": 0, "lost_total": 0}
    for p in parts:
        for key in ("gained", "lost"):
            out[key] = (out[key] + p[key])[:DIFF_LIMIT]  # type: ignore[operator]
            out[f"{key}_total"] = int(str(out[f"{key}_total"])) + int(str(p[f"{key}_total"]))
    return out


def run(store: Store, rule: Rule, saved: Rule | None, scope: Scope, time_from: int, time_to: int, *, tz: str,
        progress: Progress) -> tuple[JsonObject, JsonObject | None]:
    """(backtest, diff against ``saved`` or None) over ``[time_from, time_to)``, reporting progress."""
    if time_to - time_from > MAX_DAYS * DAY_MS:
        raise BadInput(f"回测区间最长 {MAX_DAYS} 天；更长的区间请用命令行 chatarchive rules backtest")
    windows = chunks(time_from, time_to)
    results: list[JsonObject] = []
    diffs: list[JsonObject] = []
    for i, (start, end) in enumerate(windows):
        results.append(bt.backtest(store, rule, scope, start, end, sample=SAMPLE, timezone=tz))
        if saved is not None:
            diffs.append(bt.diff_versions(store, saved, rule, scope, start, end, limit=DIFF_LIMIT))
        progress((i + 1) / len(windows), f"{i + 1}/{len(windows)}")
    return _merge_backtest(results), (_merge_diff(diffs) if saved is not None else None)
