"""Ingest in worker processes (indexer.workers) stores exactly what ingest with threads stores.

The same simulated archive (with undecryptable and malformed records, agree/disagree events
and rule hits) is pulled twice into fresh archives: once with worker processes, once with
threads only, in batches that are grouped into several writes. Every stored message (words,
sentiment, flags, reply times), every violation and every dead letter must be the same.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from analyzers.rules.files import load_starter_pack
from chatarchive.archive import Archive
from compliance.rulestore import save_rule
from core.errors import ChatArchiveError
from core.models import MessageFilter, Scope, ViolationFilter
from indexer.pipeline import Pipeline
from indexer.source import open_source
from indexer.source.simulator.generate import simulate


def pull(archive_dir: Path, data: Path, processes: int) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    archive = Archive.open(data=str(data), media=False)
    for rule in load_starter_pack():
        save_rule(archive.store, rule, "test")
    pipeline = Pipeline(archive, open_source(f"sim:{archive_dir}"), batch_size=250, write_size=600, processes=processes)
    result = pipeline.run()
    pipeline.close()
    store = archive.store
    messages = {m.msgid: m.to_dict() for m in store.iter_messages(MessageFilter(), scope=Scope.everything())}
    _, violations = store.list_violations(ViolationFilter(), scope=Scope.everything(), limit=100_000)
    _, dead = store.list_deadletters(limit=100_000)
    dead_rows = sorted(({**d.to_dict(), "time_ms": 0} for d in dead), key=lambda d: d["msgid"])
    counts = {**result.to_contract(), "seconds": 0}
    archive.close()
    return (
        messages,
        sorted((v.to_dict() for v in violations), key=lambda v: v["id"]),
        {"counts": counts, "dead": dead_rows},
    )


@pytest.mark.slow
def test_worker_processes_store_what_threads_store(tmp_path: Path) -> None:
    archive_dir = tmp_path / "sim"
    simulate(archive_dir, 1500, seed=23, fault_rate=0.02, transient_fault_rate=0.0)
    with_processes = pull(archive_dir, tmp_path / "processes", processes=2)
    with_threads = pull(archive_dir, tmp_path / "threads", processes=-1)
    messages, violations, rest = with_processes
    assert len(messages) > 1300 and violations and rest["dead"], "the archive should exercise every path"
    assert any(m["sentiment"] for m in messages.values()) and any(m["words"] for m in messages.values())
    assert messages == with_threads[0]
    assert violations == with_threads[1]
    assert rest == with_threads[2]


@pytest.mark.slow
def test_a_worker_that_dies_fails_the_pull_with_a_clear_error_and_stores_nothing(tmp_path: Path) -> None:
    """GIVEN a pull whose worker processes are killed WHEN the pull waits for its batch
    THEN it stops with one clear error and the checkpoint has not moved."""
    archive_dir = tmp_path / "sim"
    simulate(archive_dir, 600, seed=5, transient_fault_rate=0.0)
    archive = Archive.open(data=str(tmp_path / "data"), media=False)
    pipeline = Pipeline(archive, open_source(f"sim:{archive_dir}"), batch_size=200, processes=2)
    records = pipeline.source.get_chat_data(0, 200)
    pool = pipeline._worker_pool(records)
    assert pool is not None
    pending = pool.submit(records)
    pending.result()  # the workers are up
    for pid in list(pool._pool._processes):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)  # whether the pool notices before the next submit or while it waits, the error is the same
    with pytest.raises(ChatArchiveError, match="worker process died"):
        pool.submit(records).result()
    pool.close()
    assert archive.store.checkpoint() == 0
    archive.close()
