"""The `rules` and `violations` commands, driven through the real CLI on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.models import Batch, Message
from store.embedded import EmbeddedStore
from tests.helpers import cli

T0 = 1_700_000_000_000


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    p = tmp_path / "kb.yaml"
    p.write_text(
        yaml.safe_dump(
            [{"name": "回扣", "severity": "high", "keywords": ["回扣", "返点"], "pinyin": True, "allow": ["来回扣"]}],
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return p


def test_add_list_disable_enable(data_dir: Path, rule_file: Path) -> None:
    ids = cli("rules", "add", str(rule_file), data=data_dir)["ids"]
    assert len(ids) == 1
    again = cli("rules", "add", str(rule_file), data=data_dir)["ids"]
    assert again == ids  # same name and content: the same rule, no new version
    rules = cli("rules", "list", data=data_dir)["rules"]
    assert [(r["id"], r["name"], r["version"], r["enabled"]) for r in rules] == [(ids[0], "回扣", 1, True)]
    rule_file.write_text(rule_file.read_text(encoding="utf-8").replace("high", "medium"), encoding="utf-8")
    assert cli("rules", "add", str(rule_file), data=data_dir)["ids"] == ids
    assert cli("rules", "disable", ids[0], data=data_dir) == {"id": ids[0], "version": 3, "enabled": False}
    assert cli("rules", "list", "--enabled-only", data=data_dir)["rules"] == []
    assert cli("rules", "enable", ids[0], data=data_dir)["enabled"] is True
    assert [v["version"] for v in cli("rules", "history", ids[0], data=data_dir)["versions"]] == [1, 2, 3, 4]


def test_starter_pack_installs(data_dir: Path) -> None:
    ids = cli("rules", "add", "--starter", data=data_dir)["ids"]
    names = {r["name"] for r in cli("rules", "list", data=data_dir)["rules"]}
    assert len(ids) == len(names) >= 9
    assert {"承诺收益", "私下交易", "回扣返点", "手机号", "身份证号", "银行卡号", "红包", "文件外发"} <= names


BAD_FILES = [
    ("unknown field", '{"name": "x", "keywords": ["a"], "colour": 1}', "colour"),
    ("bad regex", '{"name": "x", "regex": ["(?<=a)b"]}', "regex"),
    ("not yaml", "name: [unclosed", "not valid JSON or YAML"),
    ("second rule bad", '[{"name": "ok", "keywords": ["a"]}, {"name": "bad"}]', "nothing to match"),
]


@pytest.mark.parametrize("content,needle", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_a_bad_rule_file_is_exit_2_and_saves_nothing(data_dir: Path, tmp_path: Path, content: str, needle: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content, encoding="utf-8")
    result = cli("rules", "add", str(f), data=data_dir, expect=2)
    assert needle in result.stderr and "Traceback" not in result.output
    assert cli("rules", "list", data=data_dir)["rules"] == []


def test_rules_test_on_a_sample_message(data_dir: Path, rule_file: Path) -> None:
    out = cli("rules", "test", str(rule_file), "--text", "老规矩，回-扣月底给你", data=data_dir)
    assert out["matched"] is True
    [m] = out["matches"]
    assert m["terms"] == ["回扣"] and m["spans"] == [[4, 7]] and m["rule"]
    assert cli("rules", "test", str(rule_file), "--text", "快递费来回扣款了", data=data_dir) == {
        "matched": False,
        "matches": [],
    }


def test_rules_test_behaviours_use_msgtype(data_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "rp.json"
    f.write_text(json.dumps({"name": "红包", "behaviours": ["redpacket"]}), encoding="utf-8")
    assert cli("rules", "test", str(f), "--text", "恭喜发财", "--msgtype", "redpacket", data=data_dir)["matched"]
    assert not cli("rules", "test", str(f), "--text", "恭喜发财", data=data_dir)["matched"]


def test_backtest_and_violations_list(data_dir: Path, rule_file: Path) -> None:
    store = EmbeddedStore(data_dir)
    store.init()
    msgs = [
        Message(
            msgid=f"m{i}",
            seq=i,
            action="send",
            msgtype="text",
            time_ms=T0 + i * 3_600_000,
            sender="zs",
            sender_kind="employee",
            receivers=[],
            roomid="",
            chat_id="zs|wmx",
            chat_kind="external",
            text=t,
            raw=str(i),
            employees=["zs"],
        )
        for i, t in enumerate(["给你回扣", "你好", "hui kou 照旧"], 1)
    ]
    store.write_batch(Batch(messages=msgs, checkpoint=3))
    store.close()
    [rid] = cli("rules", "add", str(rule_file), data=data_dir)["ids"]
    bt = cli("rules", "backtest", rid, data=data_dir)
    assert bt["total"] == 2 and sum(bt["by_day"].values()) == 2
    assert [s["msgid"] for s in bt["sample"]] == ["m1", "m3"]
    windowed = cli("rules", "backtest", rid, "--from", str(T0 + 2 * 3_600_000), data=data_dir)
    assert windowed["total"] == 1
    assert cli("rules", "backtest", rid, "--from", "yesterday", data=data_dir, expect=2)
    assert cli("violations", "list", data=data_dir) == {"total": 0, "items": []}


def test_export_reimports_and_keyword_import(data_dir: Path, rule_file: Path, tmp_path: Path) -> None:
    cli("rules", "add", str(rule_file), data=data_dir)
    out = tmp_path / "export.yaml"
    cli("rules", "export", "--out", str(out), data=data_dir)
    other = tmp_path / "other"
    other.mkdir()
    cli("rules", "add", str(out), data=other)
    assert [r["keywords"] for r in cli("rules", "list", data=other)["rules"]] == [["回扣", "返点"]]
    kw = tmp_path / "kw.txt"
    kw.write_text("私下转账,私下交易，加我微信\n返点", encoding="utf-8")
    res = cli("rules", "import-keywords", str(kw), "--name", "导入词表", "--severity", "high", data=data_dir)
    assert res["keywords"] == 4
    assert cli("rules", "disable", "no-such-rule", data=data_dir, expect=2)
