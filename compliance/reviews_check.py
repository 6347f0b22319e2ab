"""Review decisions are evidence: every status in the store must be the outcome of an
audited, chained review event.

A violation's status (and a sampled conversation's) may change only through the review
workflow, which writes an audit entry (action ``review``, target the violation id or
``sample:ID:CHAT``, ``details.status``). A status that differs from the last such event —
a violation marked ``false_positive`` directly in the store, or a confirmed one reset — is
a failure. The trail itself is verified by ``compliance.audit``.
"""

from __future__ import annotations

from typing import Any

from compliance import audit
from compliance.integrity import iter_violations
from core.models import ViolationFilter
from store.base import Store

UNREVIEWED = "unreviewed"


def last_review_statuses(store: Store) -> dict[str, str]:
    """Target → the status its last review event set, replaying the trail in order."""
    rows = store.find_records(audit.COLLECTION, {"action": "review"})
    last: dict[str, str] = {}
    for entry in sorted(rows, key=lambda r: int(r.get("seq") or 0)):
        status = (entry.get("details") or {}).get("status")
        if status:
            last[str(entry.get("target") or "")] = str(status)
    return last


def compare_statuses(stored: dict[str, str], events: dict[str, str], what: str) -> list[str]:
    """Problems for each stored status that its last event does not explain. Pure."""
    problems = []
    for target, status in sorted(stored.items()):
        expected = events.get(target, UNREVIEWED)
        if status != expected:
            problems.append(
                f"{what} {target}: status {status!r} but its last review event in the audit trail "
                f"says {expected!r} (changed outside the review workflow)"
            )
    return problems


def _sample_statuses(store: Store) -> dict[str, str]:
    out: dict[str, str] = {}
    for doc in store.find_records("samples"):
        for item in doc.get("items") or []:
            out[f"sample:{doc.get('id') or doc['_id']}:{item.get('chat_id')}"] = str(item.get("status") or UNREVIEWED)
    return out


def verify_reviews(store: Store) -> list[str]:
    events = last_review_statuses(store)
    violations = {v.id: v.status for v in iter_violations(store, ViolationFilter())}
    return compare_statuses(violations, events, "violation") + compare_statuses(
        _sample_statuses(store), events, "sampled conversation"
    )


def summary(problems: list[str]) -> dict[str, Any]:
    return {"ok": not problems, "problems": problems[:100], "problem_count": len(problems)}
