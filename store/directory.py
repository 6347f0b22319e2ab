"""The organisation directory as stored in the ``directory`` record collection: the one
place that reads and writes it (the pipeline, rules, accounts, consent and retention all
load it from here)."""

from __future__ import annotations

from typing import Any

from core.directory import Directory
from store.base import Store

COLLECTION = "directory"
DIRECTORY_ID = "org"


def load_directory(store: Store) -> Directory | None:
    """The stored organisation, or None if none is.

    Accepts both one document holding the whole organisation and one record per
    department/employee."""
    rows = store.find_records(COLLECTION)
    if not rows:
        return None
    for row in rows:
        if isinstance(row.get("departments"), list) or isinstance(row.get("employees"), list):
            return Directory.from_dict(row)
    departments = [r for r in rows if "parentid" in r and "id" in r]
    employees = [r for r in rows if "userid" in r]
    if not departments and not employees:
        return None
    return Directory(departments=departments, employees=employees)


def load_or_empty(store: Store) -> Directory:
    """The stored organisation, or an empty one (nobody in scope of a department rule)."""
    return load_directory(store) or Directory.from_dict(None)


def save_directory(store: Store, directory: dict[str, Any]) -> None:
    """Stores the organisation as one document (only when it changed: no needless writes)."""
    if store.get_record(COLLECTION, DIRECTORY_ID) != directory:
        store.put_record(COLLECTION, DIRECTORY_ID, directory)
