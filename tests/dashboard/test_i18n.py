"""One language: Chinese by default through one translation table, English as a setting."""

from __future__ import annotations

import pytest

from compliance import audit
from compliance.access import ROLES
from dashboard import i18n
from tests.dashboard.helpers import login, no_traceback


def test_every_code_value_users_see_has_a_chinese_name_and_an_english_translation() -> None:
    """GIVEN the roles, severities, statuses and audit actions of the product THEN each has a Chinese name in
    the table and that name has an English entry (nothing falls through untranslated)."""
    assert set(i18n.ROLE_NAMES) == set(ROLES)
    assert set(i18n.AUDIT_ACTION_NAMES) == set(audit.ACTIONS)
    for table in (i18n.ROLE_NAMES, i18n.SEVERITY_NAMES, i18n.STATUS_NAMES, i18n.AUDIT_ACTION_NAMES):
        for zh in table.values():
            assert zh in i18n.EN, zh


def test_english_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(i18n.ENV, "en")
    assert i18n.t("违规管理") == "Violations" and i18n.severity("high") == "high" and i18n.month(3) == "Mar"
    assert i18n.error("wrong user name or password") == "wrong user name or password"
    monkeypatch.setenv(i18n.ENV, "zh")
    assert i18n.t("违规管理") == "违规管理" and i18n.severity("high") == "高" and i18n.month(3) == "3月"
    assert i18n.error("wrong user name or password") == "用户名或密码错误"


def test_a_wrong_password_is_refused_in_chinese(dash_archive) -> None:
    at = login("admin", "not the password")
    no_traceback(at)
    assert any(str(e.value) == "用户名或密码错误" for e in at.error)


def test_the_menu_is_chinese_only(dash_archive) -> None:
    """GIVEN an administrator THEN no sidebar page title carries English words."""
    at = login("admin")
    from dashboard.app import PAGES

    assert all(not any(ch.isascii() and ch.isalpha() for ch in title) for _, title, _, _ in PAGES)
    assert "admin · 超级管理员" in [str(c.value) for c in at.sidebar.caption]


def _raised(fn, *args, **kwargs) -> str:
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the message is the point
        return str(e)
    raise AssertionError(f"{fn.__name__} did not raise")


def test_the_errors_lower_layers_raise_reach_dashboard_users_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the real errors of the layers below (so a changed wording there fails here) THEN the dashboard shows
    each in Chinese, the values they name kept; in English they stay as written."""
    from analyzers.rules.model import Rule
    from compliance.passwords import check_password
    from reports.review import review_violation
    from store.query import parse_query

    monkeypatch.setenv(i18n.ENV, "zh")
    cases = {
        _raised(audit.require_reason, ""): "请填写理由",
        _raised(check_password, "short", "alice"): "密码太短",
        _raised(check_password, "password123456", "alice"): "常见密码",
        _raised(Rule.from_dict, {"name": "x"}): "没有可匹配的内容",
        _raised(Rule.from_dict, {"name": "x", "keywords": ["a"], "require": "seven"}): "只能是 any、all 或数字",
        _raised(Rule.from_dict, {"name": "x", "regex": ["(?<=a)b"]}): "不支持的正则表达式",
        _raised(parse_query, '"回扣'): "引号没有闭合",
        _raised(parse_query, "回扣 OR"): "两边都需要搜索词",
        _raised(review_violation, None, "v1", "false_positive", "", reviewer="a"): "必须填写意见",
    }
    for english, chinese in cases.items():
        shown = i18n.error(english)
        assert chinese in shown, (english, shown)
        assert not any(w in shown for w in ("must", "required", "the ", "password")), shown
    assert "(第 1 个字符，查询 '\"回扣')" in i18n.error(_raised(parse_query, '"回扣'))
    monkeypatch.setenv(i18n.ENV, "en")
    assert all(i18n.error(english) == english for english in cases)


def test_every_chinese_error_text_is_chinese() -> None:
    for _, zh in i18n.ERRORS_ZH:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), zh


def test_export_headings_have_english_translations() -> None:
    from compliance.export import COLUMNS, HEADERS

    assert len(HEADERS["zh"]) == len(COLUMNS) and all(h in i18n.EN for h in HEADERS["zh"])
    assert i18n.headings(HEADERS["zh"]) == list(HEADERS["zh"])


def test_a_violations_explanation_reads_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the rule engine's own explanation of an evasive hit THEN the dashboard shows it in Chinese with the
    rule, version, severity, terms and the spelling found; in English as stored."""
    from analyzers.rules.engine import RuleEngine
    from analyzers.rules.model import Rule
    from tests.conformance.corpus import Factory

    engine = RuleEngine([Rule.from_dict({"name": "回扣返点", "severity": "high", "keywords": ["回扣"]})])
    [hit] = engine.match(Factory(seed=1).message("这笔回-扣你收好"))
    monkeypatch.setenv(i18n.ENV, "zh")
    shown = i18n.explanation(hit.explanation)
    assert shown == "规则「回扣返点」(v0, 高) 命中: 回扣；变体写法: 回扣→回-扣。", shown  # v0: never saved
    assert i18n.explanation("something else") == "something else"
    monkeypatch.setenv(i18n.ENV, "en")
    assert i18n.explanation(hit.explanation) == hit.explanation


@pytest.mark.slow
def test_the_violations_page_explains_a_hit_in_chinese(dash_archive) -> None:
    from tests.dashboard.helpers import open_page

    at = open_page("admin", "pages/violations.py")
    no_traceback(at)
    captions = [str(c.value) for c in at.caption]
    assert any(c.startswith("规则「") for c in captions) and not any("matched" in c for c in captions), captions
