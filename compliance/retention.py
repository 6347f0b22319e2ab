"""Retention: how long messages are kept, legal holds, and the purge.

The policy keeps messages N days (0 = forever), optionally with other periods per
message class or msgtype, and either deletes expired messages (with their violations and
derived records) or masks their personal data. Legal holds exempt an employee, a customer
(external id) or a conversation from the purge until released. A policy shorter than the
administrator's legal minimum (setting ``retention_minimum_days``) is refused.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compliance import audit, integrity
from compliance.masking import mask_message, organisation_names
from core import clock
from core.directory import Directory
from core.errors import BadInput
from core.models import ALL, Message, MessageFilter, ViolationFilter
from core.settings import Settings, setting_or_default
from store.base import Store
from store.context import ArchiveContext
from store.directory import load_directory

log = logging.getLogger(__name__)

POLICY_RECORD = ("meta", "retention_policy")
HOLDS = "legal_holds"
HOLD_KINDS = ("employee", "customer", "chat")
ACTIONS = ("delete", "mask")
DAY_MS = 86_400_000
BATCH = 500
# Derived records that name a message and go with it when it is deleted.
DERIVED_COLLECTIONS = ("reviews", "media")

# Message classes a policy may name instead of single msgtypes.
CLASSES: dict[str, frozenset[str]] = {
    "text": frozenset(
        {
            "text",
            "markdown",
            "news",
            "link",
            "weapp",
            "docmsg",
            "todo",
            "vote",
            "collect",
            "calendar",
            "chatrecord",
            "mixed",
            "card",
            "location",
            "sphfeed",
        }
    ),
    "media": frozenset({"image", "voice", "video", "file", "emotion", "meeting_voice_call", "voip_doc_share"}),
    "money": frozenset({"redpacket", "external_redpacket"}),
    "events": frozenset({"agree", "disagree", "revoke", "switch", "meeting", "meeting_notification", "voiptext"}),
}


@dataclass
class RetentionPolicy:
    days: int = 0  # 0 keeps forever
    action: str = "delete"
    classes: dict[str, int] = field(default_factory=dict)  # class name or msgtype -> days (0 = forever)

    def keep_days(self, msgtype: str) -> int:
        if msgtype in self.classes:
            return self.classes[msgtype]
        for name, members in CLASSES.items():
            if name in self.classes and msgtype in members:
                return self.classes[name]
        return self.days

    def to_dict(self) -> dict[str, Any]:
        return {"days": self.days, "action": self.action, "classes": dict(sorted(self.classes.items()))}


def get_policy(store: Store, settings: Settings | None = None) -> RetentionPolicy:
    """The stored policy, or the one the settings give (retention_days, retention_action)."""
    stored = store.get_record(*POLICY_RECORD)
    if stored:
        return RetentionPolicy(
            int(stored.get("days") or 0),
            stored.get("action") or "delete",
            {k: int(v) for k, v in (stored.get("classes") or {}).items()},
        )
    return RetentionPolicy(
        int(setting_or_default(settings, "retention_days")), str(setting_or_default(settings, "retention_action"))
    )


def _check_days(label: str, days: Any, minimum: int) -> int:
    try:
        value = int(days)
    except (TypeError, ValueError):
        raise BadInput(f"{label}: days must be a whole number, got {days!r}") from None
    if value < 0:
        raise BadInput(f"{label}: days cannot be negative")
    if 0 < value < minimum:
        raise BadInput(
            f"{label}: {value} days is shorter than the legal minimum of {minimum} days "
            "(setting retention_minimum_days)"
        )
    return value


def set_policy(
    store: Store,
    days: int | None = None,
    action: str | None = None,
    classes: dict[str, Any] | None = None,
    *,
    actor: str = "system",
    settings: Settings | None = None,
) -> RetentionPolicy:
    """Validates everything, then saves the policy and logs the change."""
    current = get_policy(store, settings)
    minimum = int(setting_or_default(settings, "retention_minimum_days"))
    new_days = _check_days("retention", current.days if days is None else days, minimum)
    new_action = current.action if action is None else action
    if new_action not in ACTIONS:
        raise BadInput(f"retention action must be one of {', '.join(ACTIONS)}, got {new_action!r}")
    new_classes = dict(current.classes)
    for name, value in (classes or {}).items():
        if value is None:  # removes a class override
            new_classes.pop(name, None)
            continue
        if name not in CLASSES and not _is_msgtype(name):
            raise BadInput(f"unknown message class {name!r}; use one of {', '.join(CLASSES)} or a msgtype")
        new_classes[name] = _check_days(f"retention of {name}", value, minimum)
    policy = RetentionPolicy(new_days, new_action, new_classes)
    if policy.to_dict() == current.to_dict() and store.get_record(*POLICY_RECORD):
        return policy  # nothing changes, nothing to log
    store.put_record(*POLICY_RECORD, policy.to_dict())
    store.append_record(
        "settings_log",
        {
            "time_ms": clock.now_ms(),
            "actor": actor,
            "setting": "retention_policy",
            "before": current.to_dict(),
            "after": policy.to_dict(),
        },
    )
    audit.record(
        store, actor, "settings_change", "retention_policy", {"before": current.to_dict(), "after": policy.to_dict()}
    )
    return policy


def _is_msgtype(name: str) -> bool:
    return any(name in members for members in CLASSES.values()) or (name.isidentifier() and name.islower())


# --- legal holds -------------------------------------------------------------------------


def add_hold(
    store: Store, kind: str, value: str, reason: str, *, actor: str = "system", now_ms: int | None = None
) -> dict[str, Any]:
    if kind not in HOLD_KINDS:
        raise BadInput(f"hold kind must be one of {', '.join(HOLD_KINDS)}, got {kind!r}")
    value = (value or "").strip()
    if not value:
        raise BadInput(f"a {kind} hold needs the {kind} id")
    reason = audit.require_reason(reason)
    now = int(now_ms) if now_ms is not None else clock.now_ms()
    hold_id = uuid.uuid4().hex[:12]
    hold: dict[str, Any] = {
        "id": hold_id,
        "kind": kind,
        "value": value,
        "reason": reason,
        "active": True,
        "created_by": actor,
        "created_ms": now,
        "released_by": "",
        "released_ms": 0,
        "release_reason": "",
    }
    store.put_record(HOLDS, hold_id, hold)
    audit.record(store, actor, "hold_change", f"{kind}:{value}", {"op": "add", "hold": hold_id}, reason, now_ms=now)
    return hold


def release_hold(
    store: Store, hold_id: str, reason: str, *, actor: str = "system", now_ms: int | None = None
) -> dict[str, Any]:
    hold = store.get_record(HOLDS, hold_id)
    if hold is None:
        raise BadInput(f"no legal hold with id {hold_id!r}")
    if not hold.get("active"):
        raise BadInput(f"legal hold {hold_id} was already released")
    reason = audit.require_reason(reason)
    now = int(now_ms) if now_ms is not None else clock.now_ms()
    hold = {k: v for k, v in hold.items() if not k.startswith("_")}
    hold.update(active=False, released_by=actor, released_ms=now, release_reason=reason)
    store.put_record(HOLDS, hold_id, hold)
    audit.record(
        store,
        actor,
        "hold_change",
        f"{hold['kind']}:{hold['value']}",
        {"op": "release", "hold": hold_id},
        reason,
        now_ms=now,
    )
    return hold


def list_holds(store: Store, *, active_only: bool = False) -> list[dict[str, Any]]:
    rows = store.find_records(HOLDS, {"active": True} if active_only else None)
    return sorted(({k: v for k, v in r.items() if not k.startswith("_")} for r in rows), key=lambda h: h["created_ms"])


@dataclass(frozen=True)
class _Holds:
    employees: frozenset[str]
    customers: frozenset[str]
    chats: frozenset[str]

    @classmethod
    def load(cls, store: Store) -> _Holds:
        active = list_holds(store, active_only=True)

        def pick(kind: str) -> frozenset[str]:
            return frozenset(h["value"] for h in active if h["kind"] == kind)

        return cls(pick("employee"), pick("customer"), pick("chat"))

    def holds(self, m: Message) -> bool:
        return bool(
            (self.employees and (self.employees.intersection(m.employees) or m.sender in self.employees))
            or (self.customers and (self.customers.intersection(m.externals) or m.sender in self.customers))
            or (self.chats and (m.chat_id in self.chats or (m.roomid and m.roomid in self.chats)))
        )


# --- purge ---------------------------------------------------------------------------------


@dataclass
class PurgeResult:
    dry_run: bool
    action: str
    expired: int = 0  # past their retention and not held
    held: int = 0  # past their retention but under a legal hold
    deleted: int = 0
    masked: int = 0
    by_msgtype: dict[str, int] = field(default_factory=dict)
    days_resealed: int = 0
    media_files: int = 0  # fetched media files deleted with their messages

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "action": self.action,
            "expired": self.expired,
            "held": self.held,
            "deleted": self.deleted,
            "masked": self.masked,
            "by_msgtype": dict(sorted(self.by_msgtype.items())),
            "days_resealed": self.days_resealed,
            "media_files": self.media_files,
        }


def purge(
    store: Store,
    now: int | None = None,
    dry_run: bool = False,
    *,
    actor: str = "system",
    settings: Settings | None = None,
    directory: Directory | None = None,
) -> PurgeResult:
    """Deletes (or masks) every expired message not under a legal hold; ``now`` in epoch ms."""
    now_ms = int(now) if now is not None else clock.now_ms()
    policy = get_policy(store, settings)
    result = PurgeResult(dry_run=dry_run, action=policy.action)
    periods = [d for d in [policy.days, *policy.classes.values()] if d > 0]
    if not periods:
        return result
    latest_cutoff = now_ms - min(periods) * DAY_MS
    holds = _Holds.load(store)
    expired: list[str] = []
    for m in store.iter_messages(MessageFilter(time_to=latest_cutoff), scope=ALL):
        keep = policy.keep_days(m.msgtype)
        if keep <= 0 or m.time_ms >= now_ms - keep * DAY_MS:
            continue
        if policy.action == "mask" and m.masked:
            continue
        if holds.holds(m):
            result.held += 1
            continue
        expired.append(m.msgid)
        result.by_msgtype[m.msgtype] = result.by_msgtype.get(m.msgtype, 0) + 1
    result.expired = len(expired)
    if dry_run or not expired:
        return result
    tz = str(setting_or_default(settings, "timezone"))
    media_dir = Path(settings.data_dir) / "media" if settings is not None else None
    if policy.action == "delete":
        touched_days: set[str] = set()
        for i in range(0, len(expired), BATCH):
            ids = expired[i : i + BATCH]
            doomed = store.get_messages(ids, scope=ALL)
            doomed_violations = list(integrity.iter_violations(store, ViolationFilter(msgids=ids)))
            result.deleted += store.delete_messages(ids)
            result.media_files += _delete_derived(store, ids, media_dir)
            # Exactly what was deleted, with its hashes: never a re-seal of whatever the day holds now.
            touched_days |= set(
                integrity.record_purge(store, doomed, doomed_violations, tz=tz, actor=actor, now_ms=now_ms)
            )
        store.refresh()
        result.days_resealed = len(touched_days)
    else:
        if directory is None:
            directory = load_directory(store)
        names = organisation_names(directory)
        for i in range(0, len(expired), BATCH):
            masked = [mask_message(m, names) for m in store.get_messages(expired[i : i + BATCH], scope=ALL)]
            store.update_messages(masked)
            integrity.record_masking(store, masked, tz=tz, actor=actor, now_ms=now_ms)
            result.masked += len(masked)
        store.refresh()
    audit.record(store, actor, "purge", "messages", {"policy": policy.to_dict(), **result.to_dict()}, now_ms=now_ms)
    log.info("retention purge: %s", result.to_dict())
    return result


def _delete_derived(store: Store, msgids: list[str], media_dir: Path | None) -> int:
    """Deletes records that name the purged messages, and their fetched media files (a
    content-addressed file shared with a record that stays is kept). Returns files removed."""
    removed = 0
    for collection in DERIVED_COLLECTIONS:
        for row in store.find_records(collection, {"msgid": msgids}):
            store.delete_record(collection, row["_id"])
            path = row.get("path") if collection == "media" else None
            if path and media_dir is not None and not store.find_records("media", {"path": path}, limit=1):
                target = (media_dir / path).resolve()
                if media_dir.resolve() in target.parents and target.is_file():
                    target.unlink()
                    removed += 1
    return removed


def scheduled_purge(archive: ArchiveContext, now: int | None = None) -> PurgeResult:
    """The nightly job of ``chatarchive run``: applies the configured policy as ``system``."""
    return purge(archive.store, now, actor="system", settings=archive.settings)
