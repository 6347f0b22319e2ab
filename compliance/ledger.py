"""The evidence ledger: an append-only, hash-chained log of what the archive holds.

Each entry names a *section* (``day:2025-11-20`` for one archive-local day's messages and
violations, ``deadletters``, ``rule_versions``) and the items it adds (``key → sha256``)
and removes. Folding the entries in order gives, per section, exactly what must be stored:
``compliance.integrity`` compares that with the store. Entries are chained like the audit
trail (``hash`` over the entry including ``prev_hash``; the head is kept in ``meta``), so
an altered, deleted or reordered entry breaks the chain and a cut tail is caught by the
head record or, against an attacker who rewrites both, by a signed anchor.

Kinds: ``seal`` (the first entry of a section), ``amend`` (later items, e.g. late messages
for a sealed day: never a re-seal), ``purge`` (the audited retention purge: the hashes it
removed), ``mask`` (retention masking: old and new hashes), ``resolve`` (dead letters
replayed successfully). Only ``purge`` and ``resolve`` remove items.

A writer cache lets writers find what a section already holds without reading the whole
ledger: one ``ledger_items`` record per item (``SECTION|KEY`` → its hash; ``""`` once
removed) and a summary per section (``meta`` ``ledger:SECTION``: items per kind). An append
reads and writes only the items it names, so its cost does not grow with the day: a
section of a million messages costs what one of a thousand does (until schema 4 the cache
was one record holding every item of the section, rewritten on each append). The cache
is never trusted by ``verify``.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core import clock
from core.models import sha256_hex
from store.base import Store
from store.filelock import chain_lock

COLLECTION = "digests"
HEAD_RECORD = ("meta", "digests_head")
COUNTS_RECORD = ("meta", "ledger_counts")
CACHE_PREFIX = "ledger:"
ITEMS = "ledger_items"
GENESIS = "0" * 64
KINDS = ("seal", "amend", "purge", "mask", "resolve")
ENTRY_FIELDS = ("seq", "time_ms", "actor", "kind", "section", "added", "removed", "prev_hash")

Items = dict[str, str]  # key ("m:MSGID", "v:VIOLATION", "d:MSGID", "r:RECORD") → sha256 hex

_append_lock = threading.Lock()


def canonical_hash(value: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no spaces): the same bytes on every backend."""
    return sha256_hex(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def entry_hash(entry: dict[str, Any]) -> str:
    return canonical_hash({k: entry.get(k) for k in ENTRY_FIELDS})


def _cache_id(section: str) -> str:
    return CACHE_PREFIX + section


def _item_id(section: str, key: str) -> str:
    return f"{section}|{key}"


def _item_records(section: str, items: Items) -> dict[str, dict[str, Any]]:
    """Cache records of ``section``'s items (a hash of ``""``: removed)."""
    return {_item_id(section, k): {"section": section, "key": k, "hash": h} for k, h in items.items()}


def _summary(store: Store, section: str) -> dict[str, int]:
    """Items per kind in ``section``; a cache in the old one-record shape is split first."""
    doc = store.get_record("meta", _cache_id(section)) or {}
    if "items" in doc:  # written before schema 4: every item in one record
        items = dict(doc.get("items") or {})
        store.put_records(ITEMS, _item_records(section, items))
        kinds = _kind_counts(items)
        store.put_record("meta", _cache_id(section), {"section": section, "kinds": kinds})
        return kinds
    return {k: int(v) for k, v in (doc.get("kinds") or {}).items()}


def section_items(store: Store, section: str) -> Items:
    """What the ledger says ``section`` holds, from the writers' cache."""
    _summary(store, section)
    rows = store.find_records(ITEMS, {"section": section})
    return {r["key"]: r["hash"] for r in rows if r.get("hash")}


def _known(store: Store, section: str, keys: Iterable[str]) -> Items:
    """The cached hashes of these keys of ``section`` (absent: not in the section)."""
    rows = store.get_records(ITEMS, [_item_id(section, k) for k in keys])
    return {r["key"]: r["hash"] for r in rows.values() if r.get("hash")}


def counts(store: Store) -> dict[str, dict[str, int]]:
    """Per section, how many items of each kind (``m``, ``v``, ``d``, ``r``) the ledger holds."""
    doc = store.get_record(*COUNTS_RECORD) or {}
    return {k: dict(v) for k, v in (doc.get("sections") or {}).items()}


def _kind_counts(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for key in items:
        out[key.split(":", 1)[0]] += 1
    return dict(out)


def append(
    store: Store,
    section: str,
    kind: str,
    *,
    added: Items | None = None,
    removed: Iterable[str] | None = None,
    actor: str = "system",
    now_ms: int | None = None,
) -> dict[str, Any] | None:
    """Appends one entry (nothing if it changes nothing) and updates the section's cache.
    The head is read and the entry written under the chain lock (one writer across processes)."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger entry kind {kind!r}")
    added = dict(added or {})
    removed = list(removed or [])
    with _append_lock, chain_lock(store, COLLECTION):
        kinds = _summary(store, section)
        current = _known(store, section, [*added, *removed])
        add = {k: h for k, h in added.items() if current.get(k) != h}
        drop = {k: current[k] for k in removed if k in current}
        if not add and not drop:
            return None
        if kind in ("seal", "amend"):
            kind = "amend" if any(kinds.values()) else "seal"
        head = store.get_record(*HEAD_RECORD)
        entry: dict[str, Any] = {
            "seq": int(head["seq"]) + 1 if head else 1,
            "time_ms": int(now_ms) if now_ms is not None else clock.now_ms(),
            "actor": actor,
            "kind": kind,
            "section": section,
            "added": add,
            "removed": drop,
            "prev_hash": head["hash"] if head else GENESIS,
        }
        entry["hash"] = entry_hash(entry)
        store.append_record(COLLECTION, entry)
        store.put_record(*HEAD_RECORD, {"seq": entry["seq"], "hash": entry["hash"], "time_ms": entry["time_ms"]})
        store.put_records(ITEMS, _item_records(section, {**dict.fromkeys(drop, ""), **add}))
        for key_kind, n in _kind_counts(k for k in add if k not in current).items():
            kinds[key_kind] = kinds.get(key_kind, 0) + n
        for key_kind, n in _kind_counts(k for k in drop if k not in add).items():
            kinds[key_kind] = kinds.get(key_kind, 0) - n
        kinds = {k: n for k, n in kinds.items() if n}
        store.put_record("meta", _cache_id(section), {"section": section, "kinds": kinds})
        all_counts = counts(store)
        all_counts[section] = kinds
        store.put_record(*COUNTS_RECORD, {"sections": all_counts})
    return entry


@dataclass
class Folded:
    """The ledger replayed: each section's items, and what is wrong with the chain itself."""

    sections: dict[str, Items] = field(default_factory=dict)
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)


def entries(store: Store) -> list[dict[str, Any]]:
    """Every ledger entry in storage order (legacy per-day digests without ``kind`` are skipped)."""
    rows = [r for r in store.find_records(COLLECTION) if "kind" in r]
    key = (lambda r: int(r["_seq"])) if rows and all("_seq" in r for r in rows) else (lambda r: int(r.get("seq") or 0))
    return sorted(rows, key=key)


def fold(rows: Iterable[dict[str, Any]], head: dict[str, Any] | None) -> Folded:
    """Checks the chain and replays it. Stops at the first broken link (later entries cannot be trusted)."""
    out = Folded()
    for entry in rows:
        seq = entry.get("seq")
        label = f"ledger entry seq {seq} ({entry.get('kind')} {entry.get('section')})"
        if entry.get("hash") != entry_hash(entry):
            out.problems.append(f"{label}: content altered (its hash does not match)")
            return out
        if seq != out.head_seq + 1:
            out.problems.append(f"{label}: expected seq {out.head_seq + 1} (entry deleted, inserted or reordered)")
            return out
        if entry.get("prev_hash") != out.head_hash:
            out.problems.append(f"{label}: not chained to seq {out.head_seq} (altered and re-hashed, or forged)")
            return out
        items = out.sections.setdefault(str(entry["section"]), {})
        for key in entry.get("removed") or {}:
            items.pop(key, None)
        items.update(entry.get("added") or {})
        out.head_seq, out.head_hash = int(seq), str(entry["hash"])
    _check_head(out, head)
    return out


def _check_head(out: Folded, head: dict[str, Any] | None) -> None:
    if not head:
        if out.head_seq:
            out.problems.append("the ledger's head record is missing (deleted)")
        return
    head_seq = int(head.get("seq") or 0)
    if head_seq > out.head_seq:
        out.problems.append(f"ledger entries {out.head_seq + 1}..{head_seq} are missing (the ledger was truncated)")
    elif head_seq == out.head_seq and head.get("hash") != out.head_hash:
        out.problems.append(f"ledger entry seq {head_seq} does not match the recorded head (rewritten)")


def read(store: Store) -> Folded:
    return fold(entries(store), store.get_record(*HEAD_RECORD))
