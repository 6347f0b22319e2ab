"""One employee's chats and figures (查看聊天记录), and the customer list (客户管理)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.directory import Directory
from core.models import MessageFilter, Scope, ViolationFilter
from store.base import Store

MAX_CHATS = 10_000


@dataclass
class ChatSummary:
    chat_id: str
    kind: str  # internal | external | group
    messages: int
    last_ms: int
    peer: str  # the other party of a single chat, or the group's roomid


def employee_chats(store: Store, userid: str, *, scope: Scope) -> list[ChatSummary]:
    """Every conversation the employee took part in, newest first."""
    r = store.aggregate(
        MessageFilter(employees=[userid]),
        {
            "chats": {
                "terms": {"field": "chat_id", "size": MAX_CHATS},
                "aggs": {"kind": {"terms": {"field": "chat_kind", "size": 3}}, "last": {"max": {"field": "time"}}},
            }
        },
        scope=scope,
    )
    out: list[ChatSummary] = []
    for b in (r.get("chats") or {}).get("buckets") or []:
        sub = b
        kinds = (sub.get("kind") or {}).get("buckets") or []
        kind = str(kinds[0]["key"]) if kinds else "internal"
        chat_id = str(b["key"])
        parts = chat_id.split("|")
        peer = next((p for p in parts if p != userid), userid) if kind != "group" else chat_id
        out.append(
            ChatSummary(chat_id, kind, int(b["doc_count"]), int((sub.get("last") or {}).get("value") or 0), peer)
        )
    out.sort(key=lambda c: -c.last_ms)
    return out


def employee_figures(store: Store, userid: str, *, scope: Scope, directory: Directory | None = None) -> dict[str, int]:
    """The seeds' five figures: 客户总数 (customers who list the employee as follower),
    总会话消息数, 客户群总数 (group chats), 客户私聊会话数 (single chats with customers),
    违规次数 (violations in the employee's conversations)."""
    mine = MessageFilter(employees=[userid])
    r = store.aggregate(
        mine,
        {
            "kinds": {
                "terms": {"field": "chat_kind", "size": 3},
                "aggs": {"chats": {"cardinality": {"field": "chat_id"}}},
            }
        },
        scope=scope,
    )
    chats_by_kind = {
        str(b["key"]): int((b.get("chats") or {}).get("value") or 0)
        for b in (r.get("kinds") or {}).get("buckets") or []
    }
    customers = 0
    if directory is not None:
        customers = sum(1 for x in directory.externals if userid in (x.get("followers") or []))
    violations, _ = store.list_violations(ViolationFilter(employees=[userid]), scope=scope, limit=1)
    return {
        "客户总数": customers,
        "总会话消息数": store.count(mine, scope=scope),
        "客户群总数": chats_by_kind.get("group", 0),
        "客户私聊会话数": chats_by_kind.get("external", 0),
        "违规次数": violations,
    }


def customer_rows(
    store: Store, directory: Directory, *, scope: Scope, consent: dict[str, str] | None = None, tz_format: Any = None
) -> list[dict[str, Any]]:
    """The 客户管理 list: every customer the account's scope can see a conversation with
    (or whose follower is in scope), with followers, source, consent and last message."""
    r = store.aggregate(
        MessageFilter(),
        {"x": {"terms": {"field": "externals", "size": MAX_CHATS}, "aggs": {"last": {"max": {"field": "time"}}}}},
        scope=scope,
    )
    last = {
        str(b["key"]): int((b.get("last") or {}).get("value") or 0) for b in (r.get("x") or {}).get("buckets") or []
    }
    rows = []
    for x in directory.externals:
        followers = x.get("followers") or []
        visible = x["id"] in last or any(scope.allows_employee(f, directory.departments_of(f)) for f in followers)
        visible = visible or scope.all
        if not visible:
            continue
        rows.append(
            {
                "id": x["id"],
                "客户名称": x.get("name") or x["id"],
                "添加时间": int(x.get("added_ms") or 0),
                "当前跟进人数": len(followers),
                "跟进人": ", ".join(directory.name(f) for f in followers),
                "来源": x.get("source") or "",
                "类型": x.get("type") or "",
                "存档同意": (consent or {}).get(x["id"], "unknown"),
                "最近会话": last.get(x["id"], 0),
            }
        )
    rows.sort(key=lambda row: -row["最近会话"])
    return rows
