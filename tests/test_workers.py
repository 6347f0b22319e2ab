"""Ingest in worker processes (indexer.workers) stores exactly what ingest with threads stores.

The same simulated archive (with undecryptable and malformed records, agree/disagree events
and rule hits) is pulled twice into fresh archives: once with worker processes, once with
threads only, in batches that are grouped into several writes. Every stored message (words,
sentiment, flags, reply times), every violation and every dead letter must be the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analyzers.rules.files import load_starter_pack
from chatarchive.archive import Archive
from compliance.rulestore import save_rule
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
