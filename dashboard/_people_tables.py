"""The seed's 员工管理 and 客户管理 columns, from the directory and the store.

员工管理: 名称 职务 部门 当前负责客户数 会话存档状态 操作. 客户管理 adds 当前跟进人数 (followers still
employed), 非当前跟进人数 (followers who left), 描述 and 会话状态: 正常对话中, 会话中断 (the
customer refused archiving, which WeCom answers by blocking the chat, or nothing was said in
the last ``QUIET_DAYS`` of the archive) or 当前无会话 (no archived conversation).
"""

from __future__ import annotations

from core.directory import Directory

QUIET_DAYS = 30
JsonObject = dict[str, object]


def archive_status(employee: JsonObject) -> str:
    return "曾归档" if employee.get("status") == "left" or employee.get("archived_until") else "归档中"


def follower_ids(external: JsonObject) -> list[str]:
    out = []
    for f in list(external.get("followers") or external.get("follow_user") or []):  # type: ignore[call-overload]
        out.append(str(f.get("userid") or "") if isinstance(f, dict) else str(f))
    return out


def customers_per_employee(directory: Directory) -> dict[str, int]:
    counts: dict[str, int] = {}
    for x in directory.externals:
        for userid in set(follower_ids(x)):
            counts[userid] = counts.get(userid, 0) + 1
    return counts


def employee_rows(directory: Directory, visible: list[JsonObject]) -> list[dict[str, object]]:
    counts = customers_per_employee(directory)
    names = directory.department_names
    return [
        {
            "userid": e["userid"],
            "名称": str(e.get("name") or e["userid"]),
            "职务": str(e.get("position") or ""),
            "部门": "、".join(names.get(int(str(d)), str(d)) for d in list(e.get("departments") or [])),  # type: ignore
            "当前负责客户数": counts.get(str(e["userid"]), 0),
            "会话存档状态": archive_status(e),
        }
        for e in visible
    ]


def follower_counts(external: JsonObject, directory: Directory) -> tuple[int, int]:
    """(current, former) followers: a follower who left the company is no longer current."""
    left = {str(e["userid"]) for e in directory.employees if e.get("status") == "left"}
    ids = follower_ids(external)
    former = sum(1 for f in ids if f in left)
    return len(ids) - former, former


def description(external: JsonObject) -> str:
    found = [
        str(f.get("description"))
        for f in list(external.get("follow_user") or [])  # type: ignore
        if isinstance(f, dict) and f.get("description")
    ]
    return str(external.get("description") or "") or "；".join(found)


def conversation_state(last_ms: int, newest_ms: int, consent: str) -> str:
    if not last_ms:
        return "当前无会话"
    if consent == "disagree" or newest_ms - last_ms > QUIET_DAYS * 86_400_000:
        return "会话中断"
    return "正常对话中"
