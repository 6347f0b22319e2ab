"""Widgets used by several pages: the message filter panel, the date range, the
reason prompt (minimum necessity), the conversation view."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import streamlit as st

from chatarchive import actions
from compliance import audit
from core.directory import Directory
from core.models import Message, MessageFilter
from dashboard import _state, _ui, viewer
from dashboard._chat_cards import type_name

MSGTYPES = [
    "text",
    "image",
    "voice",
    "video",
    "file",
    "link",
    "emotion",
    "location",
    "card",
    "weapp",
    "chatrecord",
    "mixed",
    "revoke",
    "agree",
    "disagree",
    "meeting_voice_call",
    "voip_doc_share",
    "redpacket",
    "external_redpacket",
    "todo",
    "vote",
    "collect",
    "docmsg",
    "markdown",
    "news",
    "calendar",
    "meeting",
    "sphfeed",
    "switch",
]
PICK = "请选择"  # Streamlit's own placeholder says "Choose options"
DIRECTIONS = {"employee": "员工发送", "external": "客户发送", "robot": "机器人", "system": "系统"}


def pick_many(label: str, options: Sequence[Any], **kwargs: Any) -> list[Any]:
    """``st.multiselect`` with a Chinese placeholder."""
    return st.multiselect(label, options, placeholder=PICK, **kwargs)


def date_range(key: str, label: str = "时间范围") -> tuple[int | None, int | None]:
    """Two optional dates → ``(time_from, time_to)`` in ms, inclusive of both days."""
    c1, c2 = st.columns(2)
    first: date | None = c1.date_input(f"{label} 从", value=None, key=f"{key}_from")
    last: date | None = c2.date_input("到", value=None, key=f"{key}_to")
    tz = _state.tz()
    if first and last:
        return _ui.day_range_ms(first, last, tz)
    if first:
        return _ui.day_start_ms(first, tz), None
    if last:
        return None, _ui.day_range_ms(last, last, tz)[1]
    return None, None


def department_picker(directory: Directory, key: str, label: str = "部门") -> list[int]:
    names = directory.department_names
    return pick_many(label, sorted(names), format_func=lambda d: f"{names.get(d, d)} ({d})", key=key)


def employee_picker(directory: Directory, key: str, label: str = "员工") -> list[str]:
    ids = sorted(directory.employee_ids)
    return pick_many(label, ids, format_func=lambda u: f"{directory.name(u)} ({u})", key=key)


def message_filters(directory: Directory, key: str = "f") -> MessageFilter:
    """The search page's full filter panel."""
    time_from, time_to = date_range(f"{key}_time")
    c1, c2, c3 = st.columns(3)
    with c1:
        departments = department_picker(directory, f"{key}_dept")
        employees = employee_picker(directory, f"{key}_emp")
    with c2:
        externals = pick_many(
            "客户",
            sorted(x["id"] for x in directory.externals),
            format_func=lambda x: f"{directory.name(x)} ({x[:10]}…)",
            key=f"{key}_ext",
        )
        groups = pick_many("群聊", sorted(directory.groups_by_id), format_func=directory.name, key=f"{key}_group")
    with c3:
        msgtypes = pick_many("消息类型", MSGTYPES, key=f"{key}_type", format_func=type_name)
        directions = pick_many("方向 (发送方)", list(DIRECTIONS), format_func=DIRECTIONS.get, key=f"{key}_dir")
    flagged = st.checkbox("只看违规消息", key=f"{key}_flagged")
    return MessageFilter(
        time_from=time_from,
        time_to=time_to,
        departments=departments,
        employees=employees,
        externals=externals,
        chats=groups,
        msgtypes=msgtypes,
        sender_kinds=directions,
        flagged=True if flagged else None,
    )


def reason_box(key: str, what: str = "查看聊天内容") -> str:
    """Asks why (minimum necessity). Returns the reason once it is long enough, else ""."""
    reason = st.text_input(
        f"{what}的理由",
        key=key,
        placeholder="例如：投诉核查 #1234",
    )
    if reason and len(reason.strip()) < audit.MIN_REASON_CHARS:
        st.warning("理由太短。")
        return ""
    return reason.strip()


def show_conversation(
    messages: list[Message],
    *,
    hit_msgid: str = "",
    hit_html: str | None = None,
    highlight_flagged: bool = False,
    bodies: dict[str, str] | None = None,
    me: str = "",
) -> None:
    """The chat viewer over ``messages``; ``me`` is the employee drawn on the right
    (by default the employee of a one-to-one chat, else every employee)."""
    prepared = dict(bodies or {})
    if hit_msgid and hit_html is not None:
        prepared[hit_msgid] = hit_html
    options = viewer.ViewOptions(
        me=me or viewer.chat_employee(messages, _state.directory()),
        names=_state.party_names(),
        bodies=prepared,
        hit_msgid=hit_msgid,
        highlight_flagged=highlight_flagged,
    )
    viewer.show(_state.user_archive(), messages, options, _state.tz())


def open_context(msgid: str, reason: str, *, before: int = 10, after: int = 10) -> list[Message]:
    """The conversation around ``msgid`` within the account's scope; the view is recorded in
    the audit trail with its reason, once per login session (reruns write nothing)."""
    return actions.view_context(
        _state.user_archive(), msgid, reason, before=before, after=after, visit=_state.session().token
    )


def filters_to_dict(f: MessageFilter) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: v for k, v in asdict(f).items() if v not in (None, [], "")}


def jsonable(value: Any) -> bool:
    """Widget values a saved search can keep (dates, lists, text, numbers, booleans, None)."""
    return value is None or isinstance(value, (str, int, float, bool, list, date))


def to_json(value: Any) -> Any:
    """Dates become ``{"date": "YYYY-MM-DD"}`` so a saved search survives the record store."""
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"date"}:
            return date.fromisoformat(value["date"])
        return {k: from_json(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value
