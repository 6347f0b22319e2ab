"""Ingestion and service commands: init, pull, import, deadletter, run, demo."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from chatarchive.cli import CliContext, pass_cli
from chatarchive.scheduler import run_forever
from core.errors import BadInput
from indexer.pipeline import Pipeline, PullResult
from indexer.source import Source, open_source
from store import open_store


@click.command("init")
@pass_cli
def init_cmd(cli: CliContext) -> None:
    """Create the store, or migrate it to the current schema version (safe to repeat)."""
    store = open_store(cli.archive.settings)
    try:
        result = store.init()
    finally:
        store.close()
    cli.emit(result, lambda: f"{result['backend']} store at schema version {result['schema_version']}"
             + (" (migrated)" if result.get("migrated") else ""))


def _progress_bar(source: Source, start_seq: int) -> tqdm:
    total = source.seq_max()
    return tqdm(total=(total - start_seq) if total else None, unit="msg", desc="pull", file=sys.stderr,
                disable=not sys.stderr.isatty() and total is None, dynamic_ncols=True)


@click.command("pull")
@click.option("--source", "source_spec", required=True, help="sim:DIR (the simulator) or sdk:PATH_TO_SO (the vendor SDK).")
@click.option("--once", is_flag=True, help="Pull until caught up, then exit.")
@click.option("--follow", is_flag=True, help="Keep pulling every pull_interval seconds until interrupted.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after about this many records.")
@pass_cli
def pull_cmd(cli: CliContext, source_spec: str, once: bool, follow: bool, limit: int | None) -> None:
    """Pull from the checkpoint on: decrypt, normalize, analyze, match rules, store."""
    if once == follow:
        raise BadInput("give exactly one of --once or --follow")
    archive = cli.archive
    source = open_source(source_spec, archive.settings)
    try:
        pipeline = Pipeline(archive, source)
        total = PullResult(last_seq=archive.store.checkpoint())
        while True:
            bar = _progress_bar(source, archive.store.checkpoint())
            with bar:
                result = pipeline.run(limit=limit, progress=lambda step, bar=bar: bar.update(step.pulled))
            total.add(result)
            if once or (limit is not None and total.pulled >= limit):
                break
            time.sleep(archive.settings.pull_interval)
    except KeyboardInterrupt:
        cli.info("stopped")
    finally:
        source.close()
    data = total.to_contract()
    cli.emit(data, lambda: (f"pulled {data['pulled']}, stored {data['stored']}, dead letters {data['deadletter']}, "
                            f"violations {data['violations']}, last seq {data['last_seq']} in {data['seconds']} s"))


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_cli
def import_cmd(cli: CliContext, file: Path) -> None:
    """Import decrypted WeCom message JSON (one per line); idempotent by msgid."""
    pipeline = Pipeline.for_import(cli.archive)
    with file.open(encoding="utf-8") as f:
        counts = pipeline.import_lines(f)
    cli.emit(counts, lambda: ", ".join(f"{k} {v}" for k, v in counts.items()))


@click.group("deadletter")
def deadletter_group() -> None:
    """Records that could not be processed, with the reason."""


@deadletter_group.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=1000)
@pass_cli
def deadletter_list(cli: CliContext, limit: int) -> None:
    total, items = cli.archive.store.list_deadletters(limit=limit)
    data = {"total": total, "items": [{"seq": d.seq, "msgid": d.msgid, "reason": d.reason, "stage": d.stage,
                                       "key_version": d.key_version} for d in items]}
    cli.emit(data, lambda: "\n".join([f"{total} dead letters"] + [f"seq {d.seq}  {d.msgid}  [{d.stage}] {d.reason}" for d in items]))


@deadletter_group.command("replay")
@click.option("--source", "source_spec", default=None, help="The source whose DecryptData to use (default: settings.source).")
@pass_cli
def deadletter_replay(cli: CliContext, source_spec: str | None) -> None:
    """Retry every dead letter (e.g. after adding a missing private key)."""
    archive = cli.archive
    spec = source_spec or archive.settings.source
    if not spec:
        raise BadInput("give --source (sim:DIR or sdk:PATH) or set the `source` setting")
    source = open_source(spec, archive.settings)
    try:
        counts = Pipeline(archive, source).replay_deadletters()
    finally:
        source.close()
    cli.emit(counts, lambda: f"replayed {counts['replayed']} of {counts['deadletter']}; still failing {counts['failed']}")


@click.command("run")
@click.option("--source", "source_spec", default=None, help="sim:DIR or sdk:PATH (default: settings.source).")
@pass_cli
def run_cmd(cli: CliContext, source_spec: str | None) -> None:
    """The long-running scheduler: pulls on an interval, fetches media, applies retention."""
    spec = source_spec or cli.archive.settings.source
    if not spec:
        raise BadInput("give --source (sim:DIR or sdk:PATH) or set the `source` setting (CHATARCHIVE_SOURCE)")
    run_forever(cli.archive, spec)


COMMANDS = [init_cmd, pull_cmd, import_cmd, deadletter_group, run_cmd]
