"""Shared fixtures. Tests use real parts: real files in tmp dirs, the real engine, real crypto."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("CHATARCHIVE_TIMEZONE", "Asia/Shanghai")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """One visible line per skip reason (instead of one per test), so the reason the
    Elasticsearch conformance run was skipped is never missed."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons: dict[str, int] = {}
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.section("skipped")
        for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{n:5d} skipped: {reason}")
