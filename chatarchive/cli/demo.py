"""``chatarchive demo``: a fresh machine's one command.

Simulates an archive (if there is none yet), registers its keys, installs the starter
rules, serves the simulated WeCom server APIs over HTTP and syncs the directory through them
(``wecom.demo_setup``), pulls everything, fetches media, creates the first administrator, prints the
login, keeps the scheduler pulling in the background and serves the dashboard.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from tqdm import tqdm

from analyzers.rules.files import load_starter_pack
from chatarchive import actions
from chatarchive.cli import CliContext, pass_cli
from chatarchive.cli.serve import serve_dashboard
from chatarchive.scheduler import start_background
from compliance.accounts import ensure_demo_admin
from compliance.rulestore import list_rules
from indexer.media import MediaFetcher
from indexer.pipeline import Pipeline
from indexer.source import open_source
from indexer.source.simulator import simulate
from wecom.demo_setup import start_simulated_wecom, sync_and_route_alerts


def prepare_demo(cli: CliContext, archive_dir: Path, messages: int, seed: int) -> dict[str, object]:
    archive = cli.archive
    if not (archive_dir / "sim.json").exists():
        with tqdm(total=messages, unit="msg", desc="simulate", dynamic_ncols=True) as bar:
            simulate(
                archive_dir,
                messages,
                seed=seed,
                days=21,
                fault_rate=0.002,
                end=dt.date.today(),
                progress=lambda n: bar.update(n - bar.n),
            )
    store = archive.store
    if not list_rules(store):
        actions.save_rules(archive, load_starter_pack())
    wecom = start_simulated_wecom(archive, archive_dir)  # the organisation, consent and alerts over HTTP
    sync_and_route_alerts(archive)
    source = open_source(f"sim:{archive_dir}", archive.settings)
    pipeline = Pipeline(archive, source)
    try:
        with tqdm(unit="msg", desc="pull", dynamic_ncols=True) as bar:
            result = pipeline.run(progress=lambda step: bar.update(step.pulled))
        media = MediaFetcher(store, source, archive.settings.data_dir / "media").fetch_pending(limit=300, deadline_s=60)
    finally:
        pipeline.close()
        source.close()
    sync_and_route_alerts(archive)  # again: the internal groups and robots the pull saw
    login_file = archive.settings.data_dir / "demo-login.txt"
    login = ensure_demo_admin(store, login_file)
    # The password is shown only by the run that created the account; later runs point to the file.
    user, password = login if login else ("(an existing account)", f"(not shown again; see {login_file})")
    return {
        "pull": result.to_contract(),
        "media": media,
        "login": {"user": user, "password": password},
        "wecom_sim": wecom.url,
    }


@click.command("demo")
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-archive"),
    help="Where the simulated archive lives (created if missing).",
)
@click.option("--messages", type=click.IntRange(min=100), default=20000, help="Size of the simulated archive.")
@click.option("--seed", type=int, default=42)
@click.option("--port", type=int, default=8501)
@click.option("--no-serve", is_flag=True, help="Prepare everything but do not start the dashboard.")
@pass_cli
def demo_cmd(cli: CliContext, archive_dir: Path, messages: int, seed: int, port: int, no_serve: bool) -> None:
    """Simulate → pull → dashboard on http://localhost:8501, with the demo login printed."""
    info = prepare_demo(cli, archive_dir, messages, seed)
    login = info["login"]
    pulled = info["pull"]
    banner = (
        "\n"
        "  chatarchive demo is ready\n"
        f"  archive: {pulled['stored']} messages stored, {pulled['violations']} violations, "
        f"{pulled['deadletter']} dead letters (planted faults)\n"
        f"  dashboard: http://localhost:{port}\n"
        f"  WeCom (simulated server APIs): {info['wecom_sim']}  (alerts it received: /_sim/sent)\n"
        f"  login:     user {login['user']}   password {login['password']}\n"  # type: ignore[index]
    )
    if cli.json_output:
        cli.emit(info)
    click.echo(banner, err=cli.json_output)
    if no_serve:
        return
    start_background(cli.archive, f"sim:{archive_dir}")
    serve_dashboard(cli.archive.settings, port=port)


COMMANDS = [demo_cmd]
