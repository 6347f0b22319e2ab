"""The rules page's backtest as auditors and managers use it: the instant window, the background job
over the whole archive (progress, result, surviving navigation), cancelling, rerunning, a rule that
matches nothing, two accounts at once, and the audit entry of shown texts."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from dashboard import _backtest_jobs as jobs
from dashboard._backtest_runner import Cancelled
from tests.dashboard.helpers import no_traceback, open_page, texts

pytestmark = pytest.mark.slow


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> jobs.Registry:
    fresh = jobs.Registry()
    monkeypatch.setattr(jobs, "REGISTRY", fresh)
    return fresh


def rules_page(account: str, keywords: str | None = None):
    at = open_page(account, "pages/rules.py")
    rule_id = [o for o in at.selectbox(key="rule_pick").options if o != "➕ 新建规则"][0]
    at.selectbox(key="rule_pick").select_index(1).run()
    key = at.selectbox(key="rule_pick").value
    if keywords is not None:
        at.text_area(key=f"kw_{key}").input(keywords)
    assert rule_id
    return at


def start_whole_archive_job(at) -> str:
    at.checkbox(key="bt_whole").check()
    at.button(key="bt_job").click().run()
    no_traceback(at)
    return str(at.session_state["bt_job_pick"])


def test_the_instant_backtest_says_which_window_it_covered(dash_archive, registry) -> None:
    at = rules_page("ruler")
    at.date_input(key="bt_from").set_value(date(2026, 1, 1))
    at.date_input(key="bt_to").set_value(date(2026, 1, 31))
    at.button(key="bt_run").click().run()
    no_traceback(at)
    assert "已回测 2026-01-01 00:00:00 起的" in texts(at)


def test_a_rule_that_matches_nothing_says_so_in_both_modes(dash_archive, registry) -> None:
    at = rules_page("ruler", keywords="这个词不会出现在任何消息里")
    at.date_input(key="bt_from").set_value(date(2026, 1, 1))
    at.date_input(key="bt_to").set_value(date(2026, 1, 31))
    at.button(key="bt_run").click().run()
    no_traceback(at)
    assert {m.label: m.value for m in at.metric}["命中"] == "0" and "此期间没有命中" in texts(at)
    key = start_whole_archive_job(at)
    assert registry.wait(key).state == jobs.DONE
    at.run()
    no_traceback(at)
    assert "已回测 整个存档的" in texts(at) and "完成" in texts(at)


def test_the_whole_archive_job_runs_in_the_background_and_survives_navigation(dash_archive, registry) -> None:
    """GIVEN a rule editor WHEN the whole-archive job is started THEN the page returns at once, the job finishes
    in the background, and after visiting another page and coming back the result is still there; starting the
    same draft again does not start a second job while one runs, a rerun after it finished does."""
    at = rules_page("ruler")
    key = start_whole_archive_job(at)
    job = registry.get(key)
    assert job is not None and job.account == "ruler"
    assert registry.wait(key).state == jobs.DONE and job.result is not None and job.result["total"] >= 1
    at.switch_page("pages/statistics.py").run()
    no_traceback(at)
    at.switch_page("pages/rules.py").run()
    no_traceback(at)
    assert at.selectbox(key="bt_job_pick").value == key
    shown = texts(at)
    assert "完成" in shown and "已回测 整个存档的" in shown
    assert f"命中={job.result['total']}" in shown
    # the same draft again, after it finished: a fresh run (the archive may have grown)
    at.selectbox(key="rule_pick").select_index(1).run()
    at.checkbox(key="bt_whole").check()
    at.button(key="bt_job").click().run()
    assert registry.get(key) is not job and registry.wait(key).state == jobs.DONE


def test_cancelling_a_queued_job_and_starting_it_again(dash_archive, registry) -> None:
    """GIVEN another account's job holding the one slot WHEN a rule editor starts a job THEN it waits in the
    queue, shows so, can be cancelled, and starts afresh once the slot is free."""
    gate = threading.Event()

    def blocking(progress, cancelled):
        while not gate.wait(0.01):
            if cancelled():
                raise Cancelled()
        return {"total": 0}, None

    registry.start("other", "admin", "其他", blocking)
    at = rules_page("ruler")
    key = start_whole_archive_job(at)
    assert registry.get(key).state == jobs.QUEUED
    assert "排队中" in "\n".join(str(p.proto.text) for p in at.get("progress"))
    at.button(key="bt_job_cancel").click().run()
    no_traceback(at)
    assert registry.get(key).state == jobs.CANCELLED and "已取消" in texts(at)
    gate.set()
    at.button(key="bt_job").click().run()
    assert registry.wait(key).state == jobs.DONE


def test_two_accounts_start_jobs_at_once_and_each_sees_only_their_own(dash_archive, registry) -> None:
    ruler, admin = rules_page("ruler"), rules_page("admin")
    a = start_whole_archive_job(ruler)
    b = start_whole_archive_job(admin)
    assert a != b
    assert registry.wait(a).state == jobs.DONE and registry.wait(b).state == jobs.DONE
    ruler.run()
    admin.run()
    assert ruler.selectbox(key="bt_job_pick").options == [registry.get(a).title]
    assert admin.selectbox(key="bt_job_pick").options == [registry.get(b).title]
    # a rule editor's scope is one department; the super administrator sees the whole archive
    assert registry.get(a).result["window"]["messages"] <= registry.get(b).result["window"]["messages"]


def test_a_job_with_a_reason_shows_texts_and_audits_them_once(dash_archive, registry) -> None:
    at = rules_page("admin")
    at.text_input(key="bt_reason").input("规则调优 #job1")
    key = start_whole_archive_job(at)
    assert registry.wait(key).state == jobs.DONE
    at.run()
    at.run()
    no_traceback(at)
    arch = dash_archive.archive()
    try:
        entries = [
            e
            for e in arch.store.find_records("audit")
            if e.get("reason") == "规则调优 #job1" and str(e.get("target", "")).startswith("backtest:")
        ]
    finally:
        arch.close()
    assert len(entries) == 1 and entries[0]["details"]["msgids"]
    assert "<mark>" in "\n".join(str(m.value) for m in at.markdown)


def test_a_job_is_not_shown_once_the_account_lost_the_role_it_ran_with(dash_archive, registry) -> None:
    """GIVEN a super administrator's job that drew message texts WHEN the account becomes a rule editor (who may
    not read messages) THEN its next page run no longer shows that job."""
    from compliance.accounts import create_account, set_role
    from tests.dashboard.conftest import PASSWORD

    arch = dash_archive.archive()
    try:
        create_account(arch.store, "tuner", "super", PASSWORD)
    finally:
        arch.close()
    at = rules_page("tuner")
    at.text_input(key="bt_reason").input("规则调优 #job2")
    key = start_whole_archive_job(at)
    assert registry.wait(key).state == jobs.DONE
    at.run()
    assert [s for s in at.selectbox if s.key == "bt_job_pick"]
    arch = dash_archive.archive()
    try:
        set_role(arch.store, "tuner", "rule-editor", scope_departments=[1])
    finally:
        arch.close()
    at.run()
    no_traceback(at)
    assert not [s for s in at.selectbox if s.key == "bt_job_pick"] and "<mark>" not in texts(at)
