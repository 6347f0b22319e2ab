"""``chatarchive init`` shows a migration's progress on stderr and keeps stdout one JSON document."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from chatarchive.cli import main
from core.models import Batch
from tests.conformance.corpus import Factory
from tests.helpers import open_test_store


def test_init_migrates_an_older_store_with_a_progress_bar(tmp_path: Path) -> None:
    """GIVEN an embedded store left by an older schema WHEN `chatarchive --json init` runs THEN stdout is the JSON
    result (migrated) and stderr shows the migration's progress to the last message."""
    store = open_test_store(tmp_path / "data")
    f = Factory()
    store.write_batch(Batch(messages=[f.message(f"第{i}条") for i in range(1, 31)], checkpoint=30))
    store._state.set_meta("schema_fingerprint", "an older schema")  # what an older release left behind
    store.close()
    result = CliRunner().invoke(main, ["--json", "--data", str(tmp_path / "data"), "init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["migrated"] is True
    assert "migrate messages" in result.stderr and "30/30" in result.stderr
