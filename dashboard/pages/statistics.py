"""数据报表: message volumes and violation trends, keywords and word frequency, customer
sentiment per employee — every chart with the same date range and department filter,
every table downloadable as CSV.

Keywords and sentiment read the messages themselves (about a second on a large
selection), so they are computed only when their switch is on, and cached per selection
and account scope for a few minutes: the other charts keep their aggregation-only budget.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from analyzers.insights.sentiment import conversation_sentiment
from compliance import access
from core.models import MessageFilter, Scope, ViolationFilter
from dashboard import _charts, _state, _ui, _widgets
from dashboard.i18n import t
from reports import keywords as kw
from reports import stats
from reports.trend import sentiment_trend

session = _state.require(access.STATS)
arch = _state.user_archive()
directory = _state.directory()
tz = _state.tz()

st.title(t("数据报表"))
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


INSIGHTS_TTL_S = 300  # new messages show in the insights within five minutes
# Keywords read the selection's newest messages: loading one costs ~50 µs and this page's other charts
# already take ~0.4 s at 1,000,000 messages, so 5,000 keep the toggle under a second (docs/benchmarks.md).
KEYWORD_MESSAGES = 5_000
SENTIMENT_LABELS = {"positive": "正面", "neutral": "中性", "negative": "负面"}
METHODS = {"tfidf": "TF-IDF", "textrank": "TextRank"}


def _selection(
    time_from: int | None, time_to: int | None, departments: tuple[int, ...], **extra: object
) -> MessageFilter:
    return MessageFilter(time_from=time_from, time_to=time_to, departments=list(departments), **extra)


# The cached functions take the data dir and the account's scope as arguments, so a cached
# result is only ever reused for the same archive and the same scope.
@st.cache_data(ttl=INSIGHTS_TTL_S, max_entries=32, show_spinner="计算关键词…")
def keyword_tables(
    data: str, scope: Scope, time_from: int | None, time_to: int | None, departments: tuple[int, ...], method: str
) -> tuple[int, list[tuple[str, float]], list[tuple[str, int]]]:
    """(messages read, [(keyword, weight)], [(word, occurrences)]) of the selection's newest messages."""
    messages = kw.selection(
        _state.base_archive().store,
        _selection(time_from, time_to, departments),
        scope=scope,
        max_messages=KEYWORD_MESSAGES,
    )
    # Ask for more than shown: URL fragments, emoticon names and quote words are dropped afterwards.
    ranked, words = kw.keywords_and_frequency(messages, method=method, top=60, top_words=80)  # type: ignore[arg-type]
    found = [k for k in ranked if not _charts.is_noise(k.word)][:20]
    frequency = [(w, n) for w, n in words if not _charts.is_noise(w)][:30]
    return len(messages), [(k.word, k.weight) for k in found], frequency


@st.cache_data(ttl=INSIGHTS_TTL_S, max_entries=32, show_spinner="计算客户情绪…")
def sentiment_split(
    data: str, scope: Scope, time_from: int | None, time_to: int | None, departments: tuple[int, ...]
) -> tuple[int, dict[str, int]]:
    """(customer messages read, {label: count}) over the selection's newest customer messages."""
    messages = kw.selection(
        _state.base_archive().store, _selection(time_from, time_to, departments, sender_kinds=["external"]), scope=scope
    )
    overall = conversation_sentiment(messages)
    return len(messages), {"positive": overall.positive, "neutral": overall.neutral, "negative": overall.negative}


@st.cache_data(ttl=INSIGHTS_TTL_S, max_entries=32, show_spinner="计算情绪趋势…")
def sentiment_points(
    data: str,
    scope: Scope,
    time_from: int | None,
    time_to: int | None,
    departments: tuple[int, ...],
    employees: tuple[str, ...],
    interval: str,
    tz: str,
) -> list[tuple[str, int, int, int, int]]:
    points = sentiment_trend(
        _state.base_archive().store,
        _selection(time_from, time_to, departments),
        scope=scope,
        tz=tz,
        employees=employees,
        interval=interval,
    )
    return [(p.employee, p.period_ms, p.positive, p.neutral, p.negative) for p in points]


def keywords_section() -> None:
    st.caption(f"选定范围内最近 {KEYWORD_MESSAGES:,} 条消息的关键词 (jieba TF-IDF / TextRank, 去除停用词) 和词频。")
    if not st.toggle("计算关键词和词频", key="st_kw_on"):
        st.caption("打开开关后计算。")
        kw.warm_up_in_background()  # jieba's tables load while the user reads the page
        return
    method = st.radio("方法", list(METHODS), format_func=METHODS.get, horizontal=True, key="st_kw_method")
    read, found, frequency = keyword_tables(data_dir, arch.scope, time_from, time_to, tuple(departments), method)
    if read >= KEYWORD_MESSAGES:
        st.caption(f"只分析了所选范围内最近的 {read} 条消息。")
    if not frequency:
        st.info("此范围内没有可分析的文字消息。")
        return
    a, b = st.columns(2)
    keywords_df = pd.DataFrame(found, columns=["关键词", "权重"])
    picked_kw = a.plotly_chart(
        _charts.ranking(keywords_df, "权重", "关键词", f"关键词 ({METHODS[method]})"),
        width="stretch",
        key="ch_keywords",
        on_select="rerun",
        selection_mode="points",
    )
    frequency_df = pd.DataFrame(frequency, columns=["词", "次数"])
    picked_word = b.plotly_chart(
        _charts.ranking(frequency_df, "次数", "词", "词频"),
        width="stretch",
        key="ch_frequency",
        on_select="rerun",
        selection_mode="points",
    )
    # The bars carry their values, so the figures are a download here, not two more tables
    # to draw: they doubled the switch's time in the browser (docs/benchmarks.md).
    a.download_button(
        "下载关键词 CSV",
        keywords_df.to_csv(index=False).encode("utf-8-sig"),
        f"keywords_{method}.csv",
        key=f"csv_keywords_{method}",
    )
    b.download_button(
        "下载词频 CSV",
        frequency_df.to_csv(index=False).encode("utf-8-sig"),
        "word_frequency.csv",
        key="csv_word_frequency",
    )
    word = _charts.selected(picked_kw, "y") or _charts.selected(picked_word, "y")
    if word:
        with _state.guard("messages"):
            _charts.show_messages(arch, directory, f, f'"{word}"', f"含「{word}」", tz)


@st.fragment
def keywords_fragment() -> None:
    """The switch, the method and a picked word rerun only this part, not the page's other charts."""
    with _state.guard("keywords"):
        keywords_section()


def sentiment_section() -> None:
    st.caption("客户消息的情绪 (正面 / 中性 / 负面): 每位员工的会话中客户情绪的变化, 以及总体分布。")
    if not st.toggle("计算客户情绪", key="st_sent_on"):
        st.caption("打开开关后计算。")
        return
    read, split = sentiment_split(data_dir, arch.scope, time_from, time_to, tuple(departments))
    if not sum(split.values()):
        st.info("此范围内没有客户消息。")
        return
    c1, c2, c3 = st.columns([1.2, 2, 1])
    pick = c1.radio(
        "员工",
        ["top", "chosen"],
        key="st_sent_pick",
        format_func={"top": "客户消息最多的前 N 名", "chosen": "自选员工"}.get,
    )
    if pick == "top":
        n = int(c2.number_input("N", 1, 20, value=5, key="st_sent_n"))
        customer = _selection(time_from, time_to, tuple(departments), sender_kinds=["external"])
        employees = [str(e) for e, _ in stats.by_field(arch.store, customer, "employees", scope=arch.scope, size=n)]
    else:
        with c2:
            employees = _widgets.employee_picker(directory, "st_sent_emps", "选择员工")
    interval = c3.radio("粒度", ["1d", "7d"], format_func={"1d": "按天", "7d": "按周"}.get, key="st_sent_interval")
    a, b = st.columns([2, 1])
    overall = pd.DataFrame([(SENTIMENT_LABELS[k], v) for k, v in split.items()], columns=["情绪", "客户消息数"])
    with b:
        b.plotly_chart(
            px.pie(
                overall,
                names="情绪",
                values="客户消息数",
                title="总体分布",
                color="情绪",
                color_discrete_map={"正面": "#40c057", "中性": "#adb5bd", "负面": "#fa5252"},
            ),
            width="stretch",
            key="ch_sent_split",
        )
        if read >= KEYWORD_MESSAGES:
            st.caption(f"总体分布基于最近的 {read} 条客户消息。")
        table(overall, "sentiment_split")
    with a:
        if not employees:
            st.info("请选择员工。")
            return
        rows = sentiment_points(
            data_dir, arch.scope, time_from, time_to, tuple(departments), tuple(employees), interval, tz
        )
        trend = pd.DataFrame(
            [
                {
                    "员工": directory.name(e),
                    "账号": e,
                    "日期": _ui.fmt_day(period, tz),
                    "正面": pos,
                    "中性": neu,
                    "负面": neg,
                    "负面占比(%)": round(100 * neg / (pos + neu + neg), 1) if pos + neu + neg else 0.0,
                }
                for e, period, pos, neu, neg in rows
            ]
        )
        if trend.empty:
            st.info("所选员工在此范围内没有客户消息。")
            return
        st.plotly_chart(
            px.line(trend, x="日期", y="负面占比(%)", color="员工", markers=True, title="客户负面情绪占比"),
            width="stretch",
            key="ch_sent_trend",
        )
        st.caption("一条客户消息计入其会话中的每位员工。")
        table(trend, "sentiment_trend")


data_dir = str(arch.settings.data_dir)


with _state.guard("statistics"):
    total = arch.store.count(f, scope=arch.scope)
    st.metric("消息总数", total)
    if total == 0:
        st.info("此范围内没有消息。")
        st.stop()
    tab_day, tab_week, tab_split, tab_people, tab_customers, tab_viol, tab_words, tab_sentiment = st.tabs(
        ["每日", "时段热力图", "类型/会话/部门", "员工排行", "新增客户", "违规趋势", "关键词 / 词频", "客户情绪"]
    )
    with tab_day:
        days = pd.DataFrame(
            [{"日期": _ui.fmt_day(d, tz), "消息数": n} for d, n in stats.per_day(arch.store, f, scope=arch.scope)]
        )
        picked_day = st.plotly_chart(
            _charts.bars(days, "日期", "消息数", "每日消息数 (点选一天查看消息)"),
            width="stretch",
            key="ch_day",
            on_select="rerun",
            selection_mode="points",
        )
        day = _charts.selected(picked_day, "x")
        if day:
            _charts.show_messages(arch, directory, _charts.day_filter(f, day, tz), "", day, tz)
        table(days, "messages_per_day")
    with tab_week:
        grid = stats.hour_of_week(arch.store, f, scope=arch.scope, tz=tz)
        fig = px.imshow(
            grid,
            x=[f"{h}时" for h in range(24)],
            y=[f"周{d}" for d in stats.WEEKDAYS],
            labels={"color": "消息数"},
            aspect="auto",
            color_continuous_scale="Blues",
        )
        st.plotly_chart(fig, width="stretch", key="ch_week")
        table(
            pd.DataFrame(
                grid, index=[f"周{d}" for d in stats.WEEKDAYS], columns=[f"{h}时" for h in range(24)]
            ).reset_index(names="星期"),
            "hour_of_week",
        )
    with tab_split:
        a, b = st.columns(2)
        type_rows = stats.by_field(arch.store, f, "msgtype", scope=arch.scope)
        types, type_fig = _charts.msgtype_bars(type_rows)
        picked_type = a.plotly_chart(
            type_fig, width="stretch", key="ch_type", on_select="rerun", selection_mode="points"
        )
        type_label = _charts.selected(picked_type, "y")
        codes = {_charts.type_name(str(k)): str(k) for k, _ in type_rows}
        kinds = pd.DataFrame(
            [(kind_label(k), n) for k, n in stats.by_field(arch.store, f, "chat_kind", scope=arch.scope)],
            columns=["会话类型", "消息数"],
        )
        b.plotly_chart(
            px.pie(kinds, names="会话类型", values="消息数", title="外部/内部/群聊"), width="stretch", key="ch_kind"
        )
        depts = pd.DataFrame(
            [
                (directory.department_names.get(d, str(d)), d, n)
                for d, n in stats.by_department(arch.store, f, scope=arch.scope)
            ],
            columns=["部门", "部门ID", "消息数"],
        )
        if type_label in codes:
            _charts.show_messages(
                arch, directory, MessageFilter(**{**f.__dict__, "msgtypes": [codes[type_label]]}), "", type_label, tz
            )
        st.caption("按部门 (上级部门包含其下级部门的消息)")
        table(depts, "by_department")
        table(types, "by_msgtype")
    with tab_people:
        top = pd.DataFrame(
            [(directory.name(u), u, n) for u, n in stats.top_employees(arch.store, f, scope=arch.scope)],
            columns=["员工", "账号", "发送消息数"],
        )
        st.plotly_chart(_charts.bars(top, "员工", "发送消息数", "员工发送消息数排行"), width="stretch", key="ch_top")
        table(top, "top_employees")
    with tab_customers:
        new = pd.DataFrame(
            stats.new_customers_per_day(directory, tz=tz, time_from=time_from, time_to=time_to, scope=arch.scope),
            columns=["日期", "新增客户"],
        )
        if new.empty:
            st.caption("此范围内没有新增客户")
        else:
            st.plotly_chart(_charts.bars(new, "日期", "新增客户", "每日新增客户"), width="stretch", key="ch_new")
        table(new, "new_customers")
    with tab_viol:
        split = st.radio(
            "拆分",
            ["category", "severity", "rule_id"],
            horizontal=True,
            key="st_split",
            format_func={"category": "类别", "severity": "严重程度", "rule_id": "规则"}.get,
        )
        trend = pd.DataFrame(
            [
                (_ui.fmt_day(d, tz), k, n)
                for d, k, n in stats.violations_per_day(arch.store, vf, scope=arch.scope, split=split)
            ],
            columns=["日期", split, "违规数"],
        )
        if trend.empty:
            st.caption("此范围内没有违规")
        else:
            st.plotly_chart(
                _charts.bars(trend, "日期", "违规数", "每日违规数", color=split), width="stretch", key="ch_viol"
            )
        table(trend, "violations_per_day")
    with tab_words:
        st.subheader("关键词 / 词频")
        keywords_fragment()
    with tab_sentiment:
        st.subheader("客户情绪")
        with _state.guard("customer sentiment"):
            sentiment_section()
