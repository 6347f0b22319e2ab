"""What a non-text message shows in the chat viewer: a card with its type's name and the
fields an auditor needs (file name and size, call length, link, address, amount, ...),
read from the message's decrypted JSON (``Message.raw``, protocol doc §5.2).

Pure functions returning plain strings; the viewer escapes them. Quoted replies
(``这是一条引用/回复消息：`` …) are split here too, so the viewer can draw them as quotes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from core.models import Message
from dashboard.i18n import language
from indexer.normalize import OBJECT_KEY  # where a msgtype keeps its fields, as normalize reads them

JsonObject = dict[str, object]


TYPE_NAMES = {
    "text": "文本",
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "file": "文件",
    "link": "链接",
    "emotion": "表情",
    "location": "位置",
    "card": "名片",
    "weapp": "小程序",
    "chatrecord": "聊天记录",
    "mixed": "图文混排",
    "revoke": "撤回",
    "agree": "同意存档",
    "disagree": "不同意存档",
    "meeting_voice_call": "音频存档",
    "voip_doc_share": "音频共享文档",
    "redpacket": "红包",
    "external_redpacket": "互通红包",
    "todo": "待办",
    "vote": "投票",
    "collect": "填表",
    "docmsg": "在线文档",
    "markdown": "Markdown",
    "news": "图文",
    "calendar": "日程",
    "meeting": "会议邀请",
    "sphfeed": "视频号",
    "switch": "切换企业",
    "voiptext": "音视频通话",
    "qydiskfile": "微盘文件",
    "meeting_notification": "会议控制",
}
REDPACKET_KINDS = {1: "普通红包", 2: "拼手气群红包", 3: "激励群红包"}
SPHFEED_KINDS = {2: "图片", 4: "视频", 9: "直播"}
QUOTE_PREFIXES = ("这是一条引用/回复消息：", "This is a quote/reply:")
_QUOTE = re.compile(
    r'^(?:这是一条引用/回复消息：|This is a quote/reply:)\n"(?P<who>[^\n:：]*)[:：]\n'
    r'(?P<quote>.*?)"\n-{6}\n(?P<reply>.*)$',
    re.DOTALL,
)


@dataclass(frozen=True)
class Card:
    title: str  # the type's name, e.g. 文件
    fields: list[tuple[str, str]]  # (label, value) pairs, never empty values


@dataclass(frozen=True)
class Quote:
    who: str
    quoted: str
    reply: str


def type_name(msgtype: str) -> str:
    """The Chinese name of a message type (the code itself in English)."""
    return msgtype if language() == "en" else TYPE_NAMES.get(msgtype, msgtype)


def parse_quote(text: str) -> Quote | None:
    """The quoted sender, quoted text and reply of a quote/reply message, else None."""
    if not text.startswith(QUOTE_PREFIXES):
        return None
    m = _QUOTE.match(text)
    return Quote(m["who"].strip(), m["quote"], m["reply"]) if m else None


def raw_object(message: Message) -> JsonObject:
    """The message's type object from its decrypted JSON ({} when the JSON is unreadable)."""
    try:
        doc = json.loads(message.raw, strict=False) if message.raw else {}
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    obj = doc.get(OBJECT_KEY.get(message.msgtype, message.msgtype))
    if obj is None and message.msgtype == "external_redpacket":
        obj = doc.get("external_redpacket")
    return obj if isinstance(obj, dict) else {}


def _size(value: object) -> str:
    try:
        n = float(str(value))
    except ValueError:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _seconds(value: object) -> str:
    try:
        s = int(str(value))
    except ValueError:
        return ""
    return f"{s // 60}分{s % 60:02d}秒" if s >= 60 else f"{s}秒"


def _yuan(value: object) -> str:
    try:
        return f"¥{int(str(value)) / 100:.2f}"  # WeCom gives fen (1/100 yuan)
    except ValueError:
        return ""


def _epoch(value: object) -> str:
    """Marker formatter: ``card`` formats epoch fields in the archive's time zone."""
    return str(value)


def _epoch_in(value: object, tz: str) -> str:
    try:
        n = int(str(value))
    except ValueError:
        return ""
    seconds = n / 1000 if n >= 10**11 else n  # the protocol mixes seconds and ms
    return datetime.fromtimestamp(seconds, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if n else ""


def _kind(names: dict[int, str]) -> Callable[[object], str]:
    def label(value: object) -> str:
        try:
            return names.get(int(str(value)), str(value))
        except ValueError:
            return str(value)

    return label


def _plain(value: object) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value if v not in (None, ""))
    return "" if value is None else str(value)


Field = tuple[str, str, Callable[[object], str]]

FIELDS: dict[str, list[Field]] = {
    "image": [("大小", "filesize", _size)],
    "emotion": [("尺寸", "width", _plain), ("大小", "imagesize", _size)],
    "voice": [("时长", "play_length", _seconds), ("大小", "voice_size", _size)],
    "video": [("时长", "play_length", _seconds), ("大小", "filesize", _size)],
    "file": [("文件名", "filename", _plain), ("类型", "fileext", _plain), ("大小", "filesize", _size)],
    "voip_doc_share": [("文件名", "filename", _plain), ("大小", "filesize", _size)],
    "link": [("标题", "title", _plain), ("描述", "description", _plain), ("链接", "link_url", _plain)],
    "weapp": [("小程序", "displayname", _plain), ("标题", "title", _plain), ("描述", "description", _plain)],
    "card": [("企业", "corpname", _plain), ("名片用户", "userid", _plain)],
    "location": [
        ("地点", "title", _plain),
        ("地址", "address", _plain),
        ("经度", "longitude", _plain),
        ("纬度", "latitude", _plain),
    ],
    "redpacket": [
        ("类型", "type", _kind(REDPACKET_KINDS)),
        ("祝福语", "wish", _plain),
        ("个数", "totalcnt", _plain),
        ("总金额", "totalamount", _yuan),
    ],
    "todo": [("标题", "title", _plain), ("内容", "content", _plain)],
    "vote": [("主题", "votetitle", _plain), ("选项", "voteitem", _plain)],
    "collect": [
        ("群", "room_name", _plain),
        ("标题", "title", _plain),
        ("创建人", "creator", _plain),
        ("创建时间", "create_time", _plain),
    ],
    "docmsg": [("标题", "title", _plain), ("链接", "link_url", _plain), ("创建人", "doc_creator", _plain)],
    "calendar": [
        ("标题", "title", _plain),
        ("开始", "starttime", _epoch),
        ("结束", "endtime", _epoch),
        ("地点", "place", _plain),
        ("参与人", "attendeename", _plain),
        ("备注", "remarks", _plain),
    ],
    "meeting": [
        ("主题", "topic", _plain),
        ("开始", "starttime", _epoch),
        ("结束", "endtime", _epoch),
        ("地点", "address", _plain),
        ("备注", "remarks", _plain),
    ],
    "meeting_voice_call": [("结束", "endtime", _epoch)],
    "sphfeed": [
        ("视频号", "sph_name", _plain),
        ("类型", "feed_type", _kind(SPHFEED_KINDS)),
        ("描述", "feed_desc", _plain),
    ],
    "voiptext": [("通话时长", "callduration", _seconds)],
    "qydiskfile": [("文件名", "filename", _plain)],
    "meeting_notification": [("内容", "content", _plain)],
    "agree": [("时间", "agree_time", _epoch)],
    "disagree": [("时间", "disagree_time", _epoch)],
}
FIELDS["external_redpacket"] = FIELDS["redpacket"]


def _items(obj: JsonObject, label: str) -> list[tuple[str, str]]:
    """chatrecord / mixed / news: one line per item (its type and its text)."""
    out: list[tuple[str, str]] = []
    for item in cast(list[object], obj.get("item") or []):
        if not isinstance(item, dict):
            continue
        content: object = item.get("content") or item.get("title") or ""
        if isinstance(content, str) and content.startswith("{"):
            try:
                parsed = json.loads(content, strict=False)
                content = parsed.get("content") or parsed.get("title") or parsed.get("filename") or ""
            except (ValueError, AttributeError):
                pass
        kind = str(item.get("type") or "").removeprefix("ChatRecord").lower()
        out.append((type_name(kind) if kind else label, _plain(content) or f"[{type_name(kind)}]"))
    return out


def card(message: Message, tz: str = "Asia/Shanghai") -> Card:
    """The card of a non-text message: its type's name and the fields its JSON holds."""
    obj = raw_object(message)
    fields: list[tuple[str, str]] = []
    if message.msgtype in ("chatrecord", "mixed", "news"):
        if obj.get("title"):
            fields.append(("标题", _plain(obj.get("title"))))
        fields.extend(_items(obj, "条目"))
    for label, key, fmt in FIELDS.get(message.msgtype, []):
        raw = obj.get(key)
        value = "" if raw in (None, "", []) else _epoch_in(raw, tz) if fmt is _epoch else fmt(raw)
        if value:
            fields.append((label, value))
    if not fields and message.text:
        fields.append(("内容", message.text))
    return Card(type_name(message.msgtype), fields)
