"""``chatarchive serve [--port 8501]``: the Streamlit dashboard.

Runs ``streamlit run dashboard/app.py`` in a child process with the archive's settings
(data dir, backend, Elasticsearch URL) passed through the environment, so the dashboard
opens the same store the command line would.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import click

from chatarchive.cli import CliContext, pass_cli
from compliance.accounts import ensure_demo_admin
from core.errors import BadInput, ChatArchiveError
from core.settings import Settings

log = logging.getLogger(__name__)


def app_path() -> Path:
    """The dashboard's entry file, found without importing the dashboard (it sits above the CLI)."""
    spec = importlib.util.find_spec("dashboard")
    if spec is None or spec.origin is None:
        raise ChatArchiveError("the dashboard package is not installed")
    return Path(spec.origin).resolve().parent / "app.py"


def streamlit_command(port: int, address: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
    ]


def serve_dashboard(settings: Settings, *, port: int = 8501, address: str = "127.0.0.1") -> int:
    """Runs the dashboard on ``settings``' store until it exits (Ctrl-C stops it); returns its exit status."""
    if not 1 <= port <= 65535:
        raise BadInput(f"--port must be between 1 and 65535, got {port}")
    env = dict(os.environ)
    env["CHATARCHIVE_DATA"] = str(settings.data_dir.resolve())
    env["CHATARCHIVE_BACKEND"] = str(settings.backend)
    if settings.es_url:
        env["CHATARCHIVE_ES_URL"] = str(settings.es_url)
    log.info("dashboard on http://%s:%d/", address, port)
    process = subprocess.Popen(streamlit_command(port, address), env=env)

    def stop(signum: int, frame: object) -> None:  # SIGTERM to us must not orphan the dashboard
        process.terminate()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, stop)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@click.command("serve")
@click.option("--port", type=int, default=8501, show_default=True, help="Port of the dashboard.")
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@pass_cli
def serve(cli: CliContext, port: int, address: str) -> None:
    """The Streamlit dashboard (login, search, conversations, violations, rules, statistics)."""
    if not 1 <= port <= 65535:
        raise BadInput(f"--port must be between 1 and 65535, got {port}")
    archive = cli.archive
    settings = archive.settings
    login_file = settings.data_dir / "demo-login.txt"
    login = ensure_demo_admin(archive.store, login_file)
    if login:  # printed once, when the account is created; never on a later start
        cli.info(f"dashboard login: {login[0]} / {login[1]}  (also in {login_file}, readable only by you)")
    archive.close()  # the dashboard process opens the store itself
    cli.info(f"dashboard: http://{address}:{port}/  (Ctrl-C to stop)")
    code = serve_dashboard(settings, port=port, address=address)
    if code not in (0, -15, -2):
        raise ChatArchiveError(f"the dashboard exited with status {code}")


COMMANDS = [serve]
