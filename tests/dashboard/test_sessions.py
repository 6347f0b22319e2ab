"""A login that survives a reload: the signed, expiring session link in the URL."""

from __future__ import annotations

import os
import stat
import time

from streamlit.testing.v1 import AppTest

from chatarchive.archive import Archive
from compliance.accounts import check_session, logout
from dashboard import _session_link
from tests.dashboard.conftest import APP
from tests.dashboard.helpers import TIMEOUT, login, no_traceback, texts


def reload(query: dict[str, str], page: str | None = None) -> AppTest:
    """A new browser session (what a reload is to Streamlit) with the URL's query parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


def logged_in_as(at: AppTest) -> str:
    """The account of the session the app restored ("" on the login page)."""
    if any("登录" in str(t.value) for t in at.title) or "ca_token" not in at.session_state:
        return ""
    arch_token = at.session_state["ca_token"]
    arch = Archive.open(data=os.environ["CHATARCHIVE_DATA"])
    try:
        return check_session(arch.store, arch_token).account
    finally:
        arch.close()


def test_a_reload_keeps_the_session_and_the_page(dash_archive) -> None:
    """GIVEN a logged-in auditor WHEN the browser reloads with the URL it shows THEN the account is still
    logged in, on the page it was on, without typing the password again."""
    at = login("auditor-all")
    link = at.query_params[_session_link.PARAM]
    assert link
    again = reload({_session_link.PARAM: link}, "pages/violations.py")
    no_traceback(again)
    assert logged_in_as(again) == "auditor-all"
    assert "违规管理" in texts(again)


def test_the_link_survives_a_page_switch(dash_archive) -> None:
    """GIVEN a logged-in session WHEN it switches page THEN the URL still carries the link."""
    at = login("admin")
    at.switch_page("pages/audit.py")
    at.run()
    assert at.query_params.get(_session_link.PARAM)


def test_a_forged_expired_or_logged_out_link_is_refused(dash_archive) -> None:
    """GIVEN a link with a changed signature, one signed with another key, one past its expiry and one whose
    session logged out THEN each reload shows the login page and no page content."""
    at = login("admin")
    link = at.query_params[_session_link.PARAM]
    payload, _, signature = link.partition(".")
    token = _session_link.verify(link, _session_link.session_key(dash_archive.data), int(time.time() * 1000))
    assert token
    forged = [
        f"{payload}.{signature[:-2]}AA",
        _session_link.sign(token, int(time.time() * 1000) + 60_000, b"k" * 32),
        _session_link.sign(token, int(time.time() * 1000) - 1, _session_link.session_key(dash_archive.data)),
        "garbage",
        "é.é",
    ]
    for bad in forged:
        refused = reload({_session_link.PARAM: bad})
        no_traceback(refused)
        assert not logged_in_as(refused) and any("登录" in str(t.value) for t in refused.title), bad
    arch = dash_archive.archive()
    try:
        logout(arch.store, token)  # what the 退出 button does server-side
    finally:
        arch.close()
    refused = reload({_session_link.PARAM: link})
    assert not logged_in_as(refused)


def test_the_signing_key_is_private_to_the_owner(dash_archive) -> None:
    """GIVEN the dashboard has signed a link THEN its key file exists with mode 0600."""
    login("admin")
    path = dash_archive.data / _session_link.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and len(path.read_bytes()) == 32


def test_the_chart_libraries_warm_up_once_per_process() -> None:
    from dashboard import _state

    first = _state.warm_up_in_background()
    assert _state.warm_up_in_background() is first
    first.join(60)
    import sys

    assert not first.is_alive() and "plotly.express" in sys.modules
