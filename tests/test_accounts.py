"""Accounts, roles, scopes, passwords, lockout and sessions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance import accounts as acc
from compliance import audit
from compliance.access import PERMISSIONS, ROLES, require, scope_for
from compliance.passwords import check_password
from core.directory import Directory
from core.errors import AuthenticationFailed, BadInput, PermissionDenied
from core.models import Scope
from core.settings import Settings
from tests.helpers import OTHER_STRONG_PASSWORD, STRONG_PASSWORD, open_test_store

NOW = 1_763_600_000_000
MIN = 60_000
PASSWORD = STRONG_PASSWORD

ORG = Directory(
    departments=[{"id": 1, "name": "总部", "parentid": 0}, {"id": 2, "name": "财富管理部", "parentid": 1}],
    employees=[{"userid": "zhangwei", "name": "张伟", "departments": [2]}],
)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_test_store(tmp_path)
    s.put_record("directory", "org", ORG.to_dict())
    yield s
    s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data=str(tmp_path / "data"), lockout_failures=3, lockout_minutes=15, session_minutes=60)


def test_created_account_stores_an_argon2_hash_never_the_password(store: Any) -> None:
    view = acc.create_account(store, "auditor1", "auditor", PASSWORD, [2], ["zhangwei"], actor="admin", now=NOW)
    assert view["scope"] == {"departments": [2], "users": ["zhangwei"]}
    stored = store.get_record("accounts", "auditor1")
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)
    assert "password_hash" not in view
    last = audit.list_entries(store, limit=1)[0]
    assert (last["actor"], last["action"], last["target"]) == ("admin", "account_change", "auditor1")


BAD_ACCOUNTS = [
    ("unknown-role", dict(name="a", role="god"), "unknown role"),
    ("unknown-department", dict(name="a", role="auditor", scope_departments=[99]), "unknown department"),
    ("malformed-department", dict(name="a", role="auditor", scope_departments=["two"]), "must be a number"),
    ("negative-department", dict(name="a", role="auditor", scope_departments=[-1]), "positive"),
    ("unknown-user", dict(name="a", role="auditor", scope_users=["nobody"]), "unknown employee"),
    ("malformed-user", dict(name="a", role="auditor", scope_users=["two words"]), "malformed user"),
    ("super-with-scope", dict(name="a", role="super", scope_departments=[1]), "sees everything"),
    ("short-password", dict(name="a", role="viewer", password="short"), "too short"),
    ("blank-name", dict(name=" ", role="viewer"), "malformed account name"),
    ("reserved-name", dict(name="system", role="viewer"), "malformed account name"),
]


@pytest.mark.parametrize("kwargs,message", [b[1:] for b in BAD_ACCOUNTS], ids=[b[0] for b in BAD_ACCOUNTS])
def test_bad_account_input_is_refused_and_nothing_is_written(store: Any, kwargs: dict[str, Any], message: str) -> None:
    """GIVEN malformed input WHEN creating an account THEN a clear BadInput, no account, no audit entry."""
    kwargs = {"password": PASSWORD, **kwargs}
    with pytest.raises(BadInput, match=message):
        acc.create_account(store, **kwargs)
    assert store.count_records("accounts") == 0
    assert store.count_records("audit") == 0


def test_duplicate_name_is_refused(store: Any) -> None:
    acc.create_account(store, "a", "viewer", PASSWORD, [1])
    with pytest.raises(BadInput, match="already exists"):
        acc.create_account(store, "a", "auditor", PASSWORD, [1])
    assert store.get_record("accounts", "a")["role"] == "viewer"


def test_login_opens_a_session_with_the_accounts_scope(store: Any, settings: Settings) -> None:
    acc.create_account(store, "auditor1", "auditor", PASSWORD, [2], now=NOW)
    session = acc.authenticate(store, "auditor1", PASSWORD, now=NOW, settings=settings)
    assert session.scope == Scope.of([2])
    assert session.expires_ms == NOW + 60 * MIN
    again = acc.check_session(store, session.token, now=NOW + 59 * MIN)
    assert (again.account, again.role, again.scope) == ("auditor1", "auditor", Scope.of([2]))
    # only the token's hash is stored
    assert store.get_record("sessions", session.token) is None
    assert audit.list_entries(store, action="login")[0]["actor"] == "auditor1"


def test_session_expires(store: Any, settings: Settings) -> None:
    """GIVEN a session of 60 minutes WHEN used at minute 60 THEN it is refused and removed."""
    acc.create_account(store, "v", "viewer", PASSWORD, [1], now=NOW)
    session = acc.authenticate(store, "v", PASSWORD, now=NOW, settings=settings)
    with pytest.raises(AuthenticationFailed, match="expired"):
        acc.check_session(store, session.token, now=NOW + 60 * MIN)
    with pytest.raises(AuthenticationFailed, match="not logged in"):
        acc.check_session(store, session.token, now=NOW)


def test_lockout_after_repeated_failures_then_unlock_after_the_period(store: Any, settings: Settings) -> None:
    """GIVEN lockout after 3 failures for 15 minutes WHEN 3 wrong passwords are tried THEN
    even the right password is refused until 15 minutes later; every attempt is audited."""
    acc.create_account(store, "v", "viewer", PASSWORD, [1], now=NOW)
    for i in range(3):
        with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
            acc.authenticate(store, "v", "wrong password", now=NOW + i, settings=settings)
    with pytest.raises(AuthenticationFailed, match="^wrong user name or password$"):
        acc.authenticate(store, "v", PASSWORD, now=NOW + 14 * MIN, settings=settings)
    assert acc.authenticate(store, "v", PASSWORD, now=NOW + 15 * MIN + 10, settings=settings).account == "v"
    failed = audit.list_entries(store, action="login_failed")
    assert len(failed) == 4
    assert [f["details"]["why"] for f in failed] == ["locked", "wrong password", "wrong password", "wrong password"]


def test_unknown_name_and_wrong_password_look_the_same(store: Any, settings: Settings) -> None:
    acc.create_account(store, "v", "viewer", PASSWORD, [1])
    with pytest.raises(AuthenticationFailed) as unknown:
        acc.authenticate(store, "nobody", PASSWORD, settings=settings)
    with pytest.raises(AuthenticationFailed) as wrong:
        acc.authenticate(store, "v", "not the password", settings=settings)
    assert str(unknown.value) == str(wrong.value)
    assert audit.list_entries(store, action="login_failed", actor="nobody")


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_password_change_ends_sessions_and_needs_the_old_password(store: Any, settings: Settings) -> None:
    acc.create_account(store, "v", "viewer", PASSWORD, [1], now=NOW)
    session = acc.authenticate(store, "v", PASSWORD, now=NOW, settings=settings)
    with pytest.raises(AuthenticationFailed):
        acc.change_password(store, "v", OTHER_STRONG_PASSWORD, actor="v", old_password="wrong", now=NOW)
    acc.change_password(store, "v", OTHER_STRONG_PASSWORD, actor="v", old_password=PASSWORD, now=NOW)
    with pytest.raises(AuthenticationFailed):
        acc.check_session(store, session.token, now=NOW)
    with pytest.raises(AuthenticationFailed):
        acc.authenticate(store, "v", PASSWORD, now=NOW, settings=settings)
    assert acc.authenticate(store, "v", OTHER_STRONG_PASSWORD, now=NOW, settings=settings)


def test_disabled_account_cannot_log_in_and_the_last_super_stays(store: Any, settings: Settings) -> None:
    acc.create_account(store, "root", "super", PASSWORD)
    acc.create_account(store, "v", "viewer", PASSWORD, [1])
    acc.set_disabled(store, "v", True, actor="root")
    with pytest.raises(AuthenticationFailed, match="^wrong user name or password$"):
        acc.authenticate(store, "v", PASSWORD, settings=settings)
    with pytest.raises(BadInput, match="last active super"):
        acc.set_disabled(store, "root", True)


def test_logout_ends_the_session(store: Any, settings: Settings) -> None:
    acc.create_account(store, "v", "viewer", PASSWORD, [1], now=NOW)
    session = acc.authenticate(store, "v", PASSWORD, now=NOW, settings=settings)
    acc.logout(store, session.token, now=NOW)
    with pytest.raises(AuthenticationFailed):
        acc.check_session(store, session.token, now=NOW)
    assert audit.list_entries(store, action="logout")[0]["actor"] == "v"


def test_demo_admin_is_created_once_and_its_login_is_kept(store: Any, tmp_path: Path, settings: Settings) -> None:
    """GIVEN no account WHEN the demo admin is ensured twice THEN the password is returned (to print) only the
    first time, the login file is 0600 and holds it, and the password passes the policy."""
    login_file = tmp_path / "demo-login.txt"
    name, password = acc.ensure_demo_admin(store, login_file)
    assert (login_file.stat().st_mode & 0o777) == 0o600
    assert check_password(password, name) == password
    assert acc.ensure_demo_admin(store, login_file) is None
    assert login_file.read_text(encoding="utf-8").splitlines() == [name, password]
    assert acc.authenticate(store, name, password, settings=settings).role == "super"
    assert len(acc.list_accounts(store)) == 1


ROLE_TABLE = [
    ("super", PERMISSIONS),
    ("auditor", {"search", "view", "export", "review", "stats"}),
    ("rule-editor", {"rules", "backtest", "stats"}),
    ("viewer", {"stats"}),
]


@pytest.mark.parametrize("role,granted", ROLE_TABLE, ids=[r[0] for r in ROLE_TABLE])
def test_roles_grant_exactly_their_permissions(role: str, granted: set[str]) -> None:
    session = acc.Session("t", "someone", role, Scope.of([1]), 0)
    for permission in PERMISSIONS:
        if permission in granted:
            require(session, permission)
        else:
            with pytest.raises(PermissionDenied, match=permission):
                require(session, permission)
    assert set(ROLES[role]) == set(granted)


SCOPES = [
    ("super-sees-everything", {"role": "super", "scope": {}}, Scope.everything()),
    (
        "auditor-scoped",
        {"role": "auditor", "scope": {"departments": [2], "users": ["zhangwei"]}},
        Scope.of([2], ["zhangwei"]),
    ),
    ("auditor-empty-sees-nothing", {"role": "auditor", "scope": {}}, Scope.of()),
    ("viewer-empty-sees-nothing", {"role": "viewer"}, Scope.of()),
]


@pytest.mark.parametrize("account,expected", [s[1:] for s in SCOPES], ids=[s[0] for s in SCOPES])
def test_scope_for(account: dict[str, Any], expected: Scope) -> None:
    scope = scope_for(account)
    assert scope == expected
    if not expected.all and not expected.departments and not expected.users:
        assert scope.is_empty and not scope.all


# --- the command line ------------------------------------------------------------------------------


def _cli(data: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    from click.testing import CliRunner

    from chatarchive.cli import main

    return CliRunner().invoke(main, ["--data", str(data), "--json", *args], env=env, catch_exceptions=False)


def test_cli_accounts_add_list_disable(tmp_path: Path) -> None:
    """GIVEN an empty store WHEN accounts are added, listed and disabled from the CLI THEN
    the JSON follows the contract and no password hash is ever printed."""
    data = tmp_path / "data"
    env = {"PW": "a long password"}
    added = _cli(
        data,
        "accounts",
        "add",
        "auditor1",
        "--role",
        "auditor",
        "--scope-dept",
        "2",
        "--scope-user",
        "zhangwei",
        "--password-env",
        "PW",
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout) == {
        "name": "auditor1",
        "role": "auditor",
        "scope": {"departments": [2], "users": ["zhangwei"]},
    }
    assert _cli(data, "accounts", "add", "root", "--role", "super", "--password-env", "PW", env=env).exit_code == 0
    listed = _cli(data, "accounts", "list")
    assert [a["name"] for a in json.loads(listed.stdout)["accounts"]] == ["auditor1", "root"]
    assert "argon2" not in listed.stdout
    assert _cli(data, "accounts", "disable", "auditor1").exit_code == 0
    assert json.loads(_cli(data, "accounts", "list").stdout)["accounts"][0]["disabled"] is True
    assert (
        _cli(data, "accounts", "passwd", "root", "--password-env", "PW", env={"PW": "another password"}).exit_code == 0
    )


CLI_BAD = [
    ("unknown-role", ["accounts", "add", "a", "--role", "god", "--password-env", "PW"], ""),
    (
        "malformed-dept",
        ["accounts", "add", "a", "--role", "auditor", "--scope-dept", "x", "--password-env", "PW"],
        "must be a number",
    ),
    ("missing-env", ["accounts", "add", "a", "--role", "viewer", "--password-env", "NOPE"], "not set"),
    ("unknown-account", ["accounts", "passwd", "ghost", "--password-env", "PW"], "no account"),
]


@pytest.mark.parametrize("args,message", [c[1:] for c in CLI_BAD], ids=[c[0] for c in CLI_BAD])
def test_cli_bad_input_is_exit_2_with_a_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    data = tmp_path / "data"
    result = _cli(data, *args, env={"PW": "a long password"})
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert json.loads(_cli(data, "accounts", "list").stdout)["accounts"] == []


WEAK_PASSWORDS = [
    ("eight-letters", "aaaaaaaa", "too short"),
    ("common-word", "password", "too short"),
    ("eleven-chars", "abcdefghijk", "too short"),
    ("repeated-char", "aaaaaaaaaaaa", "different"),
    ("two-chars-repeated", "abababababab", "different"),
    ("contains-the-name", "alice-was-here-2031", "account name"),
    ("contains-the-name-other-case", "MyALICE-2024-pass", "account name"),
    ("common-long", "1qaz2wsx3edc", "common passwords"),
    ("common-other-case", "QWERTY123456", "common passwords"),
    ("common-with-digits", "password2024!", "common passwords"),
    ("common-with-symbols", "!!sunshine1234", "common passwords"),
    ("too-long", "abcdefghij" * 30, "too long"),
]


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("password,message", [w[1:] for w in WEAK_PASSWORDS], ids=[w[0] for w in WEAK_PASSWORDS])
def test_weak_passwords_are_refused_for_every_role(store: Any, role: str, password: str, message: str) -> None:
    """GIVEN a weak password WHEN creating an account of any role THEN a one-line BadInput says what is wrong
    (without echoing the password) and nothing is written."""
    scope = [] if role == "super" else [1]
    with pytest.raises(BadInput, match=message) as refused:
        acc.create_account(store, "alice", role, password, scope)
    assert repr(password) not in str(refused.value) and "\n" not in str(refused.value)
    assert store.count_records("accounts") == 0 and store.count_records("audit") == 0


@pytest.mark.slow  # over a second: make test, not make test-fast
@pytest.mark.parametrize("password,message", [w[1:] for w in WEAK_PASSWORDS], ids=[w[0] for w in WEAK_PASSWORDS])
def test_weak_passwords_are_refused_on_change(store: Any, settings: Settings, password: str, message: str) -> None:
    """GIVEN an account WHEN its password is changed to a weak one THEN refused; the old password still works."""
    acc.create_account(store, "alice", "viewer", PASSWORD, [1])
    with pytest.raises(BadInput, match=message):
        acc.change_password(store, "alice", password, actor="root")
    assert acc.authenticate(store, "alice", PASSWORD, settings=settings).account == "alice"


def test_every_entry_of_the_common_list_is_refused() -> None:
    """GIVEN the bundled list WHEN each entry, padded to the minimum length with digits, is checked THEN refused
    (a brute-force pass over the whole list, not a sample)."""
    from compliance.passwords import MIN_PASSWORD_CHARS, common_passwords

    listed = common_passwords()
    assert len(listed) >= 5000
    for entry in listed:
        padded = entry + "1234567890"[: max(0, MIN_PASSWORD_CHARS - len(entry))]
        with pytest.raises(BadInput):
            check_password(padded, "someone")


def test_strong_passwords_pass(store: Any) -> None:
    for password in (PASSWORD, OTHER_STRONG_PASSWORD, "绿色的山和蓝色的海洋很美丽", "Tr0ub4dor&3-horse"):
        assert check_password(password, "alice") == password


class CountingHasher:
    """The real argon2 hasher, counting verifications (the expensive step a refusal must not skip)."""

    def __init__(self, real: Any) -> None:
        self.real, self.verifications = real, 0

    def verify(self, hash_: str, password: str) -> bool:
        self.verifications += 1
        return self.real.verify(hash_, password)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


REFUSALS = [
    ("unknown", lambda store: None, "nobody", PASSWORD),
    ("wrong-password", lambda store: None, "v", OTHER_STRONG_PASSWORD),
    ("disabled-right-password", lambda store: acc.set_disabled(store, "v", True, actor="root"), "v", PASSWORD),
    (
        "disabled-wrong-password",
        lambda store: acc.set_disabled(store, "v", True, actor="root"),
        "v",
        OTHER_STRONG_PASSWORD,
    ),
    (
        "locked-right-password",
        lambda store: store.put_record(
            "accounts", "v", {**store.get_record("accounts", "v"), "locked_until_ms": NOW + 10 * MIN}
        ),
        "v",
        PASSWORD,
    ),
]


@pytest.mark.slow  # over a second: make test, not make test-fast
@pytest.mark.parametrize("prepare,name,password", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_every_refused_login_answers_the_same_after_the_same_work(
    store: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, prepare: Any, name: str, password: str
) -> None:
    """GIVEN an unknown, wrong-password, disabled or locked login WHEN it is tried THEN the same message as a
    wrong password, exactly one argon2 verification (comparable work), and the real reason in the audit trail."""
    acc.create_account(store, "root", "super", PASSWORD)
    acc.create_account(store, "v", "viewer", PASSWORD, [1])
    prepare(store)
    counting = CountingHasher(acc._hasher)
    monkeypatch.setattr(acc, "_hasher", counting)
    with pytest.raises(AuthenticationFailed) as refused:
        acc.authenticate(store, name, password, now=NOW, settings=settings)
    assert str(refused.value) == acc.WRONG_LOGIN
    assert counting.verifications == 1
    why = audit.list_entries(store, action="login_failed")[0]["details"]["why"]
    assert why in {"unknown account", "wrong password", "disabled", "locked"}


@pytest.mark.parametrize(
    "password,message",
    [("password", "too short"), ("Password2024!", "common passwords"), ("carol-carol-2031", "account name")],
    ids=["short", "common", "name"],
)
def test_cli_refuses_a_weak_password_on_add_and_passwd_in_one_line(tmp_path: Path, password: str, message: str) -> None:
    """GIVEN the CLI WHEN an account is created or its password changed with a weak one THEN exit 2 with one
    line naming the rule, and the account keeps working with its old password."""
    from tests.helpers import cli

    data = tmp_path / "data"
    refused = cli(
        "accounts",
        "add",
        "carol",
        "--role",
        "viewer",
        "--password-env",
        "PW",
        data=data,
        expect=2,
        env={"PW": password},
    )
    assert message in refused.stderr and refused.stderr.count("\n") == 1
    cli("accounts", "add", "carol", "--role", "viewer", "--password-env", "PW", data=data, env={"PW": PASSWORD})
    refused = cli("accounts", "passwd", "carol", "--password-env", "PW", data=data, expect=2, env={"PW": password})
    assert message in refused.stderr
    assert [a["name"] for a in cli("accounts", "list", data=data)["accounts"]] == ["carol"]
