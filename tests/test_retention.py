"""Retention policy, legal holds, purge (delete or mask) and masking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance import audit, integrity, retention
from compliance.masking import MASK, mask_raw, mask_text
from core.directory import Directory
from core.errors import BadInput
from core.models import ALL, Batch, Message, MessageFilter, Violation, ViolationFilter
from core.settings import Settings
from tests.helpers import make_message, open_test_store

DAY = 86_400_000
NOW = 1_763_600_000_000
CUSTOMER = "wmCUSTOMER0000000000000000000001"
ORG = Directory(
    departments=[{"id": 1, "name": "总部", "parentid": 0}],
    employees=[
        {"userid": "zhangwei", "name": "张伟", "departments": [1]},
        {"userid": "lina", "name": "李娜", "departments": [1]},
    ],
    externals=[{"id": CUSTOMER, "name": "王小明"}],
)


def _message(
    msgid: str,
    age_days: float,
    *,
    sender: str = "zhangwei",
    to: str = "lina",
    msgtype: str = "text",
    text: str = "你好",
) -> Message:
    return make_message(
        text,
        msgid=msgid,
        seq=int(age_days * 10) + len(msgid),
        sender=sender,
        to=(to,),
        time_ms=int(NOW - age_days * DAY),
        msgtype=msgtype,
        departments=[1],
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_test_store(tmp_path)
    s.put_record("directory", "org", ORG.to_dict())
    old = [
        _message("old-internal", 400),
        _message("old-customer", 400, sender=CUSTOMER, to="zhangwei", text="我是王小明，电话13812345678"),
        _message("old-image", 400, msgtype="image"),
        _message("mid-text", 100),
    ]
    fresh = [_message("new-internal", 1)]
    violation = Violation(
        msgid="old-internal",
        rule_id="r1",
        rule_version=1,
        rule_name="x",
        category="c",
        severity="high",
        terms=["你好"],
        spans=[[0, 2]],
        time_ms=old[0].time_ms,
        sender="zhangwei",
        chat_id=old[0].chat_id,
        employees=["zhangwei", "lina"],
        departments=[1],
    )
    s.write_batch(Batch(messages=old + fresh, violations=[violation], checkpoint=10))
    s.refresh()
    integrity.update_digests(s, integrity.days_of(old + fresh))
    yield s
    s.close()


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(data=str(tmp_path / "cfg"), **kw)


def _ids(store: Any) -> set[str]:
    return {m.msgid for m in store.iter_messages(MessageFilter(), scope=ALL)}


def test_purge_deletes_expired_messages_with_their_violations_and_logs_counts(store: Any, tmp_path: Path) -> None:
    """GIVEN keep 365 days WHEN the purge runs THEN messages older than a year are gone with
    their violations, the digests are re-sealed, and the audit trail has the counts."""
    settings = _settings(tmp_path)
    retention.set_policy(store, 365, actor="admin", settings=settings)
    result = retention.purge(store, NOW, actor="admin", settings=settings)
    assert (result.expired, result.deleted, result.held) == (3, 3, 0)
    assert _ids(store) == {"mid-text", "new-internal"}
    assert store.list_violations(ViolationFilter(), scope=ALL)[0] == 0
    entry = audit.list_entries(store, action="purge")[0]
    assert entry["details"]["deleted"] == 3 and entry["actor"] == "admin"
    assert integrity.verify_messages(store).ok
    assert audit.verify(store).ok


def test_purge_deletes_fetched_media_files_of_purged_messages(store: Any, tmp_path: Path) -> None:
    """GIVEN fetched media of an expired image and of a fresh message WHEN purged THEN the
    expired one's file and record are gone, the fresh one's stay."""
    settings = _settings(tmp_path)
    media_dir = Path(settings.data_dir) / "media"
    for msgid, name in (("old-image", "aa/old.jpg"), ("new-internal", "bb/new.jpg")):
        (media_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (media_dir / name).write_bytes(b"\xff\xd8 jpeg")
        store.put_record("media", f"media-{msgid}", {"msgid": msgid, "path": name, "status": "done"})
    retention.set_policy(store, 365, settings=settings)
    result = retention.purge(store, NOW, settings=settings)
    assert result.media_files == 1
    assert not (media_dir / "aa/old.jpg").exists() and (media_dir / "bb/new.jpg").exists()
    assert [r["msgid"] for r in store.find_records("media")] == ["new-internal"]


def test_dry_run_counts_and_changes_nothing(store: Any, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    retention.set_policy(store, 30, settings=settings)
    before = store.count_records("audit")
    result = retention.purge(store, NOW, dry_run=True, settings=settings)
    assert (result.expired, result.deleted) == (4, 0)
    assert len(_ids(store)) == 5
    assert store.count_records("audit") == before


HOLDS = [
    ("employee", "lina", {"old-internal", "old-image"}),
    ("customer", CUSTOMER, {"old-customer"}),
    ("chat", "lina|zhangwei", {"old-internal", "old-image"}),
]


@pytest.mark.parametrize("kind,value,kept", HOLDS, ids=[h[0] for h in HOLDS])
def test_legal_hold_exempts_from_purge_until_released(
    store: Any, tmp_path: Path, kind: str, value: str, kept: set[str]
) -> None:
    """GIVEN a legal hold WHEN the purge runs THEN the held messages stay; once the hold is
    released the next purge removes them."""
    settings = _settings(tmp_path)
    retention.set_policy(store, 365, settings=settings)
    hold = retention.add_hold(store, kind, value, "case 2025-17", actor="legal")
    result = retention.purge(store, NOW, settings=settings)
    assert result.held == len(kept)
    assert kept <= _ids(store)
    retention.release_hold(store, hold["id"], "case closed", actor="legal")
    retention.purge(store, NOW, settings=settings)
    assert not kept & _ids(store)
    actions = [(e["details"].get("op"), e["reason"]) for e in audit.list_entries(store, action="hold_change")]
    assert actions == [("release", "case closed"), ("add", "case 2025-17")]


def test_per_class_policy(store: Any, tmp_path: Path) -> None:
    """GIVEN keep 365 days, media 30 days, text forever WHEN purged THEN only the old image goes."""
    settings = _settings(tmp_path)
    retention.set_policy(store, 365, classes={"media": 30, "text": 0}, settings=settings)
    retention.purge(store, NOW, settings=settings)
    assert _ids(store) == {"old-internal", "old-customer", "mid-text", "new-internal"}


def test_mask_instead_of_delete(store: Any, tmp_path: Path) -> None:
    """GIVEN action mask WHEN purged THEN old messages stay with names and phone numbers
    masked, keep the hash of the original evidence, and still verify."""
    settings = _settings(tmp_path)
    retention.set_policy(store, 365, action="mask", settings=settings)
    result = retention.purge(store, NOW, settings=settings)
    assert result.masked == 3
    m = store.get_messages(["old-customer"], scope=ALL)[0]
    assert m.masked
    assert "13812345678" not in m.text and "王小明" not in m.text and "13812345678" not in m.raw
    assert m.text == f"我是{MASK * 3}，电话{MASK * 11}"
    assert json.loads(m.raw)["from"] == CUSTOMER  # ids stay
    assert integrity.verify_messages(store).ok
    assert retention.purge(store, NOW, settings=settings).masked == 0  # masking is not repeated


BAD_POLICIES = [
    ("below-legal-minimum", dict(days=100), "legal minimum"),
    ("class-below-minimum", dict(days=0, classes={"media": 30}), "legal minimum"),
    ("negative", dict(days=-1), "negative"),
    ("unknown-action", dict(days=400, action="shred"), "action"),
    ("unknown-class", dict(days=400, classes={"Media Files": 400}), "unknown message class"),
    ("not-a-number", dict(days="a year"), "whole number"),
]


@pytest.mark.parametrize("kwargs,message", [b[1:] for b in BAD_POLICIES], ids=[b[0] for b in BAD_POLICIES])
def test_bad_policy_is_refused_and_nothing_changes(
    store: Any, tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    """GIVEN a legal minimum of 180 days WHEN a bad policy is set THEN BadInput, and the
    policy, the settings log and the audit trail are unchanged."""
    settings = _settings(tmp_path, retention_minimum_days=180)
    retention.set_policy(store, 3650, settings=settings)
    audit_before = store.count_records("audit")
    with pytest.raises(BadInput, match=message):
        retention.set_policy(store, settings=settings, **kwargs)
    assert retention.get_policy(store, settings).to_dict() == {"days": 3650, "action": "delete", "classes": {}}
    assert store.count_records("audit") == audit_before


BAD_HOLDS = [
    ("unknown-kind", ("department", "1", "case 1"), "hold kind"),
    ("empty-value", ("employee", " ", "case 1"), "needs the employee"),
    ("empty-reason", ("employee", "lina", ""), "reason"),
]


@pytest.mark.parametrize("args,message", [b[1:] for b in BAD_HOLDS], ids=[b[0] for b in BAD_HOLDS])
def test_bad_holds_are_refused(store: Any, args: tuple[str, str, str], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        retention.add_hold(store, *args)
    assert retention.list_holds(store) == []


MASKING = [
    ("mobile", "call 13812345678 now", f"call {MASK * 11} now"),
    ("mobile-spaced", "+86 138 1234 5678", MASK * 17),
    ("id-card", "身份证11010519491231002X", f"身份证{MASK * 18}"),
    ("bank-card", "卡号6222 0212 3456 7890 123", f"卡号{MASK * 23}"),
    ("name", "张伟说好的", f"{MASK * 2}说好的"),
    ("short-numbers-stay", "报价 12345 元", "报价 12345 元"),
]


@pytest.mark.parametrize("text,expected", [m[1:] for m in MASKING], ids=[m[0] for m in MASKING])
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text, ["张伟"]) == expected


def test_mask_raw_masks_nested_json_strings_and_keeps_ids() -> None:
    raw = json.dumps(
        {
            "msgid": "1",
            "from": "zhangwei",
            "msgtype": "mixed",
            "mixed": {"item": [{"type": "text", "content": json.dumps({"content": "电话13812345678"})}]},
        }
    )
    masked = json.loads(mask_raw(raw))
    assert masked["from"] == "zhangwei"
    assert "13812345678" not in masked["mixed"]["item"][0]["content"]


# --- the command line ------------------------------------------------------------------------------


def _cli(data: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    from click.testing import CliRunner

    from chatarchive.cli import main

    return CliRunner().invoke(main, ["--data", str(data), "--json", *args], env=env, catch_exceptions=False)


def test_cli_retention_and_holds(tmp_path: Path) -> None:
    """GIVEN a legal minimum of 180 days WHEN a shorter policy is set THEN exit 2 and the
    policy is unchanged; a valid policy, a hold and a dry-run purge report as JSON."""
    data = tmp_path / "data"
    env = {"CHATARCHIVE_RETENTION_MINIMUM_DAYS": "180"}
    refused = _cli(data, "retention", "set", "--days", "30", env=env)
    assert refused.exit_code == 2 and "legal minimum" in refused.stderr
    assert json.loads(_cli(data, "retention", "show", env=env).stdout)["days"] == 0
    ok = _cli(data, "retention", "set", "--days", "365", "--class", "media=200", "--action", "mask", env=env)
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {"days": 365, "action": "mask", "classes": {"media": 200}}
    hold = _cli(data, "holds", "add", "employee", "lina", "--reason", "case 9")
    assert hold.exit_code == 0, hold.output
    hold_id = json.loads(hold.stdout)["id"]
    assert [h["id"] for h in json.loads(_cli(data, "holds", "list").stdout)["holds"]] == [hold_id]
    assert _cli(data, "holds", "add", "employee", "lina", "--reason", "").exit_code == 2
    purge = _cli(data, "retention", "purge", "--dry-run", env=env)
    assert purge.exit_code == 0, purge.output
    assert json.loads(purge.stdout)["dry_run"] is True
    assert _cli(data, "holds", "release", hold_id, "--reason", "closed").exit_code == 0
    assert json.loads(_cli(data, "holds", "list").stdout)["holds"] == []
