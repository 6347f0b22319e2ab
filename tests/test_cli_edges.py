"""The command line at the edges: global options anywhere, and every failure one line with its exit code."""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatarchive.cli import main
from chatarchive.cli.options import hoist_global_options
from store.embedded import state as state_module
from store.embedded.store import EmbeddedStore
from tests.helpers import CHATARCHIVE, REPO, cli


@pytest.mark.parametrize(
    "args,expected",
    [
        (["search", "回扣", "--json"], ["--json", "search", "回扣"]),
        (["search", "回扣", "--data", "d", "-vv"], ["--data", "d", "-vv", "search", "回扣"]),
        (["stats", "--data=d", "--backend", "embedded"], ["--data=d", "--backend", "embedded", "stats"]),
        (["--json", "rules", "list", "--verbose"], ["--json", "--verbose", "rules", "list"]),
        (["search", "--", "--json"], ["search", "--", "--json"]),
        (["search", "-不保本", "--limit", "3"], ["search", "-不保本", "--limit", "3"]),
    ],
)
def test_global_options_are_moved_in_front_of_the_subcommand(args: list[str], expected: list[str]) -> None:
    """GIVEN a command line with global options after the subcommand
    WHEN it is prepared for parsing
    THEN the global options (with their values) come first and everything else keeps its order"""
    assert hoist_global_options(args) == expected


def test_json_and_data_after_the_subcommand_mean_the_same(data_dir: Path) -> None:
    """GIVEN an initialised store
    WHEN stats runs with --json --data before and after the subcommand
    THEN both print the same one JSON document"""
    cli("init", data=data_dir)
    before = CliRunner().invoke(main, ["--json", "--data", str(data_dir), "stats"])
    after = CliRunner().invoke(main, ["stats", "--json", "--data", str(data_dir)])
    assert before.exit_code == after.exit_code == 0
    assert before.stdout == after.stdout and before.stdout.startswith("{")


def _fail_writes(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def failing(self: EmbeddedStore, batch: object) -> None:
        raise error

    monkeypatch.setattr(EmbeddedStore, "write_batch", failing)


@pytest.mark.parametrize(
    "error,expected",
    [
        (OSError(errno.ENOSPC, "No space left on device"), "no space left on the device"),
        (OSError(errno.EROFS, "Read-only file system"), "read-only"),
        (sqlite3.OperationalError("database or disk is full"), "no space left on the device"),
        (sqlite3.OperationalError("unable to open database file"), "unable to open the database"),
        (ValueError("An IO error occurred: 'No space left on device (os error 28)'"), "no space left on the device"),
        (RuntimeError("a bug"), "unexpected RuntimeError: a bug (run with -v for the traceback)"),
    ],
)
def test_a_failing_write_is_one_line_and_exit_1(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException, expected: str
) -> None:
    """GIVEN a store whose writes fail the way the OS or a storage library reports it
    WHEN an import runs
    THEN it exits 1 with exactly one line on stderr that explains it, and no traceback"""
    lines = tmp_path / "one.jsonl"
    lines.write_text(
        '{"msgid": "m1", "action": "send", "from": "a", "tolist": ["b"], "msgtime": 1700000000000, '
        '"msgtype": "text", "text": {"content": "hi"}}\n',
        encoding="utf-8",
    )
    cli("init", data=data_dir)
    _fail_writes(monkeypatch, error)
    result = CliRunner().invoke(main, ["--json", "--data", str(data_dir), "import", str(lines)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {result.stderr.strip()[7:]}"]
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_verbose_shows_the_traceback(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a program error during a command
    WHEN it runs with -v (after the subcommand, as users type it)
    THEN the traceback is logged on stderr as well as the one-line error"""
    cli("init", data=data_dir)
    _fail_writes(monkeypatch, RuntimeError("a bug"))
    lines = tmp_path / "one.jsonl"
    lines.write_text('{"msgid": "m1", "msgtype": "text", "text": {"content": "hi"}}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(lines), "--data", str(data_dir), "-v"])
    assert result.exit_code == 1 and "Traceback" in result.stderr and "error: unexpected RuntimeError" in result.stderr


def test_a_locked_database_is_one_line_and_exit_1(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN another process holding an exclusive transaction on the state database
    WHEN a command must write to it (and its wait for the lock runs out)
    THEN it exits 1 with a one-line message saying the database is locked"""
    cli("init", data=data_dir)
    monkeypatch.setattr(state_module, "BUSY_TIMEOUT_SECONDS", 0.05)
    holder = sqlite3.connect(data_dir / "state.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = CliRunner().invoke(
            main,
            ["--data", str(data_dir), "accounts", "add", "bob", "--role", "viewer", "--password-env", "BOB_PW"],
            env={"BOB_PW": "a-long-Passw0rd!x"},
        )
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 1, result.output
    assert "locked by another process" in result.stderr and "Traceback" not in result.stderr


def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/proc/filesystems").read_text().find("tmpfs") >= 0


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 400 KB tmpfs (needs root to mount; elsewhere the injected-error tests above cover the path)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if (
        not _can_mount()
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount_point)], capture_output=True, check=False
        ).returncode
        != 0
    ):
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHATARCHIVE, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.slow
def test_a_full_disk_and_a_read_only_directory_are_one_line_errors(small_filesystem: Path, tmp_path: Path) -> None:
    """GIVEN a simulated archive and a data directory on a 400 KB file system
    WHEN a pull fills the disk, and then a pull runs after the file system was remounted read-only
    THEN each exits 1 with one line on stderr naming the cause, and no traceback"""
    archive = tmp_path / "archive"
    assert _run("simulate", "--out", str(archive), "--messages", "300").returncode == 0
    data = small_filesystem / "data"
    full = _run("pull", "--source", f"sim:{archive}", "--once", "--json", "--data", str(data))
    assert full.returncode == 1 and full.stdout == ""
    assert "error: no space left on the device" in full.stderr and "Traceback" not in full.stderr
    subprocess.run(["mount", "-o", "remount,ro", str(small_filesystem)], check=True)
    read_only = _run("pull", "--source", f"sim:{archive}", "--once", "--data", str(data))
    assert read_only.returncode == 1 and "Traceback" not in read_only.stderr
    error_lines = [line for line in read_only.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and ("read-only" in error_lines[0] or "unable to open" in error_lines[0])


def _message_line(text: str) -> str:
    return (
        '{"msgid": "m1", "action": "send", "from": "a", "tolist": ["b"], "roomid": "", "msgtime": 1700000000000, '
        f'"msgtype": "text", "text": {{"content": "{text}"}}}}\n'
    )


def test_a_changed_redelivery_is_counted_and_shown_by_versions_and_stats(data_dir: Path, tmp_path: Path) -> None:
    """GIVEN a message imported, then a file with the same msgid and other content
    WHEN the second file is imported and `versions MSGID` and `stats` run
    THEN the import reports one duplicate and one version, `versions` shows the stored and the
    changed content, and stats counts one message and one version"""
    (tmp_path / "a.jsonl").write_text(_message_line("原文"), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(_message_line("改过的"), encoding="utf-8")
    cli("import", str(tmp_path / "a.jsonl"), data=data_dir)
    second = cli("import", str(tmp_path / "b.jsonl"), data=data_dir)
    assert (second["stored"], second["duplicates"], second["versions"]) == (0, 1, 1)
    shown = cli("versions", "m1", data=data_dir)
    assert "原文" in shown["stored"]["raw"] and ["改过的" in v["raw"] for v in shown["versions"]] == [True]
    stats = cli("stats", data=data_dir)
    assert (stats["messages"], stats["versions"]) == (1, 1)
    missing = cli("versions", "nope", data=data_dir, expect=2)
    assert "no message 'nope'" in missing.stderr


def test_deadletter_list_gives_the_file_and_line_of_a_bad_imported_line(data_dir: Path, tmp_path: Path) -> None:
    """GIVEN a file whose second line has msgtime "yesterday"
    WHEN it is imported and the dead letters listed
    THEN the dead letter names the file and the line, and the first line is stored"""
    lines = tmp_path / "day.jsonl"
    bad = _message_line("x").replace("m1", "m2").replace("1700000000000", '"yesterday"')
    lines.write_text(_message_line("好") + bad, encoding="utf-8")
    counts = cli("import", str(lines), data=data_dir)
    assert (counts["stored"], counts["deadletter"]) == (1, 1)
    [item] = cli("deadletter", "list", data=data_dir)["items"]
    assert (item["file"], item["line"]) == ("day.jsonl", 2) and "field msgtime" in item["reason"]


@pytest.mark.slow
def test_an_unreachable_store_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """GIVEN the Elasticsearch backend pointed at a port nobody listens on
    WHEN stats runs (after the client's retries)
    THEN it exits 1 with one line naming the URL, and no traceback"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = CliRunner().invoke(
        main,
        [
            "stats",
            "--json",
            "--backend",
            "elasticsearch",
            "--es-url",
            f"http://127.0.0.1:{port}",
            "--data",
            str(tmp_path / "d"),
        ],
        env={"CHATARCHIVE_ES_TIMEOUT": "2"},
    )
    assert result.exit_code == 1 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"cannot reach Elasticsearch at http://127.0.0.1:{port}" in errors[0]
    assert "Traceback" not in result.stderr
