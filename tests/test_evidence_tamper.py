"""The tamper suite: an attacker with write access to the data directory alters a copy of a
real archive (simulated, pulled, rules applied, a violation reviewed, anchored) through the
store's own API or SQLite; `audit verify --anchor` must fail and name what it found."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chatarchive.cli import main
from compliance import audit, integrity
from core.models import ALL, Message, MessageFilter, ViolationFilter, sha256_hex
from reports.review import review_violation
from store.embedded import EmbeddedStore
from tests.evidence_tamper import rewrite_ledger_entry
from tests.helpers import cli

KEY = "k" * 24 + "-anchor-key-for-tests-only"
PULL_FIRST = 200  # records pulled before the anchor; the rest of the archive comes later


def _env(tmp: Path) -> dict[str, str]:
    return {"CHATARCHIVE_ANCHOR_KEY": KEY, "CHATARCHIVE_BATCH_SIZE": "100"}


def _run(data: Path, *args: str, env: dict[str, str]) -> Any:
    return CliRunner().invoke(main, ["--json", "--data", str(data), *args], env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A simulated archive (with broken records → dead letters), the starter rules, the first
    PULL_FIRST records pulled, one violation reviewed, and an anchor of that state."""
    root = tmp_path_factory.mktemp("tamper")
    sim, data, anchor = root / "sim", root / "data", root / "anchor.json"
    env = _env(root)
    assert (
        _run(
            data,
            "simulate",
            "--out",
            str(sim),
            "--messages",
            "400",
            "--seed",
            "7",
            "--days",
            "3",
            "--fault-rate",
            "0.03",
            env=env,
        ).exit_code
        == 0
    )
    assert _run(data, "rules", "add", "--starter", env=env).exit_code == 0
    pulled = _run(data, "pull", "--source", f"sim:{sim}", "--once", "--limit", str(PULL_FIRST), env=env)
    assert pulled.exit_code == 0, pulled.output
    store = EmbeddedStore(data)
    _, violations = store.list_violations(ViolationFilter(), scope=ALL, limit=2)
    review_violation(store, violations[0].id, "confirmed", "", reviewer="auditor1")
    store.close()
    made = _run(data, "audit", "anchor", "--out", str(anchor), env=env)
    assert made.exit_code == 0, made.output
    yield {"sim": sim, "data": data, "anchor": anchor}


@pytest.fixture
def copy(archive: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """A copy of the archive for one attack (the original stays intact for the others)."""
    data = tmp_path / "data"
    shutil.copytree(archive["data"], data)
    return {**archive, "data": data}


def _verify(case: dict[str, Path]) -> Any:
    return _run(case["data"], "audit", "verify", "--anchor", str(case["anchor"]), env=_env(case["data"]))


def _open(case: dict[str, Path]) -> EmbeddedStore:
    store = EmbeddedStore(case["data"])
    store.init()
    return store


def _some_message(store: EmbeddedStore) -> Message:
    return next(m for m in store.iter_messages(MessageFilter(msgtypes=["text"]), scope=ALL))


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_the_untouched_archive_verifies_against_its_anchor_and_after_more_pulls(copy: dict[str, Path]) -> None:
    """GIVEN the archive and its anchor THEN verify passes; WHEN the rest is pulled (new entries,
    amendments of the last day) THEN it still passes: the archive extends the anchor."""
    report = _verify(copy)
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["anchor"] == {"ok": True, "problems": []}
    assert _run(copy["data"], "pull", "--source", f"sim:{copy['sim']}", "--once", env=_env(copy["data"])).exit_code == 0
    later = _verify(copy)
    assert later.exit_code == 0, later.output
    assert json.loads(later.stdout)["messages"]["messages"] > PULL_FIRST / 2


def _alter_text(case: dict[str, Path]) -> str:
    store = _open(case)
    m = _some_message(store)
    m.text = "本金保证，年化收益百分之二十"
    store.update_messages([m])
    store.close()
    return m.msgid


def _alter_raw_and_hash(case: dict[str, Path]) -> str:
    store = _open(case)
    m = _some_message(store)
    m.raw = m.raw.replace('"content":"', '"content":"改过 ')
    m.raw_sha256 = sha256_hex(m.raw)
    store.update_messages([m])
    store.close()
    return m.msgid


def _last_day_message(store: EmbeddedStore) -> Message:
    _, page = store.list_messages(MessageFilter(msgtypes=["text"]), scope=ALL, sort="time_desc", limit=1)
    return page[0]


def _delete_then_pull_and_import(case: dict[str, Path]) -> str:
    """Deletes a message of the newest day, then pulls the rest of the archive (later messages of
    that day arrive) and imports one more message of that day."""
    store = _open(case)
    victim = _last_day_message(store)
    store.delete_messages([victim.msgid])
    store.close()
    env = _env(case["data"])
    assert _run(case["data"], "pull", "--source", f"sim:{case['sim']}", "--once", env=env).exit_code == 0
    line = json.loads(victim.raw)
    line.update(msgid="imported-later-1", msgtime=victim.time_ms + 1)
    extra = case["data"].parent / "late.jsonl"
    extra.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    assert _run(case["data"], "import", str(extra), env=env).exit_code == 0
    store = _open(case)
    day = integrity.day_section(integrity.day_of(victim.time_ms))
    amendments = [e for e in store.find_records("digests") if e.get("section") == day and e.get("kind") == "amend"]
    store.close()
    assert len(amendments) >= 2, "the pull and the import must amend the sealed day"
    return victim.msgid


def _delete_digests(case: dict[str, Path]) -> str:
    store = _open(case)
    for row in store.find_records("digests"):
        store.delete_record("digests", row["_id"])
    store.delete_record("meta", "digests_head")
    store.close()
    return "never sealed"


def _delete_violation(case: dict[str, Path]) -> str:
    store = _open(case)
    _, page = store.list_violations(ViolationFilter(), scope=ALL, limit=5)
    victim = page[-1].id
    store.close()
    with sqlite3.connect(case["data"] / "state.sqlite3") as db:
        db.execute("DELETE FROM violations WHERE id = ?", (victim,))
    return victim


def _dismiss_violation(case: dict[str, Path]) -> str:
    store = _open(case)
    _, page = store.list_violations(ViolationFilter(statuses=["unreviewed"]), scope=ALL, limit=1)
    store.update_violation(page[0].id, {"status": "false_positive", "reviewer": "nobody"})
    store.close()
    return page[0].id


def _edit_deadletter(case: dict[str, Path]) -> str:
    store = _open(case)
    _, dead = store.list_deadletters(limit=1)
    store.close()
    doc = dead[0].to_dict()
    doc["record"] = {**doc["record"], "encrypt_chat_msg": "forged"}
    with sqlite3.connect(case["data"] / "state.sqlite3") as db:
        db.execute("UPDATE deadletters SET doc = ? WHERE msgid = ?", (json.dumps(doc), dead[0].msgid))
    return dead[0].msgid


def _delete_rule_version(case: dict[str, Path]) -> str:
    store = _open(case)
    row = store.find_records("rule_versions", limit=1)[0]
    store.delete_record("rule_versions", row["_id"])
    store.close()
    return row["_id"]


def _edit_current_rule(case: dict[str, Path]) -> str:
    store = _open(case)
    rule = store.find_records("rules", limit=1)[0]
    rule["keywords"] = ["一个无害的词"]
    store.put_record("rules", rule["_id"], {k: v for k, v in rule.items() if not k.startswith("_")})
    store.close()
    return f"rule {rule['_id']}"


def _alter_ledger_entry(case: dict[str, Path]) -> str:
    store = _open(case)
    rewrite_ledger_entry(store, 2, lambda entry: entry["added"].popitem())
    store.close()
    return "ledger entry seq 2"


ATTACKS: list[tuple[str, Callable[[dict[str, Path]], str], str]] = [
    ("alter-text", _alter_text, "differs from its sealed hash"),
    ("alter-raw-and-its-hash", _alter_raw_and_hash, "differs from its sealed hash"),
    ("delete-then-pull-and-import", _delete_then_pull_and_import, "in the ledger but not stored (deleted)"),
    ("delete-digests", _delete_digests, "never sealed"),
    ("delete-violation", _delete_violation, "in the ledger but not stored (deleted)"),
    ("dismiss-violation-in-the-store", _dismiss_violation, "changed outside the review workflow"),
    ("edit-dead-letter", _edit_deadletter, "differs from its sealed hash"),
    ("delete-rule-version", _delete_rule_version, "in the ledger but not stored (deleted)"),
    ("edit-current-rule", _edit_current_rule, "edited outside the rule workflow"),
    ("alter-ledger-entry", _alter_ledger_entry, "content altered"),
]


@pytest.mark.slow  # over a second: make test, not make test-fast
@pytest.mark.parametrize("attack,words", [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_verify_fails_and_names_the_tampering(
    copy: dict[str, Path], attack: Callable[[dict[str, Path]], str], words: str
) -> None:
    """GIVEN a copy of the archive WHEN it is tampered with THEN verify exits 1, and a problem
    names the kind of tampering and the item (message, violation, dead letter, rule version)."""
    named = attack(copy)
    result = _verify(copy)
    assert result.exit_code == 1, result.output
    problems = _problems(json.loads(result.stdout))
    assert any(words in p and named in p for p in problems), problems
    assert result.stderr.startswith("error: integrity check failed") and result.stderr.count("\n") == 1


def _problems(report: dict[str, Any]) -> list[str]:
    trail = [report["audit"]["problem"]] if report["audit"]["problem"] else []
    return [
        *report.get("anchor", {}).get("problems", []),
        *trail,
        *report["messages"]["problems"],
        *report["reviews"]["problems"],
    ]


def _truncate_trail(store: EmbeddedStore, keep: int) -> None:
    """Deletes every audit entry after ``keep`` and rewrites the head record to match: the trail
    alone then verifies (its own head agrees)."""
    rows = sorted(store.find_records("audit"), key=lambda r: r["seq"])
    for row in rows[keep:]:
        store.delete_record("audit", row["_id"])
    last = rows[keep - 1]
    store.put_record(*audit.HEAD_RECORD, {"seq": last["seq"], "hash": last["hash"], "time_ms": last["time_ms"]})


def test_a_truncated_trail_with_a_rewritten_head_fails_against_the_earlier_anchor(copy: dict[str, Path]) -> None:
    """GIVEN the trail cut below the anchored seq and its head record rewritten WHEN verified
    without the anchor THEN the trail looks intact (the limit anchors exist for); WITH the
    anchor THEN verify fails and says the trail was truncated."""
    anchored = json.loads(copy["anchor"].read_text(encoding="utf-8"))["audit"]["seq"]
    store = _open(copy)
    _truncate_trail(store, anchored - 2)
    assert audit.verify(store).ok
    store.close()
    result = _verify(copy)
    assert result.exit_code == 1
    assert any(f"covers seq {anchored}" in p and "truncated" in p for p in _problems(json.loads(result.stdout)))


def test_a_trail_rewritten_past_the_anchor_fails(copy: dict[str, Path]) -> None:
    """GIVEN the trail cut and re-grown with forged, correctly chained entries beyond the anchored
    seq WHEN verified with the anchor THEN the anchored entry is reported rewritten."""
    anchored = json.loads(copy["anchor"].read_text(encoding="utf-8"))["audit"]["seq"]
    store = _open(copy)
    _truncate_trail(store, anchored - 2)
    for i in range(4):
        audit.record(store, "forger", "search", "", {"i": i})
    assert audit.verify(store).ok
    store.close()
    result = _verify(copy)
    assert result.exit_code == 1
    assert any(f"entry seq {anchored} differs" in p for p in _problems(json.loads(result.stdout)))


def test_an_altered_anchor_or_a_wrong_key_is_refused(copy: dict[str, Path], tmp_path: Path) -> None:
    """GIVEN an anchor whose head seq was lowered by hand THEN its signature fails; GIVEN the
    right anchor but another key THEN verify says the key is unknown."""
    doc = json.loads(copy["anchor"].read_text(encoding="utf-8"))
    doc["audit"]["seq"] -= 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc), encoding="utf-8")
    result = _run(copy["data"], "audit", "verify", "--anchor", str(forged), env=_env(copy["data"]))
    assert result.exit_code == 1 and "signature does not match" in result.stderr
    other = _run(
        copy["data"], "audit", "verify", "--anchor", str(copy["anchor"]), env={"CHATARCHIVE_ANCHOR_KEY": "x" * 40}
    )
    assert other.exit_code == 1 and "not among the configured anchor keys" in other.stderr


def test_key_rotation_keeps_old_anchors_verifiable(copy: dict[str, Path], tmp_path: Path) -> None:
    """GIVEN a key file with a new key first and the old key after it WHEN a new anchor is made
    THEN it is signed with the new key, and both the old and the new anchor verify."""
    key_file = tmp_path / "anchor.keys"
    key_file.write_text("n" * 40 + "\n" + KEY + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    env = {"CHATARCHIVE_ANCHOR_KEY_FILE": str(key_file)}
    new = tmp_path / "new.json"
    assert _run(copy["data"], "audit", "anchor", "--out", str(new), env=env).exit_code == 0
    assert (
        json.loads(new.read_text(encoding="utf-8"))["key_id"]
        != json.loads(copy["anchor"].read_text(encoding="utf-8"))["key_id"]
    )
    for anchor in (copy["anchor"], new):
        assert _run(copy["data"], "audit", "verify", "--anchor", str(anchor), env=env).exit_code == 0


def test_a_key_file_inside_the_data_directory_is_refused(copy: dict[str, Path]) -> None:
    key_file = copy["data"] / "anchor.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    result = _run(copy["data"], "audit", "anchor", env={"CHATARCHIVE_ANCHOR_KEY_FILE": str(key_file)})
    assert result.exit_code == 2 and "inside the data directory" in result.stderr


def test_a_read_only_copy_verifies_searches_and_is_not_changed(copy: dict[str, Path]) -> None:
    """GIVEN a read-only evidence copy WHEN verify, search, context and stats run THEN they
    work, no file in the copy changes (bytes and mtimes), and a write is refused in one line."""
    data = copy["data"]

    def snapshot() -> dict[str, tuple[str, int]]:
        return {
            str(p.relative_to(data)): (sha256_hex(p.read_bytes()), p.stat().st_mtime_ns)
            for p in sorted(data.rglob("*"))
            if p.is_file()
        }

    before = snapshot()
    env = {**_env(data), "CHATARCHIVE_READ_ONLY": "true"}
    assert cli("audit", "verify", "--anchor", str(copy["anchor"]), data=data, env=env)["ok"]
    hits = cli("search", "老师 OR 收益", data=data, env=env)["hits"]
    assert hits
    assert cli("context", hits[0]["msgid"], data=data, env=env)["messages"]
    assert cli("stats", data=data, env=env)["messages"] > 0
    refused = cli(
        "accounts",
        "add",
        "eve",
        "--role",
        "auditor",
        "--password-env",
        "PW",
        data=data,
        env={**env, "PW": "a long enough password 1"},
        expect=1,
    )
    assert "read-only" in refused.stderr and refused.stderr.count("\n") == 1
    pulled = cli("pull", "--source", f"sim:{copy['sim']}", "--once", data=data, env=env, expect=1)
    assert "read-only" in pulled.stderr and pulled.stderr.count("\n") == 1
    assert snapshot() == before
