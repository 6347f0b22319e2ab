"""Commands of the compliance backbone: accounts, the audit trail, exports, retention,
legal holds and consent. The logic lives in ``compliance``; these commands parse, call
and print."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from chatarchive import actions
from chatarchive.cli import CliContext, pass_cli
from chatarchive.cli.evidence import audit_anchor, run_verify
from compliance import accounts as acc
from compliance import audit as audit_trail
from compliance import consent as consent_mod
from compliance import retention
from compliance.access import ROLES
from core import clock
from core.errors import BadInput


def _password(env_var: str | None, *, confirm: bool = True) -> str:
    """From the named environment variable, else a hidden prompt on a terminal."""
    if env_var:
        value = os.environ.get(env_var, "")
        if not value:
            raise BadInput(f"environment variable {env_var} is not set or empty")
        return value
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True)
    raise BadInput("no password: give --password-env VAR or run in a terminal to be prompted")


def _local(ms: int, cli: CliContext) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(cli.archive.settings.timezone)).isoformat(timespec="seconds")


# --- accounts ----------------------------------------------------------------------------------


@click.group("accounts")
def accounts_group() -> None:
    """Dashboard accounts: roles, scopes, passwords."""


@accounts_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="super | auditor | rule-editor | viewer")
@click.option("--scope-dept", "scope_depts", multiple=True, help="Department id (with sub-departments); repeatable.")
@click.option("--scope-user", "scope_users", multiple=True, help="Employee userid; repeatable.")
@click.option("--password-env", default=None, metavar="VAR", help="Read the password from this environment variable.")
@pass_cli
def accounts_add(
    cli: CliContext,
    name: str,
    role: str,
    scope_depts: tuple[str, ...],
    scope_users: tuple[str, ...],
    password_env: str | None,
) -> None:
    """Creates an account. A scope limits every read to those departments and employees;
    an auditor without a scope sees nothing."""
    password = _password(password_env)
    view = acc.create_account(
        cli.archive.store, name, role, password, scope_depts, scope_users, actor=cli.archive.actor
    )
    cli.emit(
        {"name": view["name"], "role": view["role"], "scope": view["scope"]},
        f"created {view['name']} ({view['role']}, scope {_scope_text(view['scope'], view['role'])})",
    )


def _scope_text(scope: dict[str, Any], role: str) -> str:
    if role == "super":
        return "everything"
    parts = [f"dept {d}" for d in scope.get("departments") or []] + list(scope.get("users") or [])
    return ", ".join(parts) or "nothing"


@accounts_group.command("list")
@pass_cli
def accounts_list(cli: CliContext) -> None:
    """Lists accounts (never their password hashes)."""
    rows = acc.list_accounts(cli.archive.store)

    def human() -> str:
        lines = [f"{'name':<20} {'role':<12} {'state':<9} scope"]
        for r in rows:
            state = "disabled" if r["disabled"] else ("locked" if r["locked_until_ms"] > clock.now_ms() else "active")
            lines.append(f"{r['name']:<20} {r['role']:<12} {state:<9} {_scope_text(r['scope'], r['role'])}")
        return "\n".join(lines)

    cli.emit({"accounts": rows}, human)


@accounts_group.command("passwd")
@click.argument("name")
@click.option(
    "--password-env", default=None, metavar="VAR", help="Read the new password from this environment variable."
)
@pass_cli
def accounts_passwd(cli: CliContext, name: str, password_env: str | None) -> None:
    """Sets a new password (ends the account's sessions and lifts a lockout)."""
    if acc.get_account(cli.archive.store, name) is None:
        raise BadInput(f"no account named {name!r}")
    acc.change_password(cli.archive.store, name, _password(password_env), actor=cli.archive.actor)
    cli.emit({"name": name, "changed": True}, f"password of {name} changed")


@accounts_group.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Re-enable a disabled account instead.")
@pass_cli
def accounts_disable(cli: CliContext, name: str, enable: bool) -> None:
    """Disables an account (its sessions end at once)."""
    acc.set_disabled(cli.archive.store, name, not enable, actor=cli.archive.actor)
    cli.emit({"name": name, "disabled": not enable}, f"{name} {'enabled' if enable else 'disabled'}")


# --- audit -----------------------------------------------------------------------------------


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail."""


@audit_group.command("list")
@click.option("--actor", default=None, help="Only this account (or cli:USER, system).")
@click.option("--action", default=None, type=click.Choice(sorted(audit_trail.ACTIONS)))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@pass_cli
def audit_list(cli: CliContext, actor: str | None, action: str | None, limit: int) -> None:
    """The newest entries first."""
    rows = audit_trail.list_entries(cli.archive.store, actor=actor, action=action, limit=limit)

    def human() -> str:
        lines = []
        for r in rows:
            reason = f"  reason: {r['reason']}" if r.get("reason") else ""
            lines.append(
                f"{r['seq']:>6} {_local(r['time_ms'], cli)} {r['actor']:<16} {r['action']:<18} {r['target']}{reason}"
            )
        return "\n".join(lines) or "(no entries)"

    cli.emit({"entries": rows}, human)


@audit_group.command("verify")
@click.option(
    "--anchor",
    "anchor_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also prove the archive still extends this signed anchor (from `audit anchor`).",
)
@pass_cli
def audit_verify(cli: CliContext, anchor_file: Path | None) -> None:
    """Checks the audit trail, every message, violation, dead letter and rule version against the
    evidence ledger, review statuses against their audited events and, with --anchor, the
    signed heads. Exit status 1 names the first problem. Writes nothing."""
    run_verify(cli, anchor_file)


audit_group.add_command(audit_anchor)


# --- export ----------------------------------------------------------------------------------


@click.command("export")
@click.argument("query")
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "xlsx", "jsonl"]))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reason", required=True, help="Why these messages are exported (recorded in the audit trail).")
@click.option("--as", "as_account", default=None, metavar="ACCOUNT", help="Export with this account's role and scope.")
@click.option(
    "--headers",
    type=click.Choice(["en", "zh"]),
    default="en",
    show_default=True,
    help="Heading row of csv/xlsx: the field names (en: msgid, seq, time, ...; what scripts read), or Chinese "
    "(zh: what the dashboard's download has).",
)
@pass_cli
def export_command(
    cli: CliContext, query: str, fmt: str, out: Path, reason: str, as_account: str | None, headers: str
) -> None:
    """Exports search results to FILE plus FILE.manifest.json (count, sha256, who, when,
    query, reason and each message's msgid and raw_sha256)."""
    audit_trail.require_reason(reason)
    archive = actions.act_as(cli.archive, as_account, "export") if as_account else cli.archive
    result = actions.export(archive, query, fmt, out, reason, headers=headers)
    cli.emit(
        {"count": result["count"], "sha256": result["sha256"]},
        f"exported {result['count']} message(s) to {result['file']} (sha256 {result['sha256']}); "
        f"manifest {result['manifest']}",
    )


# --- retention and legal holds -------------------------------------------------------------------


@click.group("retention")
def retention_group() -> None:
    """How long messages are kept, and the purge."""


def _policy_text(policy: retention.RetentionPolicy, minimum: int) -> str:
    keep = f"{policy.days} days" if policy.days else "forever"
    classes = ", ".join(f"{k}={v or 'forever'}" for k, v in sorted(policy.classes.items()))
    return (
        f"keep {keep}, then {policy.action}"
        + (f"; per class: {classes}" if classes else "")
        + f" (legal minimum {minimum} days)"
    )


@retention_group.command("show")
@pass_cli
def retention_show(cli: CliContext) -> None:
    """The policy, the legal minimum and the active holds."""
    store, settings = cli.archive.store, cli.archive.settings
    policy = retention.get_policy(store, settings)
    holds = retention.list_holds(store, active_only=True)
    data = {**policy.to_dict(), "minimum_days": settings.retention_minimum_days, "active_holds": len(holds)}
    cli.emit(data, lambda: _policy_text(policy, settings.retention_minimum_days) + f"; {len(holds)} active hold(s)")


def _parse_classes(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values:
        name, sep, days = value.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--class expects NAME=DAYS (or NAME= to remove), got {value!r}")
        out[name.strip()] = days.strip() if days.strip() else None
    return out


@retention_group.command("set")
@click.option("--days", type=int, default=None, help="Keep messages this many days (0 = forever).")
@click.option(
    "--action", type=click.Choice(list(retention.ACTIONS)), default=None, help="Delete or mask expired messages."
)
@click.option(
    "--class",
    "classes",
    multiple=True,
    metavar="NAME=DAYS",
    help=f"Per class ({', '.join(retention.CLASSES)}) or msgtype; NAME= removes it. Repeatable.",
)
@pass_cli
def retention_set(cli: CliContext, days: int | None, action: str | None, classes: tuple[str, ...]) -> None:
    """Changes the policy (refused if shorter than the legal minimum; nothing changes then)."""
    settings = cli.archive.settings
    policy = retention.set_policy(
        cli.archive.store, days, action, _parse_classes(classes), actor=cli.archive.actor, settings=settings
    )
    cli.emit(policy.to_dict(), _policy_text(policy, settings.retention_minimum_days))


@retention_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@pass_cli
def retention_purge(cli: CliContext, dry_run: bool) -> None:
    """Deletes (or masks) expired messages not under a legal hold; logged with counts."""
    result = retention.purge(cli.archive.store, dry_run=dry_run, actor=cli.archive.actor, settings=cli.archive.settings)
    data = result.to_dict()
    verb = "would purge" if dry_run else ("masked" if result.action == "mask" else "deleted")
    count = result.expired if dry_run else (result.masked or result.deleted)
    cli.emit(data, f"{verb} {count} message(s); {result.held} expired message(s) kept under legal hold")


@click.group("holds")
def holds_group() -> None:
    """Legal holds: an employee, a customer or a conversation exempt from purge."""


@holds_group.command("add")
@click.argument("kind", type=click.Choice(list(retention.HOLD_KINDS)))
@click.argument("value")
@click.option("--reason", required=True, help="Why (case number, request); recorded in the audit trail.")
@pass_cli
def holds_add(cli: CliContext, kind: str, value: str, reason: str) -> None:
    """Places a hold: KIND is employee (userid), customer (external id) or chat (chat id / roomid)."""
    hold = retention.add_hold(cli.archive.store, kind, value, reason, actor=cli.archive.actor)
    cli.emit(hold, f"hold {hold['id']} on {kind} {value}")


@holds_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include released holds.")
@pass_cli
def holds_list(cli: CliContext, show_all: bool) -> None:
    holds = retention.list_holds(cli.archive.store, active_only=not show_all)

    def human() -> str:
        lines = []
        for h in holds:
            state = "active" if h["active"] else f"released {_local(h['released_ms'], cli)} by {h['released_by']}"
            lines.append(f"{h['id']}  {h['kind']:<8} {h['value']:<34} {state}  ({h['reason']})")
        return "\n".join(lines) or "(no holds)"

    cli.emit({"holds": holds}, human)


@holds_group.command("release")
@click.argument("hold_id")
@click.option("--reason", required=True, help="Why the hold ends; recorded in the audit trail.")
@pass_cli
def holds_release(cli: CliContext, hold_id: str, reason: str) -> None:
    hold = retention.release_hold(cli.archive.store, hold_id, reason, actor=cli.archive.actor)
    cli.emit(hold, f"hold {hold_id} released")


# --- consent -----------------------------------------------------------------------------------


@click.group("consent")
def consent_group() -> None:
    """External contacts' agreement to archiving (agree/disagree events)."""


@consent_group.command("list")
@click.option("--status", type=click.Choice(list(consent_mod.EVENT_TYPES)), default=None)
@pass_cli
def consent_list(cli: CliContext, status: str | None) -> None:
    rows = consent_mod.list_consent(cli.archive.store, status)

    def human() -> str:
        return (
            "\n".join(
                f"{r['external']:<34} {r['status']:<9} with {r['employee'] or '-':<16} {_local(r['time_ms'], cli)}"
                for r in rows
            )
            or "(no consent events)"
        )

    cli.emit({"items": rows}, human)


@consent_group.command("show")
@click.argument("external_id")
@pass_cli
def consent_show(cli: CliContext, external_id: str) -> None:
    state = consent_mod.consent_status(cli.archive.store, external_id)
    cli.emit(state, f"{external_id}: {state['status']}")


COMMANDS = [accounts_group, audit_group, export_command, retention_group, holds_group, consent_group]
