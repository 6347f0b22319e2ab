"""Realistic Message objects for the conformance suite, the property tests and the benchmark.

``Org`` is a tiny organisation (departments with a parent chain, employees, customers);
``Factory.message(...)`` builds one normalized Message with sensible defaults (a chat id
derived from the participants, departments with every ancestor, a raw JSON like WeCom's);
``Factory.chat_texts(n)`` draws Chinese chat lines from the simulator's phrase grammar
(``indexer.source.simulator.phrases``), with a small built-in list as a fallback.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from core.models import Message

BASE_MS = 1_767_225_600_000  # 2026-01-01T08:00:00+08:00

# department id → parent id (1 is the company)
DEPARTMENTS: dict[int, int] = {1: 0, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3}
EMPLOYEES: dict[str, int] = {  # employee → own department
    "zhangsan": 4,
    "lisi": 5,
    "wangwu": 6,
    "zhaoliu": 3,
    "sunqi": 1,
}
CUSTOMERS = ["wmCUST0001", "wmCUST0002", "wmCUST0003", "woCUST0004"]

FALLBACK_TEXTS = [
    "您好，我想问下这个产品的收益怎么样",
    "明天下午三点在3楼大会议室开会",
    "好的，收到",
    "这个月的报表麻烦发我一下",
    "请问退款要几天到账？",
    "OK，没问题",
    "我们需要验证一下客户的身份信息",
    "ＡＢＣ１２３的订单已经发货了",
    "周五前把合同模板整理好",
    "[微笑]谢谢啦",
]


def ancestors(department: int) -> list[int]:
    chain = []
    while department:
        chain.append(department)
        department = DEPARTMENTS.get(department, 0)
    return chain


def _phrase_source(rng: random.Random) -> Any:
    try:
        from indexer.source.simulator.phrases import GRAMMAR, PhraseMaker
    except ImportError:
        return None
    maker = PhraseMaker(rng)

    def say() -> str:
        industry = rng.choice(list(GRAMMAR))
        move = rng.choice(list(GRAMMAR[industry]))
        ctx = maker.session_context(industry, rng.choice(["张三", "李四", "王五"]), "示例科技")
        return maker.say(industry, move, ctx)

    return say


@dataclass
class Factory:
    seed: int = 7
    rng: random.Random = field(init=False)
    _seq: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._say = _phrase_source(self.rng)

    def text(self) -> str:
        if self._say is not None:
            return self._say()
        return self.rng.choice(FALLBACK_TEXTS)

    def chat_texts(self, n: int) -> list[str]:
        return [self.text() for _ in range(n)]

    def message(
        self,
        text: str | None = None,
        *,
        sender: str = "zhangsan",
        to: list[str] | None = None,
        roomid: str = "",
        seq: int | None = None,
        time_ms: int | None = None,
        msgtype: str = "text",
        msgid: str | None = None,
        **overrides: Any,
    ) -> Message:
        """One message; participants decide chat kind, employees, externals and departments."""
        if seq is None:
            self._seq += 1
            seq = self._seq
        else:
            self._seq = max(self._seq, seq)
        text = self.text() if text is None else text
        to = list(to) if to is not None else (["lisi"] if sender != "lisi" else ["zhangsan"])
        people = [sender, *to]
        employees = sorted({p for p in people if p in EMPLOYEES})
        externals = sorted({p for p in people if p.startswith(("wm", "wo"))})
        departments = sorted({d for e in employees for d in ancestors(EMPLOYEES[e])})
        if roomid:
            chat_id, chat_kind = roomid, "group"
        else:
            chat_id = "|".join(sorted([sender, to[0]]))
            chat_kind = "external" if externals else "internal"
        time_ms = BASE_MS + seq * 60_000 if time_ms is None else time_ms
        msgid = msgid or f"msg{seq:08d}_{self.rng.randrange(16**6):06x}"
        raw = json.dumps(
            {
                "msgid": msgid,
                "action": "send",
                "from": sender,
                "tolist": to,
                "roomid": roomid,
                "msgtime": time_ms,
                "msgtype": msgtype,
                msgtype: {"content": text},
            },
            ensure_ascii=False,
        )
        fields: dict[str, Any] = dict(
            msgid=msgid,
            seq=seq,
            action="send",
            msgtype=msgtype,
            time_ms=time_ms,
            sender=sender,
            sender_kind="external" if sender in externals else "employee",
            receivers=to,
            roomid=roomid,
            chat_id=chat_id,
            chat_kind=chat_kind,
            text=text,
            raw=raw,
            has_external=bool(externals),
            employees=employees,
            externals=externals,
            departments=departments,
        )
        fields.update(overrides)
        return Message(**fields)
