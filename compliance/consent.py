"""Consent of external contacts to archiving (WeCom's agree/disagree events).

Each agree/disagree message updates the ``consent`` collection, keyed by
(employee, external id), with the latest status and its time. The consent policy
(setting ``consent_policy``: keep | mask | exclude) decides what happens to messages
with a contact who disagreed; the pipeline applies it to each batch before storing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from compliance.masking import mask_message, organisation_names
from core.directory import Directory
from core.errors import BadInput
from core.models import Message
from core.settings import Settings, setting_or_default
from store.base import Store
from store.directory import load_directory

log = logging.getLogger(__name__)

COLLECTION = "consent"
EVENT_TYPES = ("agree", "disagree")
POLICIES = ("keep", "mask", "exclude")


def _key(employee: str, external: str) -> str:
    return f"{employee}|{external}"


def _event(message: Message) -> tuple[str, int] | None:
    """(external id, time ms) of an agree/disagree message, None if it is not one."""
    if message.msgtype not in EVENT_TYPES:
        return None
    try:
        obj = (json.loads(message.raw, strict=False) or {}).get(message.msgtype) or {}
    except (TypeError, ValueError, AttributeError):
        obj = {}
    external = str(obj.get("userid") or (message.externals[0] if message.externals else message.sender))
    when = obj.get(f"{message.msgtype}_time") or message.time_ms
    try:
        when = int(when)
    except (TypeError, ValueError):
        when = message.time_ms
    return external, when


def record_events(store: Store, messages: Iterable[Message]) -> int:
    """Stores the consent state carried by agree/disagree messages (the newest event wins),
    in one write per batch. Returns how many (employee, external) states changed."""
    changes: dict[str, dict[str, Any]] = {}
    for m in messages:
        event = _event(m)
        if event is None:
            continue
        external, when = event
        employees = [e for e in (m.employees or [p for p in [m.sender, *m.receivers] if p != external]) if e]
        for employee in employees or [""]:
            key = _key(employee, external)
            old = changes.get(key) or store.get_record(COLLECTION, key)
            if old is not None and int(old.get("time_ms") or 0) > when:
                continue
            changes[key] = {
                "employee": employee,
                "external": external,
                "status": m.msgtype,
                "time_ms": when,
                "msgid": m.msgid,
            }
    if changes:
        store.put_records(COLLECTION, changes)
    return len(changes)


def consent_status(store: Store, external_id: str) -> dict[str, Any]:
    """``{"external", "status": agree|disagree|unknown, "time_ms", "by_employee": {employee: {status, time_ms}}}``;
    ``status`` is the latest event with any employee."""
    rows = store.find_records(COLLECTION, {"external": external_id})
    by_employee = {r["employee"]: {"status": r["status"], "time_ms": int(r["time_ms"])} for r in rows}
    latest = max(rows, key=lambda r: int(r["time_ms"]), default=None)
    return {
        "external": external_id,
        "status": latest["status"] if latest else "unknown",
        "time_ms": int(latest["time_ms"]) if latest else 0,
        "by_employee": by_employee,
    }


def list_consent(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Every stored (employee, external) consent state, newest first."""
    if status is not None and status not in EVENT_TYPES:
        raise BadInput(f"consent status must be agree or disagree, got {status!r}")
    rows = store.find_records(COLLECTION, {"status": status} if status else None)
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    return sorted(clean, key=lambda r: -int(r["time_ms"]))


def _disagreed(message: Message, states: dict[str, list[dict[str, Any]]]) -> bool:
    """Whether a contact of this message disagreed: with one of its employees when that
    pair is known, else by the contact's latest event with anyone."""
    for external in message.externals:
        rows = states.get(external) or []
        pairs = [r for r in rows if r["employee"] in message.employees]
        relevant = pairs or rows
        if not relevant:
            continue
        if pairs:
            if any(r["status"] == "disagree" for r in pairs):
                return True
        elif max(relevant, key=lambda r: int(r["time_ms"]))["status"] == "disagree":
            return True
    return False


def apply_consent_policy(
    store: Store,
    messages: list[Message],
    *,
    policy: str | None = None,
    settings: Settings | None = None,
    directory: Directory | None = None,
) -> list[Message]:
    """Records the batch's consent events, then keeps, masks or drops the messages with a
    contact who disagreed (the agree/disagree events themselves are always kept).
    ``policy`` overrides the setting."""
    if policy is None:
        policy = str(setting_or_default(settings, "consent_policy"))
    if policy not in POLICIES:
        raise BadInput(f"consent_policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    record_events(store, messages)
    if policy == "keep":
        return messages
    externals = sorted({x for m in messages for x in m.externals})
    if not externals:
        return messages
    states: dict[str, list[dict[str, Any]]] = {}
    for row in store.find_records(COLLECTION, {"external": externals}):
        states.setdefault(row["external"], []).append(row)
    if not any(r["status"] == "disagree" for rows in states.values() for r in rows):
        return messages
    names: list[str] | None = None
    out: list[Message] = []
    dropped = 0
    for m in messages:
        if m.msgtype in EVENT_TYPES or not _disagreed(m, states):
            out.append(m)
        elif policy == "exclude":
            dropped += 1
        else:
            if names is None:
                if directory is None:
                    directory = load_directory(store)
                names = organisation_names(directory)
            out.append(mask_message(m, names))
    if dropped:
        log.info("consent policy: excluded %d message(s) with contacts who disagreed", dropped)
    return out
