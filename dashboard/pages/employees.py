"""员工管理: the seed's employee table (名称 职务 部门 当前负责客户数 会话存档状态 操作); 操作 opens the
employee's archive in 查看聊天记录 (read-only for those who left)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance import access
from dashboard import _people_tables, _session_link, _state
from dashboard.i18n import t

session = _state.require(access.VIEW)
arch = _state.user_archive()
directory = _state.directory()

st.title(t("员工管理"))


def in_scope(userid: str) -> bool:
    s = arch.scope
    return s.all or userid in s.users or bool(s.departments.intersection(directory.departments_of(userid)))


find = st.text_input("查找员工", key="e_find", placeholder="姓名、账号或部门")
rows = _people_tables.employee_rows(directory, [e for e in directory.employees if in_scope(str(e["userid"]))])
if find.strip():
    needle = find.strip().lower()
    rows = [r for r in rows if any(needle in str(r[k]).lower() for k in ("userid", "名称", "部门"))]
if not rows:
    st.info("没有符合条件的员工。")
    st.stop()
link = st.query_params.get(_session_link.PARAM, "")
table = pd.DataFrame(
    [
        {
            **{k: v for k, v in r.items() if k != "userid"},
            "操作": f"conversations?emp={r['userid']}" + (f"&{_session_link.PARAM}={link}" if link else ""),
        }
        for r in rows
    ]
)
st.caption(f"共 {len(rows)} 人 · 已离职或曾开启会话存档的员工为「曾归档」，查看时为只读模式。")
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "操作": st.column_config.LinkColumn("操作", display_text="查看会话存档"),
    },
)
