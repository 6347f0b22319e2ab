"""The pipeline end to end on a simulated archive: exactly once, dead letters, replay, import."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chatarchive.archive import Archive
from core.models import MessageFilter, Scope
from indexer.pipeline import Pipeline
from indexer.source import open_source
from tests.helpers import cli, read_jsonl

ALL = Scope.everything()


@pytest.fixture(scope="module")
def sim_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "archive"
    cli("simulate", "--out", str(out), "--messages", "1500", "--seed", "7", "--fault-rate", "0.02")
    return out


def stored_msgids(archive: Archive) -> list[str]:
    return [m.msgid for m in archive.store.iter_messages(MessageFilter(), scope=ALL)]


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_pull_stores_every_message_once_and_dead_letters_the_planted_faults(sim_archive: Path, data_dir: Path) -> None:
    """GIVEN a simulated archive with planted corrupt records
    WHEN it is pulled once
    THEN every message of truth.jsonl is stored exactly once, except the corrupt ones,
    which are in the dead letters with a reason; the checkpoint is the last seq; re-delivered
    records count as duplicates, so pulled = stored + duplicates + deadletter and stats agrees."""
    result = cli("pull", "--source", f"sim:{sim_archive}", "--once", data=data_dir)
    truth = read_jsonl(sim_archive / "truth.jsonl")
    faults = read_jsonl(sim_archive / "faults.jsonl")
    unstorable = {f["msgid"] for f in faults if f["fault"] != "duplicate_seq"}
    expected = {m["msgid"] for m in truth} - unstorable

    archive = Archive.open(data=str(data_dir))
    ids = stored_msgids(archive)
    assert len(ids) == len(set(ids)), "a message was stored twice"
    assert set(ids) == expected
    dead = cli("deadletter", "list", data=data_dir)
    assert {d["msgid"] for d in dead["items"]} == unstorable
    assert all(d["reason"] for d in dead["items"])
    assert (
        result["last_seq"]
        == archive.store.checkpoint()
        == max(r["seq"] for r in read_jsonl(sim_archive / "chatdata.jsonl"))
    )
    assert result["stored"] + result["duplicates"] + result["deadletter"] == result["pulled"]
    assert result["duplicates"] == sum(1 for f in faults if f["fault"] == "duplicate_seq")
    assert result["stored"] == len(ids) == cli("stats", data=data_dir)["messages"]
    archive.close()


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_replay_after_adding_the_missing_key_stores_the_rest(sim_archive: Path, data_dir: Path) -> None:
    """GIVEN records of a key version whose private key was missing
    WHEN the key is added and the dead letters replayed
    THEN those messages are stored and leave the dead letters."""
    cli("pull", "--source", f"sim:{sim_archive}", "--once", data=data_dir)
    withheld = sorted((sim_archive / "withheld-keys").glob("v*.pem"))
    if not withheld:
        pytest.skip("this seed withheld no key version")
    for pem in withheld:
        cli("keys", "add", "--version", pem.stem[1:], "--pem", str(pem), data=data_dir)
    counts = cli("deadletter", "replay", "--source", f"sim:{sim_archive}", data=data_dir)
    missing_key = {f["msgid"] for f in read_jsonl(sim_archive / "faults.jsonl") if f["fault"] == "missing_key"}
    archive = Archive.open(data=str(data_dir))
    assert missing_key <= set(stored_msgids(archive))
    remaining = {d.msgid for d in archive.store.list_deadletters()[1]}
    assert not (remaining & missing_key)
    assert counts["replayed"] >= len(missing_key)
    archive.close()


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_pulling_again_stores_nothing_new(sim_archive: Path, data_dir: Path) -> None:
    cli("pull", "--source", f"sim:{sim_archive}", "--once", data=data_dir)
    again = cli("pull", "--source", f"sim:{sim_archive}", "--once", data=data_dir)
    assert again["pulled"] == 0 and again["stored"] == 0


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_revoked_original_is_kept_and_marked(sim_archive: Path, data_dir: Path) -> None:
    cli("pull", "--source", f"sim:{sim_archive}", "--once", data=data_dir)
    archive = Archive.open(data=str(data_dir))
    revokes = list(archive.store.iter_messages(MessageFilter(msgtypes=["revoke"]), scope=ALL))
    assert revokes, "the simulator plants revocations"
    originals = archive.store.get_messages([r.pre_msgid for r in revokes], scope=ALL)
    assert originals and all(o.revoked for o in originals)
    archive.close()


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_import_of_decrypted_json_is_idempotent(sim_archive: Path, data_dir: Path) -> None:
    """GIVEN truth.jsonl (decrypted message JSON) WHEN imported twice THEN the second import skips all."""
    first = cli("import", str(sim_archive / "truth.jsonl"), data=data_dir)
    second = cli("import", str(sim_archive / "truth.jsonl"), data=data_dir)
    truth = read_jsonl(sim_archive / "truth.jsonl")
    assert first["read"] == len(truth)
    assert first["stored"] == len({m["msgid"] for m in truth})
    assert second["stored"] == 0 and second["skipped"] == first["stored"]


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_transient_source_errors_are_retried(sim_archive: Path, data_dir: Path, tmp_path: Path) -> None:
    """GIVEN a source that fails with 10001 on a third of the calls WHEN pulled THEN nothing is lost."""
    flaky = tmp_path / "flaky"
    shutil.copytree(sim_archive, flaky)
    import json

    sim = json.loads((flaky / "sim.json").read_text())
    sim["transient_fault_rate"] = 0.3
    (flaky / "sim.json").write_text(json.dumps(sim))
    archive = Archive.open(data=str(data_dir), batch_size=200)
    pipeline = Pipeline(
        archive, open_source(f"sim:{flaky}"), retry_delays=(0, 0, 0, 0, 0, 0, 0, 0), sleep=lambda s: None
    )
    result = pipeline.run()
    pipeline.close()
    truth = read_jsonl(flaky / "truth.jsonl")
    faults = {f["msgid"] for f in read_jsonl(flaky / "faults.jsonl") if f["fault"] != "duplicate_seq"}
    assert set(stored_msgids(archive)) == {m["msgid"] for m in truth} - faults
    assert result.pulled > 0
    archive.close()
