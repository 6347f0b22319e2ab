"""A small archive for the evidence tests: messages over three days, written like the
pipeline writes them (one batch, then the digests), with violations and a dead letter."""

from __future__ import annotations

import json
from typing import Any

from compliance import integrity
from core.models import Batch, DeadLetter, Message, Violation

T0 = 1_763_600_000_000  # 2025-11-20 ~09:33 Asia/Shanghai
DAY = 86_400_000


def message(i: int, day: int, text: str = "") -> Message:
    content = text or f"第{i}条 保本收益"
    raw = json.dumps(
        {"msgid": f"m{i}", "msgtype": "text", "from": "zhangwei", "text": {"content": content}}, ensure_ascii=False
    )
    return Message(
        msgid=f"m{i}",
        seq=i,
        action="send",
        msgtype="text",
        time_ms=T0 + day * DAY + i * 1000,
        sender="zhangwei",
        sender_kind="employee",
        receivers=["lina"],
        roomid="",
        chat_id="lina|zhangwei",
        chat_kind="internal",
        text=content,
        raw=raw,
        employees=["lina", "zhangwei"],
        departments=[1],
    )


def violation(m: Message) -> Violation:
    return Violation(
        msgid=m.msgid,
        rule_id="r1",
        rule_version=1,
        rule_name="保本",
        category="promise",
        severity="high",
        terms=["保本"],
        spans=[[0, 2]],
        time_ms=m.time_ms,
        sender=m.sender,
        chat_id=m.chat_id,
        employees=list(m.employees),
        departments=list(m.departments),
    )


def deadletter(seq: int) -> DeadLetter:
    return DeadLetter(
        seq=seq,
        msgid=f"dead{seq}",
        reason="no private key for publickey_ver 9",
        stage="decrypt",
        record={"seq": seq, "msgid": f"dead{seq}", "publickey_ver": 9, "encrypt_chat_msg": "AAAA"},
        key_version=9,
        time_ms=T0,
    )


def fill(store: Any, n: int = 12) -> list[Message]:
    """n messages over three days, a violation on every fourth, one dead letter; sealed."""
    messages = [message(i, i % 3) for i in range(1, n + 1)]
    violations = [violation(m) for m in messages if int(m.msgid[1:]) % 4 == 0]
    batch = Batch(messages=messages, violations=violations, deadletters=[deadletter(n + 1)], checkpoint=n + 1)
    store.write_batch(batch)
    store.refresh()
    integrity.record_batch(store, batch)
    store.refresh()
    return messages
