"""客户管理: customers with added time, followers, source, consent and last
conversation; opening one lists their conversations."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance import access
from compliance.consent import list_consent
from core.models import MessageFilter
from dashboard import _customer_panel, _people_tables, _state, _ui, _widgets, viewer
from dashboard.i18n import t
from reports.people import customer_rows

session = _state.require(access.VIEW)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title(t("客户管理"))
find = st.text_input("查找客户", key="c_find", placeholder="名称")

rows = []
with _state.guard("customers"):
    consent = {}
    for row in reversed(list_consent(arch.store)):  # oldest first, so the newest state wins
        consent[row["external"]] = row["status"]
    rows = customer_rows(arch.store, directory, scope=arch.scope, consent=consent)
if find.strip():
    rows = [r for r in rows if find.strip().lower() in r["客户名称"].lower()]
if not rows:
    st.info("没有客户。")
    st.stop()

labels = {"agree": "同意存档", "disagree": "不同意存档", "unknown": "未知"}
externals = {str(x["id"]): x for x in directory.externals}
newest = max((int(r["最近会话"]) for r in rows), default=0)


def seed_columns(r: dict) -> dict:
    """The seed's 当前跟进人数 / 非当前跟进人数 / 描述 / 会话状态 for one customer row."""
    x = externals.get(str(r["id"]), {})
    current, former = _people_tables.follower_counts(x, directory)
    return {
        "当前跟进人数": current,
        "非当前跟进人数": former,
        "描述": _people_tables.description(x),
        "会话状态": _people_tables.conversation_state(int(r["最近会话"]), newest, str(r["存档同意"])),
    }


table = pd.DataFrame(
    [
        {
            **{k: v for k, v in r.items() if k != "id"},
            "添加时间": _ui.fmt_time(r["添加时间"], tz) if r["添加时间"] else "",
            **seed_columns(r),
            "最近会话": _ui.fmt_time(r["最近会话"], tz) if r["最近会话"] else "当前无会话",
            "存档同意": labels.get(r["存档同意"], r["存档同意"]),
        }
        for r in rows
    ]
)
st.caption(f"共 {len(rows)} 位客户")
st.dataframe(table, hide_index=True, width="stretch")
st.download_button("下载 CSV", table.to_csv(index=False).encode("utf-8-sig"), "customers.csv", key="c_csv")

by_id = {r["id"]: r for r in rows}
customer = st.selectbox("查看客户的会话", list(by_id), format_func=lambda i: by_id[i]["客户名称"], key="c_pick")
with _state.guard("conversations"):
    r = arch.store.aggregate(
        MessageFilter(externals=[customer]),
        {"c": {"terms": {"field": "chat_id", "size": 1000}, "aggs": {"last": {"max": {"field": "time"}}}}},
        scope=arch.scope,
    )
    chats = [
        (str(b["key"]), int(b["doc_count"]), int((b.get("last") or {}).get("value") or 0))
        for b in (r.get("c") or {}).get("buckets") or []
    ]
    if not chats:
        st.caption("与此客户没有会话。")
    for chat_id, n, last in sorted(chats, key=lambda c: -c[2]):
        name = (
            directory.name(chat_id)
            if chat_id in directory.groups_by_id
            else " ↔ ".join(directory.name(p) for p in chat_id.split("|"))
        )
        st.write(f"- {_ui.esc(name)} · {n} 条 · 最近 {_ui.fmt_time(last, tz) if last else '-'}")
    reason = _widgets.reason_box("c_reason")
    if reason and chats:
        chat_id = st.selectbox(
            "会话",
            [c[0] for c in chats],
            key="c_chat",
            format_func=lambda c: " ↔ ".join(directory.name(p) for p in c.split("|")),
        )
        main_col, panel_col = st.columns([3, 1])
        with main_col:
            messages = viewer.viewed_page(
                arch, chat_id, reason, visit=session.token, key=f"c_{chat_id}", details={"customer": customer}
            )
            _widgets.show_conversation(messages, highlight_flagged=True)
        with panel_col:
            _customer_panel.show(arch, directory, customer, tz)
