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
