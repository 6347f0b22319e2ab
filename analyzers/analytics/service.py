"""Service quality per employee in chats with customers: conversations, messages sent,
answered share, first-response time (median and p90, wall-clock and business hours),
unanswered conversations — from aggregations over the ``reply_ms`` fields the pipeline
computes at ingest (``indexer.replies``).

Percentiles: ``reply_ms`` is -1 on employee messages that answer nothing. The store's
aggregation subset has no range filter, so each employee's percentiles are read from a
fine percentile grid over all their messages, shifted past the share of -1 values
(counted with a histogram). The result is the percentile among real replies, to the
grid's resolution (0.5 percentage points) on top of the backend's own estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatarchive.models import MessageFilter, Scope
from store.base import Store

GRID = [round(i * 0.5, 1) for i in range(201)]  # 0, 0.5, ..., 100
SPLIT = 10**13  # a histogram interval that puts -1 in one bucket and every real reply in the next
MAX_CHATS = 100_000


@dataclass
class ServiceRow:
    employee: str
    chats: int = 0
    sent: int = 0
    customer_messages: int = 0
    replies: int = 0
    unanswered_chats: int = 0
    reply_p50_ms: float | None = None
    reply_p90_ms: float | None = None
    business_p50_ms: float | None = None
    business_p90_ms: float | None = None

    @property
    def answered_share(self) -> float | None:
        """Customer turns answered: replies / (replies + conversations left unanswered)."""
        turns = self.replies + self.unanswered_chats
        return self.replies / turns if turns else None


def _sub(bucket: dict[str, Any]) -> dict[str, Any]:
    return bucket.get("sub") or bucket


def percentile_among_replies(grid_values: dict[str, Any], negatives: int, total: int, p: float) -> float | None:
    """The ``p``-th percentile of the non-negative values, from percentiles of all values."""
    replies = total - negatives
    if replies <= 0:
        return None
    target = 100.0 * (negatives + p / 100.0 * replies) / total
    # The nearest grid percent at or above the target (so -1s are never returned).
    points = sorted((float(k), v) for k, v in grid_values.items() if v is not None)
    for percent, value in points:
        if percent >= target - 1e-9 and value is not None and float(value) >= 0:
            return float(value)
    return float(points[-1][1]) if points else None


def service_quality(store: Store, filters: MessageFilter, *, scope: Scope, now_ms: int, unanswered_minutes: int,
                    size: int = 50) -> list[ServiceRow]:
    """One row per employee (most messages sent first) for chats with customers."""
    base = {**filters.__dict__, "chat_kinds": ["external"]}
    sent = store.aggregate(
        MessageFilter(**{**base, "sender_kinds": ["employee"]}),
        {"e": {"terms": {"field": "sender", "size": size}, "aggs": {
            "chats": {"cardinality": {"field": "chat_id"}},
            "neg": {"histogram": {"field": "reply_ms", "interval": SPLIT}},
            "p": {"percentiles": {"field": "reply_ms", "percents": GRID}},
            "bneg": {"histogram": {"field": "reply_business_ms", "interval": SPLIT}},
            "bp": {"percentiles": {"field": "reply_business_ms", "percents": GRID}},
        }}},
        scope=scope,
    )
    rows: dict[str, ServiceRow] = {}
    for b in (sent.get("e") or {}).get("buckets") or []:
        sub = _sub(b)
        row = ServiceRow(employee=str(b["key"]), sent=int(b["doc_count"]),
                         chats=int((sub.get("chats") or {}).get("value") or 0))

        def split(name: str) -> int:
            return sum(int(x["doc_count"]) for x in (sub.get(name) or {}).get("buckets") or [] if float(x["key"]) < 0)

        neg, bneg = split("neg"), split("bneg")
        row.replies = row.sent - neg
        values = (sub.get("p") or {}).get("values") or {}
        bvalues = (sub.get("bp") or {}).get("values") or {}
        row.reply_p50_ms = percentile_among_replies(values, neg, row.sent, 50)
        row.reply_p90_ms = percentile_among_replies(values, neg, row.sent, 90)
        row.business_p50_ms = percentile_among_replies(bvalues, bneg, row.sent, 50)
        row.business_p90_ms = percentile_among_replies(bvalues, bneg, row.sent, 90)
        rows[row.employee] = row
    customer = store.aggregate(MessageFilter(**{**base, "sender_kinds": ["external"]}),
                               {"e": {"terms": {"field": "employees", "size": 10_000}}}, scope=scope)
    for b in (customer.get("e") or {}).get("buckets") or []:
        if str(b["key"]) in rows:
            rows[str(b["key"])].customer_messages = int(b["doc_count"])
    # Unanswered: the conversation's last message is the customer's and is older than the threshold.
    last_any = _last_by_chat(store, MessageFilter(**base), scope)
    last_customer = _last_by_chat(store, MessageFilter(**{**base, "sender_kinds": ["external"]}), scope)
    threshold = now_ms - unanswered_minutes * 60_000
    for chat_id, t in last_customer.items():
        if t >= last_any.get(chat_id, 0) and t <= threshold:
            for party in chat_id.split("|"):
                if party in rows:
                    rows[party].unanswered_chats += 1
    return sorted(rows.values(), key=lambda r: (-r.sent, r.employee))


def _last_by_chat(store: Store, f: MessageFilter, scope: Scope) -> dict[str, int]:
    r = store.aggregate(f, {"c": {"terms": {"field": "chat_id", "size": MAX_CHATS}, "aggs": {"t": {"max": {"field": "time"}}}}},
                        scope=scope)
    return {str(b["key"]): int((_sub(b).get("t") or {}).get("value") or 0) for b in (r.get("c") or {}).get("buckets") or []}
