"""Tampering an attacker with access to the data directory could do through the store's own
API (backend-neutral, so the conformance suite runs it on every backend)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compliance import ledger


def rewrite_ledger_entry(store: Any, seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Changes ledger entry ``seq`` in place, leaving its hash (a careless forger) as stored."""
    row = next(r for r in store.find_records(ledger.COLLECTION) if r.get("seq") == seq)
    change(row)
    store.put_record(ledger.COLLECTION, row["_id"], {k: v for k, v in row.items() if not k.startswith("_")})
    store.refresh()
