"""Consent from WeCom: check_single_agree for every (employee, customer) pair and check_room_agree for
every customer group seen (protocol §8.3), stored in the consent collection the consent policy reads
(``compliance.consent``), newest ``status_change_time`` winning over agree/disagree messages and back.

A ``Default_Agree`` answer with no change time carries no decision and is not stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance.consent import COLLECTION
from store.base import Store
from wecom.client import JsonDict, WeComClient

BATCH = 100  # check_single_agree: at most 100 entries per request (301060 above)
STATUSES = {"Agree": "agree", "Disagree": "disagree"}


def sync_consent(store: Store, client: WeComClient, pairs: Iterable[tuple[str, str]], roomids: Iterable[str]) -> int:
    """Asks WeCom about every pair and room; returns how many decisions (Agree/Disagree) it gave."""
    unique = sorted(set(pairs))
    decisions = 0
    for start in range(0, len(unique), BATCH):
        info = [{"userid": userid, "exteranalopenid": external} for userid, external in unique[start : start + BATCH]]
        answer = client.call("POST", "/cgi-bin/msgaudit/check_single_agree", secret="archive", body={"info": info})
        for row in _rows(answer):
            decisions += _decisive(row)
            _store(store, str(row.get("userid") or ""), row, roomid="")
    for roomid in sorted(set(roomids)):
        answer = client.call("POST", "/cgi-bin/msgaudit/check_room_agree", secret="archive", body={"roomid": roomid})
        for row in _rows(answer):
            decisions += _decisive(row)
            _store(store, "", row, roomid=roomid)
    return decisions


def record_approved_event(store: Store, userid: str, external: str, when_ms: int) -> int:
    """``msg_audit_approved`` (change_external_contact callback): the customer agreed."""
    return _store(
        store,
        userid,
        {"exteranalopenid": external, "agree_status": "Agree", "status_change_time": when_ms // 1000},
        roomid="",
    )


def _rows(answer: JsonDict) -> list[JsonDict]:
    rows = answer.get("agreeinfo")
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _decisive(row: JsonDict) -> int:
    return int(str(row.get("agree_status") or "") in STATUSES and bool(row.get("status_change_time")))


def _store(store: Store, employee: str, row: JsonDict, *, roomid: str) -> int:
    status = STATUSES.get(str(row.get("agree_status") or ""))
    when_ms = int(str(row.get("status_change_time") or 0)) * 1000
    external = str(row.get("exteranalopenid") or "")
    if status is None or not when_ms or not external:
        return 0
    key = f"{employee}|{external}"
    old = store.get_record(COLLECTION, key)
    old_s = int(old.get("time_ms") or 0) // 1000 if old is not None else -1
    if old is not None and (old_s > when_ms // 1000 or (old_s == when_ms // 1000 and old.get("status") == status)):
        return 0  # WeCom answers in seconds: the same second is the same decision
    store.put_record(
        COLLECTION,
        key,
        {
            "employee": employee,
            "external": external,
            "status": status,
            "time_ms": when_ms,
            "status_change_time": when_ms // 1000,
            "source": "wecom",
            "roomid": roomid,
            "msgid": "",
        },
    )
    return 1
