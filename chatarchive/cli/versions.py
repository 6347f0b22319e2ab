"""``chatarchive versions MSGID``: every content a msgid arrived with (indexer.redelivery).

The stored message is the first content received; re-deliveries with other content are kept
as versions and listed here, so an auditor sees that a record changed and what it said.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from chatarchive import actions
from chatarchive.cli import CliContext, pass_cli
from chatarchive.cli.search import _reader
from core.errors import BadInput
from indexer.redelivery import list_versions


@click.command("versions")
@click.argument("msgid")
@click.option("--as", "as_account", default=None, metavar="ACCOUNT", help="Read with this account's scope.")
@pass_cli
def versions_command(cli: CliContext, msgid: str, as_account: str | None) -> None:
    """The stored content of MSGID and every other content it was re-delivered with."""
    reader = _reader(cli, as_account, "view_conversation")
    found = cli.archive.store.get_messages([msgid], scope=reader.scope)
    if not found:
        raise BadInput(f"no message {msgid!r} (or it is outside the scope)")
    stored = found[0]
    others = [
        {"raw": v["raw"], "raw_sha256": v["raw_sha256"], "seq": v["seq"], "received_ms": v["received_ms"]}
        for v in list_versions(cli.archive.store, msgid)
    ]
    actions.record(reader, "view_conversation", msgid, {"view": "versions", "versions": len(others)})
    data = {
        "msgid": msgid,
        "stored": {"raw": stored.raw, "raw_sha256": stored.raw_sha256, "seq": stored.seq},
        "versions": others,
    }

    def human() -> str:
        rows = [f"stored  {stored.raw_sha256[:12]}  {stored.raw}"]
        for v in others:
            when = datetime.fromtimestamp(v["received_ms"] / 1000, UTC).isoformat(timespec="seconds")
            rows.append(f"version {v['raw_sha256'][:12]}  received {when}  {v['raw']}")
        return "\n".join(rows)

    cli.emit(data, human)


COMMANDS = [versions_command]
