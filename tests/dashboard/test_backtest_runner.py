"""The rule editor's backtest: the page's bounded recent window and the background job's whole
range both equal one pass of ``reports.backtest`` over the window scanned (brute-force comparison)."""

from __future__ import annotations

from datetime import date

import pytest

from analyzers.rules.model import Rule
from compliance.rulestore import get_rule
from core.errors import BadInput
from core.models import MessageFilter, Scope
from dashboard import _backtest_runner
from dashboard._ui import day_range_ms
from reports import backtest as bt

ALL = Scope.everything()
TZ = "Asia/Shanghai"


def saved_and_edited(arch) -> tuple[Rule, Rule]:
    saved = next(get_rule(arch.store, r["id"]) for r in arch.store.find_records("rules") if r["name"] == "私下交易监控")
    return saved, Rule.from_dict({**saved.to_dict(), "keywords": ["回扣", "返点", "好的"]})


@pytest.mark.parametrize(
    "first, last, limit",
    [
        (date(2026, 1, 1), date(2026, 1, 31), None),
        (date(2026, 1, 6), date(2026, 1, 6), None),
        (date(2026, 1, 1), date(2026, 1, 31), 7),
        (date(2026, 1, 1), date(2026, 1, 31), 1),
    ],
)
def test_the_backtest_and_diff_equal_one_pass_over_the_window(dash_archive, first: date, last: date, limit) -> None:
    """GIVEN the saved rule and an edit (one keyword fewer, one more) THEN totals, per-day counts and diff totals
    equal bt.backtest / bt.diff_versions over the window the run reports, its samples are genuine hits, and
    with a message bound the window holds the newest messages of the range (at least ``limit``)."""
    arch = dash_archive.archive()
    try:
        saved, edited = saved_and_edited(arch)
        time_from, time_to = day_range_ms(first, last, TZ)
        seen: list[float] = []
        result, diff = _backtest_runner.run(
            arch.store,
            edited,
            saved,
            ALL,
            time_from,
            time_to,
            tz=TZ,
            progress=lambda done, label: seen.append(done),
            max_messages=limit,
        )
        window = result["window"]
        start = window["from"]
        in_range = arch.store.count(MessageFilter(time_from=time_from, time_to=time_to), scope=ALL)
        assert limit is None or in_range > limit  # the bounded cases do cut the range
        if limit is None or in_range <= limit:
            assert start == time_from and not window["truncated"] and window["messages"] == in_range
        else:
            assert limit in (1, 7) and window["truncated"] and time_from < start < time_to
            assert window["messages"] == arch.store.count(MessageFilter(time_from=start, time_to=time_to), scope=ALL)
            assert window["messages"] >= limit
            later = arch.store.count(MessageFilter(time_from=start + 1, time_to=time_to), scope=ALL)
            assert later < limit  # the window starts where the newest ``limit`` messages begin
        whole = bt.backtest(arch.store, edited, ALL, start, time_to, sample=10_000, timezone=TZ)
        whole_diff = bt.diff_versions(arch.store, saved, edited, ALL, start, time_to, limit=10_000)
        assert (result["total"], result["by_day"]) == (whole["total"], whole["by_day"])
        assert len(result["sample"]) == min(whole["total"], _backtest_runner.SAMPLE)
        assert all(s in whole["sample"] for s in result["sample"])
        assert assert_diff_equal(diff, whole_diff)
        assert seen and seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    finally:
        arch.close()


def test_the_whole_archive_without_bounds_equals_the_cli_backtest(dash_archive) -> None:
    arch = dash_archive.archive()
    try:
        saved, edited = saved_and_edited(arch)
        result, diff = _backtest_runner.run(
            arch.store,
            edited,
            saved,
            ALL,
            None,
            None,
            tz=TZ,
            progress=lambda *_: None,
            max_days=None,
            max_messages=None,
        )
        whole = bt.backtest(arch.store, edited, ALL, sample=10_000, timezone=TZ)
        assert (result["total"], result["by_day"]) == (whole["total"], whole["by_day"]) and whole["total"] > 0
        assert result["window"] == {
            "from": None,
            "to": None,
            "messages": arch.store.count(MessageFilter(), scope=ALL),
            "truncated": False,
        }
        assert assert_diff_equal(diff, bt.diff_versions(arch.store, saved, edited, ALL, limit=10_000))
    finally:
        arch.close()


def test_a_rule_that_matches_nothing_and_one_that_matches_everything(dash_archive) -> None:
    """Nothing: zero hits, no days. Nearly every message (a one-character keyword): samples and diff rows stay
    capped however many messages match."""
    arch = dash_archive.archive()
    try:
        saved, _ = saved_and_edited(arch)
        none = Rule.from_dict({**saved.to_dict(), "keywords": ["这个词不会出现在任何消息里"]})
        result, diff = _backtest_runner.run(
            arch.store, none, None, ALL, None, None, tz=TZ, progress=lambda *_: None, max_days=None, max_messages=None
        )
        assert (result["total"], result["by_day"], result["sample"], diff) == (0, {}, [], None)
        every = Rule.from_dict({**saved.to_dict(), "keywords": ["的", "我", "你", "是", "好"]})
        old = _backtest_runner.SAMPLE, _backtest_runner.DIFF_LIMIT
        _backtest_runner.SAMPLE, _backtest_runner.DIFF_LIMIT = 2, 3
        try:
            result, diff = _backtest_runner.run(
                arch.store,
                every,
                none,
                ALL,
                None,
                None,
                tz=TZ,
                progress=lambda *_: None,
                max_days=None,
                max_messages=None,
            )
        finally:
            _backtest_runner.SAMPLE, _backtest_runner.DIFF_LIMIT = old
        assert result["total"] > 3 and len(result["sample"]) == 2
        assert diff is not None and diff["gained_total"] == result["total"] and len(diff["gained"]) == 3
    finally:
        arch.close()


def test_a_cancelled_run_stops_at_the_next_progress_report(dash_archive, monkeypatch) -> None:
    monkeypatch.setattr(_backtest_runner, "PROGRESS_EVERY", 2)
    arch = dash_archive.archive()
    try:
        saved, edited = saved_and_edited(arch)
        seen: list[str] = []
        with pytest.raises(_backtest_runner.Cancelled):
            _backtest_runner.run(
                arch.store,
                edited,
                saved,
                ALL,
                None,
                None,
                tz=TZ,
                progress=lambda done, label: seen.append(label),
                max_days=None,
                max_messages=None,
                cancelled=lambda: len(seen) >= 2,
            )
        assert len(seen) == 2
    finally:
        arch.close()


def assert_diff_equal(chunked: dict | None, whole: dict) -> bool:
    assert chunked is not None
    for key in ("gained", "lost"):
        assert chunked[f"{key}_total"] == whole[f"{key}_total"]
        assert all(r in whole[key] for r in chunked[key])
        assert len(chunked[key]) == min(whole[f"{key}_total"], _backtest_runner.DIFF_LIMIT)
    return True


@pytest.mark.parametrize("bounds", [(0, (_backtest_runner.MAX_DAYS + 1) * _backtest_runner.DAY_MS), (None, None)])
def test_a_window_longer_than_the_bound_is_refused(bounds) -> None:
    with pytest.raises(BadInput, match="最长"):
        _backtest_runner.run(None, None, None, ALL, *bounds, tz=TZ, progress=lambda done, label: None)  # type: ignore
