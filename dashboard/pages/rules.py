"""敏感规则: every field of the rule model, a live test on typed text, a backtest over a
period (hits per day and sample hits) and the hits gained/lost against the previous
version, before saving."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from analyzers.rules.model import BEHAVIOURS, DIRECTIONS, MATCH_MODES, SEVERITIES, Rule
from chatarchive import actions
from compliance import access
from compliance.rulestore import get_rule, list_rules, rule_history
from core.models import CHAT_KINDS
from dashboard import _backtest_jobs, _backtest_runner, _state, _ui, _widgets, i18n
from dashboard import _rules_form as rf
from dashboard.i18n import t

session = _state.require(access.RULES)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title(t("敏感规则"))

rules = []
with _state.guard("rules"):
    rules = list_rules(arch.store)
st.dataframe(
    pd.DataFrame(
        [
            {
                "名称": r.name,
                "ID": r.id,
                "版本": r.version,
                "类别": r.category,
                "严重程度": r.severity,
                "关键词": "、".join(k.term for k in r.keywords[:8]) + ("…" if len(r.keywords) > 8 else ""),
                "启用": r.enabled,
                "更新人": r.updated_by,
            }
            for r in rules
        ]
    ),
    hide_index=True,
    width="stretch",
)

NEW = "__new__"
by_id = {r.id: r for r in rules}
choice = st.selectbox(
    "编辑规则",
    [NEW, *by_id],
    key="rule_pick",
    format_func=lambda i: "➕ 新建规则" if i == NEW else f"{by_id[i].name} (v{by_id[i].version})",
)
current = by_id[choice].to_dict() if choice != NEW else {}
k = f"_{choice}"  # widget keys per rule, so switching rules shows that rule's values

c1, c2, c3 = st.columns(3)
name = c1.text_input("名称", value=current.get("name", ""), key=f"name{k}")
category = c2.text_input("类别", value=current.get("category", ""), key=f"cat{k}")
severity = c3.selectbox(
    "严重程度", SEVERITIES, index=SEVERITIES.index(current.get("severity", "medium")), key=f"sev{k}"
)
description = st.text_input("说明", value=current.get("description", ""), key=f"desc{k}")
c1, c2 = st.columns(2)
keywords_text = c1.text_area(
    "关键词 (用逗号隔开，如 回扣,返点；也可一行一个; `词 | word` 整词匹配, `词 | pinyin` 含拼音)",
    value=rf.keywords_to_text(current.get("keywords", [])),
    key=f"kw{k}",
    height=150,
)
regex_text = c2.text_area("正则 regex (一行一个)", value="\n".join(current.get("regex", [])), key=f"re{k}", height=150)
c1, c2, c3 = st.columns(3)
require_text = c1.text_input("require (any / all / 数字)", value=str(current.get("require", "any")), key=f"req{k}")
match = c2.selectbox("match", MATCH_MODES, index=MATCH_MODES.index(current.get("match", "substring")), key=f"match{k}")
direction = c3.selectbox("方向", DIRECTIONS, index=DIRECTIONS.index(current.get("direction", "any")), key=f"dir{k}")
c1, c2, c3 = st.columns(3)
exclude_text = c1.text_area("排除 exclude (出现则不算)", value="\n".join(current.get("exclude", [])), key=f"ex{k}")
allow_text = c2.text_area("例外 allow (白名单短语)", value="\n".join(current.get("allow", [])), key=f"allow{k}")
near_text = c3.text_area(
    "邻近 near (`词1, 词2 @ 距离`)", value=rf.near_to_text(current.get("near", [])), key=f"near{k}"
)
c1, c2, c3 = st.columns(3)
behaviours = c1.multiselect(
    "行为", list(BEHAVIOURS), default=current.get("behaviours", []), placeholder="请选择", key=f"beh{k}"
)
msgtypes = c2.multiselect(
    "消息类型",
    sorted(
        {
            *current.get("msgtypes", []),
            "text",
            "link",
            "file",
            "image",
            "voice",
            "video",
            "mixed",
            "chatrecord",
            "weapp",
            "card",
        }
    ),
    default=current.get("msgtypes", []),
    placeholder="请选择",
    key=f"mt{k}",
)
chat_kinds = c3.multiselect(
    "会话类型 chat_kinds",
    list(CHAT_KINDS),
    default=current.get("chat_kinds", []),
    format_func=lambda x: _ui.CHAT_KIND_LABELS.get(x, x),
    placeholder="请选择",
    key=f"ck{k}",
)
scope = current.get("scope") or {}
c1, c2 = st.columns(2)
scope_departments = c1.multiselect(
    "生效部门 scope.departments",
    sorted(directory.department_names),
    default=[d for d in scope.get("departments", []) if d in directory.department_names],
    format_func=lambda d: directory.department_names.get(d, str(d)),
    placeholder="请选择",
    key=f"sd{k}",
)
scope_users = c2.multiselect(
    "生效员工 scope.users",
    sorted(directory.employee_ids | set(scope.get("users", []))),
    default=scope.get("users", []),
    format_func=directory.name,
    key=f"su{k}",
)
c1, c2 = st.columns(2)
pinyin = c1.checkbox("拼音匹配", value=bool(current.get("pinyin", False)), key=f"py{k}")
enabled = c2.checkbox("启用", value=bool(current.get("enabled", True)), key=f"en{k}")


def rule_data() -> dict:
    data = {
        "name": name,
        "category": category,
        "severity": severity,
        "description": description,
        "keywords": rf.keywords_from_text(keywords_text),
        "require": rf.require_from_text(require_text),
        "match": match,
        "exclude": rf.lines(exclude_text),
        "allow": rf.lines(allow_text),
        "near": rf.near_from_text(near_text),
        "regex": rf.lines(regex_text),
        "behaviours": behaviours,
        "msgtypes": msgtypes,
        "direction": direction,
        "chat_kinds": chat_kinds,
        "scope": {"departments": scope_departments, "users": scope_users},
        "pinyin": pinyin,
        "enabled": enabled,
    }
    if choice != NEW:
        data["id"] = choice
    return data


# --- live test -----------------------------------------------------------------------------
st.subheader("即时测试")
c1, c2, c3 = st.columns([3, 1, 1])
sample_text = c1.text_area("测试文本", key="lt_text", placeholder="输入一段消息，看规则是否命中")
sample_type = c2.selectbox("消息类型", ["text", "file", "redpacket", "card", "weapp", "link"], key="lt_type")
sample_dir = c3.selectbox(
    "发送方", ["employee", "external"], key="lt_dir", format_func={"employee": "员工", "external": "客户"}.get
)
if sample_text.strip():
    with _state.guard("live test"):
        _, hits = rf.live_test(
            rule_data(), sample_text, msgtype=sample_type, sender_kind=sample_dir, directory=directory
        )
        if hits:
            spans = [s for v in hits for s in v.spans]
            st.success(f"命中 matched: {'、'.join(t for v in hits for t in v.terms)}")
            st.markdown(_ui.BUBBLE_CSS + _ui.mark_spans(sample_text, spans), unsafe_allow_html=True)
            if hits[0].explanation:
                st.caption(_ui.esc(i18n.explanation(hits[0].explanation)), unsafe_allow_html=True)
        else:
            st.info("未命中")

# --- backtest and diff --------------------------------------------------------------------
st.subheader("回测")
if arch.scope.is_empty:
    st.caption("您的账号没有可查看的消息范围，回测不会有结果。")
c1, c2 = st.columns(2)
bt_first = c1.date_input("从", value=date.today() - timedelta(days=30), key="bt_from")
bt_last = c2.date_input("到", value=date.today(), key="bt_to")
st.caption(
    f"「运行回测」立即回测区间内最近的 {_backtest_runner.MAX_MESSAGES:,} 条消息"
    f" (区间最长 {_backtest_runner.MAX_DAYS} 天)；"
    "「后台回测」扫描整个区间，离开本页也会继续，回到本页查看进度和结果。"
)
bt_whole = st.checkbox("后台回测整个存档 (不限日期)", key="bt_whole")
bt_reason = ""
if access.allowed(session, access.VIEW):
    bt_reason = _widgets.reason_box("bt_reason", "显示样例原文")
else:
    st.caption("您的角色不能查看消息原文：样例只显示命中词，其余已遮盖。")


def show_result(result: dict, diff: dict | None, key: str) -> None:
    """A backtest's figures, hits per day, samples and the diff against the saved version."""
    window = result.get("window") or {}
    st.metric("命中", result["total"])
    if window:
        span = "整个存档" if window.get("from") is None else f"{_ui.fmt_time(int(window['from']), tz)} 起"
        st.caption(
            f"已回测 {span}的 {int(window['messages']):,} 条消息"
            + ("；这是区间内最近的消息，更早的请用后台回测。" if window.get("truncated") else "。")
        )
    per_day = pd.DataFrame([{"日期": d, "命中": n} for d, n in result["by_day"].items()])
    if per_day.empty:
        st.info("此期间没有命中。")
    else:
        st.plotly_chart(px.bar(per_day, x="日期", y="命中", title="每日命中"), key=f"{key}_chart")
    st.markdown(
        _ui.BUBBLE_CSS
        + "".join(
            f'<div class="ca-meta">{_ui.fmt_time(int(h["time"]), tz)} · {_ui.esc("、".join(h["terms"]))}</div>'
            f"<div>{_ui.safe_highlight(h['text'])}</div>"
            for h in result["sample"]
        ),
        unsafe_allow_html=True,
    )
    if diff is not None:
        st.caption(f"与已保存版本相比: 新增命中 {diff['gained_total']} 条, 不再命中 {diff['lost_total']} 条")
        for label, rows in (("新增", diff["gained"]), ("减少", diff["lost"])):
            if rows:
                st.markdown(
                    f"**{label}**<br>"
                    + "<br>".join(
                        f"{_ui.fmt_time(int(h['time']), tz)} · {_ui.safe_highlight(h['text'])}" for h in rows[:20]
                    ),
                    unsafe_allow_html=True,
                )


def who_sees() -> tuple[str, dict]:
    """A job's result is shown only while the account's role and scope are those it ran with: a role that
    lost the right to read messages must not see texts a job drew for it before."""
    return session.role, arch.scope.to_dict()


def backtest_inputs() -> tuple[Rule, Rule | None, Callable[..., Any], bool]:
    """The draft as a rule, the saved version it is compared with, and how samples are shown."""
    candidate = Rule.from_dict(rule_data(), directory=directory)
    saved = get_rule(arch.store, choice) if choice != NEW else None
    render, shown = actions.backtest_render(arch, candidate, bt_reason)
    return candidate, saved, render, shown


def my_jobs() -> list[_backtest_jobs.Job]:
    """The account's jobs that ran with its present role and scope (``who_sees``)."""
    return [j for j in _backtest_jobs.REGISTRY.jobs_of(session.account) if j.context.get("who") == who_sees()]


c1, c2 = st.columns(2)
if c1.button("运行回测", key="bt_run"):
    with _state.guard("backtest"):
        time_from, time_to = _ui.day_range_ms(bt_first, bt_last, tz)
        candidate, saved, render, shown = backtest_inputs()
        bar = st.progress(0.0, text="回测中…")
        result, diff = _backtest_runner.run(
            arch.store,
            candidate,
            saved,
            arch.scope,
            time_from,
            time_to,
            tz=tz,
            progress=lambda done, label: bar.progress(done, text=f"回测中… {label}"),
            render=render,
        )
        bar.progress(1.0, text=f"回测完成: {result['total']} 条命中")
        if shown:
            rows = _backtest_runner.shown_rows(result, diff)
            actions.record_backtest_texts(arch, candidate, rows, bt_reason, session.token)
        st.session_state["bt_result"] = (choice, result, diff)
if c2.button("后台回测整个区间", key="bt_job"):
    with _state.guard("backtest job"):
        job_from, job_to = (None, None) if bt_whole else _ui.day_range_ms(bt_first, bt_last, tz)
        candidate, saved, render, shown = backtest_inputs()
        store, user_scope = arch.store, arch.scope

        def work(progress: _backtest_runner.Progress, cancelled: Callable[[], bool]) -> tuple[dict, dict | None]:
            return _backtest_runner.run(
                store,
                candidate,
                saved,
                user_scope,
                job_from,
                job_to,
                tz=tz,
                progress=progress,
                render=render,
                max_days=None,
                max_messages=None,
                cancelled=cancelled,
            )

        job_key = _backtest_jobs.draft_key(
            session.account,
            session.role,
            arch.scope.to_dict(),
            rule_data(),
            saved=saved.version if saved is not None else None,
            range=(job_from, job_to),
            shown=shown,
        )
        span = "整个存档" if bt_whole else f"{bt_first} 至 {bt_last}"
        known = _backtest_jobs.REGISTRY.get(job_key)
        _backtest_jobs.REGISTRY.start(
            job_key,
            session.account,
            f"{candidate.name or '新规则'} · {span}",
            work,
            rerun=known is not None and not known.active,
            context={"rule": candidate, "reason": bt_reason, "shown": shown, "who": who_sees()},
        )
        st.session_state["bt_job_pick"] = job_key
saved_bt = st.session_state.get("bt_result")
if saved_bt and saved_bt[0] == choice:
    show_result(saved_bt[1], saved_bt[2], "bt")

visible_jobs = my_jobs()


@st.fragment(run_every=2 if any(j.active for j in visible_jobs) else None)
def job_panel(polling: bool) -> None:
    """The account's background backtests: progress while they run (refreshed every 2 s), then the result."""
    jobs = my_jobs()
    if polling and not any(j.active for j in jobs):
        st.rerun()  # the last job finished: one full run shows it and stops the polling
    by_key = {j.key: j for j in jobs}
    if st.session_state.get("bt_job_pick") not in by_key:
        st.session_state.pop("bt_job_pick", None)
    pick = st.selectbox(
        "我的后台回测",
        list(by_key),
        key="bt_job_pick",
        format_func=lambda k: by_key[k].title if k in by_key else str(k),
    )
    job = by_key.get(pick)
    if job is None:
        return
    st.caption(f"状态: {JOB_STATES.get(job.state, job.state)}")
    if job.active:
        waiting = "排队中 (一次运行一个后台回测)" if job.state == _backtest_jobs.QUEUED else f"回测中… {job.label}"
        st.progress(job.progress, text=waiting)
        if st.button("取消后台回测", key="bt_job_cancel"):
            _backtest_jobs.REGISTRY.cancel(job.key)
            st.rerun()
    elif job.state == _backtest_jobs.DONE and job.result is not None:
        st.caption(f"完成，用时 {job.elapsed_s():.1f} 秒")
        if job.context.get("shown"):
            rows = _backtest_runner.shown_rows(job.result, job.diff)
            actions.record_backtest_texts(arch, job.context["rule"], rows, job.context["reason"], session.token)
        show_result(job.result, job.diff, "bt_job")
    elif job.state == _backtest_jobs.FAILED:
        st.error(f"后台回测失败: {i18n.error(job.error)}")
    else:
        st.info("后台回测已取消。")


JOB_STATES = {"queued": "排队中", "running": "运行中", "done": "已完成", "cancelled": "已取消", "failed": "失败"}
if visible_jobs:
    st.markdown("**后台回测**")
    job_panel(any(j.active for j in visible_jobs))

# --- save -----------------------------------------------------------------------------------
st.subheader("保存")
if st.button("保存规则 (新版本)", key="rule_save", type="primary"):
    with _state.guard("save rule"):
        rule = actions.save_rule(arch, rule_data(), directory=directory)
        st.success(f"已保存 {rule.name} 版本 {rule.version}")
        st.session_state["rule_saved"] = rule.id
if st.session_state.get("rule_saved") == choice and choice != NEW:
    if st.button("追溯应用到历史消息", key="rule_retro"):
        with _state.guard("apply"), st.status("正在追溯应用…") as status:
            stored = actions.apply_rule_retroactively(arch, choice)
            status.update(label=f"已记录 {stored} 条违规", state="complete")
if choice != NEW:
    with st.expander("版本历史"):
        with _state.guard("history"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "版本": r.version,
                            "更新人": r.updated_by,
                            "时间": _ui.fmt_time(r.updated_ms, tz) if r.updated_ms else "",
                            "关键词": "、".join(k.term for k in r.keywords),
                            "例外": "、".join(r.allow),
                            "启用": r.enabled,
                        }
                        for r in rule_history(arch.store, choice)
                    ]
                ),
                hide_index=True,
            )
