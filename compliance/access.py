"""Roles, permissions and scopes: what an account may do and which messages it may see.

Scope is enforced by the store on every read (``scope=`` is a required argument of every
message and violation read); this module only decides which ``Scope`` an account gets
and whether its role allows an operation at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from core.directory import Directory
from core.errors import BadInput, PermissionDenied
from core.models import Scope

# Permissions, by name. Pages and commands ask for one of these with ``require``.
SEARCH = "search"
VIEW = "view"  # open a conversation / message context
EXPORT = "export"
REVIEW = "review"  # review workflow on violations
RULES = "rules"  # create, edit, disable rules
BACKTEST = "backtest"
STATS = "stats"  # statistics and dashboards (aggregates only)
ACCOUNTS = "accounts"
AUDIT = "audit"  # read the audit trail
SETTINGS = "settings"
RETENTION = "retention"
HOLDS = "holds"

PERMISSIONS: frozenset[str] = frozenset(
    {SEARCH, VIEW, EXPORT, REVIEW, RULES, BACKTEST, STATS, ACCOUNTS, AUDIT, SETTINGS, RETENTION, HOLDS}
)

ROLES: dict[str, frozenset[str]] = {
    "super": PERMISSIONS,
    "auditor": frozenset({SEARCH, VIEW, EXPORT, REVIEW, STATS}),
    "rule-editor": frozenset({RULES, BACKTEST, STATS}),
    "viewer": frozenset({STATS}),
}


class Actor(Protocol):
    """Anything that acts: a dashboard ``Session`` or a ``chatarchive.archive.Archive``."""

    @property
    def role(self) -> str: ...


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    return role


def allowed(subject: Actor, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission in ROLES.get(getattr(subject, "role", ""), frozenset())


def require(subject: Actor, permission: str) -> None:
    """Raises ``PermissionDenied`` unless the subject's role grants ``permission``."""
    if not allowed(subject, permission):
        who = getattr(subject, "account", None) or getattr(subject, "actor", None) or "this account"
        raise PermissionDenied(f"{who} (role {getattr(subject, 'role', '?')}) may not {permission}")


def scope_for(account: dict[str, Any]) -> Scope:
    """The scope of an account record. Super administrators see everything; every other
    role sees only its departments (with sub-departments) and users — and nothing at all
    when none are listed (least privilege: an empty scope is never "everything")."""
    if account.get("role") == "super":
        return Scope.everything()
    scope = account.get("scope") or {}
    return Scope.of(scope.get("departments") or (), scope.get("users") or ())


def parse_scope(departments: Iterable[Any] = (), users: Iterable[Any] = ()) -> tuple[list[int], list[str]]:
    """Normalizes a scope given by a user; malformed ids are a ``BadInput``."""
    depts: list[int] = []
    for d in departments:
        try:
            value = int(str(d).strip())
        except ValueError:
            raise BadInput(f"department id must be a number, got {d!r}") from None
        if value <= 0:
            raise BadInput(f"department id must be positive, got {d!r}")
        if value not in depts:
            depts.append(value)
    user_ids: list[str] = []
    for u in users:
        text = str(u).strip()
        if not text or any(c.isspace() for c in text):
            raise BadInput(f"malformed user id {u!r}")
        if text not in user_ids:
            user_ids.append(text)
    return sorted(depts), sorted(user_ids)


def validate_scope(departments: Iterable[int], users: Iterable[str], directory: Directory | None) -> None:
    """Unknown departments or employees are a ``BadInput`` when the organisation is known.

    ``directory`` is an ``core.directory.Directory``; without one (nothing imported
    yet) only the form of the ids is checked."""
    if directory is None or not (directory.departments or directory.employees):
        return
    known_depts = set(directory.department_names)
    unknown = [d for d in departments if d not in known_depts]
    if unknown:
        raise BadInput(f"unknown department(s): {', '.join(map(str, unknown))}")
    known_users = directory.employee_ids
    unknown_users = [u for u in users if u not in known_users]
    if unknown_users:
        raise BadInput(f"unknown employee(s): {', '.join(unknown_users)}")
