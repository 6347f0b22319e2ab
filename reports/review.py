"""Supervision evidence: reviews of violations and sampled conversations, and the
reproducible random samples of unflagged conversations supervisors must look at.

Every review is written three times on purpose: the violation's own status (what the
lists filter on), a ``reviews`` record (the evidence, one per decision, never
overwritten) and an audit entry (the chained trail).
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterable
from typing import Any

from compliance import audit
from core import clock
from core.errors import BadInput
from core.models import REVIEW_STATUSES, MessageFilter, Scope, Violation
from store.base import Store

MAX_CHATS = 100_000
SAMPLES = "samples"
REVIEWS = "reviews"
# A sampled conversation is judged as a whole. It has its own outcomes: with the violation statuses a
# conversation found clean was stored as "confirmed" and listed as 确认违规.
SAMPLE_STATUSES: tuple[str, ...] = ("no_issue", "issue_found", "escalated")


def _now() -> int:
    return clock.now_ms()


def review_violation(
    store: Store,
    violation_id: str,
    status: str,
    comment: str,
    *,
    reviewer: str,
    assignee: str | None = None,
    now_ms: int | None = None,
) -> Violation:
    """Records a reviewer's decision on one violation."""
    if status not in REVIEW_STATUSES:
        raise BadInput(f"review status must be one of {', '.join(REVIEW_STATUSES)}, got {status!r}")
    if status != "unreviewed" and status != "confirmed" and len(comment.strip()) < 2:
        raise BadInput("a comment is required for a false positive or an escalation")
    now = now_ms if now_ms is not None else _now()
    changes: dict[str, Any] = {"status": status, "reviewer": reviewer, "reviewed_ms": now, "comment": comment.strip()}
    if assignee is not None:
        changes["assignee"] = assignee
    v = store.update_violation(violation_id, changes)
    store.put_record(
        REVIEWS,
        uuid.uuid4().hex,
        {
            "kind": "violation",
            "target": violation_id,
            "msgid": v.msgid,
            "rule_id": v.rule_id,
            "rule_version": v.rule_version,
            "status": status,
            "comment": comment.strip(),
            "reviewer": reviewer,
            "time_ms": now,
        },
    )
    audit.record(
        store,
        reviewer,
        "review",
        violation_id,
        {"status": status, "rule": v.rule_id, "rule_version": v.rule_version},
        comment.strip(),
        now_ms=now,
    )
    return v


def assign_violation(store: Store, violation_id: str, assignee: str, *, actor: str) -> Violation:
    v = store.update_violation(violation_id, {"assignee": assignee})
    audit.record(store, actor, "review", violation_id, {"assign": assignee})
    return v


def reviews_of(store: Store, target: str) -> list[dict[str, Any]]:
    """Every decision on one violation or sampled conversation, oldest first."""
    rows = store.find_records(REVIEWS, {"target": target})
    return sorted(rows, key=lambda r: int(r.get("time_ms") or 0))


def _chats(store: Store, f: MessageFilter, scope: Scope) -> set[str]:
    r = store.aggregate(f, {"c": {"terms": {"field": "chat_id", "size": MAX_CHATS}}}, scope=scope)
    return {str(b["key"]) for b in (r.get("c") or {}).get("buckets") or []}


def unflagged_chats(store: Store, f: MessageFilter, *, scope: Scope) -> list[str]:
    """Conversations with messages matching ``f`` and no flagged message among them, sorted."""
    everything = _chats(store, f, scope)
    flagged = _chats(store, MessageFilter(**{**f.__dict__, "flagged": True}), scope)
    return sorted(everything - flagged)


def draw_sample(
    store: Store,
    *,
    scope: Scope,
    time_from: int,
    time_to: int,
    percent: float,
    by: str,
    targets: Iterable[Any],
    seed: int,
    actor: str,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Draws ``percent`` % (at least one when any exist) of each target's unflagged
    conversations in ``[time_from, time_to)``. ``by`` is ``department`` or ``employee``.
    The same seed, period, targets and data give the same sample (the draw for a target
    depends only on the seed, the target and the sorted conversation ids), so a sample
    can be re-drawn to prove it was random. Stored in ``samples``; returns the record."""
    if by not in ("department", "employee"):
        raise BadInput("sample by department or employee")
    if not 0 < percent <= 100:
        raise BadInput(f"percentage must be in (0, 100], got {percent}")
    if time_to <= time_from:
        raise BadInput("the period is empty: its end must be after its start")
    targets = list(targets)
    if not targets:
        raise BadInput(f"choose at least one {by}")
    items: list[dict[str, Any]] = []
    for target in targets:
        f = MessageFilter(time_from=time_from, time_to=time_to)
        if by == "department":
            f.departments = [int(target)]
        else:
            f.employees = [str(target)]
        population = unflagged_chats(store, f, scope=scope)
        k = min(len(population), max(1, math.ceil(len(population) * percent / 100))) if population else 0
        chosen = random.Random(f"{seed}:{by}:{target}").sample(population, k)
        items.extend({"target": str(target), "chat_id": c, "status": "unreviewed"} for c in sorted(chosen))
    now = now_ms if now_ms is not None else _now()
    sample_id = uuid.uuid4().hex[:12]
    doc = {
        "id": sample_id,
        "seed": int(seed),
        "time_from": int(time_from),
        "time_to": int(time_to),
        "percent": float(percent),
        "by": by,
        "targets": [str(t) for t in targets],
        "items": items,
        "drawn_by": actor,
        "drawn_ms": now,
        "scope": scope.to_dict(),
    }
    store.put_record(SAMPLES, sample_id, doc)
    audit.record(
        store,
        actor,
        "review",
        f"sample:{sample_id}",
        {
            "op": "draw",
            "seed": seed,
            "percent": percent,
            "by": by,
            "targets": doc["targets"],
            "conversations": len(items),
        },
        now_ms=now,
    )
    return doc


def review_sample_item(
    store: Store, sample_id: str, chat_id: str, status: str, comment: str, *, reviewer: str, now_ms: int | None = None
) -> dict[str, Any]:
    """Records the decision on one sampled conversation: no_issue, issue_found or escalated."""
    if status not in SAMPLE_STATUSES:
        raise BadInput(f"sample review status must be one of {', '.join(SAMPLE_STATUSES)}; got {status!r}")
    if status != "no_issue" and len(comment.strip()) < 2:
        raise BadInput("a comment is required when a sampled conversation has an issue")
    doc = store.get_record(SAMPLES, sample_id)
    if doc is None:
        raise BadInput(f"no sample {sample_id!r}")
    item = next((i for i in doc["items"] if i["chat_id"] == chat_id), None)
    if item is None:
        raise BadInput(f"conversation {chat_id!r} is not in sample {sample_id}")
    now = now_ms if now_ms is not None else _now()
    item.update(status=status, reviewer=reviewer, reviewed_ms=now, comment=comment.strip())
    store.put_record(SAMPLES, sample_id, {k: v for k, v in doc.items() if not k.startswith("_")})
    target = f"sample:{sample_id}:{chat_id}"
    store.put_record(
        REVIEWS,
        uuid.uuid4().hex,
        {
            "kind": "sample",
            "target": target,
            "sample_id": sample_id,
            "chat_id": chat_id,
            "status": status,
            "comment": comment.strip(),
            "reviewer": reviewer,
            "time_ms": now,
        },
    )
    audit.record(store, reviewer, "review", target, {"status": status}, comment.strip(), now_ms=now)
    return item
