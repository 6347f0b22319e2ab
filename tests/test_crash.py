"""Reliability: SIGKILL the pull at random points, restart, and check the store against truth.

Nothing lost, nothing duplicated, checkpoint equal to the last seq.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from chatarchive.archive import Archive
from core.models import MessageFilter, Scope
from tests.helpers import CHATARCHIVE, REPO, cli, read_jsonl, run_cli_process

KILLS = 8
BATCH = 97
WRITE = 2 * BATCH  # records per commit (setting write_size): two pulled batches


def committed_seq(data: Path) -> int:
    """The checkpoint the pull has committed (store/embedded/state.py keeps it in SQLite's
    ``meta`` table), read through a plain read-only connection: it sees the writer's WAL and
    writes nothing, unlike the store's evidence-copy mode (``immutable``), which must not be
    used on a database another process is writing."""
    try:
        with closing(sqlite3.connect(f"file:{data / 'state.sqlite3'}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'checkpoint'").fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0
    return int(row[0]) if row else 0


def start_pull(archive_dir: Path, data: Path, env: dict[str, str]) -> subprocess.Popen:
    # Output to /dev/null: a pipe nobody reads would fill up and stall the pull.
    return subprocess.Popen(
        [*CHATARCHIVE, "--json", "--data", str(data), "pull", "--source", f"sim:{archive_dir}", "--once"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )


def kill_after_progress(proc: subprocess.Popen, data: Path, batches: int, rng: random.Random) -> bool:
    """SIGKILLs ``proc`` once it has committed ``batches`` more writes (0: during start-up), a
    random few ms into the next one; False if it finished first. Progress, not wall-clock
    time, decides, so the kills land mid-run however fast or loaded the machine is."""
    target = committed_seq(data) + batches * WRITE
    deadline = time.monotonic() + 300
    if batches == 0:
        time.sleep(rng.uniform(0.0, 1.0))
    while batches and proc.poll() is None and committed_seq(data) < target:
        assert time.monotonic() < deadline, "the pull made no progress for 5 minutes"
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.05))
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return True


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """GIVEN a simulated archive with faults WHEN pulls are SIGKILLed during start-up and after
    random numbers of committed batches, then a last pull runs to the end
    THEN nothing is lost or duplicated, the checkpoint is the last seq, the faults are dead letters.
    Half of the pulls run with worker processes, half with threads only."""
    archive_dir = tmp_path / "archive"
    data = tmp_path / "data"
    cli("simulate", "--out", str(archive_dir), "--messages", "4000", "--seed", "11", "--fault-rate", "0.01")
    rng = random.Random(2026)
    env = {"CHATARCHIVE_BATCH_SIZE": str(BATCH), "CHATARCHIVE_WRITE_SIZE": str(WRITE), "CHATARCHIVE_MEDIA": "false"}
    killed_mid_run = 0
    for round_ in range(KILLS):
        batches = 0 if round_ % 4 == 0 else rng.randint(1, 3)
        # Every other pull decrypts, normalizes and analyzes in worker processes (indexer.workers).
        processes = {"CHATARCHIVE_INGEST_PROCESSES": "2" if round_ % 2 else "-1"}
        killed = kill_after_progress(start_pull(archive_dir, data, {**env, **processes}), data, batches, rng)
        killed_mid_run += killed and batches > 0
    final = run_cli_process("pull", "--source", f"sim:{archive_dir}", "--once", data=data, env=env)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    assert killed_mid_run >= 3, "the kills should interrupt running pulls"

    truth = read_jsonl(archive_dir / "truth.jsonl")
    faults = {f["msgid"] for f in read_jsonl(archive_dir / "faults.jsonl") if f["fault"] != "duplicate_seq"}
    archive = Archive.open(data=str(data))
    ids = [m.msgid for m in archive.store.iter_messages(MessageFilter(), scope=Scope.everything())]
    assert len(ids) == len(set(ids)), "duplicated messages after crashes"
    assert set(ids) == {m["msgid"] for m in truth} - faults, "lost messages after crashes"
    assert archive.store.count(MessageFilter(), scope=Scope.everything()) == len(ids)
    assert archive.store.checkpoint() == max(r["seq"] for r in read_jsonl(archive_dir / "chatdata.jsonl"))
    dead = {d.msgid for d in archive.store.list_deadletters(limit=100000)[1]}
    assert dead == faults
    archive.close()
    # The evidence survives the kills too: the ledger and the audit trail verify (the sweep of the
    # last pull entered whatever a kill left between a batch's write and its ledger entry).
    assert cli("audit", "verify", data=data)["ok"]
