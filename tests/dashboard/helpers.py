"""Driving the real dashboard with streamlit's AppTest: log in, switch pages, read output."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP, PASSWORD

TIMEOUT = 60


def login(name: str, password: str = PASSWORD) -> AppTest:
    """A fresh browser session of the app, logged in through the login form."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    submit = [b for b in at.button if "登录" in str(b.label)]
    submit[0].click()
    at.run()
    return at


def open_page(name: str, page: str) -> AppTest:
    at = login(name)
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(page)
    at.run()
    return at


def markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def texts(at: AppTest) -> str:
    """Everything a user reads: markdown, captions, alerts, metrics, subheaders."""
    parts = [markdown(at)]
    for kind in ("caption", "info", "warning", "error", "success", "subheader", "title"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    parts.extend(f"{m.label}={m.value}" for m in at.metric)
    return "\n".join(parts)


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
