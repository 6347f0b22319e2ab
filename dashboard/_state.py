"""The dashboard's access to the archive: one open store per process, the logged-in
session, permissions, the organisation's names, and turning errors into messages.

Pages never open a store themselves: they call ``user_archive()`` (the archive as the
logged-in account sees it, with its scope) and wrap their work in ``guard()`` so that a
bad query or a failed operation shows a message, never a traceback.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import streamlit as st

from chatarchive import actions
from chatarchive.archive import Archive
from compliance import access
from compliance.accounts import Session, authenticate, check_session, logout
from core import clock
from core.directory import Directory
from core.errors import AuthenticationFailed, BadInput, ChatArchiveError, PermissionDenied
from dashboard import _session_link, i18n
from store.directory import load_directory

log = logging.getLogger(__name__)

TOKEN_KEY = "ca_token"
APP_RAN = "ca_app_ran"  # app.py has run in this browser session: its navigation is in force
WANTED = "ca_wanted"  # the page a deep link named, opened once logged in
DIRECTORY_TTL_S = 60


@st.cache_resource(show_spinner=False)
def _open_archive(data: str, backend: str, es_url: str) -> Archive:
    """One Archive (and so one store) per process and data dir, shared by every browser session."""
    archive = Archive.open(**{k: v for k, v in {"data": data, "backend": backend, "es_url": es_url}.items() if v})
    _ = archive.store  # opens and initialises now, so the first page view does not pay for it
    return archive


def base_archive() -> Archive:
    """The process's archive as the system sees it (settings come from the environment
    that ``chatarchive serve`` passes through: CHATARCHIVE_DATA, CHATARCHIVE_BACKEND, ...)."""
    return _open_archive(
        os.environ.get("CHATARCHIVE_DATA", ""),
        os.environ.get("CHATARCHIVE_BACKEND", ""),
        os.environ.get("CHATARCHIVE_ES_URL", "") or os.environ.get("ES_URL", ""),
    )


@st.cache_resource(show_spinner=False)
def _link_key_of(data_dir: str) -> bytes:
    return _session_link.session_key(Path(data_dir))


def _link_key() -> bytes:
    return _link_key_of(str(base_archive().settings.data_dir))


def _token_from_link() -> str | None:
    """After a reload: the session token of the URL's signed link, if it is genuine and current."""
    signed = st.query_params.get(_session_link.PARAM)
    if not signed:
        return None
    token = _session_link.verify(signed, _link_key(), clock.now_ms())
    if token is None:
        del st.query_params[_session_link.PARAM]
        st.session_state["ca_login_notice"] = i18n.t("登录链接已失效，请重新登录。")
    return token


def keep_link(s: Session) -> None:
    """Puts the signed session link into the URL (page switches drop query parameters)."""
    signed = _session_link.sign(s.token, s.expires_ms, _link_key())
    if st.query_params.get(_session_link.PARAM) != signed:
        st.query_params[_session_link.PARAM] = signed


def current_session() -> Session | None:
    """The live session of this browser tab, re-checked on every run (expiry, disabled
    account, changed role or scope take effect at once); restored from the URL after a reload."""
    token = st.session_state.get(TOKEN_KEY) or _token_from_link()
    if not token:
        return None
    try:
        s = check_session(base_archive().store, token)
    except AuthenticationFailed as e:
        st.session_state.pop(TOKEN_KEY, None)
        st.query_params.pop(_session_link.PARAM, None)
        st.session_state["ca_login_notice"] = i18n.error(str(e))
        return None
    st.session_state[TOKEN_KEY] = token
    return s


def login_form() -> None:
    st.title(i18n.t("会话存档 · 登录"))
    notice = st.session_state.pop("ca_login_notice", None)
    if notice:
        st.info(notice)
    with st.form("login"):
        name = st.text_input(i18n.t("账号"), key="login_name")
        password = st.text_input(i18n.t("密码"), type="password", key="login_password")
        submitted = st.form_submit_button(i18n.t("登录"))
    if submitted:
        with guard("login"):
            login(name, password)
            st.rerun()


def session() -> Session:
    """The session inside a page. A link straight to a page (``/violations``) makes Streamlit run
    ``pages/violations.py`` on its own, before ``app.py`` has declared the navigation: that run
    goes through ``app.py`` (login, menu) and ``app.py`` then opens the page the link named."""
    if not st.session_state.get(APP_RAN):
        slug = urlparse(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
        st.session_state[WANTED] = f"pages/{slug}.py" if slug else ""
        st.switch_page("app.py")
    s = current_session()
    if s is None:
        login_form()
        st.stop()
    assert s is not None  # st.stop() does not return
    keep_link(s)
    return s


def user_archive() -> Archive:
    """The archive as the logged-in account sees it: its name, role and scope."""
    s = session()
    base = base_archive()
    return base.as_account(s.account, s.role, s.scope)


def login(name: str, password: str) -> Session:
    s = authenticate(base_archive().store, name.strip(), password, settings=base_archive().settings)
    st.session_state[TOKEN_KEY] = s.token
    return s


def do_logout() -> None:
    st.query_params.pop(_session_link.PARAM, None)
    token = st.session_state.pop(TOKEN_KEY, None)
    if token:
        logout(base_archive().store, token)


def require(permission: str) -> Session:
    """Stops the page with a message unless the account's role grants ``permission``."""
    s = session()
    if not access.allowed(s, permission):
        actions.refuse_page(user_archive(), permission, visit=s.token)
        st.error(i18n.t("您的角色 ({role}) 无权使用此页面。", role=i18n.role(s.role)))
        st.stop()
    return s


def allowed(permission: str) -> bool:
    s = current_session()
    return s is not None and access.allowed(s, permission)


@st.cache_data(ttl=DIRECTORY_TTL_S, show_spinner=False)
def _directory_dict(data: str, stamp: int) -> dict[str, Any]:
    found = load_directory(base_archive().store)
    return found.to_dict() if found is not None else {}


def directory() -> Directory:
    """The organisation (names of employees, customers, groups, departments); refreshed every minute."""
    return Directory.from_dict(
        _directory_dict(str(base_archive().settings.data_dir), int(time.time() // DIRECTORY_TTL_S))
    )


@st.cache_data(ttl=DIRECTORY_TTL_S, show_spinner=False)
def _robot_names(data: str, stamp: int) -> dict[str, str]:
    """Robots are not in ``Directory``; the stored organisation record may list them (``robots``)."""
    out: dict[str, str] = {}
    for row in base_archive().store.find_records("directory"):
        for robot in row.get("robots") or []:
            if isinstance(robot, dict) and robot.get("id"):
                out[str(robot["id"])] = str(robot.get("name") or robot["id"])
    return out


def party_names() -> dict[str, str]:
    """Display names of everyone who can send a message: employees, customers, groups, robots."""
    stamp = int(time.time() // DIRECTORY_TTL_S)
    robots = _robot_names(str(base_archive().settings.data_dir), stamp)
    return {**robots, **directory().names}


_WARM_UP = threading.Lock()
_warmed: list[threading.Thread] = []


def _import_chart_libraries() -> None:
    import pandas as pd  # optional: warm-up only, imported here so the thread pays for it
    import plotly.express as px  # optional: warm-up only, imported here so the thread pays for it

    # plotly loads its validators on the first figure (~0.2 s): one small figure, serialised, loads them.
    px.bar(pd.DataFrame({"x": ["a"], "y": [1]}), x="x", y="y", title="warm-up").to_json()


def warm_up_in_background() -> threading.Thread:
    """Once per process, after a page has been drawn: imports the chart libraries and draws one
    figure in a background thread (~0.5-1 s), so the first chart page a user opens does not pay for them (a page that
    imports them meanwhile waits for the same import, it is never done twice)."""
    with _WARM_UP:
        if not _warmed:
            _warmed.append(threading.Thread(target=_import_chart_libraries, name="chart-warm-up", daemon=True))
            _warmed[0].start()
        return _warmed[0]


def tz() -> str:
    return str(base_archive().settings.timezone)


@contextmanager
def guard(what: str = "") -> Iterator[None]:
    """Shows errors as messages. Our errors carry a sentence for the user; anything else
    is logged with its traceback and shown as a short apology."""
    try:
        yield
    except AuthenticationFailed as e:
        st.error(i18n.error(str(e)))
    except PermissionDenied as e:
        st.error(i18n.t("无权限: {message}", message=i18n.error(str(e))))
    except BadInput as e:
        st.warning(i18n.t("输入有误: {message}", message=i18n.error(str(e))))
    except ChatArchiveError as e:
        log.warning("dashboard error in %s: %s", what or "page", e)
        st.error(i18n.t("操作失败: {message}", message=i18n.error(str(e))))
    except Exception as e:  # noqa: BLE001 - the user gets a message, the log gets the traceback
        log.exception("dashboard error in %s", what or "page")
        st.error(i18n.t("出错了 ({name})，详情见服务器日志。", name=type(e).__name__))
