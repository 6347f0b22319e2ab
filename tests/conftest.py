"""Shared fixtures. Tests use real parts: real files in tmp dirs, the real engine, real crypto."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import DEV_MAX_EXAMPLES

os.environ.setdefault("CHATARCHIVE_TIMEZONE", "Asia/Shanghai")

# Hypothesis profiles: "ci" (make test) runs every example a test asks for (100 unless it
# says), "dev" (make test-fast, and the default) at most 20. Neither has a deadline or the too_slow health
# check: both measure wall-clock time, which depends on the machine's load.
_NO_CLOCK = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=100, print_blob=True, **_NO_CLOCK)
settings.register_profile("dev", max_examples=DEV_MAX_EXAMPLES, **_NO_CLOCK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))  # --hypothesis-profile overrides

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
