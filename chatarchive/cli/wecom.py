"""WeCom server-API commands: ``wecom-sim serve``, ``directory sync`` / ``import``, ``callbacks serve``."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path

import click

from chatarchive.archive import Archive
from chatarchive.cli import CliContext, pass_cli
from chatarchive.wecom_service import ArchiveEventSink, callback_server, pull_once, run_directory_sync
from core.errors import BadInput
from wecom.alerts import CHANNELS, MODES, Alerter, AlertRoute, routes, set_route
from wecom.sim_org import sim_settings
from wecom.sim_server import SimServer
from wecom.sync import SyncCounts, client_from_settings, import_directory, sync_directory


@click.group("wecom-sim")
def wecom_sim() -> None:
    """The WeCom server-API simulator (for demos and tests; never the real service)."""


@wecom_sim.command("serve")
@click.option(
    "--archive",
    "archive_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A simulated archive written by `chatarchive simulate`.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8400, show_default=True, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--token-ttl",
    type=click.IntRange(min=1),
    default=7200,
    show_default=True,
    help="Seconds an access_token stays valid.",
)
def serve_cmd(archive_dir: Path, port: int, host: str, token_ttl: int) -> None:
    """Serve the archive's organisation through WeCom's HTTP APIs (gettoken, department/*, user/*,
    externalcontact/*, msgaudit/*, message/send, webhook/send) until interrupted. Prints one JSON line:
    the URL and the settings (corp id, simulated secrets) that point the product at it."""
    if not (archive_dir / "org.json").exists() or not (archive_dir / "sim.json").exists():
        raise BadInput(f"{archive_dir} is not a simulated archive (no org.json / sim.json)")
    try:
        server = SimServer(archive_dir, host=host, port=port, token_ttl=token_ttl)
    except OSError as e:
        raise BadInput(f"cannot listen on {host}:{port}: {e.strerror}") from None
    click.echo(json.dumps({"url": server.url, "settings": sim_settings(archive_dir, server.url)}), nl=True)
    click.echo(f"wecom-sim serving {archive_dir} on {server.url} (Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()


@click.group("directory")
def directory_group() -> None:
    """The organisation (departments, employees, customers, groups, archive-enabled users, consent)."""


def _summary(counts: SyncCounts) -> str:
    c = counts.to_contract()
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in c.items())


@directory_group.command("sync")
@click.option(
    "--api",
    "api_url",
    default=None,
    help="WeCom API base URL (default: the wecom_api_url setting, else https://qyapi.weixin.qq.com).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Re-read every member's details (default: only what changed or is older than directory_full_sync_hours).",
)
@pass_cli
def sync_cmd(cli: CliContext, api_url: str | None, full: bool) -> None:
    """Read the organisation, customers, groups, archive-enabled users and consent from WeCom's server
    APIs into the store, keeping history (who left or moved stays resolvable). Secrets come from the
    settings: secret / secret_file (archive), wecom_contacts_secret, wecom_customer_secret."""
    archive = cli.archive
    counts = sync_directory(archive, client_from_settings(archive.settings, api_url), full=full)
    cli.emit(counts.to_contract(), lambda: "synced: " + _summary(counts))


@directory_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_cli
def import_cmd(cli: CliContext, file: Path) -> None:
    """Import the organisation from a JSON file (shape in docs/wecom.md), merged with history like a sync."""
    counts = import_directory(cli.archive, file)
    cli.emit(counts.to_contract(), lambda: "imported: " + _summary(counts))


@click.group("callbacks")
def callbacks_group() -> None:
    """WeCom's callbacks (接收事件服务器): URL verification, msgaudit_notify, change_* events."""


@callbacks_group.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Default: the callback_port setting.")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option(
    "--source",
    "source_spec",
    default=None,
    help="Pull from this source on msgaudit_notify "
    "(default: the source setting; none: notifications are only recorded).",
)
@pass_cli
def callbacks_serve_cmd(cli: CliContext, port: int | None, host: str, source_spec: str | None) -> None:
    """Receive WeCom callbacks until interrupted. Needs callback_token, callback_aes_key and corpid. Each
    callback is checked (signature, timestamp window, nonce replay) before anything is done with it."""
    archive = cli.archive
    lock = threading.Lock()
    spec = source_spec or archive.settings.source
    sink = ArchiveEventSink(
        archive, lambda: _pull_in_background(archive, spec, lock), lambda: run_directory_sync(archive, lock, full=True)
    )
    try:
        server = callback_server(archive, sink, host=host, port=port)
    except OSError as e:
        raise BadInput(f"cannot listen on {host}:{port}: {e.strerror}") from None
    cli.info(f"receiving WeCom callbacks on {server.url} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        cli.info("stopped")
    finally:
        server.server_close()


def _pull_in_background(archive: Archive, source_spec: str, lock: threading.Lock) -> None:
    if not source_spec:
        return
    threading.Thread(target=pull_once, args=(archive, source_spec, lock), name="notify-pull", daemon=True).start()


@click.group("alerts")
def alerts_group() -> None:
    """Alerts to reviewers when a rule fires (WeCom app message, group robot, e-mail)."""


@alerts_group.command("route")
@click.argument("rule")
@click.option("--mode", type=click.Choice(MODES), default="immediate", show_default=True)
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice(CHANNELS),
    help="app (message/send), webhook (group robot), email; repeatable. Default: app.",
)
@click.option("--reviewer", "reviewers", multiple=True, help="A reviewer's WeCom userid; repeatable.")
@click.option("--email", "emails", multiple=True, help="A reviewer's e-mail address; repeatable.")
@pass_cli
def alerts_route_cmd(
    cli: CliContext,
    rule: str,
    mode: str,
    channels: tuple[str, ...],
    reviewers: tuple[str, ...],
    emails: tuple[str, ...],
) -> None:
    """Who is told, how and when a RULE (a rule id, or * for every rule) fires."""
    route = AlertRoute(mode=mode, channels=list(channels) or ["app"], reviewers=list(reviewers), emails=list(emails))
    set_route(cli.archive, rule, route)
    cli.emit({"rule": rule, **asdict(route)}, f"alerts for {rule}: {mode} via {', '.join(route.channels)}")


@alerts_group.command("list")
@pass_cli
def alerts_list_cmd(cli: CliContext) -> None:
    """The alert routes."""
    table = {rule: asdict(route) for rule, route in routes(cli.archive).items()}
    cli.emit({"routes": table}, lambda: "\n".join(f"{k}: {v}" for k, v in table.items()) or "no alert routes")


@alerts_group.command("digest")
@pass_cli
def alerts_digest_cmd(cli: CliContext) -> None:
    """Send the pending digest (and alerts held back by a rate limit) now."""
    sent = Alerter.from_settings(cli.archive).send_digest()
    cli.emit({"sent": sent}, f"digest: {sent} violation(s) sent")


COMMANDS = [wecom_sim, directory_group, callbacks_group, alerts_group]
