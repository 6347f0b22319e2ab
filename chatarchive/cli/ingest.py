"""Ingestion and service commands: init, pull, import, deadletter, run, demo."""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

import click
from tqdm import tqdm

from chatarchive.cli import CliContext, pass_cli
from chatarchive.scheduler import run_forever
from core.errors import BadInput, ReadOnlyStore
from indexer.imports import LineOrigin
from indexer.pipeline import Pipeline, PullResult
from indexer.source import Source, open_source
from store import is_read_only, open_store
from store.filelock import PULL_LOCK, exclusive
from store.filemodes import make_private_dir


@click.command("init")
@pass_cli
def init_cmd(cli: CliContext) -> None:
    """Create the store, or migrate it to the current schema version (safe to repeat)."""
    store = open_store(cli.archive.settings)
    bars: dict[str, tqdm] = {}
    try:
        result = store.init(progress=lambda what, done, total: _migration_progress(bars, what, done, total))
    finally:
        for bar in bars.values():
            bar.close()
        store.close()
    cli.emit(
        result,
        lambda: (
            f"{result['backend']} store at schema version {result['schema_version']}"
            + (" (migrated)" if result.get("migrated") else "")
        ),
    )


def _migration_progress(bars: dict[str, tqdm], what: str, done: int, total: int) -> None:
    """One progress bar per migrated index kind, on stderr (stdout stays the JSON result); in a
    log (no terminal: the compose indexer) a line every 30 s at most."""
    bar = bars.get(what)
    if bar is None:
        interval = 0.5 if sys.stderr.isatty() else 30.0
        bar = bars[what] = tqdm(
            total=total or None, unit="doc", desc=f"migrate {what}", file=sys.stderr, mininterval=interval
        )
    if total and bar.total != total:
        bar.total = total
    bar.update(done - bar.n)


def _progress_bar(source: Source, start_seq: int) -> tqdm:
    total = source.seq_max()
    return tqdm(
        total=(total - start_seq) if total else None,
        unit="msg",
        desc="pull",
        file=sys.stderr,
        disable=not sys.stderr.isatty() and total is None,
        dynamic_ncols=True,
    )


@click.command("pull")
@click.option(
    "--source", "source_spec", required=True, help="sim:DIR (the simulator) or sdk:PATH_TO_SO (the vendor SDK)."
)
@click.option("--once", is_flag=True, help="Pull until caught up, then exit.")
@click.option("--follow", is_flag=True, help="Keep pulling every pull_interval seconds until interrupted.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after about this many records.")
@pass_cli
def pull_cmd(cli: CliContext, source_spec: str, once: bool, follow: bool, limit: int | None) -> None:
    """Pull from the checkpoint on: decrypt, normalize, analyze, match rules, store."""
    if once == follow:
        raise BadInput("give exactly one of --once or --follow")
    with _one_writer(cli, "pull"):
        total = _pull(cli, source_spec, once, limit)
    data = total.to_contract()
    cli.emit(
        data,
        lambda: (
            f"pulled {data['pulled']}, stored {data['stored']}, duplicates {data['duplicates']}, "
            f"dead letters {data['deadletter']}, "
            f"violations {data['violations']}, last seq {data['last_seq']} in {data['seconds']} s"
        ),
    )


def _one_writer(cli: CliContext, what: str) -> AbstractContextManager[None]:
    """One pull/run/import/replay per data directory: a second one is refused with a one-line message."""
    settings = cli.archive.settings
    if is_read_only(settings):
        raise ReadOnlyStore(f"{what} refused: {settings.data_dir} is opened read-only (an evidence copy)")
    return exclusive(make_private_dir(settings.data_dir), PULL_LOCK, what)


def _pull(cli: CliContext, source_spec: str, once: bool, limit: int | None) -> PullResult:
    archive = cli.archive
    total = PullResult(last_seq=archive.store.checkpoint())
    source = open_source(source_spec, archive.settings)
    try:
        pipeline = Pipeline(archive, source)
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
    return total


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_cli
def import_cmd(cli: CliContext, file: Path) -> None:
    """Import decrypted WeCom message JSON (one per line); idempotent by msgid."""
    with _one_writer(cli, "import"):
        pipeline = Pipeline.for_import(cli.archive)
        with file.open("rb") as f:  # bytes: a line that is not UTF-8 is one dead letter, not a failed import
            counts = pipeline.import_lines(f, origin=LineOrigin.of_file(file))
    cli.emit(counts, lambda: ", ".join(f"{k} {v}" for k, v in counts.items()))


@click.group("deadletter")
def deadletter_group() -> None:
    """Records that could not be processed, with the reason."""


def _position(record: dict[str, object]) -> dict[str, object]:
    """Where an imported line came from (file and line); pulled records have their seq."""
    return {"file": record["file"], "line": record["line"]} if "line" in record and "file" in record else {}


@deadletter_group.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=1000)
@pass_cli
def deadletter_list(cli: CliContext, limit: int) -> None:
    total, items = cli.archive.store.list_deadletters(limit=limit)
    data = {
        "total": total,
        "items": [
            {
                "seq": d.seq,
                "msgid": d.msgid,
                "reason": d.reason,
                "stage": d.stage,
                "key_version": d.key_version,
                **_position(d.record),
            }
            for d in items
        ],
    }
    cli.emit(
        data,
        lambda: "\n".join(
            [f"{total} dead letters"] + [f"seq {d.seq}  {d.msgid}  [{d.stage}] {d.reason}" for d in items]
        ),
    )


@deadletter_group.command("replay")
@click.option(
    "--source", "source_spec", default=None, help="The source whose DecryptData to use (default: settings.source)."
)
@pass_cli
def deadletter_replay(cli: CliContext, source_spec: str | None) -> None:
    """Retry every dead letter (e.g. after adding a missing private key)."""
    archive = cli.archive
    spec = source_spec or archive.settings.source
    if not spec:
        raise BadInput("give --source (sim:DIR or sdk:PATH) or set the `source` setting")
    source = open_source(spec, archive.settings)
    try:
        with _one_writer(cli, "deadletter replay"):
            counts = Pipeline(archive, source).replay_deadletters()
    finally:
        source.close()
    cli.emit(
        counts, lambda: f"replayed {counts['replayed']} of {counts['deadletter']}; still failing {counts['failed']}"
    )


@click.command("run")
@click.option("--source", "source_spec", default=None, help="sim:DIR or sdk:PATH (default: settings.source).")
@pass_cli
def run_cmd(cli: CliContext, source_spec: str | None) -> None:
    """The long-running scheduler: pulls on an interval, fetches media, applies retention."""
    spec = source_spec or cli.archive.settings.source
    if not spec:
        raise BadInput("give --source (sim:DIR or sdk:PATH) or set the `source` setting (CHATARCHIVE_SOURCE)")
    with _one_writer(cli, "run"):
        run_forever(cli.archive, spec)


COMMANDS = [init_cmd, pull_cmd, import_cmd, deadletter_group, run_cmd]
