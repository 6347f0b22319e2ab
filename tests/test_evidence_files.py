"""Files and processes: private modes whatever the umask, one pull per data directory,
an audit trail that stays a chain when many processes append at once."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chatarchive.cli import main
from compliance import audit, integrity, ledger
from store.filelock import PULL_LOCK, DataDirectoryBusy, exclusive
from store.filemodes import make_private_file
from tests.evidence_corpus import fill
from tests.helpers import REPO, cli, open_test_store


def _others_can_read(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH))


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_a_fresh_data_directory_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """GIVEN a permissive umask (0000) WHEN a simulated archive is pulled, its media fetched, a
    key registered, searched and exported THEN the data directory is 0700 and no file or
    directory under it (index, SQLite, media, keys, locks) nor the export is readable by others."""
    from core.settings import Settings
    from indexer.media import MediaFetcher
    from indexer.source import open_source

    data, sim = tmp_path / "data", tmp_path / "sim"
    old = os.umask(0)
    try:
        cli("simulate", "--out", str(sim), "--messages", "150", "--days", "2")
        cli("keys", "add", "--version", "1", "--pem", str(next((sim / "keys").glob("*.pem"))), data=data)
        cli("pull", "--source", f"sim:{sim}", "--once", data=data)
        store = open_test_store(data)
        source = open_source(f"sim:{sim}", Settings(data=str(data)))
        fetched = MediaFetcher(store, source, data / "media").fetch_pending(limit=20)
        source.close()
        store.close()
        cli("search", "老师", data=data)
        out = tmp_path / "out.csv"
        cli("export", "", "--format", "csv", "--out", str(out), "--reason", "case 1", data=data)
    finally:
        os.umask(old)
    assert fetched["done"] > 0 and any((data / "media").rglob("*.*"))
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    exposed = [p for p in data.rglob("*") if _others_can_read(p)]
    assert exposed == []
    assert {"index", "state.sqlite3", "keys", "locks", "media"} <= {p.name for p in data.iterdir()}
    assert not _others_can_read(out) and not _others_can_read(out.with_name("out.csv.manifest.json"))


def test_an_existing_world_readable_store_is_locked_down_when_opened(tmp_path: Path) -> None:
    """GIVEN a data directory left 0755 with a 0644 state file (an older version) WHEN the
    store opens THEN both are made private."""
    data = tmp_path / "data"
    open_test_store(data).close()
    os.chmod(data, 0o755)
    os.chmod(data / "state.sqlite3", 0o644)
    open_test_store(data).close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "state.sqlite3").stat().st_mode) == 0o600


def test_keys_add_warns_about_a_world_readable_source_pem(tmp_path: Path) -> None:
    """GIVEN a source PEM readable by everyone WHEN it is registered THEN the private copy is
    0600 and the command warns, naming the source file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "v3.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    os.chmod(pem, 0o644)
    data = tmp_path / "data"
    result = _keys_add(data, pem)
    assert json.loads(result.stdout) == {"version": 3}
    assert result.stderr.startswith("warning: the source PEM") and str(pem) in result.stderr
    assert stat.S_IMODE((data / "keys" / "v3.pem").stat().st_mode) == 0o600
    make_private_file(pem)
    assert "warning" not in _keys_add(data, pem).stderr


def _keys_add(data: Path, pem: Path) -> Any:
    args = ["--json", "--data", str(data), "keys", "add", "--version", "3", "--pem", str(pem)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result


def test_a_second_pull_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    """GIVEN a pull holding the data directory WHEN another pull starts THEN it exits 1 with
    one line naming the holder's pid, and nothing is pulled; after the first ends it works."""
    data = tmp_path / "data"
    with exclusive(data, PULL_LOCK, "pull"):
        refused = cli("pull", "--source", f"sim:{tmp_path / 'nowhere'}", "--once", data=data, expect=1)
        assert refused.stderr.count("\n") == 1
        assert f"pid {os.getpid()}" in refused.stderr and "already pulling" in refused.stderr
        with pytest.raises(DataDirectoryBusy), exclusive(data, PULL_LOCK, "run"):
            pass
    with exclusive(data, PULL_LOCK, "pull"):
        pass


_SEARCHER = """
import sys
from click.testing import CliRunner
from chatarchive.cli import main
for query in ("保本", "第3条", "收益 OR 转账"):
    result = CliRunner().invoke(main, ["--json", "--data", sys.argv[1], "search", query])
    assert result.exit_code == 0, result.output
"""


@pytest.mark.slow
def test_eight_processes_searching_three_times_leave_a_trail_that_verifies(tmp_path: Path) -> None:
    """GIVEN a filled archive WHEN 8 separate processes each run 3 searches at the same time
    THEN the trail has 24 search entries with seqs 1..24 and `audit verify` passes."""
    data = tmp_path / "data"
    store = open_test_store(data)
    fill(store)
    store.close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SEARCHER, str(data)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(8)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    store = open_test_store(data)
    entries = store.find_records("audit")
    assert sorted(e["seq"] for e in entries) == list(range(1, 25))
    result = audit.verify(store)
    store.close()
    assert result.ok, result.problem
    assert cli("audit", "verify", data=data)["ok"]


_LEDGER_WRITER = """
import sys
from core.models import Batch
from compliance import integrity
from store.embedded import EmbeddedStore
from tests.evidence_corpus import message
store = EmbeddedStore(sys.argv[1])
store.init()
worker = int(sys.argv[2])
for k in range(10):
    i = 1000 * worker + k
    batch = Batch(messages=[message(i, k % 3)])
    store.write_batch(batch)
    integrity.record_batch(store, batch)
store.close()
"""


@pytest.mark.slow
def test_four_processes_amending_the_same_days_leave_a_ledger_that_verifies(tmp_path: Path) -> None:
    """GIVEN a sealed archive WHEN 4 processes each write and record 10 batches on the same days
    at once THEN the ledger is one unbroken chain and every message is sealed exactly once."""
    data = tmp_path / "data"
    store = open_test_store(data)
    fill(store)
    store.close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LEDGER_WRITER, str(data), str(w)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(1, 5)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    store = open_test_store(data)
    result = integrity.verify_messages(store)
    folded = ledger.read(store)
    seqs = sorted(e["seq"] for e in ledger.entries(store))
    store.close()
    assert result.ok, result.problems
    assert result.messages == 12 + 40
    assert folded.problems == [] and seqs == list(range(1, folded.head_seq + 1))


def test_an_unwritable_data_directory_opens_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a data directory this process cannot write (os.access says so; root ignores chmod)
    WHEN the store is opened from settings THEN it is read-only: reads work, writes are refused."""
    from core.errors import ReadOnlyStore
    from core.settings import Settings
    from store import open_store

    data = tmp_path / "data"
    store = open_test_store(data)
    fill(store)
    store.close()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == data else real_access(p, mode))
    opened = open_store(Settings(data=str(data)))
    opened.init()
    assert opened.read_only is True
    assert integrity.verify_messages(opened).ok
    assert audit.record(opened, "cli:someone", "search", "q")["seq"] == 0  # the policy: not appended
    with pytest.raises(ReadOnlyStore):
        opened.put_record("meta", "x", {"a": 1})
    opened.close()
