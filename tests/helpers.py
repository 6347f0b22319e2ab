"""Helpers for tests that drive the real command line."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from store.embedded import EmbeddedStore
    from wecom.sim_server import SimServer

from click.testing import CliRunner

from chatarchive.cli import main

REPO = Path(__file__).resolve().parent.parent
CHATARCHIVE = [sys.executable, "-m", "chatarchive.cli"]
# One password the policy (compliance/passwords.py) accepts, for every test account.
STRONG_PASSWORD = "quiet-lantern-orbit-47"
OTHER_STRONG_PASSWORD = "velvet-harbor-sketch-92"


def cli(*args: str, data: Path | None = None, expect: int = 0, env: dict[str, str] | None = None) -> Any:
    """Runs ``chatarchive --json ARGS`` in-process; returns the parsed JSON (or output)."""
    full = ["--json", *(["--data", str(data)] if data else []), *args]
    result = CliRunner().invoke(main, full, env=env, catch_exceptions=False)
    assert result.exit_code == expect, f"exit {result.exit_code}: {result.output}\n{result.stderr if hasattr(result, 'stderr') else ''}"
    out = result.stdout.strip()
    if expect != 0 or not out:
        return result
    return json.loads(out)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line, strict=False) for line in f if line.strip()]


def run_cli_process(*args: str, data: Path, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen:
    """The CLI as a separate OS process (for kill tests)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen([*CHATARCHIVE, "--json", "--data", str(data), *args], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, **kwargs)


def open_test_store(path: Path) -> "EmbeddedStore":
    """A real, initialised embedded store in a tmp dir."""
    from store.embedded import EmbeddedStore

    store = EmbeddedStore(path)
    store.init()
    return store


@contextlib.contextmanager
def running_wecom_sim(archive_dir: Path, **kwargs: Any) -> Iterator["SimServer"]:
    """``wecom-sim serve`` for one simulated archive on 127.0.0.1 with an ephemeral port; stopped on exit."""
    from wecom.sim_server import SimServer

    server = SimServer(archive_dir, **kwargs)
    server.start_in_thread()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
