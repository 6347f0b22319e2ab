"""The rule editor's chunked backtest equals one pass over the window (brute-force comparison)."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from analyzers.rules.model import Rule
from compliance.rulestore import get_rule
from core.errors import BadInput
from core.models import Scope
from dashboard import _backtest_runner
from dashboard._ui import day_range_ms
from reports import backtest as bt

ALL = Scope.everything()
TZ = "Asia/Shanghai"


def test_chunks_cover_the_window_exactly_once() -> None:
    for days in (1, 6, 7, 8, 30, 92):
        windows = _backtest_runner.chunks(0, days * _backtest_runner.DAY_MS + 5)
        assert windows[0][0] == 0 and windows[-1][1] == days * _backtest_runner.DAY_MS + 5
        assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))


@pytest.mark.parametrize("first, last", [(date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 1, 6), date(2026, 1, 6))])
def test_the_chunked_backtest_and_diff_equal_one_pass(dash_archive, first: date, last: date) -> None:
    """GIVEN the saved rule and an edit (one keyword fewer, one more) THEN totals, per-day counts and diff totals
    of the chunked run equal bt.backtest / bt.diff_versions over the whole window at once, and its samples are
    genuine hits (as many as the cap allows; the order differs: chunks go forward in time)."""
    arch = dash_archive.archive()
    try:
        saved = next(
            get_rule(arch.store, r["id"]) for r in arch.store.find_records("rules") if r["name"] == "私下交易监控"
        )
        edited = Rule.from_dict({**saved.to_dict(), "keywords": ["回扣", "返点", "好的"]})
        time_from, time_to = day_range_ms(first, last, TZ)
        seen: list[float] = []
        result, diff = _backtest_runner.run(
            arch.store, edited, saved, ALL, time_from, time_to, tz=TZ, progress=lambda done, label: seen.append(done)
        )
        whole = bt.backtest(arch.store, edited, ALL, time_from, time_to, sample=10_000, timezone=TZ)
        whole_diff = bt.diff_versions(arch.store, saved, edited, ALL, time_from, time_to, limit=10_000)
        assert (result["total"], result["by_day"]) == (whole["total"], whole["by_day"])
        assert len(result["sample"]) == min(whole["total"], _backtest_runner.SAMPLE)
        assert all(s in whole["sample"] for s in result["sample"])
        assert assert_diff_equal(diff, whole_diff)
        assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    finally:
        arch.close()


def assert_diff_equal(chunked: dict | None, whole: dict) -> bool:
    assert chunked is not None
    for key in ("gained", "lost"):
        assert chunked[f"{key}_total"] == whole[f"{key}_total"]
        assert all(r in whole[key] for r in chunked[key])
        assert len(chunked[key]) == min(whole[f"{key}_total"], _backtest_runner.DIFF_LIMIT)
    return True


def test_a_window_longer_than_the_bound_is_refused() -> None:
    with pytest.raises(BadInput, match="最长"):
        too_long = (_backtest_runner.MAX_DAYS + 1) * _backtest_runner.DAY_MS
        _backtest_runner.run(None, None, None, ALL, 0, too_long, tz=TZ, progress=lambda done, label: None)  # type: ignore
