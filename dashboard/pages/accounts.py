"""账号权限: accounts, roles and scopes (super administrators only), on compliance.accounts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compliance import access
from compliance.accounts import change_password, create_account, list_accounts, set_disabled, set_role
from dashboard import _state, _ui, i18n
from dashboard.i18n import t

session = _state.require(access.ACCOUNTS)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title(t("账号权限"))
ROLE_LABELS = {r: i18n.role(r) for r in access.ROLES}
NEW_ACCOUNT_KEYS = ("a_name", "a_role", "a_depts", "a_users", "a_pw")
flash = st.session_state.pop("a_flash", None)
if flash:
    st.success(flash)


def done(message: str, *keys: str) -> None:
    """After a change: empty the form (the next account must not inherit this one's scope), refresh the list."""
    for key in keys:
        st.session_state.pop(key, None)
    st.session_state["a_flash"] = message
    st.rerun()


accounts = []
with _state.guard("accounts"):
    accounts = list_accounts(arch.store)
st.dataframe(
    pd.DataFrame(
        [
            {
                "账号": a["name"],
                "角色": ROLE_LABELS.get(a["role"], a["role"]),
                "部门范围": ", ".join(directory.department_names.get(d, str(d)) for d in a["scope"]["departments"]),
                "员工范围": ", ".join(directory.name(u) for u in a["scope"]["users"]),
                "停用": a["disabled"],
                "最近登录": _ui.fmt_time(a["last_login_ms"], tz) if a["last_login_ms"] else "",
            }
            for a in accounts
        ]
    ),
    hide_index=True,
    width="stretch",
)

tab_new, tab_edit = st.tabs(["新建账号", "修改权限 / 密码"])
with tab_new, st.form("new_account"):
    name = st.text_input("账号", key="a_name")
    role = st.selectbox("角色", list(access.ROLES), format_func=lambda r: ROLE_LABELS.get(r, r), key="a_role")
    depts = st.multiselect(
        "可查看的部门 (含下级)",
        sorted(directory.department_names),
        format_func=lambda d: directory.department_names.get(d, str(d)),
        placeholder="请选择",
        key="a_depts",
    )
    users = st.multiselect(
        "可查看的员工", sorted(directory.employee_ids), format_func=directory.name, placeholder="请选择", key="a_users"
    )
    password = st.text_input("初始密码 (至少 8 位)", type="password", key="a_pw")
    if st.form_submit_button("创建"):
        with _state.guard("create account"):
            create_account(arch.store, name, role, password, depts, users, actor=session.account)
            done(f"已创建账号 {name}", *NEW_ACCOUNT_KEYS)

with tab_edit:
    names = [a["name"] for a in accounts]
    if names:
        target = st.selectbox("账号", names, key="e_name")
        current = next(a for a in accounts if a["name"] == target)
        with st.form("edit_account"):
            role = st.selectbox(
                "角色",
                list(access.ROLES),
                index=list(access.ROLES).index(current["role"]),
                format_func=lambda r: ROLE_LABELS.get(r, r),
                key=f"e_role_{target}",
            )
            depts = st.multiselect(
                "部门范围",
                sorted(directory.department_names),
                default=[d for d in current["scope"]["departments"] if d in directory.department_names],
                format_func=lambda d: directory.department_names.get(d, str(d)),
                placeholder="请选择",
                key=f"e_depts_{target}",
            )
            users = st.multiselect(
                "员工范围",
                sorted(directory.employee_ids | set(current["scope"]["users"])),
                default=current["scope"]["users"],
                format_func=directory.name,
                placeholder="请选择",
                key=f"e_users_{target}",
            )
            if st.form_submit_button("保存权限"):
                with _state.guard("set role"):
                    set_role(arch.store, target, role, depts, users, actor=session.account)
                    done(f"已保存 {target} 的权限")
        with st.form("reset_password"):
            new_password = st.text_input("新密码 (至少 12 位, 不含账号名, 不能是常见密码)", type="password", key="e_pw")
            if st.form_submit_button("重置密码"):
                with _state.guard("password"):
                    change_password(arch.store, target, new_password, actor=session.account)
                    st.success("密码已重置; 该账号的会话已结束")
        label = "启用账号" if current["disabled"] else "停用账号"
        if st.button(label, key="e_disable"):
            with _state.guard("disable"):
                set_disabled(arch.store, target, not current["disabled"], actor=session.account)
                st.rerun()
