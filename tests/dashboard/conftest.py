"""A small real archive for the dashboard tests, built once per session.

Decrypted WeCom message JSON goes through the real import pipeline (normalization, the
jieba analyzer, the rule engine with rules saved through the rules store, first-response
times) into a real embedded store; accounts are created through compliance.accounts.
The dashboard finds the archive through CHATARCHIVE_DATA, as under ``chatarchive serve``.
"""

from __future__ import annotations

import json
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
        {"userid": "zhoujie", "name": "周杰", "position": "理财顾问", "departments": [2], "status": "active"},
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
        {
            "id": "woCustomerZhouMei000004",
            "name": "周梅",
            "type": "wecom",
            "corp": "周氏贸易",
            "added_ms": 1_767_312_000_000,
            "followers": ["zhoujie"],
            "remark": "周总",
            "tags": ["高净值"],
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
        {
            "roomid": "wrGroupNotice00000000002",
            "name": "内部通知群",
            "owner": "zhoujie",
            "kind": "internal",
            "members": ["zhoujie", "lina"],
            "created_ms": 1_767_225_600_000,
        },
    ],
}

ZHAO, QIAN, SUN = "wmCustomerZhaoXin000001", "wmCustomerQianDuo000002", "wmCustomerSunLi00000003"
ZHOU = "woCustomerZhouMei000004"  # the viewer's chat partner
GROUP = "wrGroupVIP0000000000001"
NOTICE_GROUP = "wrGroupNotice00000000002"
ROBOT = "wbRobotDailyReport0000000000001"
ORG["robots"] = [
    {"id": ROBOT, "name": "日报机器人", "groups": [NOTICE_GROUP]}
]  # kept in the stored record, not Directory

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
    lines.extend(every_msgtype_lines())
    return [json.dumps(x, ensure_ascii=False) for x in lines]


# The chat viewer's test chat: 周杰 ↔ 周梅 on 9 Jan 2026 holds one message of every msgtype (protocol doc
# §5.2 field names), plus a quote/reply and a robot post in the group. No planted rule terms.
def _media_obj(sdkfileid: str, **fields: Any) -> dict[str, Any]:
    return {"md5sum": "0" * 32, "sdkfileid": sdkfileid, **fields}


EVERY_TYPE_OBJECTS: dict[str, dict[str, Any]] = {
    "image": _media_obj("sdk-undecodable-image", filesize=2048),
    "emotion": _media_obj("sdk-sticker", type=2, width=1, height=1, imagesize=70),
    "voice": _media_obj("sdk-voice", voice_size=3000, play_length=75),
    "video": _media_obj("sdk-video", filesize=900000, play_length=12),
    "file": _media_obj("sdk-file", filename="季度报告.pdf", fileext="pdf", filesize=20480),
    "link": {
        "title": "产品说明页",
        "description": "说明与风险提示",
        "link_url": "https://example.com/p?a=1",
        "image_url": "",
    },
    "location": {
        "longitude": 121.47,
        "latitude": 31.23,
        "address": "上海市黄浦区中山东一路",
        "title": "外滩营业部",
        "zoom": 15,
    },
    "card": {"corpname": "测试理财", "userid": "lina"},
    "weapp": {"title": "预约开户", "description": "在线预约", "username": "gh_1@app", "displayname": "理财助手"},
    "chatrecord": {
        "title": "群聊的聊天记录",
        "item": [
            {
                "type": "ChatRecordText",
                "msgtime": 1767920000,
                "content": json.dumps({"content": "转发的第一句"}),
                "from_chatroom": False,
            }
        ],
    },
    "mixed": {"item": [{"type": "text", "content": json.dumps({"content": "图文混排的文字"})}]},
    "redpacket": {"type": 1, "wish": "新年快乐", "totalcnt": 1, "totalamount": 888},
    "todo": {"title": "待办事项", "content": "周五前提交材料"},
    "vote": {"votetitle": "活动时间投票", "voteitem": ["周六", "周日"], "votetype": 101, "voteid": "v1"},
    "collect": {
        "room_name": "VIP客户群",
        "creator": "张伟",
        "create_time": "2026-01-09 10:00:00",
        "title": "报名表",
        "details": [{"id": 1, "ques": "姓名", "type": "Text"}],
    },
    "docmsg": {"title": "合同模板", "link_url": "https://doc.example.com/1", "doc_creator": "zhangwei"},
    "news": {"item": [{"title": "市场周报", "description": "本周回顾", "url": "https://example.com/n", "picurl": ""}]},
    "calendar": {
        "title": "客户回访",
        "creatorname": "张伟",
        "attendeename": ["孙丽"],
        "starttime": 1767931200,
        "endtime": 1767934800,
        "place": "会议室A",
        "remarks": "带材料",
    },
    "meeting": {
        "topic": "产品说明会",
        "starttime": 1767931200,
        "endtime": 1767934800,
        "address": "线上",
        "remarks": "",
        "meetingtype": 101,
        "meetingid": 12345678901234567890,
        "status": 1,
    },
    "sphfeed": {"feed_type": 4, "sph_name": "理财频道", "feed_desc": "基金定投入门"},
    "meeting_voice_call": {"endtime": 1767934800, "sdkfileid": "sdk-call", "demofiledata": [], "sharescreendata": []},
    "voip_doc_share": _media_obj("sdk-doc-share", filename="共享文档.pptx", filesize=4096),
    "external_redpacket": {"type": 1, "wish": "恭喜发财", "totalcnt": 1, "totalamount": 100},
    "voiptext": {"callduration": 65, "invitetype": 1},
    "qydiskfile": {"filename": "微盘资料.xlsx"},
    "markdown": {"content": "**今日提醒** 注意风险"},
}
EVERY_TYPE_KEYS = {
    "docmsg": "doc",
    "markdown": "info",
    "news": "info",
    "voiptext": "info",
    "qydiskfile": "info",
    "external_redpacket": "redpacket",
}
QUOTE_TEXT = '这是一条引用/回复消息：\n"周梅:\n上次说的产品还有吗"\n------\n有的，我发资料给您'
# A real 4×4 PNG (written by Pillow), so the sticker decodes and shows as a thumbnail.
STICKER_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000040000000408020000002693092900000014494441"
    "54789c633c2127c700034c0c48003707003476010caf6ab9b50000000049454e44ae426082"
)
UNDECODABLE_JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(range(256)) * 4
FETCHED_MEDIA = {
    "sdk-undecodable-image": ("jpg", UNDECODABLE_JPG),
    "sdk-sticker": ("png", STICKER_PNG),
    "sdk-file": ("pdf", b"%PDF-1.7\n% test file\n"),
}


def every_msgtype_lines() -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for i, (msgtype, obj) in enumerate(EVERY_TYPE_OBJECTS.items()):
        sender, receiver = ("zhoujie", ZHOU) if i % 2 else (ZHOU, "zhoujie")
        line = {
            "msgid": f"t{i:03d}",
            "action": "send",
            "from": sender,
            "tolist": [receiver],
            "roomid": "",
            "msgtime": _ms(9, f"10:{i:02d}"),
            "msgtype": msgtype,
            EVERY_TYPE_KEYS.get(msgtype, msgtype): obj,
        }
        if msgtype == "meeting_voice_call":
            line["voiceid"] = "voice-1"
        if msgtype == "voip_doc_share":
            line["voipid"] = "voip-1"
        lines.append(line)
    base = _ms(9, "11:00")
    lines += [
        {
            "msgid": "tq001",
            "action": "send",
            "from": "zhoujie",
            "tolist": [ZHOU],
            "roomid": "",
            "msgtime": base,
            "msgtype": "text",
            "text": {"content": QUOTE_TEXT},
        },
        {
            "msgid": "tr001",
            "action": "send",
            "from": "zhoujie",
            "tolist": [ZHOU],
            "roomid": "",
            "msgtime": base + 60_000,
            "msgtype": "text",
            "text": {"content": "这条消息稍后撤回"},
        },
        {
            "msgid": "tr002",
            "action": "recall",
            "from": "zhoujie",
            "tolist": [ZHOU],
            "roomid": "",
            "msgtime": base + 120_000,
            "msgtype": "revoke",
            "revoke": {"pre_msgid": "tr001"},
        },
        {
            "msgid": "ta001",
            "action": "send",
            "from": ZHOU,
            "tolist": ["zhoujie"],
            "roomid": "",
            "msgtime": base + 180_000,
            "msgtype": "agree",
            "agree": {"userid": ZHOU, "agree_time": base + 180_000},
        },
        {
            "msgid": "td001",
            "action": "send",
            "from": ZHOU,
            "tolist": ["zhoujie"],
            "roomid": "",
            "msgtime": base + 240_000,
            "msgtype": "disagree",
            "disagree": {"userid": ZHOU, "disagree_time": base + 240_000},
        },
        {
            "msgid": "tb001",
            "action": "send",
            "from": ROBOT,
            "tolist": ["zhoujie", "lina"],
            "roomid": NOTICE_GROUP,
            "msgtime": _ms(9, "12:00"),
            "msgtype": "markdown",
            "info": {"content": "今日开盘提醒"},
        },
    ]
    return lines


def store_fetched_media(data: Path, archive: Archive) -> None:
    """Puts the viewer chat's fetched media into DATA/media as the media fetcher would."""
    import hashlib

    from indexer.media import media_id

    for sdkfileid, (ext, blob) in FETCHED_MEDIA.items():
        digest = hashlib.sha256(blob).hexdigest()
        path = data / "media" / digest[:2] / f"{digest}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        record = archive.store.get_record("media", media_id(sdkfileid)) or {}
        archive.store.put_record(
            "media",
            media_id(sdkfileid),
            {
                **record,
                "sdkfileid": sdkfileid,
                "ext": ext,
                "status": "done",
                "path": str(path.relative_to(data / "media")),
            },
        )


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
        store_fetched_media(data, archive)
        accounts = {"super": "admin", "auditor": "auditor-cs", "rule-editor": "ruler", "viewer": "boss"}
        create_account(store, "admin", "super", PASSWORD)
        create_account(store, "auditor-cs", "auditor", PASSWORD, scope_departments=[3])  # 客服部 only
        create_account(store, "auditor-all", "auditor", PASSWORD, scope_departments=[1])
        create_account(store, "ruler", "rule-editor", PASSWORD, scope_departments=[1])
        create_account(store, "boss", "viewer", PASSWORD, scope_departments=[1])
        return DashboardArchive(data, accounts)
    finally:
        archive.close()


def built_archive(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[DashboardArchive]:
    """A fresh archive (``build``) that the app finds (CHATARCHIVE_DATA) while it is in use:
    the body of a fixture of any scope."""
    data = tmp_path_factory.mktemp(name) / "data"
    data.mkdir()
    built = build(data)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CHATARCHIVE_DATA", str(data))
        yield built


@pytest.fixture(scope="session")
def dash_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardArchive]:
    yield from built_archive(tmp_path_factory, "dashboard")
