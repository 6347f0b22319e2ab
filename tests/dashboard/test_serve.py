"""``chatarchive serve``: the command line around the dashboard process."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatarchive.cli.serve import app_path, streamlit_command
from tests.helpers import cli


@pytest.mark.parametrize("port", ["0", "70000"], ids=["zero", "too-large"])
def test_a_bad_port_is_refused_before_anything_starts(data_dir: Path, port: str) -> None:
    result = cli("serve", "--port", port, data=data_dir, expect=2)
    assert "--port must be between 1 and 65535" in result.output


def test_the_command_runs_streamlit_on_the_dashboard_headless() -> None:
    command = streamlit_command(8600, "127.0.0.1")
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4] == str(app_path())
    assert app_path().is_file()
    assert ["--server.port", "8600"] == command[5:7] and "--server.headless" in command


@pytest.mark.slow
def test_stopping_serve_stops_the_dashboard_process(data_dir: Path) -> None:
    """GIVEN a running `chatarchive serve` WHEN it gets SIGTERM THEN its streamlit child exits too (no orphan)."""
    import signal
    import subprocess
    import sys
    import time

    from tests.dashboard.test_browser import free_port, wait_healthy

    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "chatarchive.cli", "--data", str(data_dir), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", serve)
        children = [int(p) for p in Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()]
        assert children, "serve should run streamlit as a child process"
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        deadline = time.time() + 60  # an upper bound for a loaded machine: the loop ends as soon as they exit
        while time.time() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
            time.sleep(0.2)
        assert not any(Path(f"/proc/{c}").exists() for c in children)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def test_serve_prints_the_demo_password_only_when_it_creates_the_account(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an empty data dir WHEN `serve` starts twice (the dashboard process replaced by a stub: the login
    handling is under test) THEN the first start prints the new admin password, the second does not, and
    demo-login.txt is 0600."""
    from click.testing import CliRunner

    import chatarchive.cli.serve as serve_module
    from chatarchive.cli import main

    monkeypatch.setattr(serve_module, "serve_dashboard", lambda settings, port, address: 0)
    first = CliRunner().invoke(main, ["--data", str(data_dir), "serve"], catch_exceptions=False)
    second = CliRunner().invoke(main, ["--data", str(data_dir), "serve"], catch_exceptions=False)
    login_file = data_dir / "demo-login.txt"
    name, password = login_file.read_text(encoding="utf-8").splitlines()
    assert (login_file.stat().st_mode & 0o777) == 0o600
    assert first.exit_code == second.exit_code == 0
    assert password in first.stderr and name in first.stderr
    assert password not in second.output + second.stderr
