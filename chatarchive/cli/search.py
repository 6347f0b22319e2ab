"""Search and review commands: ``search``, ``context``, ``stats`` (CONTRACT.md).

They parse options, resolve whose scope applies (``--as ACCOUNT`` reads with that
account's scope, via ``compliance.access``), call the store and print. Searches and
conversation views are written to the audit trail when the compliance layer is present.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from chatarchive import actions
from chatarchive.archive import Archive
from chatarchive.cli import CliContext, parse_time, pass_cli
from compliance import access
from core.errors import BadInput
from core.models import Message, MessageFilter, SearchRequest
from indexer.redelivery import count_versions

logger = logging.getLogger(__name__)

MAX_LIMIT = 10_000


def _reader(cli: CliContext, as_account: str | None, action: str) -> Archive:
    """Who reads: the operator (everything), or ``--as`` an account (its role and scope, with the
    operator recorded in the audit trail; an unknown or disabled account is an audited refusal)."""
    return actions.act_as(cli.archive, as_account, action) if as_account else cli.archive


def _local(ms: int, timezone: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).isoformat(timespec="seconds")


def message_summary(m: Message) -> dict[str, Any]:
    """A message in ``context --json``: the whole normalized message (raw evidence included)."""
    return m.to_dict()


@click.command("search")
@click.argument("query")
@click.option("--from", "time_from", default=None, help="From this time (ISO 8601 or epoch ms), inclusive.")
@click.option("--to", "time_to", default=None, help="Up to this time (ISO 8601 or epoch ms), exclusive.")
@click.option("--sender", "senders", multiple=True, help="Sender userid; repeatable.")
@click.option("--chat", "chats", multiple=True, help="Chat id (roomid or a|b); repeatable.")
@click.option("--msgtype", "msgtypes", multiple=True, help="Message type; repeatable.")
@click.option("--limit", default=20, show_default=True, type=int, help="How many hits to return.")
@click.option("--offset", default=0, type=int, help="Skip this many hits (paging).")
@click.option(
    "--sort", type=click.Choice(["time_desc", "time_asc", "relevance"]), default="time_desc", show_default=True
)
@click.option("--as", "as_account", default=None, metavar="ACCOUNT", help="Search with this account's scope.")
@pass_cli
def search_command(
    cli: CliContext,
    query: str,
    time_from: str | None,
    time_to: str | None,
    senders: tuple[str, ...],
    chats: tuple[str, ...],
    msgtypes: tuple[str, ...],
    limit: int,
    offset: int,
    sort: str,
    as_account: str | None,
) -> None:
    """Full-text search: "exact phrase", bare words (ANDed), OR, -word / NOT, parentheses.

    \b
    A bare word finds every message that contains it, exactly as the same word quoted:
    转账 finds 私下转账. Messages where it stands as a whole word rank higher (--sort relevance).
    =WORD is the whole-word operator: =验证 finds 验证一下 but not 验证码 (jieba's words).
    """
    if not 0 <= limit <= MAX_LIMIT:
        raise BadInput(f"--limit must be between 0 and {MAX_LIMIT}")
    if offset < 0:
        raise BadInput("--offset must not be negative")
    tz = cli.archive.settings.timezone
    filters = MessageFilter(
        time_from=parse_time(time_from, tz, "--from"),
        time_to=parse_time(time_to, tz, "--to"),
        senders=list(senders),
        chats=list(chats),
        msgtypes=list(msgtypes),
    )
    reader = _reader(cli, as_account, "search")
    request = SearchRequest(
        query=query,
        filters=filters,
        sort=sort,  # type: ignore[arg-type]  # click.Choice
        limit=limit,
        offset=offset,
    )
    result = actions.search(reader, request)
    data = {"total": result.total, "took_ms": result.took_ms, "hits": [h.to_contract() for h in result.hits]}

    def human() -> str:
        lines = [f"{result.total} messages ({result.took_ms:.1f} ms)"]
        for h in result.hits:
            text = h.highlight.replace("<mark>", "[").replace("</mark>", "]")
            lines.append(f"{_local(h.time_ms, tz)}  {h.sender} @ {h.chat_id}  [{h.msgtype}] {text}  ({h.msgid})")
        return "\n".join(lines)

    cli.emit(data, human)


@click.command("context")
@click.argument("msgid")
@click.option("--before", default=10, show_default=True, type=int)
@click.option("--after", default=10, show_default=True, type=int)
@click.option("--as", "as_account", default=None, metavar="ACCOUNT", help="Read with this account's scope.")
@click.option("--reason", default="", help="Why you need to see it (recorded in the audit trail).")
@pass_cli
def context_command(cli: CliContext, msgid: str, before: int, after: int, as_account: str | None, reason: str) -> None:
    """The conversation around one message (audited, with the reason when given)."""
    if before < 0 or after < 0 or before > MAX_LIMIT or after > MAX_LIMIT:
        raise BadInput(f"--before and --after must be between 0 and {MAX_LIMIT}")
    reader = _reader(cli, as_account, "view_conversation")
    messages = actions.view_context(reader, msgid, reason, before=before, after=after, reason_required=False)
    tz = cli.archive.settings.timezone

    def human() -> str:
        return "\n".join(
            f"{'>' if m.msgid == msgid else ' '} {_local(m.time_ms, tz)}  {m.sender}  [{m.msgtype}] {m.text}"
            for m in messages
        )

    cli.emit({"messages": [message_summary(m) for m in messages]}, human)


@click.command("stats")
@click.option("--as", "as_account", default=None, metavar="ACCOUNT", help="Count with this account's scope.")
@pass_cli
def stats_command(cli: CliContext, as_account: str | None) -> None:
    """What the store holds."""
    reader = _reader(cli, as_account, "search")
    if not access.allowed(reader, access.STATS):
        raise actions.deny(reader, "search", "stats", f"role {reader.role} may not see statistics")
    data = cli.archive.store.stats(scope=reader.scope)
    if reader.scope.all:  # re-delivered msgids with other content (indexer.redelivery); not scoped, so operators only
        data["versions"] = count_versions(cli.archive.store)

    def human() -> str:
        types = ", ".join(f"{k} {v}" for k, v in data["by_msgtype"].items()) or "-"
        return (
            f"messages {data['messages']}, violations {data['violations']}, dead letters {data['deadletter']}, "
            f"last seq {data['last_seq']}\nby type: {types}"
        )

    cli.emit(data, human)


COMMANDS = [search_command, context_command, stats_command]
