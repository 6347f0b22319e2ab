"""The scale benchmark's build: resumable, deterministic, one copy of every message."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_scale import build, keep_lines
from core.models import ALL, MessageFilter
from store.embedded import EmbeddedStore

pytestmark = pytest.mark.slow  # jieba's dictionary and 4,000 analyzed messages: a few seconds


def test_a_killed_build_resumes_without_duplicates_and_writes_what_one_run_writes(tmp_path: Path) -> None:
    resumed, whole = tmp_path / "resumed", tmp_path / "whole"
    first = build(resumed, 2_000, workers=0, chunk=500, limit=1_000, quiet=True)
    assert first["written"] == 1_000 and not (resumed / "complete").exists()
    with open(resumed / "texts.txt", "a", encoding="utf-8") as f:  # killed after the text, before the store
        f.write("a line of the batch the store never got\n")
    second = build(resumed, 2_000, workers=0, chunk=500, quiet=True)
    assert second["written"] == 2_000 and (resumed / "complete").exists()
    assert second["seconds"] >= first["seconds"]  # the log keeps the first session's chunks
    build(whole, 2_000, workers=0, chunk=500, quiet=True)

    assert (resumed / "texts.txt").read_text() == (whole / "texts.txt").read_text()
    assert len((resumed / "texts.txt").read_text().splitlines()) == 2_000
    store = EmbeddedStore(resumed)
    store.init()
    try:
        assert store.count(MessageFilter(), scope=ALL) == 2_000
        assert store.count(MessageFilter(time_from=0), scope=ALL) == 2_000  # counted by a query, not the doc count
        assert store.checkpoint() == 2_000
        words = store.get_messages(["r000000007"], scope=ALL)[0].words
        assert words  # analyzed as ingest does
    finally:
        store.close()


def test_keep_lines_cuts_after_the_first_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("a\nb\nc\n")
    keep_lines(path, 2)
    assert path.read_text() == "a\nb\n"
    keep_lines(path, 5)
    assert path.read_text() == "a\nb\n"
    keep_lines(tmp_path / "new.txt", 0)
    assert (tmp_path / "new.txt").read_text() == ""
