"""``chatarchive rules …`` and ``chatarchive violations list``: managing and testing the
sensitive rules, and listing what they flagged (shapes: ../shared/CONTRACT.md)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import click

from analyzers.rules.engine import RuleEngine
from analyzers.rules.files import STARTER_PACK, export_rules, keywords_rule, load_rules, parse_rules_text, validate_all
from chatarchive import actions
from chatarchive.cli import CliContext, parse_time, pass_cli
from compliance.rulestore import get_rule, list_rules, rule_history
from core import clock
from core.directory import Directory
from core.errors import BadInput
from core.models import Message, ViolationFilter
from core.settings import Settings


def _directory(cli: CliContext) -> Any:
    return Directory.from_dict(cli.archive.store.get_record("directory", "org"))


@click.group("rules")
def rules() -> None:
    """Sensitive rules: add, list, enable/disable, test, backtest, export, import keywords."""


@rules.command("add")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--starter", is_flag=True, help="Install the bundled starter pack.")
@pass_cli
def add_cmd(cli: CliContext, file: Path | None, starter: bool) -> None:
    """Adds (or edits, by name or id: a new version) the rules of FILE (JSON or YAML)."""
    if bool(file) == starter:
        raise BadInput("give a rule FILE or --starter (one of them)")
    path = STARTER_PACK if starter else file
    try:
        text = path.read_text(encoding="utf-8-sig")  # type: ignore[union-attr]
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot read: {e}") from None
    items = parse_rules_text(text, str(path))
    directory = _directory(cli)
    validate_all(items, directory=directory, source=str(path))  # one bad rule: nothing is saved
    # Rules without an id are identified by name, so adding the same file twice makes new versions.
    ids = [rule.id for rule in actions.save_rules(cli.archive, items, directory=directory)]
    cli.emit({"ids": ids}, f"saved {len(ids)} rule(s): {', '.join(ids)}")


@rules.command("list")
@click.option("--enabled-only", is_flag=True, help="Only enabled rules.")
@pass_cli
def list_cmd(cli: CliContext, enabled_only: bool) -> None:
    """Lists the rules (current versions)."""
    found = list_rules(cli.archive.store, enabled_only=enabled_only)

    def human() -> str:
        if not found:
            return "no rules (add some: chatarchive rules add --starter)"
        return "\n".join(
            f"{r.id}  v{r.version}  {'on ' if r.enabled else 'off'}  {r.severity:6}  {r.name}  [{r.category}]"
            for r in found
        )

    cli.emit({"rules": [r.to_dict() for r in found]}, human)


def _toggle(cli: CliContext, rule_id: str, enable: bool) -> None:
    rule = actions.set_rule_enabled(cli.archive, rule_id, enable)
    cli.emit(
        {"id": rule.id, "version": rule.version, "enabled": rule.enabled},
        f"rule {rule.id} ({rule.name}) {'enabled' if enable else 'disabled'} (version {rule.version})",
    )


@rules.command("disable")
@click.argument("rule_id")
@pass_cli
def disable_cmd(cli: CliContext, rule_id: str) -> None:
    """Disables a rule (a new version; history kept)."""
    _toggle(cli, rule_id, False)


@rules.command("enable")
@click.argument("rule_id")
@pass_cli
def enable_cmd(cli: CliContext, rule_id: str) -> None:
    """Enables a rule again (a new version)."""
    _toggle(cli, rule_id, True)


@rules.command("history")
@click.argument("rule_id")
@pass_cli
def history_cmd(cli: CliContext, rule_id: str) -> None:
    """Every version of a rule."""
    versions = rule_history(cli.archive.store, rule_id)
    cli.emit(
        {"versions": [v.to_dict() for v in versions]},
        lambda: "\n".join(f"v{v.version}  {v.updated_by}  {'on' if v.enabled else 'off'}  {v.name}" for v in versions),
    )


@rules.command("add-exception")
@click.argument("rule_id")
@click.argument("phrase")
@pass_cli
def add_exception_cmd(cli: CliContext, rule_id: str, phrase: str) -> None:
    """Adds PHRASE to a rule's allow-list (a false positive's context; a new version)."""
    rule = actions.add_rule_exception(cli.archive, rule_id, phrase)
    cli.emit({"id": rule.id, "version": rule.version, "allow": rule.allow}, f"rule {rule.id} now allows {phrase!r}")


@rules.command("test")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--text", required=True, help="The sample message text.")
@click.option("--msgtype", default="text", show_default=True)
@click.option("--sender", default="", help="Sender id: an employee userid, or an external wm… id.")
@click.option(
    "--chat-kind", type=click.Choice(["internal", "external", "group"]), default="external", show_default=True
)
@pass_cli
def test_cmd(cli: CliContext, file: Path, text: str, msgtype: str, sender: str, chat_kind: str) -> None:
    """Runs the rule(s) of FILE, not saved, on one sample message."""
    directory = Directory()
    data_dir = Settings(**cli.overrides).data_dir
    if data_dir.exists() and any(data_dir.iterdir()):  # an existing archive: use its organisation
        directory = _directory(cli)
    loaded = load_rules(file, directory=None)
    for r in loaded:
        r.enabled = True
    kind = directory.kind_of(sender) if sender else "employee"
    message = Message(
        msgid="test",
        seq=0,
        action="send",
        msgtype=msgtype,
        time_ms=clock.now_ms(),
        sender=sender or "tester",
        sender_kind=kind,
        receivers=[],
        roomid="",
        chat_id="test",
        chat_kind=chat_kind,
        text=text,
        raw=json.dumps({"msgtype": msgtype}),
        employees=[sender] if sender and kind == "employee" else [],
        departments=directory.departments_of(sender) if sender else [],
    )
    found = RuleEngine(loaded).match(message)
    matches = [
        {"rule": v.rule_id, "name": v.rule_name, "terms": v.terms, "spans": v.spans, "explanation": v.explanation}
        for v in found
    ]

    def human() -> str:
        if not found:
            return "no match"
        return "\n".join(f"{v.rule_name}: {v.explanation} spans {v.spans}" for v in found)

    cli.emit({"matched": bool(found), "matches": matches}, human)


@rules.command("backtest")
@click.argument("rule_id")
@click.option("--from", "time_from", default=None, help="ISO 8601 or epoch ms (inclusive).")
@click.option("--to", "time_to", default=None, help="ISO 8601 or epoch ms (exclusive).")
@click.option("--sample", default=20, show_default=True, type=click.IntRange(0, 1000))
@click.option(
    "--reason",
    default="",
    help="Show the sample texts (roles that may view messages), for this reason "
    "(recorded in the audit trail). Without it the samples are masked.",
)
@click.option(
    "--as", "as_account", default=None, metavar="ACCOUNT", help="Backtest with this account's role and scope."
)
@pass_cli
def backtest_cmd(
    cli: CliContext,
    rule_id: str,
    time_from: str | None,
    time_to: str | None,
    sample: int,
    reason: str,
    as_account: str | None,
) -> None:
    """What a stored rule would have flagged in the history: counts per day and samples with the
    rule's explanation, masked (only the matched words readable) unless --reason is given."""
    tz = cli.archive.settings.timezone
    t0, t1 = parse_time(time_from, tz, "--from"), parse_time(time_to, tz, "--to")
    archive = actions.act_as(cli.archive, as_account, "view_conversation") if as_account else cli.archive
    rule = get_rule(cli.archive.store, rule_id)
    result = actions.backtest_rule(archive, rule, t0, t1, sample=sample, reason=reason)

    def human() -> str:
        lines = [f"{result['total']} message(s) would be flagged by {rule.name}"]
        lines += [f"  {day}: {n}" for day, n in result["by_day"].items()]
        lines += [f"  {s['msgid']}: {_plain(s['text'])}" for s in result["sample"]]
        if result["sample"] and not result["texts_shown"]:
            lines.append("  (texts masked: give --reason to see them, if your role may view messages)")
        return "\n".join(lines)

    cli.emit(result, human)


def _plain(marked: str) -> str:
    """A sample's HTML (escaped, <mark>ed) as terminal text: hits in [brackets]."""
    return html.unescape(marked.replace("<mark>", "[").replace("</mark>", "]"))


@rules.command("export")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to this file.")
@pass_cli
def export_cmd(cli: CliContext, fmt: str, out: Path | None) -> None:
    """Exports every rule as a rule file (re-importable with `rules add`)."""
    found = list_rules(cli.archive.store)
    text = export_rules(found, fmt)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        cli.emit({"count": len(found), "out": str(out)}, f"exported {len(found)} rule(s) to {out}")
    else:
        cli.emit({"count": len(found), "rules": [r.to_file_dict() for r in found]}, text.rstrip("\n"))


@rules.command("import-keywords")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The rule's name (an existing rule gets a new version).")
@click.option("--category", default="", help="The rule's category.")
@click.option("--severity", type=click.Choice(["low", "medium", "high"]), default="medium", show_default=True)
@click.option("--pinyin", is_flag=True, help="Also match the keywords' pinyin.")
@pass_cli
def import_keywords_cmd(cli: CliContext, file: Path, name: str, category: str, severity: str, pinyin: bool) -> None:
    """Creates a keyword rule from a comma-separated keyword list (英文逗号“,”隔开; ，、; and lines work too)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{file}: cannot read: {e}") from None
    data = keywords_rule(name, text, category=category, severity=severity, pinyin=pinyin)
    rule = actions.save_rule(cli.archive, data)
    cli.emit(
        {"ids": [rule.id], "keywords": len(rule.keywords), "version": rule.version},
        f"rule {rule.id} ({rule.name}) v{rule.version}: {len(rule.keywords)} keywords",
    )


@click.group("violations")
def violations() -> None:
    """What the rules flagged."""


@violations.command("list")
@click.option("--rule", "rule_ids", multiple=True, help="Only this rule (repeatable).")
@click.option("--from", "time_from", default=None, help="ISO 8601 or epoch ms (inclusive).")
@click.option("--to", "time_to", default=None, help="ISO 8601 or epoch ms (exclusive).")
@click.option("--status", "statuses", multiple=True, help="unreviewed | confirmed | false_positive | escalated")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0))
@pass_cli
def violations_list_cmd(
    cli: CliContext,
    rule_ids: tuple[str, ...],
    time_from: str | None,
    time_to: str | None,
    statuses: tuple[str, ...],
    limit: int,
    offset: int,
) -> None:
    """Flagged messages, newest first."""
    tz = cli.archive.settings.timezone
    filters = ViolationFilter(
        rule_ids=list(rule_ids),
        statuses=list(statuses),
        time_from=parse_time(time_from, tz, "--from"),
        time_to=parse_time(time_to, tz, "--to"),
    )
    total, items = cli.archive.store.list_violations(filters, scope=cli.archive.scope, limit=limit, offset=offset)
    rows = []
    for v in items:
        row = v.to_dict()
        row["rule"] = v.rule_id
        row["time"] = v.time_ms
        rows.append(row)

    def human() -> str:
        lines = [f"{total} violation(s)"]
        lines += [f"{v.msgid}  {v.rule_name}  {v.severity}  {', '.join(v.terms)}  [{v.status}]" for v in items]
        return "\n".join(lines)

    cli.emit({"total": total, "items": rows}, human)


COMMANDS = [rules, violations]
