"""``audit verify`` and ``audit anchor``: the evidence commands (the logic is in
``compliance.evidence`` and ``compliance.anchor``; these parse, call and print)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chatarchive.cli import CliContext, pass_cli
from compliance import anchor as anchors
from compliance import audit as audit_trail
from compliance.evidence import human_report, verify_archive
from core.errors import IntegrityError


def run_verify(cli: CliContext, anchor_file: Path | None) -> None:
    archive = cli.archive
    anchor = anchors.read_anchor(anchor_file) if anchor_file else None
    keys = anchors.load_keys(archive.settings) if anchor is not None else None
    report = verify_archive(archive.store, tz=archive.settings.timezone, anchor=anchor, keys=keys)
    cli.emit(report.to_dict(), lambda: human_report(report))
    if not report.ok:
        raise IntegrityError(f"integrity check failed: {report.problems[0]}")


@click.command("anchor")
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the signed anchor to this new file (write-once storage); default: print it.",
)
@pass_cli
def audit_anchor(cli: CliContext, out: Path | None) -> None:
    """Signs the current heads of the audit trail and the evidence ledger with the anchor key
    (anchor_key_file or CHATARCHIVE_ANCHOR_KEY, kept outside the data directory). Keep the
    file elsewhere; `audit verify --anchor FILE` later proves the archive still extends it."""
    archive = cli.archive
    key = anchors.load_keys(archive.settings)[0]
    anchor = anchors.make_anchor(archive.store, key, backend=archive.store.backend_name)
    if out is not None:
        anchors.write_anchor(anchor, out)
    audit_trail.record(
        archive.store,
        archive.actor,
        "anchor",
        str(out or "-"),
        {"audit_seq": anchor["audit"]["seq"], "ledger_seq": anchor["ledger"]["seq"], "key_id": anchor["key_id"]},
    )
    if out is None:
        click.echo(json.dumps(anchor, ensure_ascii=False))
        return
    cli.emit(
        {**anchor, "file": str(out)},
        f"anchored audit seq {anchor['audit']['seq']} and ledger seq {anchor['ledger']['seq']} in {out} "
        f"(key {anchor['key_id']})",
    )
