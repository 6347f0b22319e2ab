"""违规管理: violations with filters, the context of each with the matched terms
highlighted and the rule/version that matched, and the review workflow."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from chatarchive import actions
from compliance import access
from compliance.rulestore import get_rule
from core import clock
from core.models import REVIEW_STATUSES, Message, MessageFilter, ViolationFilter
from dashboard import _state, _ui, _widgets, i18n, review_desk
from dashboard.i18n import t
from reports.review import reviews_of

PAGE_SIZE = 50
SEVERITIES = ["high", "medium", "low"]

session = _state.require(access.REVIEW)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title(t("违规管理"))
flash = st.session_state.pop("v_flash", None)
if flash:
    st.success(flash)


def page_messages(violations: list) -> dict[str, Message]:
    """The messages of the listed violations, in one read (for content and recipients)."""
    with _state.guard("messages"):
        found = arch.store.get_messages(sorted({v.msgid for v in violations}), scope=arch.scope)
        return {m.msgid: m for m in found}
    return {}


def newest_message_ms() -> int:
    """The end of the preview window: the newest archived message (an idle archive still previews)."""
    _, newest = arch.store.list_messages(MessageFilter(), scope=arch.scope, sort="time_desc", limit=1)
    return newest[0].time_ms if newest else clock.now_ms()


rule_options: dict[str, str] = {}
with _state.guard("rules"):
    for r in arch.store.find_records("rules"):
        rule_options[str(r.get("id") or r["_id"])] = str(r.get("name") or r["_id"])

with st.expander("筛选", expanded=True):
    c1, c2, c3 = st.columns(3)
    statuses = c1.multiselect(
        "状态",
        list(REVIEW_STATUSES),
        default=["unreviewed"],
        placeholder="请选择",
        key="v_status",
        format_func=lambda s: _ui.STATUS_LABELS.get(s, s),
    )
    rules = c1.multiselect(
        "规则", sorted(rule_options), format_func=lambda r: rule_options.get(r, r), placeholder="请选择", key="v_rules"
    )
    severities = c2.multiselect(
        "严重程度",
        SEVERITIES,
        placeholder="请选择",
        key="v_sev",
        format_func=lambda s: review_desk.SEVERITY_LABELS.get(s, s),
    )
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
page = int(st.number_input("页", min_value=1, value=1, key="v_page"))

total, violations = 0, []
with _state.guard("violations"):
    total, violations = arch.store.list_violations(
        vfilter, scope=arch.scope, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
st.caption(f"共 {total} 条违规 · 第 {page} 页")
if not violations:
    st.info("没有符合条件的违规。")
    st.stop()

messages = page_messages(violations)


def recipients(v) -> str:
    m = messages.get(v.msgid)
    if m is None:
        return ""
    return directory.name(m.roomid) if m.roomid else "、".join(directory.name(r) for r in m.receivers)


table = pd.DataFrame(
    [
        {
            "时间": _ui.fmt_time(v.time_ms, tz),
            "发送方": directory.name(v.sender),
            "接收方": recipients(v),
            "规则": f"{v.rule_name} v{v.rule_version}",
            "严重程度": review_desk.SEVERITY_LABELS.get(v.severity, v.severity),
            "内容": review_desk.excerpt(messages[v.msgid].text, v) if v.msgid in messages else "",
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

st.subheader("详情")
st.markdown(
    f"**规则** {_ui.esc(v.rule_name)} (`{_ui.esc(v.rule_id)}` 版本 {v.rule_version}) · "
    f"**类别** {_ui.esc(v.category)} · "
    f"**严重程度** {_ui.esc(review_desk.SEVERITY_LABELS.get(v.severity, v.severity))} · "
    f"**命中词** {_ui.esc('、'.join(v.terms))}"
)
if v.explanation:
    st.caption(_ui.esc(i18n.explanation(v.explanation)), unsafe_allow_html=True)  # evasive spellings quote the message

reason = _widgets.reason_box("v_reason", "查看上下文")
if reason and st.toggle("显示上下文", key="v_ctx"):
    with _state.guard("context"):
        around = _widgets.open_context(v.msgid, reason, before=8, after=8)
        hit = next((m for m in around if m.msgid == v.msgid), None)
        if hit is None:
            st.warning("消息不存在或不在您的权限范围内。")
        else:
            _widgets.show_conversation(
                around, hit_msgid=v.msgid, hit_html=_ui.mark_spans(hit.text, v.spans), highlight_flagged=True
            )


def exception_panel(fp: dict[str, str]) -> None:
    """误报 → an allow-list phrase: suggestions from the hit, previewed as a backtest diff, then saved."""
    msgid = fp["id"].rsplit(":", 1)[0] if fp["id"].endswith(":" + fp["rule_id"]) else fp["id"].split(":")[0]
    _, same_message = arch.store.list_violations(ViolationFilter(msgids=[msgid]), scope=arch.scope, limit=100)
    fp_v = next((x for x in same_message if x.id == fp["id"]), None)
    found = arch.store.get_messages([msgid], scope=arch.scope)
    suggestions = review_desk.suggest_exceptions(found[0], fp_v) if found and fp_v else []
    st.markdown(f"**规则「{_ui.esc(fp['rule_name'])}」的例外**")
    if not suggestions:
        st.caption("命中词本身就是完整的词句，加例外会放过所有同类消息；请修改规则本身。")
    phrase = st.text_input(
        "例外短语 (命中处包含此短语时不再报警)",
        value=suggestions[0] if suggestions else "",
        key=f"exc_phrase_{fp['id']}",
    )
    if len(suggestions) > 1:
        st.caption("其他建议: " + " / ".join(suggestions[1:]))
    e1, e2, e3 = st.columns(3)
    if e1.button("预览影响", key="preview_exception", disabled=not phrase.strip()):
        with _state.guard("preview"), st.spinner("正在回测…"):
            rule = get_rule(arch.store, fp["rule_id"])
            st.session_state["v_preview"] = review_desk.preview_exception(
                arch.store, rule, phrase, arch.scope, newest_message_ms()
            )
    preview = st.session_state.get("v_preview")
    ready = preview is not None and preview.phrase == phrase.strip()
    if preview is not None and ready:
        st.info(
            f"最近 {review_desk.PREVIEW_DAYS} 天 ({_ui.fmt_day(preview.time_from, tz)} 至 "
            f"{_ui.fmt_day(preview.time_to, tz)}) 内将不再报警 {preview.silenced} 条，新增 {preview.gained} 条。"
        )
        for row in preview.examples:
            st.markdown(
                f'<div class="ca-meta">{_ui.fmt_time(int(str(row["time"])), tz)}</div>'
                f"{_ui.safe_highlight(str(row['text']))}",
                unsafe_allow_html=True,
            )
    if e2.button("保存例外 (新规则版本)", key="add_exception", disabled=not ready):
        with _state.guard("exception"):
            rule = actions.add_rule_exception(arch, fp["rule_id"], phrase, violation_id=fp["id"])
            st.session_state.pop("v_fp", None)
            st.session_state.pop("v_preview", None)
            st.session_state["v_flash"] = f"已加入规则例外: {rule.name} v{rule.version}"
            st.rerun()
    if e3.button("不加例外", key="skip_exception"):
        st.session_state.pop("v_fp", None)
        st.session_state.pop("v_preview", None)
        st.rerun()


st.subheader("审核")
with st.form("review"):
    status = st.radio(
        "结论",
        ["confirmed", "false_positive", "escalated"],
        horizontal=True,
        key="r_status",
        format_func=lambda s: _ui.STATUS_LABELS[s],
    )
    assignee = st.text_input("分配给 (账号, 可空)", value=v.assignee, key="r_assignee")
    comment = st.text_area("意见", key="r_comment")
    submitted = st.form_submit_button("提交审核")
if submitted:
    with _state.guard("review"):
        actions.review_violation(
            arch, v.id, status, comment, assignee=assignee.strip() if assignee.strip() != v.assignee else None
        )
        st.session_state["v_flash"] = f"已记录: {_ui.STATUS_LABELS[status]}"
        if status == "false_positive":
            st.session_state["v_fp"] = {"id": v.id, "rule_id": v.rule_id, "rule_name": v.rule_name}
        st.session_state.pop("r_comment", None)
        st.rerun()  # the list above shows the new status (or drops the item from the queue)
c1, c2 = st.columns(2)
if c1.button("分配给我", key="assign_me"):
    with _state.guard("assign"):
        actions.assign_violation(arch, v.id, session.account)
        st.session_state["v_flash"] = "已分配给您"
        st.rerun()  # the table's 处理人 column shows it
if v.status == "false_positive" and "v_fp" not in st.session_state:
    st.session_state["v_fp"] = {"id": v.id, "rule_id": v.rule_id, "rule_name": v.rule_name}
fp = st.session_state.get("v_fp")
if fp:
    # Shown until used or dismissed, because a reviewed violation leaves the unreviewed queue.
    exception_panel(fp)
history = reviews_of(arch.store, v.id)
if history:
    st.caption("审核记录")
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
