"""The ``chatarchive`` command line (see ../shared/CONTRACT.md: a stable interface).

Each command group lives in its own module; this one holds the global options, the
``--json`` output convention and the translation of our errors into exit codes
(0 success, 1 failure, 2 bad usage or bad input, with a one-line message on stderr).
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from chatarchive.archive import Archive
from chatarchive.cli.failures import describe_failure, unexpected
from chatarchive.cli.options import hoist_global_options
from core.errors import BadInput, ChatArchiveError


@dataclass
class CliContext:
    overrides: dict[str, Any]
    json_output: bool
    _archive: Archive | None = None

    @property
    def archive(self) -> Archive:
        if self._archive is None:
            self._archive = Archive.for_cli(**self.overrides)
        return self._archive

    def emit(self, data: Any, human: str | Callable[[], str] | None = None) -> None:
        """Prints exactly one JSON document on stdout with --json, else the human text."""
        if self.json_output:
            click.echo(json.dumps(data, ensure_ascii=False, default=str))
        else:
            text = human() if callable(human) else human
            click.echo(text if text is not None else json.dumps(data, ensure_ascii=False, indent=2, default=str))

    def info(self, text: str) -> None:
        """Human progress text: always stderr, so stdout stays one JSON document."""
        click.echo(text, err=True)


pass_cli = click.make_pass_decorator(CliContext)


class ArchiveGroup(click.Group):
    """Turns our errors into the contract's exit codes and one-line messages."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Users type global options after the subcommand too (CONTRACT.md): move them in front.
        return super().parse_args(ctx, hoist_global_options(args))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BadInput as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(2)
        except ChatArchiveError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(1)
        except (click.exceptions.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as e:  # the disk, the database, a bug: one line, the traceback only with -v
            if ctx.params.get("verbose"):
                click.echo(traceback.format_exc().rstrip(), err=True)
            click.echo(f"error: {describe_failure(e) or unexpected(e)}", err=True)
            ctx.exit(1)
        finally:
            obj = ctx.find_object(CliContext)
            if obj is not None and obj._archive is not None:
                obj._archive.close()


@click.group(cls=ArchiveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data", type=click.Path(file_okay=False), default=None, help="Embedded store directory (env CHATARCHIVE_DATA)."
)
@click.option("--backend", type=click.Choice(["embedded", "elasticsearch"]), default=None)
@click.option("--es-url", default=None, help="Elasticsearch URL (env ES_URL).")
@click.option("--json", "json_output", is_flag=True, help="Print exactly one JSON document on stdout.")
@click.option("-v", "--verbose", count=True, help="More logging on stderr.")
@click.version_option(package_name="chatarchive")
@click.pass_context
def main(
    ctx: click.Context, data: str | None, backend: str | None, es_url: str | None, json_output: bool, verbose: int
) -> None:
    """Compliance archive for WeCom (企业微信) chat records."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("jieba").setLevel(logging.WARNING)
    overrides = {"data": data, "backend": backend, "es_url": es_url}
    ctx.obj = CliContext(overrides={k: v for k, v in overrides.items() if v is not None}, json_output=json_output)


def _register() -> None:
    """Adds every command module's commands (imported here: they import this module)."""
    for name in (
        "ingest",
        "simulate",
        "keys",
        "search",
        "rules",
        "accounts",
        "serve",
        "demo",
        "versions",
        "wecom",
        "es",
    ):
        module = importlib.import_module(f"chatarchive.cli.{name}")
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)


def parse_time(value: str | None, timezone: str, option: str) -> int | None:
    """``--from``/``--to``: ISO 8601 (a date, or a time with or without zone: the archive's
    zone) or epoch milliseconds, as the contract says."""
    if value is None or value == "":
        return None
    v = value.strip()
    if v.lstrip("-").isdigit():
        return int(v)
    try:
        when = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{option} {value!r}: not an ISO 8601 time or epoch milliseconds") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return int(when.timestamp() * 1000)


_register()
