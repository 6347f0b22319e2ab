"""The dashboard's entry point: login, then the pages the account's role allows.

Run with ``chatarchive serve`` (which passes the data dir and backend through the
environment) or ``streamlit run dashboard/app.py``.
"""

from __future__ import annotations

import streamlit as st

from compliance import access
from dashboard import _state
from dashboard._health import health_warning, pipeline_status
from dashboard.i18n import role, t

st.set_page_config(page_title=t("会话存档"), page_icon=":material/inventory_2:", layout="wide")

# (file, title, icon, permission): the order is the sidebar's order.
PAGES: list[tuple[str, str, str, str]] = [
    ("pages/search.py", "搜索", ":material/search:", access.SEARCH),
    ("pages/conversations.py", "查看聊天记录", ":material/forum:", access.VIEW),
    ("pages/employees.py", "员工管理", ":material/badge:", access.VIEW),
    ("pages/customers.py", "客户管理", ":material/groups:", access.VIEW),
    ("pages/violations.py", "违规管理", ":material/report:", access.REVIEW),
    ("pages/sampling.py", "抽样检查", ":material/casino:", access.REVIEW),
    ("pages/rules.py", "敏感规则", ":material/rule:", access.RULES),
    ("pages/statistics.py", "数据报表", ":material/bar_chart:", access.STATS),
    ("pages/service.py", "服务质量", ":material/timer:", access.STATS),
    ("pages/accounts.py", "账号权限", ":material/key:", access.ACCOUNTS),
    ("pages/audit.py", "审计日志", ":material/history_edu:", access.AUDIT),
    ("pages/pipeline.py", "采集状态", ":material/monitor_heart:", access.ACCOUNTS),
]


def login_page() -> None:
    _state.login_form()


def main() -> None:
    st.session_state[_state.APP_RAN] = True
    session = _state.current_session()
    if session is None:
        st.navigation([st.Page(login_page, title=t("登录"), url_path="login")], position="hidden").run()
        return
    _state.keep_link(session)
    pages = [
        st.Page(path, title=t(title), icon=icon)
        for path, title, icon, permission in PAGES
        if access.allowed(session, permission)
    ]
    nav = st.navigation(pages)
    wanted = st.session_state.pop(_state.WANTED, "")
    if any(file == wanted and access.allowed(session, permission) for file, _, _, permission in PAGES):
        st.switch_page(wanted)  # the deep link the login came between
    with st.sidebar:
        st.caption(f"{session.account} · {role(session.role)}")
        if st.button(t("退出登录"), key="logout"):
            _state.do_logout()
            st.rerun()
    if access.allowed(session, access.ACCOUNTS):  # operations news is for administrators only
        with st.sidebar:
            status = pipeline_status(_state.base_archive())
            if status:
                with st.expander(t("采集状态")):
                    st.markdown("\n".join(f"- {label}: **{value}**" for label, value in status))
        warning = health_warning(_state.base_archive())
        if warning:
            st.warning(warning)
            st.page_link("pages/pipeline.py", label=t("查看详情"), icon=":material/arrow_forward:")
    nav.run()
    _state.warm_up_in_background()  # the first page is drawn: chart libraries load while it is read


main()
