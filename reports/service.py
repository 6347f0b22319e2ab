"""Service quality per employee in conversations with customers: conversations, messages
sent, customer messages, answered share, first-response time (median and p90, wall-clock
and business hours), unanswered conversations — from aggregations over the ``reply_ms``
fields the pipeline computes at ingest (``indexer.replies``).

Conversations with customers are single chats with a customer (chat_kind ``external``)
and groups with external participants (``has_external``): the same chats the pipeline
measures response times in (``indexer.replies.takes_part``). Internal groups are left out.
Every employee who takes part in such a conversation in the selection gets a row, also
one who never answered (their unanswered conversations must show).

Percentiles: ``reply_ms`` is -1 on employee messages that answer nothing. The store's
aggregation subset has no range filter, so each employee's percentiles are read from a
fine percentile grid over all their messages, shifted past the share of -1 values
(counted with a histogram). Single chats and customer groups are aggregated apart (the
filter has no "has_external"), and their grids are merged as distributions. The result
is the percentile among real replies, to the grid's resolution (0.5 percentage points)
on top of the backend's own estimate.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from core.models import MessageFilter, Scope
from store.base import Store, buckets

GRID = [round(i * 0.5, 1) for i in range(201)]  # 0, 0.5, ..., 100
SPLIT = 10**13  # a histogram interval that puts -1 in one bucket and every real reply in the next
MAX_CHATS = 100_000
MAX_EMPLOYEES = 10_000
# Records a customer's client writes, not messages the customer wrote (``action`` is not
# "send"): a revoke record, consent (agree/disagree) and session switches.
NOT_WRITTEN = frozenset({"revoke", "agree", "disagree", "switch"})
MSGTYPE_BUCKETS = 200


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


# One part of an employee's reply times: the percentile grid over all the messages they
# sent in one kind of chat, how many of those answered nothing (-1), and how many there were.
Grid = tuple[dict[str, Any], int, int]


def _negatives(sub: dict[str, Any], name: str) -> int:
    """Messages in the sub-aggregation's buckets with a negative key (negative sentiment)."""
    return sum(int(x["doc_count"]) for x in buckets(sub, name) if float(x["key"]) < 0)


def _true(bucket: dict[str, Any]) -> bool:
    """A boolean terms key as either backend returns it (true, 1, "true")."""
    return str(bucket.get("key_as_string", bucket["key"])).lower() in ("true", "1")


def percentile_among_replies(grid_values: dict[str, Any], negatives: int, total: int, p: float) -> float | None:
    """The ``p``-th percentile of the non-negative values, from percentiles of all values."""
    return merged_percentile_among_replies([(grid_values, negatives, total)], p)


def merged_percentile_among_replies(parts: list[Grid], p: float) -> float | None:
    """The ``p``-th percentile of the non-negative values of several parts together, from
    each part's percentiles of all its values: the smallest grid value at or below which
    at least ``p`` % of all the replies lie (each part's count read from its own grid)."""
    replies = sum(total - negatives for _, negatives, total in parts)
    if replies <= 0:
        return None
    target = p / 100.0 * replies - 1e-9
    curves = []  # per part: percents and values in percent order (values made monotone), size, -1 count
    for values, negatives, total in parts:
        points = sorted((float(k), float(v)) for k, v in values.items() if v is not None)
        if total > negatives and points:
            monotone = list(accumulate((v for _, v in points), max))
            curves.append(([q for q, _ in points], monotone, negatives, total))
    candidates = sorted({v for _, values, _, _ in curves for v in values if v >= 0})
    if not candidates:
        return None

    def replies_at_or_below(value: float) -> int:
        count = 0
        for percents, values, negatives, total in curves:
            i = bisect_right(values, value)
            if i:  # the value at percent q is the element of rank q·(n-1) (both backends' convention)
                count += max(0, math.floor(percents[i - 1] / 100.0 * (total - 1) + 1e-9) + 1 - negatives)
        return count

    # The count grows with the value: binary search for the first candidate reaching the target.
    lo, hi = 0, len(candidates) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if replies_at_or_below(candidates[mid]) >= target:
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo]


def customer_groups(store: Store, filters: MessageFilter, *, scope: Scope) -> list[str]:
    """The group chats of the selection with external participants (customer groups)."""
    f = MessageFilter(**{**filters.__dict__, "chat_kinds": ["group"]})
    r = store.aggregate(
        f,
        {
            "x": {
                "terms": {"field": "has_external", "size": 2},
                "aggs": {"c": {"terms": {"field": "chat_id", "size": MAX_CHATS}}},
            }
        },
        scope=scope,
    )
    return sorted({str(c["key"]) for b in buckets(r, "x") if _true(b) for c in buckets(b, "c")})


def customer_chat_filters(filters: MessageFilter, *, store: Store, scope: Scope) -> list[MessageFilter]:
    """The selection's conversations with customers as filters the store understands: single
    chats with a customer, and the customer groups by id (when there are any)."""
    kinds = filters.chat_kinds or ["external", "group"]
    parts = []
    if "external" in kinds:
        parts.append(MessageFilter(**{**filters.__dict__, "chat_kinds": ["external"]}))
    if "group" in kinds:
        groups = customer_groups(store, filters, scope=scope)
        if groups:
            parts.append(MessageFilter(**{**filters.__dict__, "chat_kinds": ["group"], "chats": groups}))
    return parts


def service_quality(
    store: Store,
    filters: MessageFilter,
    *,
    scope: Scope,
    now_ms: int,
    unanswered_minutes: int,
    size: int = MAX_EMPLOYEES,
) -> list[ServiceRow]:
    """One row per employee taking part in a conversation with a customer (most messages
    sent first), at most ``size`` rows."""
    rows: dict[str, ServiceRow] = {}
    grids: dict[str, dict[str, list[Grid]]] = {}

    def row(employee: str) -> ServiceRow:
        return rows.setdefault(employee, ServiceRow(employee=employee))

    threshold = now_ms - unanswered_minutes * 60_000
    for part in customer_chat_filters(filters, store=store, scope=scope):
        # Who takes part, and in how many conversations.
        taking_part = store.aggregate(
            part,
            {
                "e": {
                    "terms": {"field": "employees", "size": MAX_EMPLOYEES},
                    "aggs": {"chats": {"cardinality": {"field": "chat_id"}}},
                }
            },
            scope=scope,
        )
        for b in buckets(taking_part, "e"):
            row(str(b["key"])).chats += int((b.get("chats") or {}).get("value") or 0)
        _add_sent(store, part, scope, row, grids)
        # What the customers wrote (records of their client left out).
        customer = store.aggregate(
            MessageFilter(**{**part.__dict__, "sender_kinds": ["external"]}),
            {
                "e": {
                    "terms": {"field": "employees", "size": MAX_EMPLOYEES},
                    "aggs": {"t": {"terms": {"field": "msgtype", "size": MSGTYPE_BUCKETS}}},
                }
            },
            scope=scope,
        )
        for b in buckets(customer, "e"):
            records = sum(int(t["doc_count"]) for t in buckets(b, "t") if str(t["key"]) in NOT_WRITTEN)
            row(str(b["key"])).customer_messages += int(b["doc_count"]) - records
        # Unanswered: the conversation's last message is the customer's and is older than the threshold.
        last_any = _last_by_chat(store, part, scope)
        last_customer = _last_by_chat(store, MessageFilter(**{**part.__dict__, "sender_kinds": ["external"]}), scope)
        unanswered = [c for c, t in last_customer.items() if t >= last_any.get(c, 0) and t <= threshold]
        for employees in _employees_of(store, part, unanswered, scope).values():
            for e in employees:
                if e in rows:
                    rows[e].unanswered_chats += 1
    for employee, kinds in grids.items():
        r = rows[employee]
        r.reply_p50_ms = merged_percentile_among_replies(kinds["wall"], 50)
        r.reply_p90_ms = merged_percentile_among_replies(kinds["wall"], 90)
        r.business_p50_ms = merged_percentile_among_replies(kinds["business"], 50)
        r.business_p90_ms = merged_percentile_among_replies(kinds["business"], 90)
    return sorted(rows.values(), key=lambda r: (-r.sent, -r.chats, r.employee))[:size]


def _add_sent(
    store: Store,
    part: MessageFilter,
    scope: Scope,
    row: Callable[[str], ServiceRow],
    grids: dict[str, dict[str, list[Grid]]],
) -> None:
    """Messages the employees sent in one part, their replies and their reply-time grids."""
    sent = store.aggregate(
        MessageFilter(**{**part.__dict__, "sender_kinds": ["employee"]}),
        {
            "e": {
                "terms": {"field": "sender", "size": MAX_EMPLOYEES},
                "aggs": {
                    "neg": {"histogram": {"field": "reply_ms", "interval": SPLIT}},
                    "p": {"percentiles": {"field": "reply_ms", "percents": GRID}},
                    "bneg": {"histogram": {"field": "reply_business_ms", "interval": SPLIT}},
                    "bp": {"percentiles": {"field": "reply_business_ms", "percents": GRID}},
                },
            }
        },
        scope=scope,
    )
    for b in buckets(sent, "e"):
        sub = b
        total = int(b["doc_count"])

        neg, bneg = _negatives(sub, "neg"), _negatives(sub, "bneg")
        r = row(str(b["key"]))
        r.sent += total
        r.replies += total - neg
        mine = grids.setdefault(r.employee, {"wall": [], "business": []})
        mine["wall"].append(((sub.get("p") or {}).get("values") or {}, neg, total))
        mine["business"].append(((sub.get("bp") or {}).get("values") or {}, bneg, total))


def _employees_of(store: Store, part: MessageFilter, chat_ids: list[str], scope: Scope) -> dict[str, list[str]]:
    """The employees taking part in each of ``chat_ids`` (within the part's selection)."""
    if not chat_ids:
        return {}
    r = store.aggregate(
        MessageFilter(**{**part.__dict__, "chats": chat_ids}),
        {
            "c": {
                "terms": {"field": "chat_id", "size": len(chat_ids)},
                "aggs": {"e": {"terms": {"field": "employees", "size": MAX_EMPLOYEES}}},
            }
        },
        scope=scope,
    )
    return {str(b["key"]): [str(e["key"]) for e in buckets(b, "e")] for b in buckets(r, "c")}


def _last_by_chat(store: Store, f: MessageFilter, scope: Scope) -> dict[str, int]:
    r = store.aggregate(
        f,
        {"c": {"terms": {"field": "chat_id", "size": MAX_CHATS}, "aggs": {"t": {"max": {"field": "time"}}}}},
        scope=scope,
    )
    return {str(b["key"]): int((b.get("t") or {}).get("value") or 0) for b in buckets(r, "c")}
