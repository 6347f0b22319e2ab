"""Record integrity: every message carries the sha256 of its raw decrypted JSON
(``Message.raw_sha256``); each archive-local day is sealed by a digest that chains the
day's message hashes (sorted by msgid) to the previous day's digest.

A deleted, added or altered message changes its day's hash; an altered digest breaks the
chain. ``update_digests`` (called by the pipeline after each batch, for the days the
batch touched) re-seals only those days and re-chains the days after them from their
stored hashes, so its cost is one day's messages, not the archive's.

Re-sealing trusts what the store holds at that moment. To avoid silently blessing a
deletion, a day is never re-sealed with fewer messages than it had, except by the
audited retention purge (``allow_shrink=True``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from core import clock
from core.models import ALL, Message, MessageFilter, sha256_hex
from store.base import Store

log = logging.getLogger(__name__)

COLLECTION = "digests"
GENESIS = "0" * 64
DEFAULT_TZ = "Asia/Shanghai"


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
    """The days a batch touches (what the pipeline passes to ``update_digests``)."""
    return {day_of(m.time_ms, tz) for m in messages}


def day_hash(pairs: Iterable[tuple[str, str]]) -> str:
    """sha256 over ``msgid raw_sha256`` lines sorted by msgid."""
    return sha256_hex("\n".join(f"{msgid} {digest}" for msgid, digest in sorted(pairs)))


def chain_hash(prev_chain: str, day: str, count: int, hash_of_day: str) -> str:
    return sha256_hex(f"{prev_chain}|{day}|{count}|{hash_of_day}")


def _day_pairs(store: Store, day: str, tz: str) -> list[tuple[str, str]]:
    start, end = day_bounds(day, tz)
    return [(m.msgid, m.raw_sha256) for m in store.iter_messages(MessageFilter(time_from=start, time_to=end), scope=ALL)]


def _all_digests(store: Store) -> list[dict[str, Any]]:
    return sorted(store.find_records(COLLECTION), key=lambda r: r["day"])


@dataclass
class SealResult:
    sealed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # days that would lose messages: left as they were

    def to_dict(self) -> dict[str, Any]:
        return {"sealed": self.sealed, "refused": self.refused}


def changed_days(store: Store, *, tz: str = DEFAULT_TZ) -> list[str]:
    """Days whose stored message count differs from their seal (or that have none), from
    one date histogram: what ``update_digests(store)`` re-seals when no days are given."""
    sealed = {r["day"]: int(r["count"]) for r in _all_digests(store)}
    return [day for day, count in sorted(_stored_days(store, tz).items()) if sealed.get(day) != count]


def update_digests(
    store: Store,
    days: Iterable[str | date] | None = None,
    *,
    tz: str = DEFAULT_TZ,
    allow_shrink: bool = False,
    now_ms: int | None = None,
) -> SealResult:
    """(Re-)seals the given days from the stored messages and re-chains later days.
    Without ``days``: the days whose message count changed since they were sealed."""
    if days is None:
        days = changed_days(store, tz=tz)
    wanted = sorted({d.isoformat() if isinstance(d, date) else str(d) for d in days})
    result = SealResult()
    if not wanted:
        return result
    sealed_ms = int(now_ms) if now_ms is not None else clock.now_ms()
    existing = {r["day"]: r for r in _all_digests(store)}
    for day in wanted:
        pairs = _day_pairs(store, day, tz)
        old = existing.get(day)
        if old is not None and len(pairs) < int(old["count"]) and not allow_shrink:
            log.error("integrity: day %s now has %d messages but was sealed with %d; not re-sealing "
                      "(run `chatarchive audit verify`)", day, len(pairs), old["count"])
            result.refused.append(day)
            continue
        if old is None and not pairs:
            continue
        new = {
            "day": day,
            "count": len(pairs),
            "day_hash": day_hash(pairs),
            "sealed_ms": sealed_ms,
            "reseals": (int(old.get("reseals", 0)) + 1) if old else 0,
            "purged": (int(old.get("purged", 0)) + max(0, int(old["count"]) - len(pairs))) if old else 0,
        }
        existing[day] = new
        result.sealed.append(day)
    if result.sealed:
        _rechain(store, existing, from_day=result.sealed[0])
    return result


def _rechain(store: Store, digests: dict[str, dict[str, Any]], from_day: str) -> None:
    prev = GENESIS
    for day in sorted(digests):
        record = digests[day]
        chain = chain_hash(prev, day, int(record["count"]), record["day_hash"])
        if day >= from_day and (record.get("chain") != chain or record.get("prev_chain") != prev or "_id" not in record):
            record = {k: v for k, v in record.items() if not k.startswith("_")}
            record["prev_chain"], record["chain"] = prev, chain
            store.put_record(COLLECTION, day, record)
        prev = chain


@dataclass
class MessagesVerifyResult:
    ok: bool
    messages: int = 0
    days: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def first_problem(self) -> str:
        return self.problems[0] if self.problems else ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "messages": self.messages, "days": self.days,
                "problems": self.problems[:100], "problem_count": len(self.problems), "warnings": self.warnings[:100]}


def _stored_days(store: Store, tz: str) -> dict[str, int]:
    agg = store.aggregate(MessageFilter(), {"days": {"date_histogram": {"field": "time", "fixed_interval": "1d"}}},
                          scope=ALL)
    # The bucket key is the local midnight; noon of that day names it safely.
    return {day_of(int(b["key"]) + 12 * 3_600_000, tz): int(b["doc_count"])
            for b in agg.get("days", {}).get("buckets", []) if int(b["doc_count"])}


def verify_messages(store: Store, *, tz: str = DEFAULT_TZ) -> MessagesVerifyResult:
    """Recomputes every message's hash and every day's digest and checks the chain.
    Reads one day at a time (memory stays bounded by the largest day)."""
    result = MessagesVerifyResult(ok=True)
    digests = {r["day"]: r for r in _all_digests(store)}
    stored_days = _stored_days(store, tz)
    for day in sorted(set(stored_days) | set(digests)):
        start, end = day_bounds(day, tz)
        pairs: list[tuple[str, str]] = []
        for message in store.iter_messages(MessageFilter(time_from=start, time_to=end), scope=ALL):
            if not message.masked and sha256_hex(message.raw) != message.raw_sha256:
                result.problems.append(f"message {message.msgid}: raw JSON does not match its raw_sha256 (altered)")
            pairs.append((message.msgid, message.raw_sha256))
        result.messages += len(pairs)
        sealed = digests.get(day)
        if sealed is None:
            if pairs:
                result.warnings.append(f"day {day}: {len(pairs)} message(s) not sealed yet")
            continue
        if not pairs and int(sealed["count"]) > 0:
            result.problems.append(f"day {day}: sealed with {sealed['count']} message(s) but none are stored (deleted)")
        elif len(pairs) != int(sealed["count"]):
            what = "deleted" if len(pairs) < int(sealed["count"]) else "added"
            result.problems.append(
                f"day {day}: {len(pairs)} message(s) stored but {sealed['count']} sealed (message {what})")
        elif day_hash(pairs) != sealed["day_hash"]:
            result.problems.append(f"day {day}: the messages differ from the sealed digest (message altered or replaced)")
    prev = GENESIS
    for day, sealed in sorted(digests.items()):
        expected = chain_hash(prev, day, int(sealed["count"]), sealed["day_hash"])
        if sealed.get("prev_chain") != prev or sealed.get("chain") != expected:
            result.problems.append(f"digest of day {day}: the chain is broken (digest altered, deleted or inserted)")
            break
        prev = sealed["chain"]
    result.days = sum(1 for n in stored_days.values() if n)
    result.ok = not result.problems
    return result
