"""Charts: drill-down from a selected day to its messages, the noise filter, the selection parsing."""

from __future__ import annotations

from types import SimpleNamespace

from core.models import MessageFilter, Scope, SearchRequest
from dashboard import _charts
from dashboard._ui import fmt_time

ALL = Scope.everything()
TZ = "Asia/Shanghai"


def test_a_selected_day_narrows_to_exactly_that_days_messages(dash_archive) -> None:
    """GIVEN a department filter WHEN the day 2026-01-06 is selected THEN the drill-down filter finds exactly the
    messages of that day in the archive's time zone that the base filter finds (brute force over the store)."""
    base = MessageFilter(departments=[1])
    arch = dash_archive.archive()
    try:
        _, everything = arch.store.list_messages(base, scope=ALL, limit=10_000)
        result = arch.store.search(
            SearchRequest(filters=_charts.day_filter(base, "2026-01-06", TZ), limit=1000, highlight=False), scope=ALL
        )
    finally:
        arch.close()
    expected = {m.msgid for m in everything if fmt_time(m.time_ms, TZ).startswith("2026-01-06")}
    assert expected and {h.msgid for h in result.hits} == expected


def test_the_selection_is_read_from_the_event() -> None:
    event = SimpleNamespace(selection=SimpleNamespace(points=[{"x": "2026-01-06", "y": 3}]))
    assert _charts.selected(event, "x") == "2026-01-06" and _charts.selected(event, "y") == "3"
    assert _charts.selected(SimpleNamespace(selection=SimpleNamespace(points=[])), "x") is None
    assert _charts.selected(None, "x") is None


def test_noise_words() -> None:
    for noise in ("https", "www", "com", "微笑", "引用", "a1b2c3d4e5", "12345", "ok"):
        assert _charts.is_noise(noise), noise
    for word in ("回扣", "产品", "理财", "转账"):
        assert not _charts.is_noise(word), word
