"""The insights in the dashboard: keywords and word frequency and the customer sentiment
trend on the statistics page, the conversation summary and sentiment in the viewer, and
the service-quality page's definition of a conversation with a customer.

The figures the pages show are compared with the insights run directly (and, for counts,
with a brute-force count) over the same stored messages and the account's scope."""

from __future__ import annotations

import base64
import html
import json
import re
from collections import Counter
from datetime import date

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analyzers.insights.sentiment import classify
from core.models import Message, MessageFilter, Scope
from dashboard import _ui
from dashboard._charts import is_noise
from reports import keywords as kw
from tests.dashboard.conftest import ZHAO
from tests.dashboard.helpers import markdown, no_traceback, open_page, texts

ALL = Scope.everything()
BOSS_SCOPE = Scope.of(departments=[1])  # the viewer account "boss" sees the whole company
TZ = "Asia/Shanghai"
LABELS = {"positive": "正面", "neutral": "中性", "negative": "负面"}


@pytest.fixture(scope="module")
def stored(dash_archive) -> list[Message]:
    arch = dash_archive.archive()
    try:
        return list(arch.store.iter_messages(MessageFilter(), scope=BOSS_SCOPE))
    finally:
        arch.close()


def charts(at: AppTest) -> set[str]:
    """The keys of the plotly charts on the page (element ids end with the widget key)."""
    return {str(c.proto.id).rsplit("-", 1)[-1] for c in at.get("plotly_chart")}


def frame(at: AppTest, *columns: str):
    """The first table with these columns."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def ranking(at: AppTest, key: str) -> list[tuple[str, float]]:
    """(label, value) of a ranking bar chart, top bar first, read from the figure the page sent
    (plotly writes numeric arrays as base64 typed arrays)."""
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if str(c.proto.id).endswith(key))
    trace = spec["data"][0]
    values = trace["x"]
    if isinstance(values, dict):
        values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(zip(trace["y"], values))[::-1]


def customer_said(m: Message) -> bool:
    """The reference for the pages: written out here, independent of Message.customer_wrote."""
    return (
        m.sender_kind == "external"
        and m.action == "send"
        and m.msgtype not in ("revoke", "agree", "disagree")
        and bool(m.text)
    )


# --- statistics: keywords and word frequency --------------------------------------------------------


def test_keywords_are_computed_only_on_demand(dash_archive) -> None:
    """GIVEN the statistics page WHEN it opens THEN the keyword and sentiment charts are not
    computed (the page keeps its aggregation-only budget) until their switch is turned on."""
    at = open_page("boss", "pages/statistics.py")
    no_traceback(at)
    assert not {"ch_keywords", "ch_frequency", "ch_sent_trend", "ch_sent_split"} & charts(at)
    assert at.toggle(key="st_kw_on").value is False and at.toggle(key="st_sent_on").value is False
    assert "关键词 / 词频" in texts(at) and "客户情绪" in texts(at)


def clean_frequency(messages: list) -> list[tuple[str, int]]:
    return [(w, n) for w, n in kw.word_frequency(messages, top=80) if not is_noise(w)][:30]


@pytest.mark.slow  # over a second: make test, not make test-fast
@pytest.mark.parametrize("method", ["tfidf", "textrank"])
def test_keywords_and_word_frequency_of_the_selection(dash_archive, stored, method: str) -> None:
    """GIVEN the whole archive selected WHEN the keyword switch is on THEN both bar charts show, the
    keyword table is the insights' keywords of the selection (by the chosen method) and the word
    frequency table is its word frequency, each downloadable as CSV."""
    at = open_page("boss", "pages/statistics.py")
    at.toggle(key="st_kw_on").set_value(True).run()
    at.radio(key="st_kw_method").set_value(method).run()
    no_traceback(at)
    assert {"ch_keywords", "ch_frequency"} <= charts(at)
    selection = sorted(stored, key=lambda m: -m.time_ms)[:5_000]  # the page's KEYWORD_MESSAGES
    expected_keywords = [
        (k.word, k.weight) for k in kw.keywords(selection, method=method, top=60) if not is_noise(k.word)
    ][:20]  # URL fragments, emoticons and quote words dropped
    assert ranking(at, "ch_keywords") == expected_keywords
    frequency = ranking(at, "ch_frequency")
    assert frequency == clean_frequency(selection)
    # brute force: each count is the word's occurrences in the stored words of readable messages
    for word, n in frequency:
        assert n == sum(
            m.words.count(word)
            for m in selection
            if m.action == "send" and m.msgtype != "revoke" and m.text and not m.masked
        )
    downloads = {str(b.proto.label) for b in at.get("download_button")}
    assert {"下载关键词 CSV", "下载词频 CSV"} <= downloads


def test_keywords_follow_the_department_filter(dash_archive, stored) -> None:
    """GIVEN only 理财部 selected THEN the word frequency is that of 理财部's messages alone
    (李娜's filler chatter with 钱多多 in 客服部 is not in it)."""
    at = open_page("boss", "pages/statistics.py")
    at.multiselect(key="st_dept").set_value([2]).run()
    at.toggle(key="st_kw_on").set_value(True).run()
    no_traceback(at)
    mine = sorted((m for m in stored if 2 in m.departments), key=lambda m: -m.time_ms)
    frequency = ranking(at, "ch_frequency")
    assert frequency == clean_frequency(mine)
    assert "请稍等" not in {w for w, _ in frequency}


def test_an_empty_selection_shows_no_insights_and_says_so(dash_archive) -> None:
    at = open_page("boss", "pages/statistics.py")
    at.date_input(key="st_time_from").set_value(date(2020, 1, 1))
    at.date_input(key="st_time_to").set_value(date(2020, 1, 2)).run()
    no_traceback(at)
    assert "此范围内没有消息" in texts(at)
    assert not {"ch_keywords", "ch_sent_trend"} & charts(at)


# --- statistics: customer sentiment ------------------------------------------------------------------


def brute_trend(stored: list[Message], employees: set[str]) -> dict[tuple[str, str], Counter]:
    cells: dict[tuple[str, str], Counter] = {}
    for m in stored:
        if customer_said(m):
            for e in set(m.employees) & employees:
                cells.setdefault((e, _ui.fmt_day(m.time_ms, TZ)), Counter())[classify(m.text).label] += 1
    return cells


def open_sentiment_of_top_employee() -> AppTest:
    at = open_page("boss", "pages/statistics.py")
    at.toggle(key="st_sent_on").set_value(True).run()
    at.number_input(key="st_sent_n").set_value(1).run()
    no_traceback(at)
    return at


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_sentiment_of_the_top_employee_and_the_overall_split(dash_archive, stored) -> None:
    """GIVEN the sentiment switch on with the top 1 employee by customer messages THEN the trend chart
    is 李娜's alone, on the days her customers wrote, and the overall split counts every customer
    message in the selection once, by a brute-force classification."""
    at = open_sentiment_of_top_employee()
    assert {"ch_sent_trend", "ch_sent_split"} <= charts(at)
    trend = frame(at, "账号", "日期", "负面占比(%)")
    assert set(trend["账号"]) == {"lina"}
    assert set(trend["日期"]) == {day for _, day in brute_trend(stored, {"lina"})}
    split = frame(at, "情绪", "客户消息数")
    expected = Counter(classify(m.text).label for m in stored if customer_said(m))
    assert dict(zip(split["情绪"], split["客户消息数"])) == {LABELS[k]: expected[k] for k in LABELS}


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_sentiment_trend_counts_equal_a_brute_force_classification(dash_archive, stored) -> None:
    """GIVEN the top 1 employee (李娜) THEN each day's counts by sentiment equal a brute-force
    classification of the customer messages in her conversations."""
    trend = frame(open_sentiment_of_top_employee(), "账号", "日期", "负面占比(%)")
    got = {(r["账号"], r["日期"]): Counter({k: r[v] for k, v in LABELS.items() if r[v]}) for _, r in trend.iterrows()}
    assert got == brute_trend(stored, {"lina"})


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_sentiment_trend_of_chosen_employees_by_week(dash_archive, stored) -> None:
    at = open_page("boss", "pages/statistics.py")
    at.toggle(key="st_sent_on").set_value(True).run()
    at.radio(key="st_sent_pick").set_value("chosen").run()
    assert "请选择员工" in texts(at)  # nobody chosen yet: a hint, no error
    at.multiselect(key="st_sent_emps").set_value(["zhangwei", "wangqiang"]).run()
    at.radio(key="st_sent_interval").set_value("7d").run()
    no_traceback(at)
    trend = frame(at, "账号", "日期", "负面占比(%)")
    assert set(trend["账号"]) == {"zhangwei", "wangqiang"}
    brute = brute_trend(stored, {"zhangwei", "wangqiang"})
    for e in ("zhangwei", "wangqiang"):
        assert trend[trend["账号"] == e][["正面", "中性", "负面"]].to_numpy().sum() == sum(
            sum(c.values()) for (who, _), c in brute.items() if who == e
        )


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_chosen_employees_without_customer_messages_in_range_say_so(dash_archive) -> None:
    """GIVEN 5–6 January (王强's customer wrote on the 8th) WHEN 王强 is chosen THEN a message says
    he has no customer messages here, and no trend chart shows."""
    at = open_page("boss", "pages/statistics.py")
    at.date_input(key="st_time_from").set_value(date(2026, 1, 5))
    at.date_input(key="st_time_to").set_value(date(2026, 1, 6))
    at.toggle(key="st_sent_on").set_value(True).run()
    at.radio(key="st_sent_pick").set_value("chosen").run()
    at.multiselect(key="st_sent_emps").set_value(["wangqiang"]).run()
    no_traceback(at)
    assert "所选员工在此范围内没有客户消息" in texts(at)
    assert "ch_sent_trend" not in charts(at)


# --- the conversation viewer -------------------------------------------------------------------------


def open_chat(kind: str = "external", *, highlight: bool = True) -> AppTest:
    at = open_page("admin", "pages/conversations.py")
    at.radio(key="emp_pick").set_value("zhangwei").run()
    at.button(key=f"open_{kind}").click().run()
    if not highlight:
        at.toggle(key="conv_highlight").set_value(False)
    at.text_input(key="conv_reason").input("季度抽查").run()
    no_traceback(at)
    return at


SUMMARY = re.compile(r'<div class="ca-summary-line"><span class="ca-meta">([^<]*) · ([^<]*)</span> ([^<]*)</div>')


def test_the_summary_shows_key_sentences_of_the_conversation(dash_archive) -> None:
    """GIVEN 张伟's chat with 赵鑫 WHEN opened THEN a 会话摘要 box above the conversation shows at most
    three key sentences, each a sentence of a message of this chat with that message's time and
    sender, and the customer's sentiment with the counts of a brute-force classification."""
    at = open_chat()
    page = markdown(at)
    assert page.index("会话摘要") < page.index("ca-bubble")
    arch_messages = [m for m in _chat_messages(dash_archive, f"{ZHAO}|zhangwei")]
    lines = SUMMARY.findall(page)
    assert 1 <= len(lines) <= 3
    names = {ZHAO: "赵鑫", "zhangwei": "张伟"}
    for when, who, sentence in lines:
        sentence = html.unescape(sentence)
        said = [m for m in arch_messages if sentence in m.text]
        assert said, sentence
        assert any(_ui.fmt_time(m.time_ms, TZ) == when and names[m.sender] == html.unescape(who) for m in said)
    labels = Counter(classify(m.text).label for m in arch_messages if customer_said(m))
    assert f"正面 {labels['positive']} · 中性 {labels['neutral']} · 负面 {labels['negative']}" in page


def test_each_customer_message_has_a_sentiment_marker_in_highlight_mode(dash_archive) -> None:
    """GIVEN the chat in highlight mode THEN each customer message (and no employee message) carries its
    sentiment; without highlight mode no message does."""
    customer = [m for m in _chat_messages(dash_archive, f"{ZHAO}|zhangwei") if customer_said(m)]
    page = markdown(open_chat())
    assert page.count("ca-sentiment") == len(customer)
    for label in {classify(m.text).label for m in customer}:
        assert f"客户情绪: {LABELS[label]}</div>" in page
    assert "ca-sentiment" not in markdown(open_chat(highlight=False))


def test_a_chat_without_customer_words_says_so(dash_archive) -> None:
    """GIVEN 张伟's internal chat with 李娜 THEN the summary box says the customer wrote nothing."""
    at = open_chat("internal")
    assert "客户没有发言" in texts(at)
    assert "ca-sentiment" not in markdown(at)


def _chat_messages(dash_archive, chat_id: str) -> list[Message]:
    arch = dash_archive.archive()
    try:
        return list(arch.store.iter_messages(MessageFilter(chats=[chat_id]), scope=ALL))
    finally:
        arch.close()


# --- service quality ---------------------------------------------------------------------------------


def test_service_page_counts_the_customer_group_and_says_so(dash_archive) -> None:
    """GIVEN the VIP customer group (赵鑫 wrote last) WHEN the service page opens THEN 张伟 and 李娜 each
    have it among their conversations with customers and their unanswered ones, and the caption says
    groups with customers count."""
    at = open_page("boss", "pages/service.py")
    no_traceback(at)
    table = at.dataframe[0].value.set_index("账号")
    assert table.loc["zhangwei", "客户会话数"] == 2  # 赵鑫, and the group
    assert table.loc["lina", "客户会话数"] == 2  # 钱多多, and the group
    assert table.loc["zhangwei", "未回复会话"] == 2  # 赵鑫's image was the last word, and the group
    assert table.loc["lina", "未回复会话"] == 1  # the group (she answered 钱多多 last)
    assert "有外部联系人的群聊" in texts(at)


def test_a_scoped_account_sees_only_its_employees_though_a_group_brings_in_others(dash_archive) -> None:
    """GIVEN an auditor scoped to 客服部 (李娜) and the VIP group that 张伟 is in too WHEN the service page
    opens THEN only 李娜 is listed (张伟's row would hold only the shared group), and a caption says one
    more employee was left out."""
    at = open_page("auditor-cs", "pages/service.py")
    no_traceback(at)
    table = at.dataframe[0].value
    assert list(table["账号"]) == ["lina"]
    assert table.iloc[0]["客户会话数"] == 2
    assert "另有 1 位员工" in texts(at)


def test_noise_words_never_reach_the_keyword_charts(dash_archive) -> None:
    """GIVEN messages with a link THEN https/com and other URL fragments, emoticon names and quote words are not
    ranked; every keyword bar is labelled (a category axis with one tick per bar)."""
    at = open_page("admin", "pages/statistics.py")
    at.toggle(key="st_kw_on").set_value(True).run()
    no_traceback(at)
    words = {w for w, _ in ranking(at, "ch_keywords")} | {w for w, _ in ranking(at, "ch_frequency")}
    assert words and not {"https", "com", "微笑", "引用", "这是"} & words

    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "ch_keywords" in str(c.proto.id)]
    assert charts and charts[0]["layout"]["yaxis"]["dtick"] == 1 and charts[0]["layout"]["title"]["text"]
