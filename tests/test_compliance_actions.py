"""chatarchive.actions: every compliance action writes exactly one audit entry (views once per visit),
refused and out-of-scope attempts are audited, ``--as`` records the operator, backtests respect roles."""

from __future__ import annotations

import html
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatarchive import actions
from chatarchive.archive import Archive
from compliance import accounts as acc
from compliance import audit
from compliance.access import scope_for
from compliance.masking import MASK, mask_outside_spans
from compliance.rulestore import get_rule
from core.errors import BadInput, PermissionDenied
from core.models import ALL, Batch, Message, SearchRequest, ViolationFilter
from tests.helpers import STRONG_PASSWORD, cli, open_test_store

T0 = 1_767_225_600_000  # 2026-01-01 08:00 Asia/Shanghai
CUSTOMER = "wmcustomer0000000000001"
# (employee, departments, text): zhangsan is in department 2, lisi in department 3.
SCRIPT = [
    ("zhangsan", [2, 1], "这单成了给你回扣，电话13812345678"),
    ("zhangsan", [2, 1], "今天天气不错"),
    ("zhangsan", [2, 1], "回扣照旧 <b>老地方</b>"),
    ("lisi", [3, 1], "回扣另算，别声张"),
    ("lisi", [3, 1], "好的收到"),
]
CHAT_ZS, CHAT_LS = f"zhangsan|{CUSTOMER}", f"lisi|{CUSTOMER}"


def _messages() -> list[Message]:
    return [
        Message(
            msgid=f"m{i}",
            seq=i,
            action="send",
            msgtype="text",
            time_ms=T0 + i * 60_000,
            sender=user,
            sender_kind="employee",
            receivers=[CUSTOMER],
            roomid="",
            chat_id=f"{user}|{CUSTOMER}",
            chat_kind="external",
            text=text,
            raw=json.dumps({"i": i}),
            employees=[user],
            departments=depts,
        )
        for i, (user, depts, text) in enumerate(SCRIPT, 1)
    ]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive, built once (argon2 hashing is slow on purpose); each test works on a copy."""
    data_dir = tmp_path_factory.mktemp("actions") / "data"
    store = open_test_store(data_dir)
    try:
        store.write_batch(Batch(messages=_messages(), checkpoint=len(SCRIPT)))
        acc.create_account(store, "root", "super", STRONG_PASSWORD)
        acc.create_account(store, "aud2", "auditor", STRONG_PASSWORD, [2])
        acc.create_account(store, "ruler", "rule-editor", STRONG_PASSWORD, [1])
        acc.create_account(store, "ruler2", "rule-editor", STRONG_PASSWORD, [2])
        acc.create_account(store, "boss", "viewer", STRONG_PASSWORD, [1])
        acc.create_account(store, "gone", "auditor", STRONG_PASSWORD, [1])
        acc.set_disabled(store, "gone", True, actor="root")
    finally:
        store.close()
    return data_dir


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(template, copy)
    return copy


@pytest.fixture
def base(data: Path) -> Iterator[Archive]:
    archive = Archive.open(data=str(data))
    _ = archive.store  # open now, so the account views share it
    yield archive
    archive.close()


def account(base: Archive, name: str) -> Archive:
    """The archive as a dashboard session of ``name`` sees it (no operator)."""
    record = acc.get_account(base.store, name)
    assert record is not None
    return base.as_account(name, record["role"], scope_for(record))


def trail(archive: Archive, action: str | None = None) -> list[dict[str, Any]]:
    """Audit entries, oldest first."""
    return list(reversed(audit.list_entries(archive.store, action=action, limit=None)))


def new_visit() -> str:
    return uuid.uuid4().hex  # the dedup memory is per process: every test gets its own visits


def _rule(base: Archive) -> str:
    return actions.save_rule(base, {"name": "回扣", "keywords": ["回扣"]}).id


# --- views ---------------------------------------------------------------------------------------


def test_a_view_is_audited_once_per_visit_account_conversation_and_reason(base: Archive) -> None:
    """GIVEN an auditor WHEN the same conversation is shown three times in one visit with one reason THEN one
    entry; another reason, another visit or another conversation is one more entry each."""
    aud = account(base, "aud2")
    visit = new_visit()
    for _ in range(3):
        shown = actions.view_conversation(aud, CHAT_ZS, "投诉核查 #1", visit=visit)
    assert [m.msgid for m in shown] == ["m1", "m2", "m3"]
    assert len(trail(base, "view_conversation")) == 1
    actions.view_conversation(aud, CHAT_ZS, "投诉核查 #2", visit=visit)
    actions.view_conversation(aud, CHAT_ZS, "投诉核查 #2", visit=new_visit())
    views = trail(base, "view_conversation")
    assert len(views) == 3
    assert all(v["actor"] == "aud2" and v["target"] == CHAT_ZS and "operator" not in v["details"] for v in views)
    assert [v["reason"] for v in views] == ["投诉核查 #1", "投诉核查 #2", "投诉核查 #2"]


def test_a_view_whose_audit_write_failed_is_not_shown_and_is_written_next_time(
    base: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the audit write fails once (e.g. a full disk) WHEN a view is tried THEN nothing is shown; the
    rerun of the same view writes its entry and shows the messages."""
    aud, visit = account(base, "aud2"), new_visit()
    real = audit.record

    def failing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        monkeypatch.setattr(audit, "record", real)
        raise OSError("disk full")

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(OSError):
        actions.view_conversation(aud, CHAT_ZS, "复核", visit=visit)
    assert trail(base, "view_conversation") == []
    assert len(actions.view_conversation(aud, CHAT_ZS, "复核", visit=visit)) == 3
    assert len(trail(base, "view_conversation")) == 1


def test_without_a_visit_every_view_is_audited(base: Archive) -> None:
    aud = account(base, "aud2")
    for _ in range(2):
        actions.view_context(aud, "m1", "复核", before=1, after=1)
    assert len(trail(base, "view_conversation")) == 2


def test_a_view_needs_a_reason_and_writes_nothing_without_one(base: Archive) -> None:
    with pytest.raises(BadInput, match="reason"):
        actions.view_conversation(account(base, "aud2"), CHAT_ZS, " ", visit=new_visit())
    assert trail(base, "view_conversation") == []


def test_an_out_of_scope_conversation_is_refused_and_audited_once_per_visit(base: Archive) -> None:
    aud, visit = account(base, "aud2"), new_visit()
    for _ in range(2):
        with pytest.raises(PermissionDenied, match="outside your scope"):
            actions.view_conversation(aud, CHAT_LS, "好奇", visit=visit)
    [entry] = trail(base, "view_conversation")
    assert entry["details"]["denied"] == "outside the account's scope" and entry["reason"] == "好奇"


def test_context_outside_the_scope_answers_like_an_unknown_message_but_is_audited(base: Archive) -> None:
    aud = account(base, "aud2")
    with pytest.raises(BadInput) as outside:
        actions.view_context(aud, "m4", "复核")
    with pytest.raises(BadInput) as unknown:
        actions.view_context(aud, "no-such-msg", "复核")
    assert str(outside.value).replace("m4", "X") == str(unknown.value).replace("no-such-msg", "X")
    [entry] = trail(base, "view_conversation")
    assert entry["target"] == "m4" and entry["details"]["denied"]


REFUSED = [
    ("viewer-views", "boss", lambda a: actions.view_conversation(a, CHAT_ZS, "看看"), "view_conversation"),
    ("viewer-searches", "boss", lambda a: actions.search(a, SearchRequest(query="回扣")), "search"),
    (
        "viewer-exports",
        "boss",
        lambda a: actions.export(a, "回扣", "jsonl", a.settings.data_dir / "x.jsonl", "审计"),
        "export",
    ),
    ("editor-reviews", "ruler", lambda a: actions.review_violation(a, "m1:r", "confirmed", ""), "review"),
    ("viewer-adds-an-exception", "boss", lambda a: actions.add_rule_exception(a, "r", "回扣另算"), "rule_change"),
    ("auditor-edits-a-rule", "aud2", lambda a: actions.save_rule(a, {"name": "x", "keywords": ["x"]}), "rule_change"),
    ("auditor-backtests", "aud2", lambda a: actions.backtest_rule(a, get_rule(a.store, "r")), "rule_change"),
]


@pytest.mark.parametrize("name,attempt,action", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_an_attempt_the_role_does_not_allow_is_refused_and_audited(
    base: Archive, name: str, attempt: Any, action: str
) -> None:
    actions.save_rule(base, {"id": "r", "name": "回扣", "keywords": ["回扣"]})
    before = len(trail(base))
    with pytest.raises(PermissionDenied):
        attempt(account(base, name))
    new = trail(base)[before:]
    assert len(new) == 1
    assert new[0]["action"] == action and new[0]["actor"] == name and "may not" in new[0]["details"]["denied"]
    assert not list((base.settings.data_dir).glob("x.jsonl*"))


# --- rule changes and reviews --------------------------------------------------------------------


def test_each_rule_change_writes_exactly_one_entry_and_a_no_op_none(base: Archive) -> None:
    """GIVEN a rule editor WHEN saving, saving unchanged, adding an exception (twice), disabling and applying
    retroactively THEN one rule_change entry per real change, each naming its kind and version."""
    ruler = account(base, "ruler")
    rule_id = actions.save_rule(ruler, {"name": "回扣", "keywords": ["回扣"]}).id
    actions.save_rule(ruler, {"name": "回扣", "keywords": ["回扣"]})
    actions.add_rule_exception(ruler, rule_id, "回扣另算", violation_id="m4:" + rule_id)
    actions.add_rule_exception(ruler, rule_id, "回扣另算")
    actions.set_rule_enabled(ruler, rule_id, False)
    stored = actions.apply_rule_retroactively(ruler, rule_id)
    changes = trail(base, "rule_change")
    assert [(c["details"]["change"], c["details"]["version"]) for c in changes] == [
        ("created", 1),
        ("exception", 2),
        ("disabled", 3),
        ("retroactive", 3),
    ]
    assert changes[1]["details"]["phrase"] == "回扣另算" and changes[1]["details"]["violation"] == f"m4:{rule_id}"
    assert changes[3]["details"]["violations"] == stored == 2  # m1, m3 (m4 is now an exception)
    assert audit.verify(base.store).ok


def test_a_review_decision_writes_one_entry_and_out_of_scope_is_refused(base: Archive) -> None:
    rule_id = _rule(base)
    actions.apply_rule_retroactively(base, rule_id)
    aud = account(base, "aud2")
    before = len(trail(base))
    actions.review_violation(aud, f"m1:{rule_id}", "confirmed", "确认")
    assert [e["action"] for e in trail(base)[before:]] == ["review"]
    with pytest.raises(PermissionDenied, match="outside your scope"):
        actions.review_violation(aud, f"m4:{rule_id}", "false_positive", "不是")
    denied = trail(base)[-1]
    assert denied["action"] == "review" and denied["details"]["denied"] == "outside the account's scope"
    _, [m4] = base.store.list_violations(ViolationFilter(msgids=["m4"]), scope=ALL)
    assert m4.status == "unreviewed"
    before = len(trail(base))
    with pytest.raises(BadInput, match="no violation"):
        actions.review_violation(aud, f"m2:{rule_id}", "confirmed", "")
    assert len(trail(base)) == before


# --- the command line: --as records the operator -------------------------------------------------


def _cli_trail(data: Path) -> list[dict[str, Any]]:
    return list(reversed(cli("audit", "list", "--limit", "1000", data=data)["entries"]))


def test_search_as_an_account_records_the_operator(data: Path) -> None:
    hits = cli("search", "回扣", "--as", "aud2", data=data)
    assert {h["msgid"] for h in hits["hits"]} == {"m1", "m3"}
    entry = _cli_trail(data)[-1]
    assert entry["action"] == "search" and entry["actor"] == "aud2"
    assert re.fullmatch(r"cli:\S+", entry["details"]["operator"])


@pytest.mark.parametrize(
    "name,code", [("boss", 1), ("gone", 2), ("nobody", 2)], ids=["no-permission", "disabled", "unknown"]
)
def test_a_refused_as_is_audited_with_the_operator(data: Path, name: str, code: int) -> None:
    before = len(_cli_trail(data))
    result = cli("search", "回扣", "--as", name, data=data, expect=code)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    [entry] = _cli_trail(data)[before:]
    assert entry["action"] == "search" and entry["details"]["denied"]
    if name == "boss":  # the account acted (refused by its role): the operator is recorded beside it
        assert entry["actor"] == "boss" and entry["details"]["operator"].startswith("cli:")
    else:  # no account to act as: the operator's own attempt, naming the account
        assert entry["actor"].startswith("cli:") and entry["details"]["as"] == name


def test_context_as_an_account_outside_its_scope_is_refused_and_audited(data: Path) -> None:
    cli("context", "m4", "--as", "aud2", data=data, expect=2)
    entry = _cli_trail(data)[-1]
    assert entry["actor"] == "aud2" and entry["target"] == "m4" and entry["details"]["denied"]
    shown = cli("context", "m1", "--as", "aud2", "--reason", "复核", data=data)
    assert [m["msgid"] for m in shown["messages"]] == ["m1", "m2", "m3"]
    entry = _cli_trail(data)[-1]
    assert entry["reason"] == "复核" and entry["details"]["operator"].startswith("cli:")


def test_export_as_an_account_writes_one_entry_with_the_operator(data: Path, tmp_path: Path) -> None:
    before = len(_cli_trail(data))
    out = tmp_path / "e.jsonl"
    assert (
        cli(
            "export", "回扣", "--format", "jsonl", "--out", str(out), "--reason", "监管调取", "--as", "aud2", data=data
        )["count"]
        == 2
    )
    [entry] = _cli_trail(data)[before:]
    assert entry["action"] == "export" and entry["actor"] == "aud2" and entry["details"]["operator"].startswith("cli:")


# --- backtests respect roles ---------------------------------------------------------------------


def _unmark(marked: str) -> str:
    return html.unescape(marked.replace("<mark>", "").replace("</mark>", ""))


def test_a_rule_editor_sees_counts_explanations_and_masked_samples_only(base: Archive) -> None:
    """GIVEN a rule editor (may not view messages) WHEN backtesting THEN the total equals a brute-force count,
    each sample has the rule's explanation, and its text is the message with everything but the hits masked
    (compared with the message itself); nothing is audited."""
    rule = get_rule(base.store, _rule(base))
    before = len(trail(base))
    result = actions.backtest_rule(account(base, "ruler"), rule, sample=10)
    texts = {m.msgid: m.text for m in _messages()}
    assert result["total"] == sum("回扣" in t for t in texts.values()) == 3
    assert not result["texts_shown"]
    for sample in result["sample"]:
        original, shown = texts[sample["msgid"]], _unmark(sample["text"])
        assert len(shown) == len(original)
        for i, (a, b) in enumerate(zip(original, shown)):
            inside = any(s <= i < e for s, e in sample["spans"])
            assert b == (a if inside or a.isspace() else MASK)
        assert sample["explanation"]
        assert "13812345678" not in sample["text"] and "<b>" not in sample["text"]
    assert actions.backtest_rule(account(base, "ruler2"), rule)["total"] == 2  # within the editor's scope
    assert len(trail(base)) == before


def test_a_rule_editor_asking_for_texts_is_refused_and_audited(base: Archive) -> None:
    rule = get_rule(base.store, _rule(base))
    with pytest.raises(PermissionDenied, match="masked"):
        actions.backtest_rule(account(base, "ruler"), rule, reason="调规则")
    entry = trail(base)[-1]
    assert entry["action"] == "view_conversation" and entry["actor"] == "ruler" and entry["details"]["denied"]


def test_a_role_that_may_view_sees_the_texts_with_a_reason_audited_once_per_visit(base: Archive) -> None:
    rule = get_rule(base.store, _rule(base))
    root, visit = account(base, "root"), new_visit()
    for _ in range(2):
        result = actions.backtest_rule(root, rule, reason="规则调优", visit=visit)
    assert result["texts_shown"] and result["total"] == 3
    assert [_unmark(s["text"]) for s in result["sample"]] == [SCRIPT[0][2], SCRIPT[2][2], SCRIPT[3][2]]
    [entry] = trail(base, "view_conversation")
    assert entry["target"] == f"backtest:{rule.id}" and entry["details"]["msgids"] == ["m1", "m3", "m4"]


def test_cli_backtest_is_masked_unless_a_reason_is_given(data: Path, tmp_path: Path) -> None:
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(json.dumps({"name": "回扣", "keywords": ["回扣"]}, ensure_ascii=False), encoding="utf-8")
    [rule_id] = cli("rules", "add", str(rule_file), data=data)["ids"]
    masked = cli("rules", "backtest", rule_id, "--as", "ruler", data=data)
    assert masked["total"] == 3 and not masked["texts_shown"]
    assert all("<mark>回扣</mark>" in s["text"] and "天气" not in s["text"] for s in masked["sample"])
    cli("rules", "backtest", rule_id, "--as", "ruler", "--reason", "调规则", data=data, expect=1)
    shown = cli("rules", "backtest", rule_id, "--reason", "规则调优", data=data)
    assert shown["texts_shown"] and "这单成了给你<mark>回扣</mark>" in shown["sample"][0]["text"]
    entry = _cli_trail(data)[-1]
    assert entry["action"] == "view_conversation" and entry["reason"] == "规则调优"


@given(
    st.text(alphabet="回扣 ab\n　x", max_size=30),
    st.lists(st.tuples(st.integers(-3, 35), st.integers(-3, 35)), max_size=4),
)
def test_masking_keeps_exactly_the_span_characters_and_whitespace(text: str, spans: list[tuple[int, int]]) -> None:
    """Property: each character survives iff it lies in a span or is whitespace (brute force per index)."""
    masked = mask_outside_spans(text, spans)
    assert len(masked) == len(text)
    for i, c in enumerate(text):
        keep = c.isspace() or any(s <= i < e for s, e in spans)
        assert masked[i] == (c if keep else MASK)
