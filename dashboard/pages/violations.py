"""违规管理: violations with filters, the context of each with the matched terms
highlighted and the rule/version that matched, and the review workflow."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatarchive import actions
from compliance import access
from core.models import REVIEW_STATUSES, ViolationFilter
from dashboard import _state, _ui, _widgets
from reports.review import reviews_of

PAGE_SIZE = 50
SEVERITIES = ["high", "medium", "low"]

session = _state.require(access.REVIEW)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title("违规管理 Violations")


def suggest_exception(v) -> str:
    """The matched text with a little context around it (保本 in 保本型存款 → 保本型存款)."""
    with _state.guard("message"):
        found = arch.store.get_messages([v.msgid], scope=arch.scope)
        if found and v.spans:
            text = found[0].text
            start, end = int(v.spans[0][0]), int(v.spans[0][1])
            return text[max(0, start - 2) : min(len(text), end + 3)].strip()
    return "、".join(v.terms[:1])


rule_options: dict[str, str] = {}
with _state.guard("rules"):
    for r in arch.store.find_records("rules"):
        rule_options[str(r.get("id") or r["_id"])] = str(r.get("name") or r["_id"])

with st.expander("筛选 Filters", expanded=True):
    c1, c2, c3 = st.columns(3)
    statuses = c1.multiselect(
        "状态",
        list(REVIEW_STATUSES),
        default=["unreviewed"],
        key="v_status",
        format_func=lambda s: _ui.STATUS_LABELS.get(s, s),
    )
    rules = c1.multiselect("规则", sorted(rule_options), format_func=lambda r: rule_options.get(r, r), key="v_rules")
    severities = c2.multiselect("严重程度", SEVERITIES, key="v_sev")
    categories = c2.text_input("类别 (逗号分隔)", key="v_cat")
    with c3:
        departments = _widgets.department_picker(directory, "v_dept")
        employees = _widgets.employee_picker(directory, "v_emp")
    mine_only = st.checkbox("只看分配给我的", key="v_mine")
    time_from, time_to = _widgets.date_range("v_time")

vfilter = ViolationFilter(
    rule_ids=rules,
    categories=[c.strip() for c in categories.replace("，", ",").split(",") if c.strip()],
    severities=severities,
    statuses=statuses,
    employees=employees,
    departments=departments,
    assignee=session.account if mine_only else None,
    time_from=time_from,
    time_to=time_to,
)
page = int(st.number_input("页 Page", min_value=1, value=1, key="v_page"))

total, violations = 0, []
with _state.guard("violations"):
    total, violations = arch.store.list_violations(
        vfilter, scope=arch.scope, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
st.caption(f"共 {total} 条违规 · 第 {page} 页")
if not violations:
    st.info("没有符合条件的违规 (no violations match).")
    st.stop()

table = pd.DataFrame(
    [
        {
            "时间": _ui.fmt_time(v.time_ms, tz),
            "发送方": directory.name(v.sender),
            "规则": f"{v.rule_name} v{v.rule_version}",
            "类别": v.category,
            "严重程度": v.severity,
            "命中词": "、".join(v.terms),
            "会话类型": _ui.CHAT_KIND_LABELS.get(v.chat_kind, v.chat_kind),
            "状态": _ui.STATUS_LABELS.get(v.status, v.status),
            "处理人": v.assignee,
        }
        for v in violations
    ]
)
st.dataframe(table, hide_index=True, width="stretch")
st.download_button("下载本页 CSV", table.to_csv(index=False).encode("utf-8-sig"), "violations.csv", key="v_csv")

by_id = {v.id: v for v in violations}
chosen = st.selectbox(
    "查看详情",
    list(by_id),
    key="v_pick",
    format_func=lambda i: (
        f"{_ui.fmt_time(by_id[i].time_ms, tz)} · {directory.name(by_id[i].sender)} · {by_id[i].rule_name}"
    ),
)
v = by_id[chosen]

st.subheader("详情 Detail")
st.markdown(
    f"**规则** {_ui.esc(v.rule_name)} (`{_ui.esc(v.rule_id)}` "
    f"版本 {v.rule_version}) · **类别** {_ui.esc(v.category)} · "
    f"**严重程度** {_ui.esc(v.severity)} · **命中词** {_ui.esc('、'.join(v.terms))}"
)
if v.explanation:
    st.caption(v.explanation)

reason = _widgets.reason_box("v_reason", "查看上下文")
if reason and st.toggle("显示上下文 Show context", key="v_ctx"):
    with _state.guard("context"):
        messages = _widgets.open_context(v.msgid, reason, before=8, after=8)
        hit = next((m for m in messages if m.msgid == v.msgid), None)
        if hit is None:
            st.warning("消息不存在或不在您的权限范围内 (the message is gone or outside your scope).")
        else:
            _widgets.show_conversation(
                messages, hit_msgid=v.msgid, hit_html=_ui.mark_spans(hit.text, v.spans), highlight_flagged=True
            )

st.subheader("审核 Review")
with st.form("review"):
    status = st.radio(
        "结论",
        ["confirmed", "false_positive", "escalated"],
        horizontal=True,
        key="r_status",
        format_func=lambda s: _ui.STATUS_LABELS[s],
    )
    assignee = st.text_input("分配给 (账号, 可空)", value=v.assignee, key="r_assignee")
    comment = st.text_area("意见 Comment", key="r_comment")
    submitted = st.form_submit_button("提交审核")
if submitted:
    with _state.guard("review"):
        actions.review_violation(
            arch, v.id, status, comment, assignee=assignee.strip() if assignee.strip() != v.assignee else None
        )
        st.success(f"已记录: {_ui.STATUS_LABELS[status]}")
        if status == "false_positive":
            st.session_state["v_fp"] = {
                "id": v.id,
                "rule_id": v.rule_id,
                "rule_name": v.rule_name,
                "phrase": suggest_exception(v),
            }
c1, c2 = st.columns(2)
if c1.button("分配给我", key="assign_me"):
    with _state.guard("assign"):
        actions.assign_violation(arch, v.id, session.account)
        st.success("已分配给您")
if v.status == "false_positive" and "v_fp" not in st.session_state:
    st.session_state["v_fp"] = {
        "id": v.id,
        "rule_id": v.rule_id,
        "rule_name": v.rule_name,
        "phrase": suggest_exception(v),
    }
fp = st.session_state.get("v_fp")
if fp:
    # Shown until used or dismissed, because a reviewed violation leaves the unreviewed queue.
    st.caption(f"误报可一键加入规则「{fp['rule_name']}」的例外 (an allow-list phrase, saved as a new rule version).")
    phrase = st.text_input("例外短语 Exception phrase", value=fp["phrase"], key=f"exc_phrase_{fp['id']}")
    e1, e2 = st.columns(2)
    if e1.button("设为规则例外 (add exception)", key="add_exception", disabled=not phrase.strip()):
        with _state.guard("exception"):
            rule = actions.add_rule_exception(arch, fp["rule_id"], phrase, violation_id=fp["id"])
            st.session_state.pop("v_fp", None)
            st.success(f"已加入规则例外: {rule.name} v{rule.version}")
    if e2.button("不加例外", key="skip_exception"):
        st.session_state.pop("v_fp", None)
        st.rerun()

history = reviews_of(arch.store, v.id)
if history:
    st.caption("审核记录 (evidence)")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "时间": _ui.fmt_time(int(h["time_ms"]), tz),
                    "审核人": h.get("reviewer"),
                    "结论": _ui.STATUS_LABELS.get(h.get("status", ""), h.get("status")),
                    "意见": h.get("comment"),
                }
                for h in history
            ]
        ),
        hide_index=True,
        width="stretch",
    )
