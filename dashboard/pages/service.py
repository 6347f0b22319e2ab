"""服务质量: per employee, conversations with customers (single chats and groups with
customers), messages sent, customer messages, answered share, first-response time
(median / p90, wall-clock and business hours), unanswered conversations."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance import access
from core import clock
from core.models import MessageFilter
from dashboard import _charts, _state, _widgets
from dashboard.i18n import t
from reports.service import service_quality

session = _state.require(access.STATS)
arch = _state.user_archive()
directory = _state.directory()

st.title(t("服务质量"))
c1, c2 = st.columns([2, 1])
with c1:
    time_from, time_to = _widgets.date_range("sq_time", "日期")
with c2:
    departments = _widgets.department_picker(directory, "sq_dept")


def minutes(ms: float | None) -> float | None:
    return round(ms / 60_000, 1) if ms is not None else None


def listed(userid: str) -> bool:
    """In the account's scope and the chosen departments. A customer group brings in its other
    employees too; their rows would hold only the shared groups, so they are not listed."""
    depts = set(directory.departments_of(userid))
    s = arch.scope
    in_scope = s.all or userid in s.users or bool(s.departments & depts)
    return in_scope and (not departments or bool(set(departments) & depts))


with _state.guard("service quality"):
    rows = service_quality(
        arch.store,
        MessageFilter(time_from=time_from, time_to=time_to, departments=departments),
        scope=arch.scope,
        now_ms=clock.now_ms(),
        unanswered_minutes=int(arch.settings.unanswered_minutes),
    )
    others = [r for r in rows if not listed(r.employee)]
    rows = [r for r in rows if listed(r.employee)]
    if not rows:
        st.info("此范围内没有客户会话。")
        st.stop()
    df = pd.DataFrame(
        [
            {
                "员工": directory.name(r.employee),
                "账号": r.employee,
                "客户会话数": r.chats,
                "发送消息数": r.sent,
                "客户消息数": r.customer_messages,
                "回复次数": r.replies,
                "回复率": round(r.answered_share * 100, 1) if r.answered_share is not None else None,
                "首次响应中位数(分)": minutes(r.reply_p50_ms),
                "首次响应P90(分)": minutes(r.reply_p90_ms),
                "工作时间中位数(分)": minutes(r.business_p50_ms),
                "工作时间P90(分)": minutes(r.business_p90_ms),
                "未回复会话": r.unanswered_chats,
            }
            for r in rows
        ]
    )
    chart = df.melt(
        id_vars=["员工"], value_vars=["首次响应中位数(分)", "首次响应P90(分)"], var_name="指标", value_name="分钟"
    ).dropna()
    if not chart.empty:
        st.plotly_chart(
            _charts.bars(chart, "员工", "分钟", "首次响应时间 (中位数与 P90)", color="指标", barmode="group"),
            width="stretch",
            key="ch_service",
        )
    st.dataframe(df, hide_index=True, width="stretch")
    st.caption(
        "客户会话: 与客户的单聊, 以及有外部联系人的群聊 (客户群; 内部群不计入)。"
        "客户消息数不含撤回记录和同意/拒绝存档等记录。"
    )
    st.caption(
        f"未回复: 客户最后一条消息超过 {arch.settings.unanswered_minutes} 分钟未回复的会话 "
        "(计入会话中的每位员工); 回复率 = 回复次数 / (回复次数 + 未回复会话)"
    )
    if others:
        st.caption(f"另有 {len(others)} 位员工 (权限范围或所选部门之外) 与这些员工在同一客户群中, 未列出。")
    st.download_button("下载 CSV", df.to_csv(index=False).encode("utf-8-sig"), "service_quality.csv", key="sq_csv")
