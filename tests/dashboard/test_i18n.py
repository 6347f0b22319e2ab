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
