"""The login and the search page, driven through streamlit's AppTest on a real archive."""

from __future__ import annotations

import tempfile

import pytest

from compliance import audit
from core.models import Scope
from tests.dashboard.helpers import login, markdown, no_traceback, open_page, texts

SEARCH = "pages/search.py"
TITLES = {
    "pages/accounts.py": "账号权限",
    "pages/rules.py": "敏感规则",
    "pages/search.py": "搜索",
    "pages/violations.py": "违规管理",
    "pages/conversations.py": "查看聊天记录",
    "pages/audit.py": "审计日志",
}


def test_wrong_password_shows_a_message_and_no_pages(dash_archive) -> None:
    """GIVEN a real account WHEN the password is wrong THEN the login form says so and no page opens."""
    at = login("admin", "not the password")
    no_traceback(at)
    assert any("用户名或密码错误" in str(w.value) for w in [*at.warning, *at.error])
    assert not any("搜索" in str(t.value) for t in at.title)


@pytest.mark.parametrize(
    "account, allowed, refused",
    [
        ("admin", ["pages/accounts.py", "pages/audit.py", "pages/rules.py"], []),
        ("auditor-cs", ["pages/search.py", "pages/violations.py"], ["pages/accounts.py", "pages/rules.py"]),
        ("ruler", ["pages/rules.py", "pages/statistics.py"], ["pages/search.py", "pages/violations.py"]),
        ("boss", ["pages/statistics.py"], ["pages/search.py", "pages/conversations.py", "pages/audit.py"]),
    ],
    ids=["super", "auditor", "rule-editor", "viewer"],
)
@pytest.mark.slow  # over a second: make test, not make test-fast
def test_each_role_gets_only_its_pages(dash_archive, account: str, allowed: list[str], refused: list[str]) -> None:
    """GIVEN an account of a role WHEN it logs in THEN navigation holds its pages and no others."""
    at = login(account)
    no_traceback(at)
    for page in allowed:
        at.switch_page(page).run()
        no_traceback(at)
    for page in refused:
        title = TITLES[page]
        try:
            at.switch_page(page).run()
        except ValueError:
            continue  # not registered for this role at all
        no_traceback(at)
        assert not any(title in str(t.value) for t in at.title), f"{account} reached {page}"


def test_search_highlights_the_phrase_and_records_the_search(dash_archive) -> None:
    """GIVEN the archive WHEN an auditor searches a phrase THEN the hit shows it marked and the audit trail has the
    search."""
    at = open_page("admin", SEARCH)
    at.text_input(key="q").input('"私下转账"').run()
    no_traceback(at)
    assert "共 1 条结果" in texts(at)
    assert "<mark>私下转账</mark>" in markdown(at)
    arch = dash_archive.archive()
    try:
        entries = audit.list_entries(arch.store, actor="admin", action="search")
        assert entries and entries[0]["target"] == '"私下转账"'
    finally:
        arch.close()


def test_message_text_is_escaped_never_rendered_as_html(dash_archive) -> None:
    """GIVEN a message containing <b> WHEN it is a hit THEN the tag is shown as text."""
    at = open_page("admin", SEARCH)
    at.text_input(key="q").input("账号").run()
    html = markdown(at)
    assert "&lt;b&gt;" in html and "<b>我</b>" not in html


@pytest.mark.parametrize(
    "query",
    ['"私下', "(回扣", "回扣 OR", "NOT", "a)"],
    ids=["open-quote", "open-paren", "dangling-or", "lone-not", "stray-paren"],
)
@pytest.mark.slow  # over a second: make test, not make test-fast
def test_a_bad_query_shows_a_hint_not_a_traceback(dash_archive, query: str) -> None:
    at = open_page("admin", SEARCH)
    at.text_input(key="q").input(query).run()
    no_traceback(at)
    assert at.warning, f"no hint for {query!r}"


def test_no_results_says_so(dash_archive) -> None:
    at = open_page("admin", SEARCH)
    at.text_input(key="q").input("完全不存在的词语组合").run()
    assert "没有匹配的消息" in texts(at)


def test_only_flagged_filter_matches_the_store_count(dash_archive) -> None:
    """GIVEN the filter panel WHEN only flagged messages are asked for THEN the count is the store's."""
    from core.models import MessageFilter

    arch = dash_archive.archive()
    try:
        expected = arch.store.count(MessageFilter(flagged=True), scope=Scope.everything())
    finally:
        arch.close()
    at = open_page("admin", SEARCH)
    at.checkbox(key="f_flagged").check().run()
    assert f"共 {expected} 条结果" in texts(at)
    assert expected > 0


def test_an_auditor_never_sees_messages_outside_the_scope(dash_archive) -> None:
    """GIVEN an auditor scoped to 客服部 WHEN searching a phrase said in 理财部's chat THEN nothing is found."""
    at = open_page("auditor-cs", SEARCH)
    at.text_input(key="q").input('"私下转账"').run()
    assert "共 0 条结果" in texts(at)
    at.text_input(key="q").input("返点").run()
    assert "共 1 条结果" in texts(at)


def test_context_needs_a_reason_then_shows_the_conversation_with_the_hit(dash_archive) -> None:
    """GIVEN a hit WHEN its context is opened with a reason THEN bubbles around it show and the view is audited."""
    at = open_page("admin", SEARCH)
    at.text_input(key="q").input('"私下转账"').run()
    ctx = [b for b in at.button if str(b.key).startswith("ctx_m")]
    ctx[0].click().run()
    assert at.button(key="ctx_open").disabled
    at.text_input(key="ctx_reason").input("投诉核查 #42").run()
    at.button(key="ctx_open").click().run()
    no_traceback(at)
    html = markdown(at)
    assert 'class="ca-bubble hit"' in html
    assert "你好，我想了解一下理财产品" in html  # a message before the hit
    assert "已撤回" in html  # the revoked message is marked
    arch = dash_archive.archive()
    try:
        views = audit.list_entries(arch.store, actor="admin", action="view_conversation")
        assert views and views[0]["reason"] == "投诉核查 #42"
    finally:
        arch.close()


def test_saved_search_runs_again(dash_archive) -> None:
    at = open_page("admin", SEARCH)
    at.text_input(key="q").input("回扣").run()
    at.text_input(key="save_name").input("回扣检查").run()
    at.button(key="save_search").click().run()
    no_traceback(at)
    at.text_input(key="q").input("别的").run()
    run = [b for b in at.button if str(b.key).startswith("run_")]
    assert run
    run[0].click().run()
    no_traceback(at)
    assert at.text_input(key="q").value == "回扣"
    assert "<mark>回扣</mark>" in markdown(at)


def test_export_needs_a_reason_and_is_audited(dash_archive, tmp_path, monkeypatch) -> None:
    """... and leaves no exported file behind in the server's temporary directory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    at = open_page("admin", SEARCH)
    at.text_input(key="q").input("回扣").run()
    assert at.button(key="export_go").disabled
    at.text_input(key="export_reason").input("监管报送").run()
    at.button(key="export_go").click().run()
    no_traceback(at)
    arch = dash_archive.archive()
    try:
        exports = audit.list_entries(arch.store, actor="admin", action="export")
        assert exports and exports[0]["reason"] == "监管报送" and exports[0]["details"]["count"] == 1
    finally:
        arch.close()
    name, data, _ = at.session_state["export_files"]
    heading = data.decode("utf-8-sig").splitlines()[0]
    assert name.endswith(".csv") and heading.startswith("消息ID,序号,时间,发送方")  # the download is Chinese
    assert list(tmp_path.iterdir()) == []


def test_a_new_query_starts_again_at_page_one(dash_archive) -> None:
    at = open_page("admin", SEARCH)
    at.number_input(key="page").set_value(3).run()
    assert "第 3/" in texts(at)
    at.text_input(key="q").input("回扣").run()
    assert "第 1/1 页" in texts(at)
