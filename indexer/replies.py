"""First-response times, computed once at ingest so statistics are plain aggregations.

In a chat with a customer, the customer's first message not yet answered starts a
wait; the next employee message ends it and carries ``reply_ms`` (wall-clock) and
``reply_business_ms`` (only the time inside working hours, so a message at 23:00
answered at 09:05 counts 5 minutes, not 10 hours).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from core.models import Message, MessageFilter, Scope

if TYPE_CHECKING:
    from store.base import Store


class WorkingHours:
    def __init__(self, hours: str = "09:00-18:00", days: str = "1,2,3,4,5", tz: str = "Asia/Shanghai") -> None:
        start, _, end = hours.partition("-")
        self.start = time.fromisoformat(start.strip())
        self.end = time.fromisoformat(end.strip())
        self.days = {int(d) for d in days.split(",") if d.strip()}
        self.tz = ZoneInfo(tz)

    def business_ms(self, start_ms: int, end_ms: int) -> int:
        """Milliseconds between the two instants that fall inside working hours."""
        if end_ms <= start_ms:
            return 0
        start = datetime.fromtimestamp(start_ms / 1000, self.tz)
        end = datetime.fromtimestamp(end_ms / 1000, self.tz)
        total = 0.0
        day = start.date()
        while day <= end.date():
            if day.isoweekday() in self.days:
                open_at = datetime.combine(day, self.start, self.tz)
                close_at = datetime.combine(day, self.end, self.tz)
                lo, hi = max(open_at, start), min(close_at, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return int(round(total * 1000))


def takes_part(m: Message) -> bool:
    """Messages that start or end a wait: sent messages in a chat with a customer. Consent
    events and revoke records are not conversation. (A customer message withdrawn later still
    starts the wait: the employee saw it.)"""
    return m.has_external and m.action == "send" and m.msgtype not in ("agree", "disagree", "revoke")


class ReplyTracker:
    """Per chat: when the customer's oldest unanswered message was sent."""

    def __init__(self, store: Store, hours: WorkingHours) -> None:
        self.store = store
        self.hours = hours
        self._waiting: dict[str, int | None] = {}

    def _load(self, chat_id: str) -> int | None:
        """After a restart: rebuild the chat's state from its last stored messages."""
        _, recent = self.store.list_messages(
            MessageFilter(chats=[chat_id]), scope=Scope.everything(), sort="time_desc", limit=50
        )
        waiting: int | None = None
        for m in recent:  # newest first: walk back over the customer's trailing messages
            if not takes_part(m):
                continue
            if m.sender_kind == "external":
                waiting = m.time_ms
            elif m.sender_kind == "employee":
                break
        return waiting

    def apply(self, messages: list[Message]) -> None:
        """Sets reply_ms/reply_business_ms on employee replies (messages in time order)."""
        for m in sorted(messages, key=lambda x: (x.time_ms, x.seq)):
            if not takes_part(m):
                continue
            if m.chat_id not in self._waiting:
                self._waiting[m.chat_id] = self._load(m.chat_id)
            waiting = self._waiting[m.chat_id]
            if m.sender_kind == "external":
                if waiting is None:
                    self._waiting[m.chat_id] = m.time_ms
            elif m.sender_kind == "employee" and waiting is not None:
                m.reply_ms = max(0, m.time_ms - waiting)
                m.reply_business_ms = self.hours.business_ms(waiting, m.time_ms)
                self._waiting[m.chat_id] = None
