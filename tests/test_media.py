"""Media: queued with the batch, fetched in chunks after indexing, verified, content-addressed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from chatarchive.archive import Archive
from indexer.media import MediaFetcher
from indexer.pipeline import Pipeline
from indexer.source import open_source
from tests.helpers import cli, read_jsonl


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "archive"
    cli(
        "simulate",
        "--out",
        str(out),
        "--messages",
        "600",
        "--seed",
        "5",
        "--fault-rate",
        "0.05",
        "--transient-fault-rate",
        "0",
    )
    return out


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_media_is_fetched_verified_and_stored_by_content(archive_dir: Path, tmp_path: Path) -> None:
    """GIVEN a pulled archive whose media index has correct and wrong md5 sums
    WHEN the media backlog is fetched THEN every correct file is stored under its sha256 with the
    declared size and md5, and the ones with a wrong md5 end as failed after the retries."""
    archive = Archive.open(data=str(tmp_path / "data"))
    source = open_source(f"sim:{archive_dir}")
    pipeline = Pipeline(archive, source)
    pipeline.run()
    pipeline.close()
    index = {m["sdkfileid"]: m for m in read_jsonl(archive_dir / "media" / "index.jsonl")}
    queued = archive.store.find_records("media")
    assert queued and {q["sdkfileid"] for q in queued} <= set(index)

    fetcher = MediaFetcher(archive.store, source, tmp_path / "data" / "media", sleep=lambda s: None)
    for _ in range(3):  # retries of the mismatching ones happen on later runs
        fetcher.fetch_pending(limit=10_000)
    for item in archive.store.find_records("media"):
        expected = index[item["sdkfileid"]]
        if expected.get("bad_md5") and expected.get("md5sum"):
            assert item["status"] == "failed" and "md5" in item["error"]
            continue
        assert item["status"] == "done", item
        data = (tmp_path / "data" / "media" / item["path"]).read_bytes()
        assert len(data) == expected["size"]
        assert item["path"].split("/")[-1].startswith(hashlib.sha256(data).hexdigest())
        if expected.get("md5sum") and not expected.get("bad_md5"):
            assert hashlib.md5(data).hexdigest() == expected["md5sum"]
    assert archive.store.count_records("media", {"status": "pending"}) == 0
    source.close()
    archive.close()
