"""Record integrity: what users see can be proved to be what was archived.

Every stored item has an evidence hash and is entered in the ledger (``compliance.ledger``)
when it is written: messages (the raw decrypted JSON's ``raw_sha256`` *and* the fields
search and the dashboard show: ``text``, type, time, sender, receivers, chat), violations
(which message, which rule, when), dead letters (the record kept for replay) and rule
versions (the whole version). Items are grouped in sections: one per archive-local day
(messages and violations), ``deadletters`` and ``rule_versions``.

A section is sealed by its first ledger entry and never re-sealed: later items (late
messages for a sealed day, a rule applied retroactively) are appended as ``amend``
entries. Only the audited retention purge removes items (``purge``, with the hashes it
removed) or changes them (``mask``). ``verify_messages`` replays the ledger and compares
every section with the store: a missing, added or altered item, a section without seal,
and a broken ledger chain are failures.

``record_batch`` is called by the writer with exactly what it wrote; ``update_digests``
is the sweep after each pull that enters items the store holds but the ledger does not
(a crash between the write and its ledger entry) and reports, never launders, items that
were deleted or altered.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from compliance import ledger
from compliance.ledger import Items, canonical_hash
from core.models import ALL, Batch, DeadLetter, Message, MessageFilter, Violation, ViolationFilter, sha256_hex
from store.base import Store

log = logging.getLogger(__name__)

COLLECTION = ledger.COLLECTION
DEFAULT_TZ = "Asia/Shanghai"
DEADLETTERS = "deadletters"
RULE_VERSIONS = "rule_versions"
DAY_PREFIX = "day:"

# The message fields users see, hashed with the raw evidence's hash.
MESSAGE_FIELDS = (
    "raw_sha256",
    "text",
    "msgtype",
    "action",
    "time_ms",
    "sender",
    "sender_kind",
    "receivers",
    "roomid",
    "chat_id",
    "chat_kind",
    "pre_msgid",
    "masked",
)
VIOLATION_FIELDS = ("id", "msgid", "rule_id", "time_ms")
PAGE = 1000
SWEEP_ACTOR = "sweep"  # ledger entries the sweep made: items found in the store without a writer's entry


def day_of(time_ms: int, tz: str = DEFAULT_TZ) -> str:
    """The archive-local day (YYYY-MM-DD) of an epoch-millisecond time."""
    return datetime.fromtimestamp(time_ms / 1000, ZoneInfo(tz)).date().isoformat()


def day_bounds(day: str, tz: str = DEFAULT_TZ) -> tuple[int, int]:
    """[start, end) of a local day in epoch ms (DST-safe: local midnights)."""
    d = date.fromisoformat(day)
    zone = ZoneInfo(tz)
    start = datetime(d.year, d.month, d.day, tzinfo=zone)
    nxt = d + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def days_of(messages: Iterable[Message], tz: str = DEFAULT_TZ) -> set[str]:
    """The days a batch touches."""
    return {day_of(m.time_ms, tz) for m in messages}


def day_section(day: str) -> str:
    return DAY_PREFIX + day


def _zone(store: Store, tz: str | None) -> str:
    """The store's own time zone wins: its date histograms, which find changed days, use it."""
    return str(getattr(store, "timezone", None) or tz or DEFAULT_TZ)


# --- evidence hashes ---------------------------------------------------------------------------


def message_hash(m: Message) -> str:
    return canonical_hash({f: getattr(m, f) for f in MESSAGE_FIELDS})


def violation_hash(v: Violation) -> str:
    return canonical_hash({"id": v.id, "msgid": v.msgid, "rule_id": v.rule_id, "time_ms": v.time_ms})


def deadletter_hash(d: DeadLetter) -> str:
    return canonical_hash({"msgid": d.msgid, "seq": d.seq, "record": d.record})


def record_hash(doc: dict[str, Any]) -> str:
    return canonical_hash({k: v for k, v in doc.items() if not k.startswith("_")})


def _message_items(messages: Iterable[Message], tz: str) -> dict[str, Items]:
    out: dict[str, Items] = defaultdict(dict)
    for m in messages:
        out[day_section(day_of(m.time_ms, tz))][f"m:{m.msgid}"] = message_hash(m)
    return out


def _violation_items(violations: Iterable[Violation], tz: str) -> dict[str, Items]:
    out: dict[str, Items] = defaultdict(dict)
    for v in violations:
        out[day_section(day_of(v.time_ms, tz))][f"v:{v.id}"] = violation_hash(v)
    return out


# --- writers --------------------------------------------------------------------------------------


def record_batch(store: Store, batch: Batch, *, tz: str | None = None, actor: str = "system") -> None:
    """Enters what one ``write_batch`` stored: its messages and violations by day, its dead
    letters, and the dead letters it resolved."""
    tz = _zone(store, tz)
    sections = _message_items(batch.messages, tz)
    for section, items in _violation_items(batch.violations, tz).items():
        sections[section].update(items)
    for section, items in sorted(sections.items()):
        ledger.append(store, section, "amend", added=items, actor=actor)
    if batch.deadletters:
        dead = {f"d:{d.msgid}": deadletter_hash(d) for d in batch.deadletters}
        ledger.append(store, DEADLETTERS, "amend", added=dead, actor=actor)
    if batch.resolved_deadletters:
        ledger.append(
            store, DEADLETTERS, "resolve", removed={f"d:{m}": "" for m in batch.resolved_deadletters}, actor=actor
        )


def record_violations(
    store: Store, violations: list[Violation], *, tz: str | None = None, actor: str = "system"
) -> None:
    """Enters violations stored outside a batch (a rule applied retroactively)."""
    tz = _zone(store, tz)
    for section, items in sorted(_violation_items(violations, tz).items()):
        ledger.append(store, section, "amend", added=items, actor=actor)


def record_purge(
    store: Store,
    messages: list[Message],
    violations: list[Violation],
    *,
    tz: str | None = None,
    actor: str = "system",
    now_ms: int | None = None,
) -> list[str]:
    """Enters what the retention purge deleted, with the hashes it removed; returns the days."""
    tz = _zone(store, tz)
    sections = _message_items(messages, tz)
    for section, items in _violation_items(violations, tz).items():
        sections[section].update(items)
    for section, items in sorted(sections.items()):
        ledger.append(store, section, "purge", removed=items, actor=actor, now_ms=now_ms)
    return sorted(s[len(DAY_PREFIX) :] for s in sections)


def record_masking(
    store: Store, masked: list[Message], *, tz: str | None = None, actor: str = "system", now_ms: int | None = None
) -> None:
    """Enters the new hashes of messages the retention purge masked."""
    tz = _zone(store, tz)
    for section, items in sorted(_message_items(masked, tz).items()):
        ledger.append(store, section, "mask", added=items, actor=actor, now_ms=now_ms)


def record_rule_version(store: Store, record_id: str, doc: dict[str, Any], *, actor: str = "system") -> None:
    ledger.append(store, RULE_VERSIONS, "amend", added={f"r:{record_id}": record_hash(doc)}, actor=actor)


# --- what the store holds ---------------------------------------------------------------------------


def _stored_day(store: Store, day: str, tz: str, problems: list[str] | None = None) -> Items:
    """The day's messages and violations as ledger items; with ``problems``, also checks each
    message's raw JSON against its own hash."""
    start, end = day_bounds(day, tz)
    items: Items = {}
    for m in store.iter_messages(MessageFilter(time_from=start, time_to=end), scope=ALL):
        if problems is not None and not m.masked and sha256_hex(m.raw) != m.raw_sha256:
            problems.append(f"message {m.msgid}: raw JSON does not match its raw_sha256 (altered)")
        items[f"m:{m.msgid}"] = message_hash(m)
    for v in iter_violations(store, ViolationFilter(time_from=start, time_to=end)):
        items[f"v:{v.id}"] = violation_hash(v)
    return items


def iter_violations(store: Store, filters: ViolationFilter) -> Iterator[Violation]:
    """Every matching violation (any scope), page by page."""
    offset = 0
    while True:
        _, page = store.list_violations(filters, scope=ALL, sort="time_asc", limit=PAGE, offset=offset)
        yield from page
        if len(page) < PAGE:
            return
        offset += PAGE


def _stored_deadletters(store: Store) -> Items:
    items: Items = {}
    while True:
        _, page = store.list_deadletters(limit=PAGE, offset=len(items))
        items.update({f"d:{d.msgid}": deadletter_hash(d) for d in page})
        if len(page) < PAGE:
            return items


def _stored_rule_versions(store: Store) -> Items:
    return {f"r:{r['_id']}": record_hash(r) for r in store.find_records(RULE_VERSIONS)}


def _histogram_days(agg: dict[str, Any], tz: str) -> dict[str, int]:
    # The bucket key is the local midnight; noon of that day names it safely.
    return {
        day_of(int(b["key"]) + 12 * 3_600_000, tz): int(b["doc_count"])
        for b in agg.get("days", {}).get("buckets", [])
        if int(b["doc_count"])
    }


_DAYS_AGG = {"days": {"date_histogram": {"field": "time", "fixed_interval": "1d"}}}


def stored_day_counts(store: Store, tz: str | None = None) -> dict[str, dict[str, int]]:
    """Per day section, how many messages (``m``) and violations (``v``) are stored: two histograms."""
    tz = _zone(store, tz)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for day, n in _histogram_days(store.aggregate(MessageFilter(), _DAYS_AGG, scope=ALL), tz).items():
        out[day_section(day)]["m"] = n
    for day, n in _histogram_days(store.aggregate_violations(ViolationFilter(), _DAYS_AGG, scope=ALL), tz).items():
        out[day_section(day)]["v"] = n
    return dict(out)


def _stored(store: Store, section: str, tz: str, problems: list[str] | None = None) -> Items:
    if section == DEADLETTERS:
        return _stored_deadletters(store)
    if section == RULE_VERSIONS:
        return _stored_rule_versions(store)
    return _stored_day(store, section[len(DAY_PREFIX) :], tz, problems)


# --- the sweep -------------------------------------------------------------------------------------


@dataclass
class SealResult:
    sealed: list[str] = field(default_factory=list)  # days that got a seal or an amendment
    refused: list[str] = field(default_factory=list)  # days with deleted or altered items: reported, not sealed

    def to_dict(self) -> dict[str, Any]:
        return {"sealed": self.sealed, "refused": self.refused}


def changed_days(store: Store, *, tz: str | None = None) -> list[str]:
    """Days whose stored message or violation count differs from the ledger's."""
    tz = _zone(store, tz)
    known = ledger.counts(store)
    stored = stored_day_counts(store, tz)
    out = []
    for section in sorted(set(stored) | {s for s in known if s.startswith(DAY_PREFIX)}):
        have, want = stored.get(section, {}), known.get(section, {})
        if have.get("m", 0) != want.get("m", 0) or have.get("v", 0) != want.get("v", 0):
            out.append(section[len(DAY_PREFIX) :])
    return out


def update_digests(
    store: Store,
    days: Iterable[str | date] | None = None,
    *,
    tz: str | None = None,
    allow_shrink: bool = False,
    allow_masking: bool = False,
    actor: str = SWEEP_ACTOR,
    now_ms: int | None = None,
) -> SealResult:
    """Enters stored items the ledger lacks (as a seal or an amendment). Deleted items are
    entered as a ``purge`` only with ``allow_shrink`` (the retention purge), masked messages
    as ``mask`` only with ``allow_masking``; otherwise the day is reported in ``refused``.
    Without ``days``: the days whose counts changed, the dead letters and the rule versions."""
    tz = _zone(store, tz)
    if days is None:
        wanted = [day_section(d) for d in changed_days(store, tz=tz)] + [DEADLETTERS, RULE_VERSIONS]
    else:
        wanted = sorted({day_section(d.isoformat() if isinstance(d, date) else str(d)) for d in days})
    result = SealResult()
    for section in wanted:
        _sweep(
            store,
            section,
            tz,
            result,
            allow_shrink=allow_shrink,
            allow_masking=allow_masking,
            actor=actor,
            now_ms=now_ms,
        )
    return result


def _sweep(
    store: Store,
    section: str,
    tz: str,
    result: SealResult,
    *,
    allow_shrink: bool,
    allow_masking: bool,
    actor: str,
    now_ms: int | None,
) -> None:
    known = ledger.section_items(store, section)
    stored = _stored(store, section, tz)
    new = {k: h for k, h in stored.items() if k not in known}
    gone = {k: h for k, h in known.items() if k not in stored}
    changed = {k: h for k, h in stored.items() if k in known and known[k] != h}
    name = section.removeprefix(DAY_PREFIX)
    if new and ledger.append(store, section, "amend", added=new, actor=actor, now_ms=now_ms):
        log.warning(
            "integrity: %d item(s) of %s were stored without a ledger entry (a crash between write and "
            "record, or written behind the product's back); entered by %s",
            len(new),
            name,
            actor,
        )
        result.sealed.append(name)
    if gone and allow_shrink:
        ledger.append(store, section, "purge", removed=gone, actor=actor, now_ms=now_ms)
        gone = {}
    if changed and allow_masking and _all_masked(store, changed):
        ledger.append(store, section, "mask", added=changed, actor=actor, now_ms=now_ms)
        changed = {}
    if gone or changed:
        log.error(
            "integrity: %s has %d deleted and %d altered item(s); not sealed (run `chatarchive audit verify`)",
            name,
            len(gone),
            len(changed),
        )
        result.refused.append(name)


def _all_masked(store: Store, items: Items) -> bool:
    msgids = [k[2:] for k in items if k.startswith("m:")]
    found = store.get_messages(msgids, scope=ALL) if len(msgids) == len(items) else []
    return len(found) == len(items) and all(m.masked for m in found)


# --- verification -----------------------------------------------------------------------------------


@dataclass
class MessagesVerifyResult:
    ok: bool
    messages: int = 0
    days: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ledger_seq: int = 0
    ledger_hash: str = ledger.GENESIS

    @property
    def first_problem(self) -> str:
        return self.problems[0] if self.problems else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "messages": self.messages,
            "days": self.days,
            "problems": self.problems[:100],
            "problem_count": len(self.problems),
            "warnings": self.warnings[:100],
            "ledger_seq": self.ledger_seq,
            "ledger_hash": self.ledger_hash,
        }


_WHAT = {"m": "message", "v": "violation", "d": "dead letter", "r": "rule version"}


def _describe(section: str, key: str, problem: str) -> str:
    kind, _, ident = key.partition(":")
    where = f" (day {section[len(DAY_PREFIX) :]})" if section.startswith(DAY_PREFIX) else ""
    return f"{_WHAT.get(kind, kind)} {ident}{where}: {problem}"


_FINDINGS = {
    "deleted": "in the ledger but not stored (deleted)",
    "added": "stored but not in the ledger (added without an amendment)",
    "altered": "differs from its sealed hash (altered: text, fields or raw)",
}


def diff_section(expected: Items, stored: Items) -> list[tuple[str, str]]:
    """``(key, deleted | added | altered)`` for every item where the store departs from the ledger. Pure."""
    found = [(k, "deleted") for k in expected if k not in stored]
    found += [(k, "added" if k not in expected else "altered") for k, h in stored.items() if expected.get(k) != h]
    return sorted(found)


def compare_section(section: str, expected: Items | None, stored: Items) -> list[str]:
    """What differs between the ledger's items of a section and the store's, as sentences. Pure."""
    if expected is None:
        return [f"{section}: {len(stored)} item(s) stored but never sealed (no digest in the ledger)"] if stored else []
    return [_describe(section, key, _FINDINGS[what]) for key, what in diff_section(expected, stored)]


def verify_current_rules(store: Store) -> list[str]:
    """Each current rule (what matches new messages) must equal its sealed version record."""
    problems = []
    for current in store.find_records("rules"):
        version = store.get_record(RULE_VERSIONS, f"{current['_id']}@{current.get('version')}")
        if version is None or record_hash(version) != record_hash(current):
            problems.append(
                f"rule {current['_id']}: the current rule differs from its version "
                f"{current.get('version')} (edited outside the rule workflow)"
            )
    return problems


def verify_messages(store: Store, *, tz: str | None = None) -> MessagesVerifyResult:
    """Replays the ledger and compares every section with the store (one day at a time)."""
    tz = _zone(store, tz)
    folded = ledger.read(store)
    result = MessagesVerifyResult(
        ok=True, problems=list(folded.problems), ledger_seq=folded.head_seq, ledger_hash=folded.head_hash
    )
    stored_counts = stored_day_counts(store, tz)
    day_sections = sorted({s for s in folded.sections if s.startswith(DAY_PREFIX)} | set(stored_counts))
    for section in [*day_sections, DEADLETTERS, RULE_VERSIONS]:
        stored = _stored(store, section, tz, result.problems)
        expected = folded.sections.get(section)
        if section in (DEADLETTERS, RULE_VERSIONS) and expected is None:
            expected = {}
        result.problems.extend(compare_section(section, expected, stored))
        result.messages += sum(1 for k in stored if k.startswith("m:"))
    result.problems.extend(verify_current_rules(store))
    result.days = sum(1 for s in stored_counts.values() if s.get("m"))
    result.ok = not result.problems
    return result
