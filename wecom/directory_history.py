"""Merges a freshly read organisation into the stored directory, keeping history.

Nobody disappears: an employee WeCom no longer lists stays with ``status: "left"``; a customer, group
or department that is gone stays with ``removed_ms``. A move between departments appends
``{"departments": old, "until_ms": t}`` to the employee's ``history``, so scopes apply as of a
message's time (``core.directory.Directory.departments_of(userid, at_ms)``). Archiving: 归档中 is
``archived_until: null`` (in get_permit_user_list now); 曾归档 has ``archived_until`` set, from the
sync that first saw the employee out of the list.
"""

from __future__ import annotations

from wecom.client import JsonDict
from wecom.directory_fetch import FetchedDirectory


def merge_directory(previous: JsonDict | None, fetched: FetchedDirectory, now_ms: int) -> JsonDict:
    prev = previous or {}
    return {
        "corp": fetched.corp or prev.get("corp") or {},
        "departments": _merge_by_id(_list(prev, "departments"), fetched.departments, "id", now_ms),
        "employees": _merge_employees(_list(prev, "employees"), fetched.employees, set(fetched.permit_users), now_ms),
        "externals": _merge_by_id(_list(prev, "externals"), fetched.externals, "id", now_ms),
        "groups": _merge_groups(_list(prev, "groups"), fetched.groups, now_ms),
        "robots": _merge_by_id(_list(prev, "robots"), fetched.robots, "id", now_ms, keep_missing_silently=True),
        "synced_ms": now_ms,
    }


def _list(d: JsonDict, key: str) -> list[JsonDict]:
    value = d.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _merge_by_id(
    old: list[JsonDict], new: list[JsonDict], key: str, now_ms: int, *, keep_missing_silently: bool = False
) -> list[JsonDict]:
    fresh = {str(item[key]): item for item in new}
    out = [dict(item) for item in new]
    for item in old:
        if str(item[key]) in fresh:
            continue
        kept = dict(item)
        if not keep_missing_silently:
            kept.setdefault("removed_ms", now_ms)
        out.append(kept)
    return out


def _merge_groups(old: list[JsonDict], new: list[JsonDict], now_ms: int) -> list[JsonDict]:
    """Internal groups are only looked up for the rooms asked for, so one not in this read is kept as
    it was; a customer group missing from the full list is marked removed."""
    fresh = {str(g["roomid"]) for g in new}
    out = [dict(g) for g in new]
    for g in old:
        if str(g["roomid"]) in fresh:
            continue
        kept = dict(g)
        if kept.get("kind") == "external":
            kept.setdefault("removed_ms", now_ms)
        out.append(kept)
    return out


def _merge_employees(old: list[JsonDict], new: list[JsonDict], permitted: set[str], now_ms: int) -> list[JsonDict]:
    previous = {str(e["userid"]): e for e in old}
    out: list[JsonDict] = []
    for person in new:
        before = previous.get(str(person["userid"]))
        merged = {**(before or {}), **person}
        merged["history"] = _moved(before, person, now_ms)
        merged.update(_archiving(before, person, str(person["userid"]) in permitted, now_ms))
        out.append(merged)
    listed = {str(e["userid"]) for e in new}
    for userid, person in previous.items():
        if userid in listed:
            continue
        gone = dict(person)
        gone["status"] = "left"
        gone.setdefault("left_ms", now_ms)
        if gone.get("archived_until") is None and gone.get("archived_since") is not None:
            gone["archived_until"] = now_ms
        out.append(gone)
    return out


def _moved(before: JsonDict | None, now: JsonDict, now_ms: int) -> list[JsonDict]:
    history = list(before.get("history") or []) if before else []
    if before is not None and sorted(_ints(before.get("departments"))) != sorted(_ints(now.get("departments"))):
        history.append({"departments": _ints(before.get("departments")), "until_ms": now_ms})
    return history


def _archiving(before: JsonDict | None, now: JsonDict, permitted: bool, now_ms: int) -> JsonDict:
    since = before.get("archived_since") if before else None
    until = before.get("archived_until") if before else None
    if permitted:
        return {"archived_since": since if since is not None and until is None else now_ms, "archived_until": None}
    if since is not None and until is None:
        return {"archived_since": since, "archived_until": now_ms}
    if since is None and now.get("status") == "left":  # left before the first sync: 曾归档, end unknown
        return {"archived_since": None, "archived_until": until if until is not None else now_ms}
    return {"archived_since": since, "archived_until": until}


def _ints(value: object) -> list[int]:
    return [int(str(v)) for v in value] if isinstance(value, list) else []
