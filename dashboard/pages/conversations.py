"""查看聊天记录 / 员工管理: employees (归档中 / 曾归档) → their chats (外部客户 / 内部沟通 /
群聊) → the conversation, with the employee's figures and the highlight mode.

Above the conversation: its summary (the key sentences of the messages shown) and the
customer's sentiment; in highlight mode each customer message carries its sentiment."""

from __future__ import annotations

import streamlit as st

from analyzers.insights.sentiment import classify, conversation_sentiment
from compliance import access
from core.models import Message, ViolationFilter
from dashboard import _customer_panel, _state, _ui, viewer
from dashboard.i18n import t
from reports.people import employee_chats, employee_figures
from reports.summary import summarize

MAX_LISTED = 200  # radio lists beyond this are unusable; the search box narrows them

session = _state.require(access.VIEW)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title(t("查看聊天记录"))


def in_scope(userid: str) -> bool:
    s = arch.scope
    return s.allows_employee(userid, directory.departments_of(userid))


def status_of(e: dict) -> str:
    return "曾归档" if e.get("status") == "left" or e.get("archived_until") else "归档中"


SENTIMENT_LABELS = {"positive": "正面", "neutral": "中性", "negative": "负面"}
SENTIMENT_COLORS = {"positive": "#2b8a3e", "neutral": "#868e96", "negative": "#c92a2a"}
SUMMARY_SENTENCES = 3


def sentiment_of(m: Message) -> str:
    """The label the pipeline stored at ingest, else classified now."""
    stored = getattr(m, "sentiment", "")
    return stored if stored in SENTIMENT_LABELS else classify(m.text).label


def sentiment_marker(label: str) -> str:
    # Fixed strings only: no message text reaches this HTML.
    return (
        f'<div class="ca-meta ca-sentiment" style="color:{SENTIMENT_COLORS[label]}">'
        f"客户情绪: {SENTIMENT_LABELS[label]}</div>"
    )


def hit_bodies(messages: list[Message]) -> dict[str, str]:
    """The flagged messages' text with their violations' matched spans marked."""
    flagged = [m.msgid for m in messages if m.flagged]
    if not flagged:
        return {}
    _, violations = arch.store.list_violations(ViolationFilter(msgids=flagged), scope=arch.scope, limit=1000)
    spans: dict[str, list[list[int]]] = {}
    for v in violations:
        spans.setdefault(v.msgid, []).extend(v.spans)
    by_msg = {m.msgid: m for m in messages}
    return {mid: _ui.mark_spans(by_msg[mid].text, s) for mid, s in spans.items() if mid in by_msg}


def show_summary(messages: list[Message], partial: bool) -> None:
    """The key sentences (time · sender · sentence) and the customer's sentiment with counts."""
    by_id = {m.msgid: m for m in messages}
    names = _state.party_names()
    key = summarize(messages, SUMMARY_SENTENCES)
    feeling = conversation_sentiment(messages)
    lines = (
        "".join(
            f'<div class="ca-summary-line"><span class="ca-meta">{_ui.fmt_time(by_id[k.msgid].time_ms, tz)} · '
            f"{_ui.esc(names.get(by_id[k.msgid].sender, by_id[k.msgid].sender))}</span> {_ui.esc(k.text)}</div>"
            for k in key
            if k.msgid in by_id
        )
        or '<div class="ca-meta">没有可摘要的句子 (nothing to summarize).</div>'
    )
    counts = f"正面 {feeling.positive} · 中性 {feeling.neutral} · 负面 {feeling.negative}"
    with st.container(border=True):
        st.markdown(
            f'<div class="ca-summary"><b>会话摘要</b>{" (本页)" if partial else ""}{lines}</div>',
            unsafe_allow_html=True,
        )
        if feeling.positive + feeling.neutral + feeling.negative:
            st.markdown(
                f'<div class="ca-meta">客户情绪: <b style="color:{SENTIMENT_COLORS[feeling.label]}">'
                f"{SENTIMENT_LABELS[feeling.label]}</b> ({counts})</div>",
                unsafe_allow_html=True,
            )
        else:
            st.caption("客户情绪: 客户没有发言。")


left, middle, right = st.columns([1.2, 1.2, 3])

with left:
    st.subheader("员工")
    find = st.text_input("查找员工", key="emp_find", placeholder="姓名或账号")
    status = st.radio("会话存档状态", ["全部", "归档中", "曾归档"], horizontal=True, key="emp_status")
    employees = [e for e in directory.employees if in_scope(e["userid"])]
    if find.strip():
        needle = find.strip().lower()
        employees = [e for e in employees if needle in (e.get("name") or "").lower() or needle in e["userid"].lower()]
    if status != "全部":
        employees = [e for e in employees if status_of(e) == status]
    if not employees:
        st.info("没有符合条件的员工。")
        st.stop()
    if len(employees) > MAX_LISTED:
        st.caption(f"共 {len(employees)} 人，显示前 {MAX_LISTED} 人；请用查找框缩小范围。")
        employees = employees[:MAX_LISTED]
    by_id = {e["userid"]: e for e in employees}
    wanted = st.query_params.get("emp")  # 员工管理's 查看会话存档 link
    if wanted in by_id and st.session_state.get("_emp_link") != wanted:
        st.session_state["emp_pick"] = wanted
        st.session_state["_emp_link"] = wanted
    userid = st.radio(
        "选择员工",
        list(by_id),
        key="emp_pick",
        format_func=lambda u: f"{by_id[u].get('name') or u} · {status_of(by_id[u])}",
    )

employee = by_id[userid]
read_only = status_of(employee) == "曾归档"

with middle:
    st.subheader(employee.get("name") or userid)
    st.caption(
        f"{employee.get('position') or ''} · "
        + ", ".join(directory.department_names.get(int(d), str(d)) for d in employee.get("departments") or [])
    )
    if read_only:
        st.caption("🔒 员工只读模式")
    with _state.guard("figures"):
        figures = employee_figures(arch.store, userid, scope=arch.scope, directory=directory)
        for label, value in figures.items():
            st.metric(label, value)

with right:
    chats = []
    with _state.guard("chats"):
        chats = employee_chats(arch.store, userid, scope=arch.scope)
    tabs = st.tabs(
        [
            f"{_ui.CHAT_KIND_LABELS[k]} ({sum(1 for c in chats if c.kind == k)})"
            for k in ("external", "internal", "group")
        ]
    )
    for tab, kind in zip(tabs, ("external", "internal", "group")):
        with tab:
            mine = [c for c in chats if c.kind == kind]
            if not mine:
                st.caption("没有会话。")
                continue
            if len(mine) > MAX_LISTED:
                st.caption(f"共 {len(mine)} 个会话，显示最近的 {MAX_LISTED} 个。")
                mine = mine[:MAX_LISTED]
            names = {
                c.chat_id: f"{directory.name(c.peer)} · {c.messages} 条 · {_ui.fmt_time(c.last_ms, tz)}" for c in mine
            }
            if st.button("打开所选会话", key=f"open_{kind}"):
                st.session_state["conv_chat"] = st.session_state.get(f"pick_{kind}")
            st.radio("会话", list(names), format_func=names.get, key=f"pick_{kind}", label_visibility="collapsed")

chat_id = st.session_state.get("conv_chat")
if chat_id:
    st.divider()
    title = (
        directory.name(chat_id)
        if chat_id in directory.groups_by_id
        else " 与 ".join(directory.name(p) for p in chat_id.split("|"))
    )
    st.subheader(f"{title} 的相关聊天内容")
    c1, c2 = st.columns([3, 1])
    reason = c1.text_input("查看理由", key="conv_reason", placeholder="例如：季度合规抽查")
    highlight = c2.toggle("高亮模式", value=True, key="conv_highlight")
    customer = next((p for p in chat_id.split("|") if directory.kind_of(p) == "external"), "") if "|" in chat_id else ""
    if reason.strip():
        with _state.guard("conversation"):
            main_col, panel_col = st.columns([3, 1]) if customer else (st.container(), None)
            with main_col:
                options = viewer.ViewOptions(me=userid, names=_state.party_names(), highlight_flagged=highlight)
                messages = viewer.viewed_page(
                    arch, chat_id, reason, visit=session.token, key=f"conv_{chat_id}", details={"employee": userid}
                )
                if highlight:
                    options.bodies = hit_bodies(messages)
                    options.extras = {m.msgid: sentiment_marker(sentiment_of(m)) for m in messages if m.customer_wrote}
                show_summary(messages, partial=viewer.page_count(arch, chat_id) > 1)
                viewer.show(arch, messages, options, tz)
            if panel_col is not None and customer:
                with panel_col:
                    _customer_panel.show(arch, directory, customer, tz)
    else:
        st.info("请填写查看理由后显示聊天内容。")
