"""Reliability: SIGKILL the pull at random points, restart, and check the store against truth.

Nothing lost, nothing duplicated, checkpoint equal to the last seq.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from chatarchive.archive import Archive
from core.models import MessageFilter, Scope
from tests.helpers import cli, read_jsonl, run_cli_process

KILLS = 8


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    archive_dir = tmp_path / "archive"
    data = tmp_path / "data"
    cli("simulate", "--out", str(archive_dir), "--messages", "4000", "--seed", "11", "--fault-rate", "0.01")
    rng = random.Random(2026)
    env = {"CHATARCHIVE_BATCH_SIZE": "97", "CHATARCHIVE_MEDIA": "false"}
    killed_mid_run = 0
    for _ in range(KILLS):
        proc = run_cli_process("pull", "--source", f"sim:{archive_dir}", "--once", data=data, env=env)
        time.sleep(rng.uniform(1.5, 4.5))  # start-up takes ~1.5 s; then batches commit every few ms
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait(timeout=60)
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
