"""The audit trail: chained entries, tamper detection, reasons, and record integrity."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compliance import audit, integrity
from core.errors import BadInput
from core.models import Batch, Message
from tests.helpers import make_message, open_test_store

T0 = 1_763_600_000_000  # 2025-11-20 ~09:33 Asia/Shanghai


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_test_store(tmp_path)
    yield s
    s.close()


def _fill(store: Any, n: int = 6) -> list[dict[str, Any]]:
    actions = ["login", "search", "view_conversation", "export", "rule_change", "logout"]
    return [
        audit.record(store, f"user{i % 2}", actions[i % len(actions)], f"t{i}", {"i": i}, "case 42", now_ms=T0 + i)
        for i in range(n)
    ]


def test_recorded_entries_chain_and_verify(store: Any) -> None:
    """GIVEN six recorded actions WHEN the trail is verified THEN it is intact and each entry
    is chained to the previous one by its hash."""
    entries = _fill(store)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0]["prev_hash"] == audit.GENESIS
    for prev, entry in zip(entries, entries[1:]):
        assert entry["prev_hash"] == prev["hash"]
        assert entry["hash"] == audit.entry_hash(entry)
    result = audit.verify(store)
    assert result.ok, result.problem
    assert (result.checked, result.head_seq, result.head_hash) == (6, 6, entries[-1]["hash"])


def _alter_actor(trail: list[dict[str, Any]]) -> None:
    trail[2]["actor"] = "someone-else"


def _alter_details(trail: list[dict[str, Any]]) -> None:
    trail[2]["details"]["i"] = 99


def _alter_and_rehash(trail: list[dict[str, Any]]) -> None:
    trail[2]["reason"] = "made up later"
    trail[2]["hash"] = audit.entry_hash(trail[2])


def _delete(trail: list[dict[str, Any]]) -> None:
    del trail[2]


def _reorder(trail: list[dict[str, Any]]) -> None:
    trail[2], trail[3] = trail[3], trail[2]


def _insert_forged(trail: list[dict[str, Any]]) -> None:
    forged = dict(trail[2], actor="ghost")
    forged["hash"] = audit.entry_hash(forged)
    trail.insert(3, forged)


def _truncate(trail: list[dict[str, Any]]) -> None:
    del trail[-1]


TAMPERING: list[tuple[str, Callable[[list[dict[str, Any]]], None], int, str]] = [
    ("alter-actor", _alter_actor, 3, "altered"),
    ("alter-details", _alter_details, 3, "altered"),
    ("alter-and-rehash", _alter_and_rehash, 4, "not chained"),
    ("delete", _delete, 3, "missing"),
    ("reorder", _reorder, 4, "reordered"),
    ("insert-forged", _insert_forged, 3, "duplicated or inserted"),
    ("truncate-tail", _truncate, 6, "truncated"),
]


@pytest.mark.parametrize("tamper,first_bad,words", [t[1:] for t in TAMPERING], ids=[t[0] for t in TAMPERING])
def test_tampered_copy_of_the_trail_fails_and_names_the_first_bad_entry(
    store: Any, tmp_path: Path, tamper: Callable[[list[dict[str, Any]]], None], first_bad: int, words: str
) -> None:
    """GIVEN a verified trail WHEN a copy of it is altered, cut, reordered or extended and
    stored in a second store THEN verify fails and names the first bad entry."""
    _fill(store)
    trail = [{k: v for k, v in e.items() if not k.startswith("_")} for e in audit.list_entries(store, limit=None)]
    trail.reverse()  # list_entries is newest first; storage order is oldest first
    head = store.get_record(*audit.HEAD_RECORD)
    tamper(trail)

    pure = audit.verify_entries(copy.deepcopy(trail), head)
    assert not pure.ok
    assert pure.first_bad_seq == first_bad, pure.problem
    assert words in pure.problem

    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    second = open_test_store(copy_dir)
    try:
        for entry in trail:
            second.append_record("audit", entry)
        second.put_record(*audit.HEAD_RECORD, head)
        stored = audit.verify(second)
        assert not stored.ok
        assert stored.first_bad_seq == first_bad, stored.problem
    finally:
        second.close()


def test_untouched_copy_verifies(store: Any, tmp_path: Path) -> None:
    """GIVEN a copy of an intact trail THEN it verifies (the tamper tests can fail for the right reason)."""
    _fill(store)
    trail = list(reversed(audit.list_entries(store, limit=None)))
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    second = open_test_store(copy_dir)
    try:
        for entry in trail:
            second.append_record("audit", entry)
        assert audit.verify(second).ok
    finally:
        second.close()


def test_list_filters_by_actor_and_action_newest_first(store: Any) -> None:
    _fill(store)
    rows = audit.list_entries(store, actor="user0")
    assert [r["seq"] for r in rows] == [5, 3, 1]
    assert [r["seq"] for r in audit.list_entries(store, action="export")] == [4]
    assert [r["seq"] for r in audit.list_entries(store, limit=2)] == [6, 5]


@pytest.mark.parametrize("bad", ["", "  ", "x", None], ids=["empty", "blank", "one-char", "none"])
def test_reason_is_required_for_views_and_exports(bad: Any) -> None:
    with pytest.raises(BadInput, match="reason"):
        audit.require_reason(bad)


def test_unknown_action_is_refused_and_nothing_is_written(store: Any) -> None:
    with pytest.raises(BadInput, match="unknown audit action"):
        audit.record(store, "a", "delete_everything")
    assert store.count_records("audit") == 0


# --- record integrity --------------------------------------------------------------------------

DAY = 86_400_000


def _message(i: int, day: int) -> Message:
    return make_message(
        f"第{i}条",
        msgid=f"m{i}",
        seq=i,
        sender="zhangwei",
        to=("lina",),
        time_ms=T0 + day * DAY + i * 1000,
        employees=["lina", "zhangwei"],
        departments=[1],
    )


@pytest.fixture
def sealed(store: Any) -> Any:
    """Three days of messages, sealed."""
    messages = [_message(i, i % 3) for i in range(1, 13)]
    store.write_batch(Batch(messages=messages, checkpoint=12))
    store.refresh()
    result = integrity.update_digests(store, integrity.days_of(messages))
    assert len(result.sealed) == 3
    return store


def test_sealed_messages_verify(sealed: Any) -> None:
    result = integrity.verify_messages(sealed)
    assert result.ok, result.problems
    assert (result.messages, result.days) == (12, 3)


def test_pipeline_style_update_without_days_seals_only_changed_days(store: Any) -> None:
    """GIVEN sealed days WHEN more messages arrive on one day and digests are updated without
    naming days THEN only that day is re-sealed and everything verifies."""
    store.write_batch(Batch(messages=[_message(i, i % 2) for i in range(1, 7)], checkpoint=6))
    store.refresh()
    assert len(integrity.update_digests(store).sealed) == 2
    store.write_batch(Batch(messages=[_message(7, 1)], checkpoint=7))
    store.refresh()
    assert integrity.update_digests(store).sealed == [integrity.day_of(T0 + DAY)]
    assert integrity.verify_messages(store).ok


def _delete_one(store: Any) -> None:
    store.delete_messages(["m5"])


def _alter_raw(store: Any) -> None:
    m = store.get_messages(["m5"], scope=_all())[0]
    m.raw = m.raw.replace("第5条", "第500条")
    store.update_messages([m])


def _alter_raw_and_hash(store: Any) -> None:
    m = store.get_messages(["m5"], scope=_all())[0]
    m.raw = m.raw.replace("第5条", "第500条")
    from core.models import sha256_hex

    m.raw_sha256 = sha256_hex(m.raw)
    store.update_messages([m])


def _add_forged(store: Any) -> None:
    store.write_batch(Batch(messages=[_message(99, 2)], checkpoint=99))


def _delete_whole_day(store: Any) -> None:
    store.delete_messages([f"m{i}" for i in range(1, 13) if i % 3 == 0])


def _alter_digest(store: Any) -> None:
    """Rewrites the first ledger entry's hashes in place (the store's own record API)."""
    from tests.evidence_tamper import rewrite_ledger_entry

    rewrite_ledger_entry(store, 1, lambda entry: entry["added"].update({k: "f" * 64 for k in entry["added"]}))


def _all() -> Any:
    from core.models import Scope

    return Scope.everything()


MESSAGE_TAMPERING = [
    ("delete-one", _delete_one, "deleted"),
    ("alter-raw", _alter_raw, "message m5: raw JSON does not match"),
    ("alter-raw-and-hash", _alter_raw_and_hash, "differs from its sealed hash"),
    ("add-forged", _add_forged, "added"),
    ("delete-whole-day", _delete_whole_day, "deleted"),
    ("alter-digest", _alter_digest, "altered"),
]


@pytest.mark.parametrize("tamper,words", [t[1:] for t in MESSAGE_TAMPERING], ids=[t[0] for t in MESSAGE_TAMPERING])
def test_tampered_messages_are_detected(sealed: Any, tamper: Callable[[Any], None], words: str) -> None:
    """GIVEN sealed days WHEN a message or digest is deleted, altered or forged THEN verify fails and says how."""
    tamper(sealed)
    sealed.refresh()
    result = integrity.verify_messages(sealed)
    assert not result.ok
    assert words in result.first_problem, result.problems


def test_a_day_that_lost_messages_is_not_resealed_silently(sealed: Any) -> None:
    """GIVEN a deletion outside the purge WHEN the pipeline updates the digests THEN the day
    is refused and the deletion stays detectable."""
    _delete_one(sealed)
    sealed.refresh()
    result = integrity.update_digests(sealed)
    assert result.refused == [integrity.day_of(T0 + 2 * DAY)]
    assert not integrity.verify_messages(sealed).ok


# --- the command line ------------------------------------------------------------------------------


def _cli(data: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    from click.testing import CliRunner

    from chatarchive.cli import main

    return CliRunner().invoke(main, ["--data", str(data), "--json", *args], env=env, catch_exceptions=False)


def _seed_cli_store(data: Path) -> None:
    from store.embedded import EmbeddedStore

    s = EmbeddedStore(data)
    s.init()
    messages = [_message(i, i % 2) for i in range(1, 7)]
    s.write_batch(Batch(messages=messages, checkpoint=6))
    s.refresh()
    integrity.update_digests(s)
    for i in range(3):
        audit.record(s, "admin", "search", "", {"query": f"q{i}"})
    s.close()


def test_cli_audit_verify_passes_then_names_a_deleted_entry(tmp_path: Path) -> None:
    """GIVEN an intact archive WHEN `audit verify` runs THEN exit 0; GIVEN the second audit
    entry deleted from the store THEN exit 1 and the message names seq 2."""
    from store.embedded import EmbeddedStore

    data = tmp_path / "data"
    _seed_cli_store(data)
    ok = _cli(data, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] and report["audit"]["checked"] == 3 and report["messages"]["messages"] == 6

    s = EmbeddedStore(data)
    s.init()
    second = [r for r in s.find_records("audit") if r["seq"] == 2][0]
    assert s.delete_record("audit", second["_id"])
    s.close()
    bad = _cli(data, "audit", "verify")
    assert bad.exit_code == 1
    assert "entry seq 2 is missing" in bad.stderr
    assert json.loads(bad.stdout)["audit"]["first_bad_seq"] == 2


def test_cli_export_writes_file_and_manifest_and_is_audited(tmp_path: Path) -> None:
    """GIVEN stored messages WHEN exported with a reason THEN FILE and FILE.manifest.json hold
    the count, the file's sha256 and each message's hash; the export is in the audit trail."""
    import hashlib

    data = tmp_path / "data"
    _seed_cli_store(data)
    out = tmp_path / "export.csv"
    result = _cli(data, "export", "", "--format", "csv", "--out", str(out), "--reason", "case 7 request")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc == {"count": 6, "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
    manifest = json.loads(out.with_name("export.csv.manifest.json").read_text(encoding="utf-8"))
    assert (manifest["count"], manifest["sha256"], manifest["reason"], manifest["query"]) == (
        6,
        doc["sha256"],
        "case 7 request",
        "",
    )
    assert {m["msgid"] for m in manifest["messages"]} == {f"m{i}" for i in range(1, 7)}
    assert all(len(m["raw_sha256"]) == 64 for m in manifest["messages"])
    logged = json.loads(_cli(data, "audit", "list", "--action", "export").stdout)["entries"]
    assert logged[0]["reason"] == "case 7 request" and logged[0]["details"]["count"] == 6


def test_cli_export_headings_are_field_names_by_default_and_chinese_on_request(tmp_path: Path) -> None:
    """GIVEN stored messages WHEN exported to csv THEN the heading row is the field names, as scripts written
    against the earlier files expect (the dashboard's download is Chinese); with --headers zh it is Chinese;
    the rows and the JSON output do not change."""
    import csv

    from compliance.export import COLUMNS, HEADERS

    data = tmp_path / "data"
    _seed_cli_store(data)
    rows = {}
    for headers in ("zh", "en", "default"):
        out = tmp_path / f"export-{headers}.csv"
        choice = [] if headers == "default" else ["--headers", headers]
        result = _cli(data, "export", "", "--format", "csv", "--out", str(out), "--reason", "case 8", *choice)
        assert result.exit_code == 0, result.output
        assert set(json.loads(result.stdout)) == {"count", "sha256"}
        with out.open(encoding="utf-8-sig", newline="") as f:
            rows[headers] = list(csv.reader(f))
    assert rows["zh"][0] == list(HEADERS["zh"]) and rows["en"][0] == list(COLUMNS) == rows["default"][0]
    assert rows["zh"][1:] == rows["en"][1:] and len(rows["zh"]) == 7


@pytest.mark.parametrize("fmt", ["jsonl", "xlsx"])
def test_cli_export_other_formats(tmp_path: Path, fmt: str) -> None:
    data = tmp_path / "data"
    _seed_cli_store(data)
    out = tmp_path / f"export.{fmt}"
    result = _cli(data, "export", "", "--format", fmt, "--out", str(out), "--reason", "case 7")
    assert result.exit_code == 0, result.output
    if fmt == "jsonl":
        assert len(out.read_text(encoding="utf-8").splitlines()) == 6
    else:
        from openpyxl import load_workbook

        assert load_workbook(out).active.max_row == 7  # header + 6


def test_cli_export_with_an_empty_reason_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _seed_cli_store(data)
    out = tmp_path / "export.csv"
    result = _cli(data, "export", "", "--format", "csv", "--out", str(out), "--reason", " ")
    assert result.exit_code == 2
    assert "reason" in result.stderr
    assert not out.exists() and not out.with_name("export.csv.manifest.json").exists()


def test_cli_export_as_a_scoped_account_sees_only_its_scope(tmp_path: Path) -> None:
    """GIVEN an auditor scoped to a department no message belongs to WHEN exporting as that
    account THEN nothing is exported."""
    data = tmp_path / "data"
    _seed_cli_store(data)
    added = _cli(
        data,
        "accounts",
        "add",
        "outsider",
        "--role",
        "auditor",
        "--scope-dept",
        "7",
        "--password-env",
        "PW",
        env={"PW": "a long password"},
    )
    assert added.exit_code == 0, added.output
    out = tmp_path / "export.jsonl"
    result = _cli(data, "export", "", "--format", "jsonl", "--out", str(out), "--reason", "case 8", "--as", "outsider")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["count"] == 0
    manifest = json.loads(out.with_name("export.jsonl.manifest.json").read_text(encoding="utf-8"))
    assert manifest["who"] == "outsider" and manifest["operator"].startswith("cli:")
    assert manifest["scope"] == {"all": False, "departments": [7], "users": []}


def test_export_applies_the_search_filters_and_records_them(tmp_path: Path) -> None:
    """GIVEN messages on two days WHEN exported with a time filter covering one day
    THEN only that day's messages are exported, and the manifest and audit entry name the filter."""
    from chatarchive.archive import Archive
    from compliance.export import export_messages
    from core.models import MessageFilter

    data = tmp_path / "data"
    _seed_cli_store(data)
    archive = Archive.open(data=str(data))
    day_one = MessageFilter(time_from=T0 + DAY, time_to=T0 + 2 * DAY)
    out = tmp_path / "day.jsonl"
    summary = export_messages(archive, "", "jsonl", out, "inspection of day one", filters=day_one)
    exported = [json.loads(line)["msgid"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(exported) == ["m1", "m3", "m5"] and summary["count"] == 3
    manifest = json.loads(Path(summary["manifest"]).read_text(encoding="utf-8"))
    assert manifest["filters"] == {"time_from": T0 + DAY, "time_to": T0 + 2 * DAY}
    entry = audit.list_entries(archive.store, action="export")[0]
    assert entry["details"]["filters"] == manifest["filters"]
    archive.close()
