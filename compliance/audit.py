"""The audit trail: who did what, when, and why — append-only and tamper-evident.

Every entry is chained to the previous one: ``hash = sha256(canonical JSON of the entry
including prev_hash)``. Altering an entry breaks its own hash; deleting or reordering
entries breaks the ``seq``/``prev_hash`` links; truncating the tail is caught by the head
anchor kept in the ``meta`` collection. ``verify`` walks the trail in storage order and
names the first bad entry. Operators who want protection against an attacker who can
rewrite the whole store should copy ``head_hash`` (printed by ``audit verify``) elsewhere.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core import clock
from core.errors import BadInput
from core.models import sha256_hex
from store.base import Store
from store.filelock import chain_lock

log = logging.getLogger(__name__)

COLLECTION = "audit"
HEAD_RECORD = ("meta", "audit_head")
GENESIS = "0" * 64

ACTIONS: frozenset[str] = frozenset(
    {
        "login",
        "login_failed",
        "logout",
        "search",
        "view_conversation",
        "export",
        "rule_change",
        "account_change",
        "settings_change",
        "purge",
        "hold_change",
        "review",
        "anchor",
        "alert",  # a reviewer or health alert went out (wecom.alerts)
    }
)

# The fields that make up an entry, in the order the canonical form hashes them (sorted keys).
ENTRY_FIELDS = ("seq", "time_ms", "actor", "action", "target", "details", "reason", "prev_hash")

MIN_REASON_CHARS = 2

# One writer at a time within a process (dashboard threads, scheduler); ``chain_lock`` adds
# the cross-process lock so that separate processes never take the same seq.
_append_lock = threading.Lock()


def canonical(entry: dict[str, Any]) -> str:
    """The exact text that is hashed: the entry's fields (without ``hash``), sorted keys, no spaces."""
    body = {k: entry.get(k) for k in ENTRY_FIELDS}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_hash(entry: dict[str, Any]) -> str:
    return sha256_hex(canonical(entry))


def require_reason(reason: str | None) -> str:
    """Minimum necessity: viewing conversations and exporting need a stated reason."""
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise BadInput("a reason is required (why do you need to see or export these messages?)")
    return text


def _last_entry(store: Store) -> dict[str, Any] | None:
    """The newest entry: the higher of the head anchor (a get by id, real-time even on
    near-real-time backends) and the last stored entry (covers a crash before the anchor)."""
    rows = store.find_records(COLLECTION, order_by="seq", descending=True, limit=1)
    head = store.get_record(*HEAD_RECORD)
    if head and (not rows or int(head.get("seq") or 0) > int(rows[0]["seq"])):
        return {"seq": int(head["seq"]), "hash": head["hash"]}
    return rows[0] if rows else None


def record(
    store: Store,
    actor: str,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    reason: str = "",
    *,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Appends one chained entry and returns it (with ``seq`` and ``hash``)."""
    if action not in ACTIONS:
        raise BadInput(f"unknown audit action {action!r}; known: {', '.join(sorted(ACTIONS))}")
    # Round-trip the details through JSON so the stored form is exactly what was hashed.
    details_json = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
    if getattr(store, "read_only", False):
        return _unrecorded(actor, action, target, details_json, reason, now_ms)
    with _append_lock, chain_lock(store, COLLECTION):
        last = _last_entry(store)
        entry: dict[str, Any] = {
            "seq": (int(last["seq"]) + 1) if last else 1,
            "time_ms": int(now_ms) if now_ms is not None else clock.now_ms(),
            "actor": str(actor),
            "action": action,
            "target": str(target or ""),
            "details": details_json,
            "reason": str(reason or ""),
            "prev_hash": last["hash"] if last else GENESIS,
        }
        entry["hash"] = entry_hash(entry)
        store.append_record(COLLECTION, entry)
        store.put_record(*HEAD_RECORD, {"seq": entry["seq"], "hash": entry["hash"], "time_ms": entry["time_ms"]})
    log.debug("audit %s %s by %s", action, target, actor)
    return entry


def _unrecorded(
    actor: str, action: str, target: str, details: dict[str, Any], reason: str, now_ms: int | None
) -> dict[str, Any]:
    """Policy for a read-only evidence copy: it must stay bit-identical, so nothing is
    appended to its trail; the action is logged on stderr instead (seq 0: not recorded)."""
    log.warning("read-only archive: %s by %s on %r is not recorded in its audit trail", action, actor, target)
    entry: dict[str, Any] = {
        "seq": 0,
        "time_ms": int(now_ms if now_ms is not None else clock.now_ms()),
        "actor": str(actor),
        "action": action,
        "target": str(target or ""),
        "details": details,
        "reason": str(reason or ""),
        "prev_hash": GENESIS,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def list_entries(
    store: Store,
    *,
    actor: str | None = None,
    action: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest first, optionally filtered by actor and/or action."""
    where: dict[str, Any] = {}
    if actor:
        where["actor"] = actor
    if action:
        if action not in ACTIONS:
            raise BadInput(f"unknown audit action {action!r}; known: {', '.join(sorted(ACTIONS))}")
        where["action"] = action
    rows = store.find_records(COLLECTION, where or None, order_by="seq", descending=True, limit=limit, offset=offset)
    return [_clean(r) for r in rows]


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int = 0
    head_hash: str = GENESIS
    first_bad_seq: int | None = None  # the seq the first bad entry claims (or the position where one is missing)
    problem: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "warnings": list(self.warnings),
        }


def _storage_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order entries were appended in (``_seq``), which is what reordering changes."""
    if rows and all("_seq" in r for r in rows):
        return sorted(rows, key=lambda r: int(r["_seq"]))
    return rows


def verify_entries(entries: Iterable[dict[str, Any]], head: dict[str, Any] | None = None) -> VerifyResult:
    """Checks a trail given in storage order. Pure: the tamper tests call it on copies."""
    rows = list(entries)
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0

    def bad(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(False, checked, expected_seq - 1, prev_hash, first_bad_seq=seq, problem=problem)

    for position, entry in enumerate(rows, start=1):
        seq = entry.get("seq")
        label = f"entry seq {seq} (#{position} in storage, {entry.get('action')} by {entry.get('actor')})"
        if entry.get("hash") != entry_hash(entry):
            return bad(_int(seq, position), f"{label}: content altered (its hash does not match)")
        if seq != expected_seq:
            if isinstance(seq, int) and seq < expected_seq:
                return bad(seq, f"{label}: expected seq {expected_seq} (duplicated or inserted entry)")
            if any(r.get("seq") == expected_seq for r in rows[position:]):
                return bad(_int(seq, position), f"{label}: out of order, expected seq {expected_seq} here (reordered)")
            if isinstance(seq, int) and seq > expected_seq:
                return bad(
                    expected_seq, f"entry seq {expected_seq} is missing (deleted); the next stored entry is seq {seq}"
                )
            return bad(_int(seq, position), f"{label}: expected seq {expected_seq} (duplicated or inserted entry)")
        if entry.get("prev_hash") != prev_hash:
            return bad(
                seq,
                f"{label}: not chained to entry seq {expected_seq - 1} (that entry was altered and "
                "re-hashed, or this one was forged)",
            )
        prev_hash = entry["hash"]
        expected_seq += 1
        checked += 1
    head_seq = expected_seq - 1
    if head:
        anchor_seq = int(head.get("seq") or 0)
        if anchor_seq > head_seq:
            return bad(head_seq + 1, f"entries {head_seq + 1}..{anchor_seq} are missing (the trail was truncated)")
    return VerifyResult(True, checked, head_seq, prev_hash)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def verify(store: Store) -> VerifyResult:
    """Verifies the stored trail, including the head anchor (tail truncation)."""
    rows = _storage_order(store.find_records(COLLECTION))
    head = store.get_record(*HEAD_RECORD)
    result = verify_entries([_clean(r) for r in rows], head)
    if result.ok and head and int(head.get("seq") or 0) == result.head_seq and head.get("hash") != result.head_hash:
        result = VerifyResult(
            False,
            result.checked,
            result.head_seq,
            result.head_hash,
            first_bad_seq=result.head_seq,
            problem=f"entry seq {result.head_seq}: does not match the recorded head of the trail",
        )
    return result
