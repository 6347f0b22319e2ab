"""抽样检查: a seeded, reproducible random sample of unflagged conversations for a
period, per department or employee, reviewed like violations."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from chatarchive import actions
from compliance import access
from dashboard import _state, _ui, _widgets
from dashboard.i18n import t
from reports.review import SAMPLE_STATUSES, SAMPLES, draw_sample

session = _state.require(access.REVIEW)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title(t("抽样检查"))

SAMPLE_LABELS = {
    "unreviewed": "待审核",
    "no_issue": "无问题",
    "issue_found": "发现问题",
    "escalated": "已上报",
    # samples reviewed before sampled conversations had their own outcomes
    "confirmed": "已审核 (旧版)",
    "false_positive": "已审核 (旧版)",
}
flash = st.session_state.pop("s_flash", None)
if flash:
    st.success(flash)

with st.form("draw"):
    c1, c2 = st.columns(2)
    today = date.today()
    first = c1.date_input("从", value=today - timedelta(days=30), key="s_from")
    last = c2.date_input("到", value=today, key="s_to")
    by = st.radio(
        "按",
        ["department", "employee"],
        horizontal=True,
        key="s_by",
        format_func={"department": "部门", "employee": "员工"}.get,
    )
    departments = _widgets.department_picker(directory, "s_dept", "部门 (按部门抽样时)")
    employees = _widgets.employee_picker(directory, "s_emp", "员工 (按员工抽样时)")
    c3, c4 = st.columns(2)
    percent = c3.number_input("比例 %", min_value=0.1, max_value=100.0, value=5.0, step=0.5, key="s_pct")
    seed = c4.number_input("随机种子 Seed (同一种子可复现)", min_value=0, value=20240101, step=1, key="s_seed")
    drawn = st.form_submit_button("抽样")
if drawn:
    with _state.guard("sample"), st.status("正在抽样…") as status:
        time_from, time_to = _ui.day_range_ms(first, last, tz)
        doc = draw_sample(
            arch.store,
            scope=arch.scope,
            time_from=time_from,
            time_to=time_to,
            percent=float(percent),
            by=by,
            targets=departments if by == "department" else employees,
            seed=int(seed),
            actor=session.account,
        )
        st.session_state["s_current"] = doc["id"]
        st.session_state["s_pick"] = doc["id"]  # the picker's kept value would otherwise hide the new sample
        status.update(label=f"已抽取 {len(doc['items'])} 个会话", state="complete")

samples = []
with _state.guard("samples"):
    samples = arch.store.find_records(
        SAMPLES, {"drawn_by": session.account}, order_by="drawn_ms", descending=True, limit=50
    )
if not samples:
    st.info("还没有抽样。")
    st.stop()
by_id = {s["_id"]: s for s in samples}
current = st.session_state.get("s_current")
sample_id = st.selectbox(
    "抽样记录",
    list(by_id),
    index=list(by_id).index(current) if current in by_id else 0,
    key="s_pick",
    format_func=lambda i: (
        f"{_ui.fmt_time(by_id[i]['drawn_ms'], tz)} · {by_id[i]['percent']}% · seed {by_id[i]['seed']} "
        f"· {len(by_id[i]['items'])} 个会话"
    ),
)
sample = by_id[sample_id]
items = sample["items"]
if not items:
    st.info("此期间没有未标记的会话。")
    st.stop()
st.dataframe(
    pd.DataFrame(
        [
            {
                "对象": directory.name(i["target"])
                if sample["by"] == "employee"
                else directory.department_names.get(int(i["target"]), i["target"]),
                "会话": " ↔ ".join(directory.name(p) for p in i["chat_id"].split("|"))
                if "|" in i["chat_id"]
                else directory.name(i["chat_id"]),
                "状态": SAMPLE_LABELS.get(i["status"], i["status"]),
                "审核人": i.get("reviewer", ""),
                "意见": i.get("comment", ""),
            }
            for i in items
        ]
    ),
    hide_index=True,
    width="stretch",
)

chat_id = st.selectbox(
    "审核会话",
    [i["chat_id"] for i in items],
    key="s_chat",
    format_func=lambda c: " ↔ ".join(directory.name(p) for p in c.split("|")),
)
reason = _widgets.reason_box("s_reason", "查看抽样会话")
if reason:
    with _state.guard("conversation"):
        messages = actions.view_conversation(
            arch,
            chat_id,
            reason,
            visit=session.token,
            time_from=sample["time_from"],
            time_to=sample["time_to"],
            limit=200,
            details={"sample": sample_id},
        )
        _widgets.show_conversation(messages)
with st.form("s_review"):
    outcome: str = st.radio(
        "结论", list(SAMPLE_STATUSES), horizontal=True, key="s_rstatus", format_func=lambda s: SAMPLE_LABELS.get(s, s)
    )
    comment = st.text_area("意见", key="s_comment")
    reviewed = st.form_submit_button("提交审核")
if reviewed:
    with _state.guard("review"):
        actions.review_sample_item(arch, sample_id, chat_id, outcome, comment)
        st.session_state["s_flash"] = f"已记录审核结论: {SAMPLE_LABELS[outcome]}"
        st.session_state.pop("s_comment", None)  # the next conversation starts with an empty comment
        st.rerun()  # the table above shows the new status
