"""`chatarchive search | context | stats` on the embedded store, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatarchive.cli import main
from core.models import Batch
from store.embedded import EmbeddedStore
from tests.conformance.corpus import BASE_MS, Factory


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory with five messages: zhangsan↔lisi (department 2) and wangwu↔sunqi."""
    f = Factory()
    msgs = [
        f.message("我们需要验证一下客户身份", msgid="a1", seq=1, sender="zhangsan", to=["lisi"]),
        f.message("给你百分之五的回扣", msgid="a2", seq=2, sender="lisi", to=["zhangsan"]),
        f.message("回扣的事别说出去", msgid="a3", seq=3, sender="zhangsan", to=["lisi"]),
        f.message("明天开会讨论回扣问题", msgid="b1", seq=4, sender="wangwu", to=["sunqi"]),
        f.message("<b>好的</b>", msgid="b2", seq=5, sender="sunqi", to=["wangwu"]),
    ]
    store = EmbeddedStore(tmp_path / "data")
    store.init()
    store.write_batch(Batch(messages=msgs, checkpoint=5))
    store.close()
    return tmp_path / "data"


def run(data: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--data", str(data), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_search_json_has_the_contract_shape(data: Path) -> None:
    """GIVEN stored messages WHEN `search --json` runs THEN one JSON document with total, took_ms and highlighted
    hits, newest first."""
    code, out, _ = run(data, "--json", "search", "回扣")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"total", "took_ms", "hits"} and doc["total"] == 3 and doc["took_ms"] >= 0
    assert [h["msgid"] for h in doc["hits"]] == ["b1", "a3", "a2"]
    assert set(doc["hits"][0]) == {"msgid", "seq", "time", "sender", "chat", "msgtype", "highlight"}
    assert doc["hits"][0]["highlight"] == "明天开会讨论<mark>回扣</mark>问题"
    assert doc["hits"][0]["time"] == BASE_MS + 4 * 60_000 and doc["hits"][0]["chat"] == "sunqi|wangwu"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["回扣", "--sender", "zhangsan"], ["a3"]),
        (["回扣", "--chat", "lisi|zhangsan", "--limit", "1"], ["a3"]),
        (['"回扣" -"说出去"'], ["b1", "a2"]),
        (["回扣", "--from", str(BASE_MS + 3 * 60_000), "--to", str(BASE_MS + 4 * 60_000)], ["a3"]),
        (["", "--msgtype", "text", "--limit", "2"], ["b2", "b1"]),
    ],
    ids=["sender", "chat-limit", "phrase-not", "time-range", "match-all"],
)
def test_search_options(data: Path, args: list[str], expected: list[str]) -> None:
    code, out, _ = run(data, "--json", "search", *args)
    assert code == 0 and [h["msgid"] for h in json.loads(out)["hits"]] == expected


@pytest.mark.parametrize("query", ['"未闭合', "(回扣", "OR"], ids=["quote", "paren", "lonely-or"])
def test_bad_query_exits_2_with_one_line(data: Path, query: str) -> None:
    """GIVEN a malformed query WHEN searched THEN exit 2, a one-line message naming the position, nothing on stdout."""
    code, out, err = run(data, "--json", "search", query)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_bad_time_exits_2(data: Path) -> None:
    code, _, err = run(data, "search", "回扣", "--from", "yesterday")
    assert code == 2 and "--from" in err


def test_context_json(data: Path) -> None:
    """GIVEN a message in a chat of three WHEN `context --json` THEN its conversation, complete messages, in time
    order."""
    code, out, _ = run(data, "--json", "context", "a2", "--before", "1", "--after", "5")
    assert code == 0
    messages = json.loads(out)["messages"]
    assert [m["msgid"] for m in messages] == ["a1", "a2", "a3"]
    assert messages[1]["raw"] and messages[1]["text"] == "给你百分之五的回扣"
    code, _, err = run(data, "context", "nope")
    assert code == 2 and "nope" in err


def test_stats_json(data: Path) -> None:
    code, out, _ = run(data, "--json", "stats")
    assert code == 0
    assert json.loads(out) == {
        "messages": 5,
        "violations": 0,
        "deadletter": 0,
        "last_seq": 5,
        "by_msgtype": {"text": 5},
        "versions": 0,
    }


def test_search_as_an_account_uses_its_scope(data: Path) -> None:
    """GIVEN an auditor scoped to department 2 WHEN searching --as that account THEN only department 2's messages are
    counted."""
    accounts = pytest.importorskip("compliance.accounts")
    store = EmbeddedStore(data)
    accounts.create_account(store, "auditor2", "auditor", "a-long-enough-password-1", scope_departments=[2])
    store.close()
    code, out, _ = run(data, "--json", "search", "回扣", "--as", "auditor2")
    assert code == 0 and [h["msgid"] for h in json.loads(out)["hits"]] == ["a3", "a2"]
    code, out, _ = run(data, "--json", "stats", "--as", "auditor2")
    assert json.loads(out)["messages"] == 3
    code, _, err = run(data, "--json", "search", "回扣", "--as", "nobody")
    assert code == 2 and "nobody" in err
