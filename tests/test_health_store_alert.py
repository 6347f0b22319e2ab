"""The health check raises a store alert while the archive's store refuses writes
(Elasticsearch overloaded or red), and clears it after the next successful pull."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from indexer import health
from tests.helpers import open_test_store


def test_a_pull_refused_by_the_store_is_an_alert_until_a_pull_succeeds(tmp_path: Path) -> None:
    """GIVEN a pull that failed because the store kept refusing writes WHEN the health is checked THEN a store alert
    names the error; WHEN a later pull succeeds THEN the alert is gone. A source error raises no store alert."""
    store = open_test_store(tmp_path / "store")
    settings = Settings(data=str(tmp_path / "store"))
    health.pull_succeeded(store, 10, 5)
    health.pull_failed(store, "Elasticsearch kept refusing 3 documents (HTTP 429)", store_unavailable=True)
    alerts = {a["kind"]: a for a in health.check(store, settings)}
    assert alerts["store"]["severity"] == "error" and "HTTP 429" in alerts["store"]["message"]
    health.pull_succeeded(store, 20, 5)
    assert "store" not in {a["kind"] for a in health.check(store, settings)}
    health.pull_failed(store, "GetChatData failed: network", store_unavailable=False)
    assert "store" not in {a["kind"] for a in health.check(store, settings)}
    store.close()
