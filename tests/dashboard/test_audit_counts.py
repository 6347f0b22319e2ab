"""How many audit entries each dashboard action writes, Streamlit reruns included.

Streamlit runs a page again on every interaction; a view or a decision must be written once,
not once per run. Each test uses its own reason text, so it counts only its own entries. The
archive is this module's own (reviews and rule exceptions change it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from chatarchive.archive import Archive
from compliance import audit
from tests.dashboard.conftest import APP, PASSWORD, DashboardArchive, built_archive
from tests.dashboard.helpers import no_traceback, open_page

RERUNS = 3


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardArchive]:
    yield from built_archive(tmp_path_factory, "audit-counts")


def entries(data: Path, action: str, **match: Any) -> list[dict[str, Any]]:
    """The audit entries of ``action`` whose fields (``details.KEY`` for details) equal ``match``."""
    archive = Archive.open(data=str(data))
    try:
        rows = audit.list_entries(archive.store, action=action, limit=None)
    finally:
        archive.close()

    def field(row: dict[str, Any], key: str) -> Any:
        return row["details"].get(key[8:]) if key.startswith("details_") else row.get(key)

    return [r for r in rows if all(field(r, k) == v for k, v in match.items())]


def rerun(at: AppTest) -> None:
    for _ in range(RERUNS):
        at.run()
        no_traceback(at)


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_customers_page_audits_a_view_once_across_reruns(counted: DashboardArchive) -> None:
    """GIVEN an auditor on the customers page WHEN a conversation is shown with a reason and the page reruns
    THEN exactly one view_conversation entry; a different reason is a new entry."""
    at = open_page("admin", "pages/customers.py")
    at.text_input(key="c_reason").input("客户投诉核查 #c1").run()
    no_traceback(at)
    rerun(at)
    assert len(entries(counted.data, "view_conversation", actor="admin", reason="客户投诉核查 #c1")) == 1
    at.text_input(key="c_reason").input("客户投诉核查 #c2").run()
    rerun(at)
    assert len(entries(counted.data, "view_conversation", actor="admin", reason="客户投诉核查 #c2")) == 1


def test_sampling_page_audits_a_view_once_across_reruns(counted: DashboardArchive) -> None:
    at = open_page("auditor-all", "pages/sampling.py")
    at.date_input(key="s_from").set_value(date(2026, 1, 1))
    at.date_input(key="s_to").set_value(date(2026, 1, 31))
    at.multiselect(key="s_dept").set_value([1])
    at.number_input(key="s_pct").set_value(50.0)
    at.button(key="FormSubmitter:draw-抽样").click().run()
    no_traceback(at)
    draws = entries(counted.data, "review", actor="auditor-all", details_op="draw")
    at.text_input(key="s_reason").input("抽样复核 #s1").run()
    rerun(at)
    views = entries(counted.data, "view_conversation", actor="auditor-all", reason="抽样复核 #s1")
    assert len(views) == 1 and views[0]["details"]["sample"]
    assert len(entries(counted.data, "review", actor="auditor-all", details_op="draw")) == len(draws) == 1


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_conversation_page_audits_a_view_once_across_reruns(counted: DashboardArchive) -> None:
    at = open_page("admin", "pages/conversations.py")
    at.radio(key="emp_pick").set_value("zhangwei").run()
    at.button(key="open_external").click().run()
    at.text_input(key="conv_reason").input("季度抽查 #v1").run()
    no_traceback(at)
    rerun(at)
    assert len(entries(counted.data, "view_conversation", actor="admin", reason="季度抽查 #v1")) == 1


def test_violations_page_context_review_and_exception_each_audit_once(counted: DashboardArchive) -> None:
    """GIVEN a violation WHEN its context is shown with a reason, it is reviewed as a false positive and an
    exception is added, with reruns after each step THEN one view, one review and one rule_change entry."""
    at = open_page("admin", "pages/violations.py")
    options = at.selectbox(key="v_pick").options
    at.selectbox(key="v_pick").select_index(next(i for i, o in enumerate(options) if "张伟 · 承诺收益" in o)).run()
    at.text_input(key="v_reason").input("复核 #x1").run()
    at.toggle(key="v_ctx").set_value(True).run()
    rerun(at)
    assert len(entries(counted.data, "view_conversation", actor="admin", reason="复核 #x1")) == 1
    reviews_before = len(entries(counted.data, "review", actor="admin"))
    at.radio(key="r_status").set_value("false_positive")
    at.text_area(key="r_comment").input("客户原话引用 #x1")
    at.button(key="FormSubmitter:review-提交审核").click().run()
    rerun(at)
    assert len(entries(counted.data, "review", actor="admin")) == reviews_before + 1
    phrase = next(t for t in at.text_input if str(t.key).startswith("exc_phrase_"))
    phrase.input("保证收益，年化").run()
    at.button(key="preview_exception").click().run()  # the exception's effect is previewed before saving
    at.button(key="add_exception").click().run()
    rerun(at)
    changes = entries(counted.data, "rule_change", actor="admin")
    assert len(changes) == 1
    assert changes[0]["details"]["change"] == "exception" and changes[0]["details"]["phrase"] == "保证收益，年化"
    assert changes[0]["details"]["violation"]


def test_rule_editor_backtest_shows_masked_samples_and_audits_nothing(counted: DashboardArchive) -> None:
    """GIVEN a rule editor (may not view messages) WHEN backtesting THEN counts and explanations, samples with
    only the matched words readable, no reason box, and no audit entry."""
    from compliance.rulestore import list_rules

    archive = counted.archive()
    try:
        rule_id = next(r.id for r in list_rules(archive.store) if r.name == "私下交易监控")
    finally:
        archive.close()
    before = len(entries(counted.data, "view_conversation", actor="ruler"))
    at = open_page("ruler", "pages/rules.py")
    at.selectbox(key="rule_pick").set_value(rule_id).run()
    at.date_input(key="bt_from").set_value(date(2026, 1, 1))
    at.date_input(key="bt_to").set_value(date(2026, 1, 31))
    at.button(key="bt_run").click().run()
    no_traceback(at)
    assert not [t for t in at.text_input if t.key == "bt_reason"]
    html = "\n".join(str(m.value) for m in at.markdown)
    assert "<mark>私下转账</mark>" in html and "手续费可以" not in html and "＊" in html
    assert len(entries(counted.data, "view_conversation", actor="ruler")) == before


def test_super_backtest_with_a_reason_shows_texts_and_audits_once(counted: DashboardArchive) -> None:
    from compliance.rulestore import list_rules

    archive = counted.archive()
    try:
        rule_id = next(r.id for r in list_rules(archive.store) if r.name == "私下交易监控")
    finally:
        archive.close()
    at = open_page("admin", "pages/rules.py")
    at.selectbox(key="rule_pick").set_value(rule_id).run()
    at.date_input(key="bt_from").set_value(date(2026, 1, 1))
    at.date_input(key="bt_to").set_value(date(2026, 1, 31))
    at.text_input(key="bt_reason").input("规则调优 #b1").run()
    at.button(key="bt_run").click().run()
    rerun(at)
    html = "\n".join(str(m.value) for m in at.markdown)
    assert "手续费可以<mark>私下转账</mark>" in html
    shown = entries(counted.data, "view_conversation", actor="admin", reason="规则调优 #b1")
    assert [e["target"] for e in shown] == [f"backtest:{rule_id}"]


def test_opening_a_page_the_role_does_not_allow_is_audited_once(counted: DashboardArchive) -> None:
    """GIVEN a viewer (statistics only), logged in WHEN the violations page runs for it anyway (the navigation
    does not offer it; this is the page's own check) and reruns THEN it is refused and one denied review
    attempt is audited."""
    from compliance.accounts import authenticate

    archive = counted.archive()
    try:
        token = authenticate(archive.store, "boss", PASSWORD).token
    finally:
        archive.close()
    at = AppTest.from_file(str(Path(APP).parent / "pages" / "violations.py"), default_timeout=60)
    at.session_state["ca_token"] = token
    at.session_state["ca_app_ran"] = True  # as if app.py had run: the page's own check is what is tested
    at.run()
    rerun(at)
    assert any("无权使用此页面" in str(e.value) for e in at.error)
    denied = entries(counted.data, "review", actor="boss")
    assert len(denied) == 1 and denied[0]["details"]["denied"] == "role viewer may not review"
    assert denied[0]["target"] == "page:review"


def test_search_page_audits_a_search_once_across_reruns_and_pages(counted: DashboardArchive) -> None:
    at = open_page("admin", "pages/search.py")
    at.text_input(key="q").input("好的 OR 收到 OR 谢谢").run()
    rerun(at)
    at.number_input(key="page").set_value(2).run()
    rerun(at)
    no_traceback(at)
    assert len(entries(counted.data, "search", actor="admin", target="好的 OR 收到 OR 谢谢")) == 1
    at.multiselect(key="f_type").set_value(["text"]).run()
    rerun(at)
    assert len(entries(counted.data, "search", actor="admin", target="好的 OR 收到 OR 谢谢")) == 2
