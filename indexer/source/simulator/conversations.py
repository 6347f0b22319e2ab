"""The conversation generator: a stream of WeCom message JSON objects in time order.

Conversations ("sessions") start at random times weighted by the working-hour rhythm of
Asia/Shanghai (few at night and at weekends) and unfold turn by turn with reply delays.
Each session is a Python generator; a heap merges the active ones by time, so memory holds
only the sessions running at one moment, never the archive (streaming for any N).

Every message is a ``Generated``: the message object in WeCom's key order, the labels and
terms planted in it, and the media blobs it references.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from indexer.source.simulator.media import MediaBlob, MediaFactory
from indexer.source.simulator.org import Organisation
from indexer.source.simulator.phrases import PRODUCTS, PhraseMaker
from indexer.source.simulator.plant import Planter

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
TZ_OFFSET_MS = 8 * HOUR_MS  # Asia/Shanghai, no DST

# Relative activity by local hour (0..23); weekends are quieter still.
HOURLY = [
    0.03,
    0.02,
    0.01,
    0.01,
    0.01,
    0.02,
    0.05,
    0.15,
    0.5,
    0.9,
    1.0,
    1.0,
    0.6,
    0.7,
    1.0,
    1.0,
    0.95,
    0.8,
    0.55,
    0.4,
    0.35,
    0.3,
    0.15,
    0.07,
]
WEEKEND = 0.3
MEAN_SESSION_MESSAGES = 6.5

SESSION_KINDS = [("external", 50), ("group_external", 12), ("internal", 20), ("group_internal", 15), ("switch", 0.4)]

# msgtype weights per chat kind (text dominant)
TYPE_WEIGHTS: dict[str, dict[str, float]] = {
    "external": {
        "text": 80,
        "image": 4.5,
        "voice": 2,
        "video": 0.5,
        "file": 1.0,
        "emotion": 2,
        "link": 1,
        "weapp": 0.4,
        "card": 0.4,
        "location": 0.4,
        "mixed": 0.8,
        "chatrecord": 0.4,
        "external_redpacket": 0.25,
        "voiptext": 0.5,
        "meeting_voice_call": 0.15,
        "voip_doc_share": 0.15,
        "sphfeed": 0.3,
        "calendar": 0.2,
        "docmsg": 0.3,
        "meeting": 0.15,
        "smartsheet": 0.05,
    },
    "internal": {
        "text": 80,
        "image": 4,
        "file": 2,
        "emotion": 2,
        "voice": 1.5,
        "docmsg": 1.5,
        "todo": 0.8,
        "calendar": 0.8,
        "meeting": 0.6,
        "chatrecord": 1,
        "mixed": 0.8,
        "redpacket": 0.3,
        "qydiskfile": 0.6,
        "link": 1,
        "voiptext": 0.5,
        "location": 0.2,
        "card": 0.3,
        "meeting_notification": 0.2,
        "video": 0.3,
    },
    "group_external": {
        "text": 82,
        "image": 5,
        "emotion": 3,
        "link": 2,
        "weapp": 0.5,
        "external_redpacket": 0.5,
        "vote": 0.4,
        "collect": 0.4,
        "video": 0.5,
        "file": 0.8,
        "sphfeed": 0.5,
        "mixed": 0.5,
    },
    "group_internal": {
        "text": 78,
        "image": 4,
        "file": 2,
        "emotion": 2,
        "vote": 1,
        "collect": 1,
        "todo": 1,
        "redpacket": 1,
        "meeting_notification": 0.5,
        "docmsg": 2,
        "chatrecord": 0.8,
        "calendar": 0.6,
    },
}
PLANT_RATE = 0.019  # of text messages; with file and red-packet messages ≈ 3 % of all are labelled
NEAR_MISS_RATE = 0.006
REVOKE_RATE = 0.012
QUOTE_RATE = 0.03
CONTROL_CHAR_RATE = 0.003
NO_ROOMID_RATE = 0.005
_CONTROL_CHARS = ["\x01", "\x0b", "\x1f", "\x08"]
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")

_PLANT_MIX = {
    "employee_external": {
        "promised_return": 30,
        "private_transaction": 25,
        "kickback": 8,
        "phone": 12,
        "bankcard": 8,
        "idcard": 4,
        "abuse": 3,
    },
    "external": {
        "phone": 25,
        "idcard": 15,
        "bankcard": 20,
        "abuse": 20,
        "private_transaction": 10,
        "kickback": 5,
        "promised_return": 5,
    },
    "internal": {"kickback": 35, "private_transaction": 15, "phone": 20, "idcard": 10, "bankcard": 10, "abuse": 3},
}
_FILES = {
    "wealth": [
        "产品说明书-{p}.pdf",
        "风险揭示书.pdf",
        "{p}季度报告.pdf",
        "资产配置建议书.pptx",
        "开户资料清单.docx",
        "客户名单.xlsx",
    ],
    "retail": [
        "报价单_{y}.xlsx",
        "{p}使用说明.pdf",
        "售后服务政策.docx",
        "门店活动方案.pptx",
        "发货明细.xlsx",
        "会员名单.xlsx",
    ],
    "education": ["{p}课程表.docx", "报名表.docx", "试听课反馈.pdf", "期中测试卷.pdf", "学员名单.xlsx", "课程合同.pdf"],
    "service": ["发票.pdf", "工单截图.zip", "退款申请表.docx", "服务协议.pdf"],
    "internal": [
        "会议纪要.docx",
        "周报-{y}.docx",
        "培训材料.pptx",
        "合同模板v3.docx",
        "报销单.xlsx",
        "客户回访表.xlsx",
        "组织架构.pdf",
    ],
}
_PLACES = [
    ("上海市黄浦区南京东路299号", "宏伊国际广场", 121.4785, 31.2368),
    ("上海市浦东新区世纪大道100号", "环球金融中心", 121.5024, 31.2346),
    ("杭州市西湖区文三路90号", "东部软件园", 120.1367, 30.2779),
    ("北京市朝阳区建国路87号", "华贸中心", 116.4742, 39.9085),
    ("深圳市南山区科技南十二路", "腾讯滨海大厦", 113.9366, 22.5228),
    ("苏州市工业园区星海街200号", "星海广场", 120.6727, 31.3105),
]


@dataclass
class Generated:
    """One message with its ground truth."""

    message: dict[str, Any]
    labels: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    near_miss: list[str] = field(default_factory=list)
    media: list[MediaBlob] = field(default_factory=list)
    raw_controls: bool = False

    @property
    def msgid(self) -> str:
        return self.message["msgid"]

    @property
    def time_ms(self) -> int:
        m = self.message
        return int(m["msgtime"] if "msgtime" in m else m["time"])

    @property
    def msgtype(self) -> str:
        return self.message.get("msgtype", "switch")

    def plaintext(self) -> str:
        """The exact message JSON WeCom would encrypt (compact, raw UTF-8, official key order).
        A few messages carry raw control characters, which strict JSON parsers reject."""
        text = json.dumps(self.message, ensure_ascii=False, separators=(",", ":"))
        if self.raw_controls:
            for ch in _CONTROL_CHARS:
                text = text.replace(json.dumps(ch)[1:-1], ch)
        return text


def local_hour(t_ms: int) -> int:
    return ((t_ms + TZ_OFFSET_MS) // HOUR_MS) % 24


def is_weekend(t_ms: int) -> bool:
    return ((t_ms + TZ_OFFSET_MS) // DAY_MS + 3) % 7 >= 5  # 1970-01-01 was a Thursday


def activity(t_ms: int) -> float:
    return HOURLY[local_hour(t_ms)] * (WEEKEND if is_weekend(t_ms) else 1.0)


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class ConversationGenerator:
    """Yields exactly ``messages`` messages in non-decreasing ``msgtime`` from ``start_ms`` on."""

    def __init__(
        self,
        rng: random.Random,
        org: Organisation,
        start_ms: int,
        end_ms: int,
        messages: int,
        md5_fault_rate: float = 0.0,
    ) -> None:
        self.rng = rng
        self.org = org
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.messages = messages
        self.phrases = PhraseMaker(rng)
        self.planter = Planter(rng)
        corp_number = int("1688" + "".join(str(rng.randint(0, 9)) for _ in range(12)))
        self.media = MediaFactory(rng, corp_number, md5_fault_rate)
        self.consented: set[tuple[str, str]] = set()
        self.seen_types: set[str] = set()
        self.kinds = [k for k, _ in SESSION_KINDS]
        self.kind_weights = [w for _, w in SESSION_KINDS]
        self._type_tables = {k: (list(v), list(v.values())) for k, v in TYPE_WEIGHTS.items()}
        # Activity still ahead from each hour of the window: the arrival rate adapts to it so that
        # the N messages fill the window and end before ``end_ms``.
        hours = max(1, -(-(end_ms - start_ms) // HOUR_MS))
        acts = [activity(start_ms + h * HOUR_MS) for h in range(hours)]
        self._activity_ahead = [0.0] * (hours + 1)
        for h in range(hours - 1, -1, -1):
            self._activity_ahead[h] = self._activity_ahead[h + 1] + acts[h]
        self._reserve_hours = min(hours, 2)
        self._produced = 0
        self._active_sessions = 0

    # ----------------------------------------------------------------- the merge loop
    def __iter__(self) -> Iterator[Generated]:
        rng = self.rng
        heap: list[tuple[int, int, Generated, Iterator[Generated]]] = []
        counter = 0
        next_arrival = self._next_arrival(self.start_ms)
        produced = 0
        last_ms = self.end_ms - 1
        while produced < self.messages:
            self._produced, self._active_sessions = produced, len(heap)
            while not heap or next_arrival < heap[0][0]:
                kind = rng.choices(self.kinds, self.kind_weights)[0]
                if "switch" not in self.seen_types and rng.random() < 0.01:
                    kind = "switch"
                    self.seen_types.add("switch")
                session = self._session(kind, next_arrival)
                first = next(session, None)
                if first is not None:
                    counter += 1
                    heapq.heappush(heap, (max(first.time_ms, next_arrival), counter, first, session))
                next_arrival = self._next_arrival(next_arrival)
            _, _, item, session = heapq.heappop(heap)
            yield item
            produced += 1
            following = next(session, None)
            if following is not None and following.time_ms <= last_ms:  # the archive ends at end_ms
                counter += 1
                heapq.heappush(heap, (following.time_ms, counter, following, session))

    def _rate_per_ms(self, t: int) -> float:
        """Sessions per ms per unit of activity that spread the messages still due over the time left."""
        due = max(1.0, self.messages - self._produced - self._active_sessions * MEAN_SESSION_MESSAGES / 2)
        h = (t - self.start_ms) // HOUR_MS
        ahead = self._activity_ahead[h] if 0 <= h < len(self._activity_ahead) else 0.0
        # Aim a little before the end: sessions still running there need room to finish.
        ahead -= self._activity_ahead[max(0, len(self._activity_ahead) - 1 - self._reserve_hours)]
        return due / MEAN_SESSION_MESSAGES / max(ahead, 0.5) / HOUR_MS

    def _next_arrival(self, t: int) -> int:
        """Thinning of a Poisson process whose intensity follows ``activity``; never past ``end_ms``
        (if the window runs out, the sessions still due crowd into the time that is left)."""
        rng = self.rng
        top = max(HOURLY)
        last = self.end_ms - 1
        previous = t
        while True:
            t += max(1, int(rng.expovariate(self._rate_per_ms(t) * top)))
            if t >= last:
                return min(last, previous + max(1, (last - previous) // 20))
            if rng.random() * top < activity(t):
                return t

    # ----------------------------------------------------------------- helpers
    def _msgid(self, t_ms: int, external: bool) -> str:
        return f"{self.rng.getrandbits(64)}_{t_ms}" + ("_external" if external else "")

    def _envelope(
        self, t: int, sender: str, tolist: list[str], roomid: str, msgtype: str, external: bool, action: str = "send"
    ) -> dict[str, Any]:
        return {
            "msgid": self._msgid(t, external),
            "action": action,
            "from": sender,
            "tolist": tolist,
            "roomid": roomid,
            "msgtime": t,
            "msgtype": msgtype,
        }

    def _delay(self, same_speaker: bool) -> int:
        rng = self.rng
        if same_speaker:
            return int(rng.uniform(2, 40) * 1000)
        return int(min(3 * 3600, max(2.0, rng.lognormvariate(math.log(45), 1.1))) * 1000) + rng.randrange(1000)

    def _defer_night(self, t: int, responder_is_employee: bool) -> tuple[int, bool]:
        """Employees usually answer night messages the next morning."""
        hour = local_hour(t)
        if responder_is_employee and (hour >= 22 or hour < 8) and self.rng.random() < 0.7:
            day_start = (t + TZ_OFFSET_MS) // DAY_MS * DAY_MS - TZ_OFFSET_MS
            if hour >= 22:
                day_start += DAY_MS
            return day_start + 8 * HOUR_MS + self.rng.randrange(30 * 60_000, 150 * 60_000), True
        return t, False

    def _pick_type(self, chat_kind: str) -> str:
        names, weights = self._type_tables[chat_kind]
        picked = self.rng.choices(names, weights)[0]
        # Coverage: rare types show up early even in small archives (a negligible shift of the mix).
        missing = [n for n in names if n not in self.seen_types]
        if missing and picked == "text" and self.rng.random() < 0.04:
            picked = self.rng.choice(missing)
        self.seen_types.add(picked)
        return picked

    # ----------------------------------------------------------------- sessions
    def _session(self, kind: str, t0: int) -> Iterator[Generated]:
        if kind == "switch":
            return self._switch(t0)
        if kind == "external":
            return self._external_chat(t0)
        if kind == "internal":
            return self._internal_chat(t0)
        return self._group_chat(t0, external=(kind == "group_external"))

    def _active_employees(self, t: int, industries: tuple[str, ...]) -> list[dict[str, Any]]:
        out = []
        for ind in industries:
            out.extend(e for e in self.org.employees_by_industry.get(ind, []) if self.org.active(e["userid"], t))
        return out

    def _switch(self, t0: int) -> Iterator[Generated]:
        rng = self.rng
        users = [u for u in self.org.employee_by_id if self.org.active(u, t0)]
        msgid = str(rng.randrange(10**20, 10**21))
        yield Generated({"msgid": msgid, "action": "switch", "time": t0, "user": rng.choice(users)})

    def _external_chat(self, t0: int) -> Iterator[Generated]:
        rng, org = self.rng, self.org
        staff = [
            e
            for e in self._active_employees(t0, ("wealth", "retail", "education", "service"))
            if org.externals_by_follower.get(e["userid"])
        ]
        if not staff:
            return
        emp = rng.choice(staff)
        ext = rng.choice(org.externals_by_follower[emp["userid"]])
        industry = org.industry_of[emp["userid"]]
        ctx = self.phrases.session_context(industry, emp["name"], org.corp_name)
        e_id, x_id = emp["userid"], ext["id"]
        t = t0
        if (e_id, x_id) not in self.consented:
            self.consented.add((e_id, x_id))
            agrees = rng.random() < 0.93
            kind = "agree" if agrees else "disagree"
            msg = self._envelope(t, x_id, [e_id], "", kind, True)
            msg[kind] = {"userid": x_id, f"{kind}_time": t}
            yield Generated(msg)
            t += self._delay(False)
            if not agrees and rng.random() < 0.6:
                return
        yield from self._dialogue(t, industry, ctx, customer=x_id, employee=e_id, chat_kind="external")

    def _internal_chat(self, t0: int) -> Iterator[Generated]:
        rng, org = self.rng, self.org
        staff = self._active_employees(t0, ("wealth", "retail", "education", "service", "internal"))
        if len(staff) < 2:
            return
        a = rng.choice(staff)
        same = [e for e in staff if e["departments"] == a["departments"] and e is not a]
        b = rng.choice(same if same and rng.random() < 0.7 else [e for e in staff if e is not a])
        ctx = self.phrases.session_context(org.industry_of[a["userid"]], b["name"], org.corp_name)
        yield from self._dialogue(t0, "internal", ctx, customer=a["userid"], employee=b["userid"], chat_kind="internal")

    def _dialogue(
        self, t: int, industry: str, ctx: dict[str, str], customer: str, employee: str, chat_kind: str
    ) -> Iterator[Generated]:
        """A two-party thread: ``customer`` (or the colleague who starts) and ``employee``."""
        rng = self.rng
        external = chat_kind == "external"
        length = rng.choice([2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8, 9, 10, 12, 14, 18])
        speaker = customer if rng.random() < 0.55 else employee
        history: list[tuple[str, str]] = []  # (sender, text) of recent text messages, for quotes
        late = False
        for i in range(length):
            if not all(self.org.active(p, t) for p in (customer, employee) if p in self.org.employee_by_id):
                return  # an employee left the company: the archive of that account ends
            if i == 0:
                move = "open_c" if speaker == customer else "open_e"
            elif i == length - 1:
                move = "close_e" if speaker == employee else "react_c"
            else:
                move = ("ask" if rng.random() < 0.6 else "react_c") if speaker == customer else "answer"
            other = employee if speaker == customer else customer
            msgtype = "text" if i == 0 else self._pick_type(chat_kind)
            role = "internal" if not external else ("employee_external" if speaker == employee else "external")
            gen = self._build(
                t, speaker, [other], "", msgtype, external, industry, ctx, move, role, history, late_prefix=late
            )
            late = False
            yield gen
            for extra in self._maybe_revoke(gen, t, speaker, [other], "", external):
                t = extra.time_ms
                yield extra
            # Who speaks next, and when.
            same = rng.random() < 0.25
            if not same:
                speaker = other
            t += self._delay(same)
            responder_is_employee = speaker == employee or not external
            t, late = self._defer_night(t, responder_is_employee) if not same else (t, False)

    def _group_chat(self, t0: int, external: bool) -> Iterator[Generated]:
        rng, org = self.rng, self.org
        groups = org.external_groups if external else org.internal_groups
        group = rng.choice(groups)
        members = [m for m in group["members"] if m not in org.employee_by_id or org.active(m, t0)]
        if len(members) < 2:
            return
        industry = group["industry"] if group["industry"] in PRODUCTS else "internal"
        staff = [m for m in members if m in org.employee_by_id]
        owner = group["owner"] if group["owner"] in staff else (staff[0] if staff else members[0])
        ctx = self.phrases.session_context(
            industry if external else "internal", org.name(owner), org.corp_name, group["name"]
        )
        chat_kind = "group_external" if external else "group_internal"
        roomid = group["roomid"]
        t = t0
        # Robots post reports into their internal groups.
        robots = [r for r in org.robots if roomid in r["groups"]]
        if robots and rng.random() < 0.35:
            robot = rng.choice(robots)
            yield self._robot_post(t, robot["id"], members, roomid)
            t += self._delay(False)
        length = rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12])
        speaker = owner
        for i in range(length):
            if speaker in org.employee_by_id and not org.active(speaker, t):
                return
            is_employee = speaker in org.employee_by_id
            if i == 0 and rng.random() < 0.5:
                move = "announce"
            elif is_employee:
                move = (
                    rng.choice(["answer", "open_e", "close_e"])
                    if external
                    else rng.choice(["open_c", "answer", "react_c"])
                )
            else:
                move = rng.choice(["ask", "react_c", "open_c"])
            tolist = [m for m in members if m != speaker]
            msgtype = "text" if i == 0 else self._pick_type(chat_kind)
            role = ("employee_external" if is_employee else "external") if external else "internal"
            gen = self._build(
                t,
                speaker,
                tolist,
                roomid,
                msgtype,
                external,
                industry if external else "internal",
                ctx,
                move,
                role,
                [],
                mention=rng.choice(members) if rng.random() < 0.15 else None,
            )
            yield gen
            for extra in self._maybe_revoke(gen, t, speaker, tolist, roomid, external):
                t = extra.time_ms
                yield extra
            t += self._delay(False)
            t, _ = self._defer_night(t, True)
            speaker = rng.choice(members)

    # ----------------------------------------------------------------- messages
    def _maybe_revoke(
        self, gen: Generated, t: int, sender: str, tolist: list[str], roomid: str, external: bool
    ) -> Iterator[Generated]:
        rng = self.rng
        if gen.msgtype in ("revoke", "agree", "disagree"):
            return
        chance = 0.1 if gen.labels else REVOKE_RATE
        if rng.random() < chance:
            t2 = t + rng.randrange(3_000, 110_000)
            msg = self._envelope(t2, sender, tolist, roomid, "revoke", external, action="recall")
            msg["revoke"] = {"pre_msgid": gen.msgid}
            yield Generated(msg)

    def _text(
        self, industry: str, ctx: dict[str, str], move: str, role: str, history: list[tuple[str, str]], sender: str
    ) -> Generated:
        rng = self.rng
        roll = rng.random()
        if roll < PLANT_RATE:
            mix = _PLANT_MIX[role]
            category = rng.choices(list(mix), list(mix.values()))[0]
            if category == "promised_return" and industry != "wealth" and rng.random() < 0.7:
                category = "private_transaction"
            plant = self.planter.violation(category, self.phrases.expand, ctx)
            return Generated({"content": plant.text}, labels=plant.labels, terms=plant.terms)
        if roll < PLANT_RATE + NEAR_MISS_RATE:
            plant = self.planter.near_miss(self.phrases.expand, ctx)
            return Generated({"content": plant.text}, near_miss=plant.terms)
        content = self.phrases.say(industry, move, ctx)
        others = [(s, q) for s, q in history if s != sender]
        if others and rng.random() < QUOTE_RATE:
            quoted_sender, quoted = others[-1]
            content = f'这是一条引用/回复消息：\n"{self.org.name(quoted_sender)}:\n{quoted}"\n------\n{content}'
        raw = False
        if rng.random() < CONTROL_CHAR_RATE:
            pos = rng.randrange(len(content) + 1)
            content = content[:pos] + rng.choice(_CONTROL_CHARS) + content[pos:]
            raw = True
        return Generated({"content": content}, raw_controls=raw)

    def _build(
        self,
        t: int,
        sender: str,
        tolist: list[str],
        roomid: str,
        msgtype: str,
        external: bool,
        industry: str,
        ctx: dict[str, str],
        move: str,
        role: str,
        history: list[tuple[str, str]],
        late_prefix: bool = False,
        mention: str | None = None,
    ) -> Generated:
        rng = self.rng
        if msgtype == "text":
            body = self._text(industry, ctx, move, role, history, sender)
            content = body.message["content"]
            if late_prefix and not body.labels and not body.near_miss:
                content = rng.choice(["不好意思，刚看到。", "抱歉，昨晚没看手机，", "早上好，"]) + content
            if mention and mention != sender and not body.labels and not body.near_miss:
                content = f"@{self.org.name(mention)}{rng.choice([' ', chr(0x2005)])}{content}"
            phone = None if body.labels else _PHONE.search(content)
            if phone:  # display names like "A潘融15601946363" leak a number through quotes and mentions
                body.labels, body.terms = ["phone"], [phone.group(0)]
            msg = self._envelope(t, sender, tolist, roomid, "text", external)
            msg["text"] = {"content": content}
            if not body.labels and not body.near_miss:  # a quote must not copy a planted term unlabelled
                history.append((sender, content))
                del history[:-4]
            return Generated(
                msg, labels=body.labels, terms=body.terms, near_miss=body.near_miss, raw_controls=body.raw_controls
            )
        return self._special(t, sender, tolist, roomid, msgtype, external, industry, ctx)

    def _robot_post(self, t: int, robot: str, members: list[str], roomid: str) -> Generated:
        rng = self.rng
        tolist = [m for m in members if m != robot]
        if rng.random() < 0.6:
            msg = self._envelope(t, robot, tolist, roomid, "markdown", False)
            n = rng.randint(3, 40)
            msg["info"] = {
                "content": rng.choice(
                    [
                        f'**日报**：今日新增客户 <font color="info">{n}</font> 位，跟进 {n * 3} 次，请查收',
                        f"**业绩播报**\n> 本周签约：{n} 单\n> 完成率：{rng.randint(40, 130)}%",
                        f"**告警**：CRM 接口响应超时 {rng.randint(2, 30)} 次，请 @运维 关注",
                    ]
                )
            }
        else:
            msg = self._envelope(t, robot, tolist, roomid, "news", False)
            msg["info"] = {
                "item": [
                    {
                        "title": rng.choice(["本周合规提示", "产品周报", "客户服务月报"]),
                        "description": rng.choice(
                            ["请各位同事认真阅读，严禁违规承诺收益", "点击查看详情", "本月满意度 96.3%"]
                        ),
                        "url": f"https://work.weixin.qq.com/news/{rng.getrandbits(40):x}",
                        "picurl": f"https://wework.qpic.cn/wwpic/{rng.getrandbits(48):x}/0",
                    }
                ]
            }
        return Generated(msg)

    def _media_obj(self, kind: str, ext: str, t: int, blobs: list[MediaBlob]) -> tuple[dict[str, Any], MediaBlob]:
        blob = self.media.make(kind, ext, t)
        blobs.append(blob)
        return {"md5sum": blob.md5sum, "filesize": blob.size, "sdkfileid": blob.sdkfileid}, blob

    def _filename(self, industry: str, ctx: dict[str, str]) -> str:
        name = self.rng.choice(_FILES.get(industry) or _FILES["internal"])
        return name.format(p=ctx.get("product", "产品"), y=self.rng.choice([2025, 2026]))

    def _special(
        self,
        t: int,
        sender: str,
        tolist: list[str],
        roomid: str,
        msgtype: str,
        external: bool,
        industry: str,
        ctx: dict[str, str],
    ) -> Generated:
        """Every non-text msgtype of protocol doc §5.2, with realistic payloads."""
        rng, org = self.rng, self.org
        blobs: list[MediaBlob] = []
        labels: list[str] = []
        msg = self._envelope(t, sender, tolist, roomid, msgtype, external)
        if roomid == "" and rng.random() < NO_ROOMID_RATE:
            del msg["roomid"]
        secs = t // 1000
        if msgtype == "image":
            msg["image"] = self._media_obj("image", "jpg", t, blobs)[0]
        elif msgtype == "voice":
            blob = self.media.make("voice", "amr", t)
            blobs.append(blob)
            msg["voice"] = {
                "md5sum": blob.md5sum,
                "voice_size": blob.size,
                "play_length": max(1, blob.size // 1600),
                "sdkfileid": blob.sdkfileid,
            }
        elif msgtype == "video":
            blob = self.media.make("video", "mp4", t)
            blobs.append(blob)
            msg["video"] = {
                "md5sum": blob.md5sum,
                "filesize": blob.size,
                "play_length": max(1, blob.size // 90_000),
                "sdkfileid": blob.sdkfileid,
            }
        elif msgtype == "emotion":
            kind = rng.choice([1, 2])
            blob = self.media.make("emotion", "gif" if kind == 1 else "png", t)
            blobs.append(blob)
            w = rng.choice([120, 160, 240, 300])
            msg["emotion"] = {
                "type": kind,
                "width": w,
                "height": w,
                "imagesize": blob.size,
                "md5sum": blob.md5sum,
                "sdkfileid": blob.sdkfileid,
            }
        elif msgtype == "file":
            filename = self._filename(industry, ctx)
            ext = filename.rsplit(".", 1)[-1]
            blob = self.media.make("file", ext, t)
            blobs.append(blob)
            msg["file"] = {
                "md5sum": blob.md5sum,
                "filename": filename,
                "fileext": ext,
                "filesize": blob.size,
                "sdkfileid": blob.sdkfileid,
            }
            labels = ["file"]
        elif msgtype == "card":
            colleague = rng.choice(list(org.employee_by_id))
            msg["card"] = {"corpname": org.corp_name, "userid": colleague}
        elif msgtype == "location":
            address, title, lng, lat = rng.choice(_PLACES)
            msg["location"] = {
                "longitude": round(lng + rng.uniform(-0.01, 0.01), 6),
                "latitude": round(lat + rng.uniform(-0.01, 0.01), 6),
                "address": address,
                "title": title,
                "zoom": rng.choice([15, 16, 17]),
            }
        elif msgtype == "link":
            msg["link"] = {
                "title": rng.choice(
                    [
                        f"{ctx['product']}产品介绍",
                        "一文读懂个人养老金",
                        "双十一活动规则",
                        "家长必读：如何培养孩子的学习习惯",
                        "企业微信使用指南",
                    ]
                ),
                "description": rng.choice(["点击查看详情", "限时优惠，先到先得", "建议收藏"]),
                "link_url": f"https://mp.weixin.qq.com/s/{rng.getrandbits(90):x}",
                "image_url": f"https://mmbiz.qpic.cn/mmbiz_jpg/{rng.getrandbits(80):x}/0",
            }
        elif msgtype == "weapp":
            msg["weapp"] = {
                "title": rng.choice(["会员中心", "预约到店", "课程报名", "在线开户"]),
                "description": rng.choice(["点击进入小程序", "一键预约", ""]),
                "username": f"gh_{rng.getrandbits(48):012x}@app",
                "displayname": rng.choice([f"{org.corp_name}服务", "微商城", "学习中心"]),
            }
        elif msgtype == "chatrecord":
            items = []
            for _ in range(rng.randint(2, 4)):
                if rng.random() < 0.75:
                    items.append(
                        {
                            "type": "ChatRecordText",
                            "msgtime": secs - rng.randrange(600, 86400),
                            "content": _compact({"content": self.phrases.say(industry, "answer", ctx)}),
                            "from_chatroom": rng.random() < 0.3,
                        }
                    )
                else:
                    obj, _ = self._media_obj("image", "jpg", t, blobs)
                    items.append(
                        {
                            "type": "ChatRecordImage",
                            "msgtime": secs - rng.randrange(600, 86400),
                            "content": _compact(obj),
                            "from_chatroom": False,
                        }
                    )
            msg["chatrecord"] = {
                "title": rng.choice(["群聊的聊天记录", f"{org.name(sender)}和客户的聊天记录", "聊天记录"]),
                "item": items,
            }
        elif msgtype == "mixed":
            items = [{"type": "text", "content": _compact({"content": self.phrases.say(industry, "answer", ctx)})}]
            obj, _ = self._media_obj("image", "jpg", t, blobs)
            items.append({"type": "image", "content": _compact(obj)})
            if rng.random() < 0.3:
                items.append(
                    {"type": "text", "content": _compact({"content": rng.choice(["见截图", "如图", "看下这个"])})}
                )
            msg["mixed"] = {"item": items}
        elif msgtype == "todo":
            msg["todo"] = {
                "title": self.phrases.say("internal", "open_c", ctx),
                "content": rng.choice(["周五前完成", "请跟进客户回访", "提交季度报表", "整理会议纪要"]),
            }
        elif msgtype == "vote":
            msg["vote"] = {
                "votetitle": rng.choice(["团建去哪里", "周会时间", "年会节目", "午餐吃什么"]),
                "voteitem": rng.sample(
                    ["周三下午", "周四上午", "周五下午", "爬山", "密室逃脱", "聚餐", "火锅", "烧烤"], 3
                ),
                "votetype": rng.choice([101, 102]),
                "voteid": str(rng.getrandbits(60)),
            }
        elif msgtype == "collect":
            msg["collect"] = {
                "room_name": ctx.get("group") or "群聊",
                "creator": org.name(sender),
                "create_time": _local_time_str(t),
                "title": rng.choice(["活动报名", "信息收集", "满意度调查"]),
                "details": [
                    {"id": rng.getrandbits(64), "ques": q, "type": ty}
                    for q, ty in [("姓名", "Text"), ("人数", "Number"), ("日期", "Date"), ("到达时间", "Time")][
                        : rng.randint(2, 4)
                    ]
                ],
            }
        elif msgtype in ("redpacket", "external_redpacket"):
            cnt = rng.choice([1, 1, 5, 10, 20])
            msg["redpacket"] = {
                "type": 1 if cnt == 1 else rng.choice([2, 3]),
                "wish": rng.choice(["恭喜发财，大吉大利", "感谢支持", "新年快乐", "辛苦了", "一点心意"]),
                "totalcnt": cnt,
                "totalamount": rng.choice([88, 666, 888, 1888, 5200, 20000, 66600]),
            }
            labels = ["redpacket"]
        elif msgtype == "meeting":
            start = secs + rng.randrange(3600, 7 * 86400)
            msg["meeting"] = {
                "topic": rng.choice(["产品说明会", "季度复盘", "客户需求沟通", "课程规划沟通"]),
                "starttime": start,
                "endtime": start + rng.choice([1800, 3600, 5400]),
                "address": rng.choice(["腾讯会议", "3楼大会议室", "客户公司"]),
                "remarks": rng.choice(["请准时参加", "", "带上电脑"]),
                "meetingtype": rng.choice([101, 102]),
                "meetingid": rng.randrange(2**63, 2**64),
                "status": rng.randint(1, 7),
            }
        elif msgtype == "meeting_notification":
            msg["info"] = {
                "meeting_id": rng.randrange(2**63, 2**64),
                "notification_type": rng.randint(1, 3),
                "content": rng.choice(["会议即将开始", "主持人已结束会议", "会议已取消"]),
            }
        elif msgtype == "docmsg":
            msg["doc"] = {
                "title": rng.choice(["客户跟进表", "产品FAQ", "排班表", "活动方案"]),
                "link_url": f"https://doc.weixin.qq.com/doc/w3_{rng.getrandbits(100):x}",
                "doc_creator": sender,
            }
        elif msgtype == "calendar":
            start = secs + rng.randrange(3600, 5 * 86400)
            msg["calendar"] = {
                "title": rng.choice(["客户拜访", "部门周会", "产品培训", "家长会"]),
                "creatorname": org.name(sender),
                "attendeename": [org.name(x) for x in tolist[:3]],
                "starttime": start,
                "endtime": start + 3600,
                "place": rng.choice(["总部B座", "客户公司", "线上"]),
                "remarks": rng.choice(["", "请提前准备材料"]),
            }
        elif msgtype == "meeting_voice_call":
            blob = self.media.make("audio", "amr", t)
            blobs.append(blob)
            msg = {k: v for k, v in msg.items() if k != "roomid"}  # these records carry no roomid key
            msg["voiceid"] = f"gr{rng.getrandbits(128):032x}"
            msg["meeting_voice_call"] = {
                "endtime": secs + rng.randrange(60, 1800),
                "sdkfileid": blob.sdkfileid,
                "demofiledata": [
                    {
                        "filename": self._filename(industry, ctx),
                        "demooperator": sender,
                        "starttime": secs + 10,
                        "endtime": secs + 50,
                    }
                ],
                "sharescreendata": [{"share": sender, "starttime": secs + 60, "endtime": secs + 120}],
            }
        elif msgtype == "voip_doc_share":
            filename = self._filename(industry, ctx)
            blob = self.media.make("file", filename.rsplit(".", 1)[-1], t)
            blobs.append(blob)
            msg = {k: v for k, v in msg.items() if k != "roomid"}
            msg["voipid"] = f"gr{rng.getrandbits(128):032x}"
            msg["voip_doc_share"] = {
                "filename": filename,
                "md5sum": blob.md5sum,
                "filesize": blob.size,
                "sdkfileid": blob.sdkfileid,
            }
        elif msgtype == "sphfeed":
            msg["sphfeed"] = {
                "feed_type": rng.choice([2, 4, 9]),
                "sph_name": rng.choice([f"{org.corp_name}官方", "理财小课堂", "好物推荐官"]),
                "feed_desc": rng.choice(["每天三分钟，读懂理财", "今晚8点直播间见", "新品开箱"]),
            }
        elif msgtype == "voiptext":
            msg["info"] = {"callduration": rng.randint(5, 1800), "invitetype": rng.choice([1, 2, 3])}
        elif msgtype == "qydiskfile":
            msg["info"] = {"filename": self._filename(industry, ctx)}
        elif msgtype == "smartsheet":  # a type this parser generation does not know: must be kept as unknown
            msg["smartsheet"] = {
                "title": "客户跟进智能表格",
                "link_url": f"https://doc.weixin.qq.com/smartsheet/{rng.getrandbits(64):x}",
            }
        else:
            raise ValueError(f"no builder for msgtype {msgtype}")
        return Generated(msg, labels=labels, media=blobs)


def _local_time_str(t_ms: int) -> str:
    import datetime as _dt

    dt = _dt.datetime.fromtimestamp((t_ms + TZ_OFFSET_MS) / 1000, _dt.UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S")
