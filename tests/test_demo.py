"""`make run` (`chatarchive demo`), the README's first command, end to end without the server:
simulate, serve WeCom's APIs over HTTP, sync the directory through them, pull, print the login once."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers import CHATARCHIVE, REPO, cli


def demo(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *CHATARCHIVE,
            "--data",
            str(tmp_path / "data"),
            "demo",
            "--no-serve",
            "--messages",
            "400",
            "--archive",
            str(tmp_path / "archive"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


@pytest.mark.slow
def test_the_demo_prepares_a_working_archive_and_prints_the_login_once(tmp_path: Path) -> None:
    """GIVEN an empty directory WHEN the demo runs twice THEN the first run stores the simulated messages with
    the organisation synced over HTTP and prints the administrator's password; the second reuses everything
    and does not print it again; the settings file holding the simulated WeCom secrets is private."""
    first = demo(tmp_path)
    assert first.returncode == 0, first.stderr
    password = (tmp_path / "data" / "demo-login.txt").read_text(encoding="utf-8").split()[-1]
    assert "chatarchive demo is ready" in first.stdout and password in first.stdout
    stats = cli("stats", data=tmp_path / "data")
    assert stats["messages"] > 300 and stats["violations"] > 0
    config = tmp_path / "data" / "config.yaml"
    assert "wecom_api_url" in config.read_text(encoding="utf-8")  # the demo reads WeCom through its simulator
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    second = demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert password not in second.stdout and "not shown again" in second.stdout
    assert cli("stats", data=tmp_path / "data")["messages"] == stats["messages"]
