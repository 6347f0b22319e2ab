"""A small real archive for the dashboard tests, built once per session.

Decrypted WeCom message JSON goes through the real import pipeline (normalization, the
jieba analyzer, the rule engine with rules saved through the rules store, first-response
times) into a real embedded store; accounts are created through compliance.accounts.
The dashboard finds the archive through CHATARCHIVE_DATA, as under ``chatarchive serve``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatarchive.archive import Archive
from tests.helpers import STRONG_PASSWORD

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = STRONG_PASSWORD
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")

ORG: dict[str, Any] = {
    "corp": {"corpid": "wwtest", "name": "测试理财"},
    "departments": [
        {"id": 1, "name": "总部", "parentid": 0},
        {"id": 2, "name": "理财部", "parentid": 1},
        {"id": 3, "name": "客服部", "parentid": 1},
    ],
    "employees": [
        {"userid": "zhangwei", "name": "张伟", "position": "理财经理", "departments": [2], "status": "active"},
        {"userid": "lina", "name": "李娜", "position": "客服", "departments": [3], "status": "active"},
        {
            "userid": "wangqiang",
            "name": "王强",
            "position": "理财经理",
            "departments": [2],
            "status": "left",
            "archived_until": 1_700_000_000_000,
        },
    ],
    "externals": [
        {
            "id": "wmCustomerZhaoXin000001",
            "name": "赵鑫",
            "type": "wechat",
            "added_ms": 1_767_225_600_000,
            "followers": ["zhangwei"],
            "source": "企业微信",
        },
        {
            "id": "wmCustomerQianDuo000002",
            "name": "钱多多",
            "type": "wechat",
            "added_ms": 1_767_312_000_000,
            "followers": ["lina"],
            "source": "企业微信",
        },
        {
            "id": "wmCustomerSunLi00000003",
            "name": "孙丽",
            "type": "wecom",
            "added_ms": 1_767_312_000_000,
            "followers": ["wangqiang", "zhangwei"],
            "source": "企业微信",
        },
    ],
    "groups": [
        {
            "roomid": "wrGroupVIP0000000000001",
            "name": "VIP客户群",
            "owner": "zhangwei",
            "kind": "external",
            "members": ["zhangwei", "lina", "wmCustomerZhaoXin000001"],
            "created_ms": 1_767_225_600_000,
        },
    ],
}

ZHAO, QIAN, SUN = "wmCustomerZhaoXin000001", "wmCustomerQianDuo000002", "wmCustomerSunLi00000003"
GROUP = "wrGroupVIP0000000000001"

# (day of Jan 2026, hh:mm, sender, receivers, roomid, text): a few conversations with planted hits.
SCRIPT: list[tuple[int, str, str, list[str], str, str]] = [
    (5, "09:00", ZHAO, ["zhangwei"], "", "你好，我想了解一下理财产品"),
    (5, "09:03", "zhangwei", [ZHAO], "", "您好，这款产品保证收益，年化百分之六"),
    (5, "09:05", ZHAO, ["zhangwei"], "", "手续费可以私下转账给你吗"),
    (5, "09:20", "zhangwei", [ZHAO], "", "可以的，<b>我</b>把账号发给您 & 您确认"),
    (6, "10:00", ZHAO, ["zhangwei"], "", "还有一个问题想咨询"),
    (6, "14:00", QIAN, ["lina"], "", "我的账户登录不上了"),
    (6, "14:02", "lina", [QIAN], "", "请您先重置密码试试"),
    (6, "14:30", QIAN, ["lina"], "", "好的谢谢，能给点返点吗"),
    (7, "11:00", "zhangwei", ["lina"], "", "明天的会议改到下午"),
    (7, "11:05", "lina", ["zhangwei"], "", "收到"),
    (7, "16:00", "zhangwei", ["lina", ZHAO], GROUP, "各位好，本周市场回顾已发群文件"),
    (7, "16:10", ZHAO, ["zhangwei", "lina"], GROUP, "收到，有回扣吗哈哈"),
    (8, "09:30", SUN, ["wangqiang"], "", "王经理，上次说的产品还有吗"),
    (8, "09:45", "wangqiang", [SUN], "", "有的，稳赚不赔"),
]
FILLER = ["好的", "收到", "明白了", "谢谢", "请稍等", "我查一下", "没问题", "下午联系您"]


def _ms(day: int, hhmm: str) -> int:
    hour, minute = map(int, hhmm.split(":"))
    return int(datetime(2026, 1, day, hour, minute, tzinfo=TZ).timestamp() * 1000)


def message_lines() -> list[str]:
    """The archive's messages as WeCom's decrypted JSON: the script, filler chatter, an image and a revoke."""
    lines: list[dict[str, Any]] = []
    for i, (day, hhmm, sender, receivers, roomid, text) in enumerate(SCRIPT):
        lines.append(
            {
                "msgid": f"m{i:04d}",
                "action": "send",
                "from": sender,
                "tolist": receivers,
                "roomid": roomid,
                "msgtime": _ms(day, hhmm),
                "msgtype": "text",
                "text": {"content": text},
            }
        )
    # Filler between lina and 钱多多 over a few days, so pages and charts have volume.
    for j in range(60):
        sender, receiver = ("lina", QIAN) if j % 2 else (QIAN, "lina")
        lines.append(
            {
                "msgid": f"f{j:04d}",
                "action": "send",
                "from": sender,
                "tolist": [receiver],
                "roomid": "",
                "msgtime": _ms(10 + j // 20, f"{9 + (j % 20) // 3:02d}:{(j * 7) % 60:02d}"),
                "msgtype": "text",
                "text": {"content": FILLER[j % len(FILLER)]},
            }
        )
    lines.append(
        {
            "msgid": "img0001",
            "action": "send",
            "from": ZHAO,
            "tolist": ["zhangwei"],
            "roomid": "",
            "msgtime": _ms(6, "10:01"),
            "msgtype": "image",
            "image": {"md5sum": "0" * 32, "filesize": 10, "sdkfileid": "sdkfile-image-1"},
        }
    )
    lines.append(
        {
            "msgid": "rv0001",
            "action": "recall",
            "from": "zhangwei",
            "tolist": [ZHAO],
            "roomid": "",
            "msgtime": _ms(5, "09:21"),
            "msgtype": "revoke",
            "revoke": {"pre_msgid": "m0003"},
        }
    )
    return [json.dumps(x, ensure_ascii=False) for x in lines]


@dataclass
class DashboardArchive:
    data: Path
    accounts: dict[str, str]  # role → account name

    def archive(self) -> Archive:
        """A second handle on the same store, to check what the dashboard wrote."""
        return Archive.open(data=str(self.data))


def build(data: Path) -> DashboardArchive:
    from compliance.accounts import create_account
    from compliance.rulestore import save_rule
    from indexer.pipeline import Pipeline
    from store.directory import save_directory

    archive = Archive.open(data=str(data))
    try:
        store = archive.store
        save_directory(archive.store, ORG)
        save_rule(
            store,
            {
                "name": "私下交易监控",
                "category": "私下交易",
                "severity": "high",
                "keywords": ["私下转账", "回扣", "返点"],
            },
            "test",
        )
        save_rule(
            store,
            {"name": "承诺收益", "category": "销售合规", "severity": "medium", "keywords": ["保证收益", "稳赚不赔"]},
            "test",
        )
        pipeline = Pipeline.for_import(archive)
        counts = pipeline.import_lines(message_lines())
        assert counts["deadletter"] == 0, counts
        accounts = {"super": "admin", "auditor": "auditor-cs", "rule-editor": "ruler", "viewer": "boss"}
        create_account(store, "admin", "super", PASSWORD)
        create_account(store, "auditor-cs", "auditor", PASSWORD, scope_departments=[3])  # 客服部 only
        create_account(store, "auditor-all", "auditor", PASSWORD, scope_departments=[1])
        create_account(store, "ruler", "rule-editor", PASSWORD, scope_departments=[1])
        create_account(store, "boss", "viewer", PASSWORD, scope_departments=[1])
        return DashboardArchive(data, accounts)
    finally:
        archive.close()


@pytest.fixture(scope="session")
def dash_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardArchive]:
    data = tmp_path_factory.mktemp("dashboard") / "data"
    data.mkdir()
    built = build(data)
    old = os.environ.get("CHATARCHIVE_DATA")
    os.environ["CHATARCHIVE_DATA"] = str(data)
    try:
        yield built
    finally:
        if old is None:
            os.environ.pop("CHATARCHIVE_DATA", None)
        else:
            os.environ["CHATARCHIVE_DATA"] = old
