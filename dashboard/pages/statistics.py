"""数据报表: message volumes and violation trends, every chart with the same date
range and department filter, every table downloadable as CSV."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from analyzers.analytics import stats
from chatarchive.models import MessageFilter, ViolationFilter
from compliance import access
from dashboard import _state, _ui, _widgets

session = _state.require(access.STATS)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title("数据报表 Statistics")
c1, c2 = st.columns([2, 1])
with c1:
    time_from, time_to = _widgets.date_range("st_time", "日期")
with c2:
    departments = _widgets.department_picker(directory, "st_dept")
f = MessageFilter(time_from=time_from, time_to=time_to, departments=departments)
vf = ViolationFilter(time_from=time_from, time_to=time_to, departments=departments)


def table(df: pd.DataFrame, name: str) -> None:
    st.dataframe(df, hide_index=True, width="stretch")
    st.download_button(f"下载 {name}.csv", df.to_csv(index=False).encode("utf-8-sig"), f"{name}.csv", key=f"csv_{name}")


def kind_label(k: object) -> str:
    return _ui.CHAT_KIND_LABELS.get(str(k), str(k))


with _state.guard("statistics"):
    total = arch.store.count(f, scope=arch.scope)
    st.metric("消息总数 Messages", total)
    if total == 0:
        st.info("此范围内没有消息 (no messages in this range).")
        st.stop()
    tab_day, tab_week, tab_split, tab_people, tab_customers, tab_viol = st.tabs(
        ["每日", "时段热力图", "类型/会话/部门", "员工排行", "新增客户", "违规趋势"])
    with tab_day:
        days = pd.DataFrame([{"日期": _ui.fmt_day(d, tz), "消息数": n} for d, n in stats.per_day(arch.store, f, scope=arch.scope)])
        st.plotly_chart(px.bar(days, x="日期", y="消息数"), width="stretch", key="ch_day")
        table(days, "messages_per_day")
    with tab_week:
        grid = stats.hour_of_week(arch.store, f, scope=arch.scope, tz=tz)
        fig = px.imshow(grid, x=[f"{h}时" for h in range(24)], y=[f"周{d}" for d in stats.WEEKDAYS],
                        labels={"color": "消息数"}, aspect="auto", color_continuous_scale="Blues")
        st.plotly_chart(fig, width="stretch", key="ch_week")
        table(pd.DataFrame(grid, index=[f"周{d}" for d in stats.WEEKDAYS], columns=[f"{h}时" for h in range(24)])
              .reset_index(names="星期"), "hour_of_week")
    with tab_split:
        a, b = st.columns(2)
        types = pd.DataFrame(stats.by_field(arch.store, f, "msgtype", scope=arch.scope), columns=["消息类型", "消息数"])
        a.plotly_chart(px.pie(types, names="消息类型", values="消息数", title="按消息类型"), width="stretch", key="ch_type")
        kinds = pd.DataFrame([(kind_label(k), n) for k, n in stats.by_field(arch.store, f, "chat_kind", scope=arch.scope)],
                             columns=["会话类型", "消息数"])
        b.plotly_chart(px.pie(kinds, names="会话类型", values="消息数", title="外部/内部/群聊"), width="stretch", key="ch_kind")
        depts = pd.DataFrame([(directory.department_names.get(d, str(d)), d, n)
                              for d, n in stats.by_department(arch.store, f, scope=arch.scope)],
                             columns=["部门", "部门ID", "消息数"])
        st.caption("按部门 (上级部门包含其下级部门的消息)")
        table(depts, "by_department")
        table(types, "by_msgtype")
    with tab_people:
        top = pd.DataFrame([(directory.name(u), u, n) for u, n in stats.top_employees(arch.store, f, scope=arch.scope)],
                           columns=["员工", "账号", "发送消息数"])
        st.plotly_chart(px.bar(top, x="员工", y="发送消息数"), width="stretch", key="ch_top")
        table(top, "top_employees")
    with tab_customers:
        new = pd.DataFrame(stats.new_customers_per_day(directory, tz=tz, time_from=time_from, time_to=time_to, scope=arch.scope),
                           columns=["日期", "新增客户"])
        if new.empty:
            st.caption("此范围内没有新增客户")
        else:
            st.plotly_chart(px.bar(new, x="日期", y="新增客户"), width="stretch", key="ch_new")
        table(new, "new_customers")
    with tab_viol:
        split = st.radio("拆分", ["category", "severity", "rule_id"], horizontal=True, key="st_split",
                         format_func={"category": "类别", "severity": "严重程度", "rule_id": "规则"}.get)
        trend = pd.DataFrame([(_ui.fmt_day(d, tz), k, n) for d, k, n in
                              stats.violations_per_day(arch.store, vf, scope=arch.scope, split=split)],
                             columns=["日期", split, "违规数"])
        if trend.empty:
            st.caption("此范围内没有违规")
        else:
            st.plotly_chart(px.bar(trend, x="日期", y="违规数", color=split), width="stretch", key="ch_viol")
        table(trend, "violations_per_day")
