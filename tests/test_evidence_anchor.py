"""The scheduler's daily anchor: registered as a job, written write-once into anchor_dir,
recorded in the audit trail, and verifiable; skipped with a warning when not configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatarchive.archive import Archive
from chatarchive.scheduler import IndexerService
from compliance import audit
from compliance.anchor import load_keys, read_anchor, verify_anchor
from tests.evidence_corpus import fill
from tests.helpers import cli, open_test_store

KEY = "s" * 40


class RecordingScheduler:
    def __init__(self) -> None:
        self.jobs: dict[str, object] = {}

    def add_job(self, func: object, trigger: object, id: str, **kwargs: object) -> None:
        self.jobs[id] = trigger


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> IndexerService:
    sim, data = tmp_path / "sim", tmp_path / "data"
    cli("simulate", "--out", str(sim), "--messages", "100", "--days", "2")
    store = open_test_store(data)
    fill(store)
    store.close()
    monkeypatch.setenv("CHATARCHIVE_ANCHOR_KEY", KEY)
    monkeypatch.setenv("CHATARCHIVE_ANCHOR_DIR", str(tmp_path / "anchors"))
    (tmp_path / "anchors").mkdir()
    return IndexerService(Archive.open(data=str(data)), f"sim:{sim}")


def test_the_scheduler_anchors_daily_into_anchor_dir(service: IndexerService, tmp_path: Path) -> None:
    """GIVEN anchor_dir and a key WHEN the schedule is built THEN an `anchor` job is daily (cron);
    WHEN it runs twice THEN two new files are written, each verifies and each is audited."""
    scheduler = RecordingScheduler()
    service.schedule(scheduler)
    assert "anchor" in scheduler.jobs and "cron" in str(scheduler.jobs["anchor"])
    service.anchor()
    service.anchor()
    files = sorted((tmp_path / "anchors").glob("anchor-*.json"))
    assert len(files) == 2
    store = service.archive.store
    keys = load_keys(service.archive.settings)
    for f in files:
        assert verify_anchor(store, read_anchor(f), keys) == []
        assert oct(f.stat().st_mode & 0o777) == "0o600"
    logged = audit.list_entries(store, action="anchor")
    assert len(logged) == 2
    assert [json.loads(f.read_text())["audit"]["seq"] for f in files] == [0, 1]  # the second covers the first's entry


def test_without_anchor_dir_the_daily_anchor_is_skipped_with_a_warning(
    service: IndexerService, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("CHATARCHIVE_ANCHOR_DIR")
    service.archive = Archive.open(data=str(service.archive.settings.data_dir))
    service.anchor()
    assert "daily anchor skipped" in caplog.text
    assert audit.list_entries(service.archive.store, action="anchor") == []
