"""Rule editor, statistics, service quality, accounts, audit trail and the health banner."""

from __future__ import annotations

import time
from datetime import date

import pytest

from core.models import MessageFilter, Scope
from tests.dashboard.helpers import login, markdown, no_traceback, open_page, texts

ALL = Scope.everything()


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_live_test_marks_the_hit_in_typed_text(dash_archive) -> None:
    at = open_page("ruler", "pages/rules.py")
    at.selectbox(key="rule_pick").set_value("__new__").run()
    at.text_input(key="name___new__").input("测试规则")
    at.text_area(key="kw___new__").input("好处费\n返 现 | word")
    at.text_area(key="lt_text").input("这笔好处费<script>明天给你").run()
    no_traceback(at)
    assert any("命中" in str(s.value) for s in at.success)
    assert "<mark>好处费</mark>&lt;script&gt;" in markdown(at)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("re", "(?<=a)b", "regex"),
        ("kw", "", "没有可匹配的内容"),
        ("req", "seven", "require"),
    ],
    ids=["unsupported-regex", "no-keywords", "bad-require"],
)
@pytest.mark.slow  # over a second: make test, not make test-fast
def test_an_invalid_rule_shows_which_field_is_wrong(dash_archive, field: str, value: str, message: str) -> None:
    at = open_page("ruler", "pages/rules.py")
    at.selectbox(key="rule_pick").set_value("__new__").run()
    at.text_input(key="name___new__").input("坏规则")
    at.text_area(key="kw___new__").input("回扣")
    widget = at.text_input(key=f"{field}___new__") if field == "req" else at.text_area(key=f"{field}___new__")
    widget.input(value)
    at.text_area(key="lt_text").input("回扣").run()
    no_traceback(at)
    assert any(message in str(w.value) for w in at.warning), [w.value for w in at.warning]


def test_backtest_then_save_creates_a_new_version(dash_archive) -> None:
    """GIVEN the saved 私下交易监控 WHEN its keywords are edited and backtested over January THEN the hits per
    day, the diff against the saved version show, and saving makes version 2."""
    from compliance.rulestore import list_rules

    arch = dash_archive.archive()
    try:
        rule_id = next(r.id for r in list_rules(arch.store) if r.name == "私下交易监控")
    finally:
        arch.close()
    at = open_page("ruler", "pages/rules.py")
    at.selectbox(key="rule_pick").set_value(rule_id).run()
    k = f"_{rule_id}"
    at.text_area(key=f"kw{k}").input("私下转账\n回扣\n返点\n重置密码")
    at.date_input(key="bt_from").set_value(date(2026, 1, 1))
    at.date_input(key="bt_to").set_value(date(2026, 1, 31))
    at.button(key="bt_run").click().run()
    no_traceback(at)
    hits = {m.label: m.value for m in at.metric}["命中"]
    assert int(hits) >= 1
    shown = texts(at)
    assert "新增命中" in shown
    at.button(key="rule_save").click().run()
    no_traceback(at)
    assert any("版本" in str(s.value) for s in at.success)


def test_statistics_charts_and_tables_for_the_archive(dash_archive) -> None:
    at = open_page("boss", "pages/statistics.py")
    no_traceback(at)
    arch = dash_archive.archive()
    try:
        total = arch.store.count(MessageFilter(), scope=ALL)
    finally:
        arch.close()
    assert {m.label: m.value for m in at.metric}["消息总数"] == str(total)
    per_day = at.dataframe[0].value
    assert per_day["消息数"].sum() == total
    assert len(at.get("plotly_chart")) >= 5


def test_statistics_for_an_empty_range_say_so(dash_archive) -> None:
    at = open_page("boss", "pages/statistics.py")
    at.date_input(key="st_time_from").set_value(date(2020, 1, 1))
    at.date_input(key="st_time_to").set_value(date(2020, 1, 2)).run()
    no_traceback(at)
    assert "此范围内没有消息" in texts(at)


def test_service_quality_lists_employees_with_response_times(dash_archive) -> None:
    at = open_page("boss", "pages/service.py")
    no_traceback(at)
    table = at.dataframe[0].value.set_index("账号")
    assert {"zhangwei", "lina", "wangqiang"} <= set(table.index)
    assert table.loc["wangqiang", "首次响应中位数(分)"] == 15.0  # 09:30 → 09:45


def test_accounts_page_creates_an_account_and_rejects_a_short_password(dash_archive) -> None:
    at = open_page("admin", "pages/accounts.py")
    at.text_input(key="a_name").input("new-auditor")
    at.selectbox(key="a_role").set_value("auditor")
    at.text_input(key="a_pw").input("short")
    at.button(key="FormSubmitter:new_account-创建").click().run()
    no_traceback(at)
    assert at.warning
    at.text_input(key="a_pw").input("Password2024!")
    at.button(key="FormSubmitter:new_account-创建").click().run()
    assert any("常见密码" in str(w.value) for w in at.warning)
    at.text_input(key="a_pw").input("long enough password")
    at.button(key="FormSubmitter:new_account-创建").click().run()
    assert any("new-auditor" in str(s.value) for s in at.success)


def test_audit_page_lists_entries_and_verifies_the_chain(dash_archive) -> None:
    at = open_page("admin", "pages/audit.py")
    no_traceback(at)
    assert len(at.dataframe[0].value) > 0
    at.button(key="au_verify").click().run()
    assert any("完整" in str(s.value) for s in at.success)


def test_a_stalled_pipeline_shows_a_banner_to_administrators(dash_archive) -> None:
    """GIVEN the last successful pull 30 hours ago WHEN a page opens THEN administrators see a Chinese banner
    with a link to the pipeline details; other roles see none."""
    arch = dash_archive.archive()
    try:
        before = arch.store.get_record("meta", "counters")
        arch.store.put_record(
            "meta",
            "counters",
            {"last_pull_ms": int(time.time() * 1000) - 30 * 3_600_000, "last_error": "10001 network error"},
        )
        at = login("admin")  # the first page (AppTest drops the entry script's elements after switch_page)
        no_traceback(at)
        assert any("会话采集已停滞 30.0 小时" in str(w.value) and "10001" in str(w.value) for w in at.warning)
        banner = " ".join(str(w.value) for w in at.warning).replace("10001 network error", "")
        assert not any(ch.isascii() and ch.isalpha() for ch in banner)  # Chinese only
        assert [link.proto.page for link in at.get("page_link")][:1] == ["pipeline"]
        boss = login("boss")  # not an administrator: no operations banner
        assert not any("停滞" in str(w.value) for w in boss.warning)
    finally:
        if before is None:
            arch.store.delete_record("meta", "counters")
        else:
            arch.store.put_record("meta", "counters", before)
        arch.close()


@pytest.mark.parametrize(
    "page, setup, expected",
    [
        ("pages/customers.py", lambda at: at.text_input(key="c_find").input("没有这个客户"), "没有客户"),
        (
            "pages/service.py",
            lambda at: (
                at.date_input(key="sq_time_from").set_value(date(2020, 1, 1)),
                at.date_input(key="sq_time_to").set_value(date(2020, 1, 2)),
            ),
            "没有客户会话",
        ),
        ("pages/audit.py", lambda at: at.text_input(key="au_actor").input("nobody"), "没有记录"),
        ("pages/sampling.py", lambda at: None, "还没有抽样"),
    ],
    ids=["customers", "service", "audit", "sampling"],
)
@pytest.mark.slow  # over a second: make test, not make test-fast
def test_empty_states_say_so(dash_archive, page: str, setup, expected: str) -> None:
    at = open_page("admin", page)
    setup(at)
    at.run()
    no_traceback(at)
    assert expected in texts(at)


def test_a_sample_without_targets_is_refused_with_a_message(dash_archive) -> None:
    at = open_page("admin", "pages/sampling.py")
    at.button(key="FormSubmitter:draw-抽样").click().run()
    no_traceback(at)
    assert any("请至少选择" in str(w.value) for w in at.warning)


def test_the_sidebar_shows_the_pipeline_counters(dash_archive) -> None:
    """GIVEN the pipeline's counters in the store WHEN a page opens for an administrator THEN the sidebar's
    status panel shows pulled, stored and dead-lettered counts and the last seq."""
    arch = dash_archive.archive()
    try:
        before = arch.store.get_record("meta", "counters")
        arch.store.put_record(
            "meta",
            "counters",
            {
                "last_pull_ms": int(time.time() * 1000) - 5 * 60_000,
                "last_seq": 4321,
                "pulled": 1234,
                "stored": 1200,
                "deadlettered": 34,
                "newest_message_ms": int(time.time() * 1000),
            },
        )
        at = login("admin")  # operations figures are for administrators
        no_traceback(at)
        panel = " ".join(str(m.value) for m in at.sidebar.markdown)
        for expected in ("4321", "1,234", "1,200", "**34**", "5 分钟前"):
            assert expected in panel, (expected, panel)
    finally:
        if before is None:
            arch.store.delete_record("meta", "counters")
        else:
            arch.store.put_record("meta", "counters", before)
        arch.close()


def test_the_create_account_form_resets_after_submit(dash_archive) -> None:
    """GIVEN an account created with a department scope WHEN the next account is created without choosing any
    THEN the form was emptied in between: the second account has no scope, and the list shows the first."""
    at = open_page("admin", "pages/accounts.py")
    at.text_input(key="a_name").input("scoped-one")
    at.selectbox(key="a_role").set_value("auditor")
    at.multiselect(key="a_depts").set_value([3])
    at.text_input(key="a_pw").input("long enough password")
    at.button(key="FormSubmitter:new_account-创建").click().run()
    no_traceback(at)
    assert any("已创建账号 scoped-one" in str(s.value) for s in at.success)
    assert "scoped-one" in set(at.dataframe[0].value["账号"])  # the list refreshed
    assert at.multiselect(key="a_depts").value == [] and at.text_input(key="a_name").value == ""
    at.text_input(key="a_name").input("unscoped-two")
    at.selectbox(key="a_role").set_value("auditor")
    at.text_input(key="a_pw").input("long enough password")
    at.button(key="FormSubmitter:new_account-创建").click().run()
    arch = dash_archive.archive()
    try:
        from compliance.accounts import get_account

        assert get_account(arch.store, "scoped-one")["scope"]["departments"] == [3]
        assert get_account(arch.store, "unscoped-two")["scope"]["departments"] == []
    finally:
        arch.close()
