"""Accounts, passwords and dashboard sessions.

Passwords are hashed with argon2id (argon2-cffi, memory-hard). After
``lockout_failures`` wrong passwords in a row an account is locked for
``lockout_minutes``; sessions expire ``session_minutes`` after login. Session tokens are
stored only as their sha256, so a copy of the store does not hand out live sessions.
Every login, failed login, logout and account change goes into the audit trail.
"""

from __future__ import annotations

import logging
import os
import secrets as pysecrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from compliance import audit
from compliance.access import ROLES, check_role, parse_scope, scope_for, validate_scope
from compliance.passwords import check_password
from core import clock
from core.directory import Directory
from core.errors import AuthenticationFailed, BadInput
from core.models import Scope, sha256_hex
from core.settings import Settings, setting_or_default
from store.base import Store
from store.context import ArchiveContext
from store.directory import load_directory

log = logging.getLogger(__name__)

ACCOUNTS = "accounts"
SESSIONS = "sessions"
DEMO_ADMIN = "admin"
WRONG_LOGIN = "wrong user name or password"  # the one answer to every refused login (no enumeration)

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash with the same parameters as real ones, verified for unknown names (equal work).
    Made on first use, not at import: hashing costs most of a second and every CLI command imports this."""
    return _hasher.hash(pysecrets.token_urlsafe(16))


def _now_ms(now: float | int | None) -> int:
    """``now`` is epoch milliseconds (tests pass it to step through time)."""
    return int(now) if now is not None else clock.now_ms()


@dataclass(frozen=True)
class Session:
    """A logged-in dashboard user. ``token`` is only known to the client."""

    token: str
    account: str
    role: str
    scope: Scope
    expires_ms: int

    @property
    def actor(self) -> str:
        return self.account


def _check_name(name: str) -> str:
    text = (name or "").strip()
    if not text or len(text) > 64 or any(c.isspace() for c in text) or text.startswith(("cli:", "system")):
        raise BadInput(f"malformed account name {name!r} (1-64 characters, no spaces, not cli:/system)")
    return text


def public_view(account: dict[str, Any]) -> dict[str, Any]:
    """An account without its password hash, in the CLI's JSON shape."""
    scope = account.get("scope") or {}
    return {
        "name": account["name"],
        "role": account["role"],
        "scope": {"departments": list(scope.get("departments") or []), "users": list(scope.get("users") or [])},
        "disabled": bool(account.get("disabled")),
        "locked_until_ms": int(account.get("locked_until_ms") or 0),
        "created_ms": int(account.get("created_ms") or 0),
        "last_login_ms": int(account.get("last_login_ms") or 0),
    }


def _store_account(store: Store, account: dict[str, Any]) -> None:
    store.put_record(ACCOUNTS, account["name"], {k: v for k, v in account.items() if not k.startswith("_")})


def get_account(store: Store, name: str) -> dict[str, Any] | None:
    return store.get_record(ACCOUNTS, name)


def _require_account(store: Store, name: str) -> dict[str, Any]:
    account = get_account(store, name)
    if account is None:
        raise BadInput(f"no account named {name!r}")
    return account


def create_account(
    store: Store,
    name: str,
    role: str,
    password: str,
    scope_departments: Iterable[Any] = (),
    scope_users: Iterable[Any] = (),
    *,
    actor: str = "system",
    directory: Directory | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """Creates an account (everything is validated before anything is written)."""
    name = _check_name(name)
    check_role(role)
    depts, users = parse_scope(scope_departments, scope_users)
    if role == "super" and (depts or users):
        raise BadInput("a super administrator sees everything; do not give it a scope")
    validate_scope(depts, users, directory if directory is not None else load_directory(store))
    check_password(password, name)
    if get_account(store, name) is not None:
        raise BadInput(f"an account named {name!r} already exists")
    now_ms = _now_ms(now)
    account = {
        "name": name,
        "role": role,
        "scope": {"departments": depts, "users": users},
        "password_hash": _hasher.hash(password),
        "disabled": False,
        "failures": 0,
        "locked_until_ms": 0,
        "created_ms": now_ms,
        "updated_ms": now_ms,
        "last_login_ms": 0,
    }
    _store_account(store, account)
    audit.record(
        store, actor, "account_change", name, {"op": "create", "role": role, "scope": account["scope"]}, now_ms=now_ms
    )
    return public_view(account)


def list_accounts(store: Store) -> list[dict[str, Any]]:
    rows = store.find_records(ACCOUNTS, order_by="name")
    return [public_view(r) for r in sorted(rows, key=lambda r: r["name"])]


def change_password(
    store: Store,
    name: str,
    new_password: str,
    *,
    actor: str = "system",
    old_password: str | None = None,
    now: int | None = None,
) -> None:
    """Sets a new password. A user changing their own password gives ``old_password``;
    an administrator resetting someone else's does not (the audit trail says who did it)."""
    account = _require_account(store, name)
    check_password(new_password, name)
    if old_password is not None and not _password_matches(account, old_password):
        audit.record(store, actor, "account_change", name, {"op": "password", "ok": False}, now_ms=_now_ms(now))
        raise AuthenticationFailed("the current password is wrong")
    account["password_hash"] = _hasher.hash(new_password)
    account["failures"] = 0
    account["locked_until_ms"] = 0
    account["updated_ms"] = _now_ms(now)
    _store_account(store, account)
    _end_sessions(store, name)
    audit.record(store, actor, "account_change", name, {"op": "password", "ok": True}, now_ms=_now_ms(now))


def set_disabled(
    store: Store, name: str, disabled: bool = True, *, actor: str = "system", now: int | None = None
) -> None:
    account = _require_account(store, name)
    if disabled and account["role"] == "super" and not account.get("disabled"):
        active_supers = [a for a in store.find_records(ACCOUNTS, {"role": "super"}) if not a.get("disabled")]
        if len(active_supers) <= 1:
            raise BadInput("cannot disable the last active super administrator")
    account["disabled"] = bool(disabled)
    account["updated_ms"] = _now_ms(now)
    _store_account(store, account)
    if disabled:
        _end_sessions(store, name)
    audit.record(store, actor, "account_change", name, {"op": "disable" if disabled else "enable"}, now_ms=_now_ms(now))


def set_role(
    store: Store,
    name: str,
    role: str,
    scope_departments: Iterable[Any] = (),
    scope_users: Iterable[Any] = (),
    *,
    actor: str = "system",
    now: int | None = None,
) -> dict[str, Any]:
    """Changes an account's role and scope (takes effect on the next request of its sessions)."""
    account = _require_account(store, name)
    check_role(role)
    depts, users = parse_scope(scope_departments, scope_users)
    if role == "super" and (depts or users):
        raise BadInput("a super administrator sees everything; do not give it a scope")
    validate_scope(depts, users, load_directory(store))
    before = {"role": account["role"], "scope": account.get("scope")}
    account["role"] = role
    account["scope"] = {"departments": depts, "users": users}
    account["updated_ms"] = _now_ms(now)
    _store_account(store, account)
    audit.record(
        store,
        actor,
        "account_change",
        name,
        {"op": "role", "before": before, "after": {"role": role, "scope": account["scope"]}},
        now_ms=_now_ms(now),
    )
    return public_view(account)


def _password_matches(account: dict[str, Any], password: str) -> bool:
    try:
        return _hasher.verify(account.get("password_hash") or "", password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _refuse(store: Store, actor: str, target: str, details: dict[str, Any], now_ms: int) -> NoReturn:
    audit.record(store, actor, "login_failed", target, details, now_ms=now_ms)
    raise AuthenticationFailed(WRONG_LOGIN)


def _count_failure(store: Store, account: dict[str, Any], now_ms: int, settings: Settings | None) -> NoReturn:
    """A wrong password: counted, and the account locked after ``lockout_failures`` in a row."""
    failures = int(account.get("failures") or 0) + 1
    details: dict[str, Any] = {"why": "wrong password", "failures": failures}
    if failures >= int(setting_or_default(settings, "lockout_failures")):
        account["locked_until_ms"] = now_ms + int(setting_or_default(settings, "lockout_minutes")) * 60_000
        account["failures"] = 0
        details["locked_until_ms"] = account["locked_until_ms"]
    else:
        account["failures"] = failures
    _store_account(store, account)
    _refuse(store, account["name"], account["name"], details, now_ms)


def authenticate(
    store: Store, name: str, password: str, *, now: int | None = None, settings: Settings | None = None
) -> Session:
    """Checks a password and opens a session. Every refusal (unknown name, wrong password,
    disabled or locked account) raises ``AuthenticationFailed(WRONG_LOGIN)`` after the same
    work (one argon2 verification), so a caller cannot tell which accounts exist or are
    locked; the audit trail records the real reason."""
    now_ms = _now_ms(now)
    account = get_account(store, name) if name else None
    # Verify first, whatever the account's state: the time taken must not depend on it.
    matches = _password_matches(account or {"password_hash": _dummy_hash()}, password or "")
    if account is None:
        _refuse(store, name or "?", name or "", {"why": "unknown account"}, now_ms)
    if account.get("disabled"):
        _refuse(store, name, name, {"why": "disabled"}, now_ms)
    locked_until = int(account.get("locked_until_ms") or 0)
    if locked_until > now_ms:
        _refuse(store, name, name, {"why": "locked", "locked_until_ms": locked_until}, now_ms)
    if not matches:
        _count_failure(store, account, now_ms, settings)
    if _hasher.check_needs_rehash(account["password_hash"]):
        account["password_hash"] = _hasher.hash(password)
    account["failures"] = 0
    account["locked_until_ms"] = 0
    account["last_login_ms"] = now_ms
    _store_account(store, account)
    token = pysecrets.token_urlsafe(32)
    expires_ms = now_ms + int(setting_or_default(settings, "session_minutes")) * 60_000
    store.put_record(SESSIONS, sha256_hex(token), {"account": name, "created_ms": now_ms, "expires_ms": expires_ms})
    audit.record(store, name, "login", name, {"expires_ms": expires_ms}, now_ms=now_ms)
    return Session(token, name, account["role"], scope_for(account), expires_ms)


def check_session(store: Store, token: str, *, now: int | None = None) -> Session:
    """The live session for a token, with the account's current role and scope."""
    now_ms = _now_ms(now)
    key = sha256_hex(token or "")
    record = store.get_record(SESSIONS, key) if token else None
    if record is None:
        raise AuthenticationFailed("not logged in")
    if int(record["expires_ms"]) <= now_ms:
        store.delete_record(SESSIONS, key)
        raise AuthenticationFailed("the session expired; log in again")
    account = get_account(store, record["account"])
    if account is None or account.get("disabled"):
        store.delete_record(SESSIONS, key)
        raise AuthenticationFailed("this account is disabled")
    return Session(token, account["name"], account["role"], scope_for(account), int(record["expires_ms"]))


def logout(store: Store, token: str, *, now: int | None = None) -> None:
    key = sha256_hex(token or "")
    record = store.get_record(SESSIONS, key)
    if record is not None:
        store.delete_record(SESSIONS, key)
        audit.record(store, record["account"], "logout", record["account"], now_ms=_now_ms(now))


def _end_sessions(store: Store, name: str) -> None:
    for row in store.find_records(SESSIONS, {"account": name}):
        store.delete_record(SESSIONS, row["_id"])


def _demo_password() -> str:
    """A random password the policy accepts (``token_urlsafe`` could, very rarely, contain the name)."""
    while True:
        candidate = pysecrets.token_urlsafe(15)  # 20 characters, 120 bits
        try:
            return check_password(candidate, DEMO_ADMIN)
        except BadInput:
            continue


def ensure_demo_admin(store: Store, login_file: Path | None = None) -> tuple[str, str] | None:
    """Creates the first super administrator when there is no account at all.

    Returns ``(name, password)`` only when it created the account, so the caller prints the
    password once; later runs return None (the password is never printed again). With
    ``login_file`` the login is also written there, mode 0600, for the operator to read."""
    if store.count_records(ACCOUNTS) != 0:
        return None
    password = _demo_password()
    create_account(store, DEMO_ADMIN, "super", password, actor="system")
    if login_file is not None:
        login_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(login_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when the file existed with a wider mode
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{DEMO_ADMIN}\n{password}\n")
    return DEMO_ADMIN, password


__all__ = [
    "ROLES",
    "Session",
    "authenticate",
    "change_password",
    "check_session",
    "create_account",
    "ensure_demo_admin",
    "get_account",
    "list_accounts",
    "logout",
    "public_view",
    "set_disabled",
    "set_role",
]


def archive_for_account(archive: ArchiveContext, name: str) -> ArchiveContext:
    """The archive as an account sees it (``--as ACCOUNT`` in the CLI): its name, role and scope."""
    account = get_account(archive.store, name)
    if account is None:
        raise BadInput(f"no account named {name!r}")
    if account.get("disabled"):
        raise BadInput(f"account {name!r} is disabled")
    return archive.as_account(account["name"], account["role"], scope_for(account), operator=archive.actor)
