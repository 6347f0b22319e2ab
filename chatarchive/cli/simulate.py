"""``chatarchive simulate``: write a simulated WeCom archive (see CONTRACT.md)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from tqdm import tqdm

from chatarchive.cli import CliContext, pass_cli
from core.errors import BadInput
from indexer.source.simulator import DEFAULT_END, simulate


def _parse_end(value: str) -> dt.date:
    if value == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--end: {value!r} is not a date (YYYY-MM-DD or 'today')") from None


@click.command("simulate")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory to create (must not exist or be empty).",
)
@click.option("--messages", type=int, required=True, help="Number of messages.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same content.")
@click.option("--employees", type=int, default=30, show_default=True, help="Employees in the organisation.")
@click.option("--days", type=int, default=14, show_default=True, help="Days the archive spans.")
@click.option(
    "--end",
    "end",
    default=DEFAULT_END.isoformat(),
    show_default=True,
    help="The archive covers the --days days before this date (00:00 Asia/Shanghai); 'today' for the demo.",
)
@click.option(
    "--fault-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of deliberately broken records (bad base64, truncated, bad JSON, duplicates, a lost key).",
)
@click.option(
    "--transient-fault-rate",
    type=float,
    default=None,
    help="Probability that a GetChatData call fails with 10001 (default: the fault rate, at most 0.2).",
)
@click.option(
    "--window-days",
    type=int,
    default=0,
    show_default=True,
    help="Serve only the last N days, like WeCom's retention window (0 = everything).",
)
@pass_cli
def simulate_command(
    cli: CliContext,
    out: str,
    messages: int,
    seed: int,
    employees: int,
    days: int,
    end: str,
    fault_rate: float,
    transient_fault_rate: float | None,
    window_days: int,
) -> None:
    """Write a simulated, encrypted WeCom archive with its keys, organisation and ground truth."""
    end_date = _parse_end(end)
    bar = tqdm(total=messages, file=sys.stderr, unit="msg", desc="simulate", disable=None, mininterval=0.5)
    step = 500

    def progress(done: int) -> None:
        if done % step == 0 or done == messages:
            bar.update(done - bar.n)

    try:
        summary = simulate(
            Path(out),
            messages,
            seed=seed,
            employees=employees,
            days=days,
            end=end_date,
            fault_rate=fault_rate,
            transient_fault_rate=transient_fault_rate,
            window_days=window_days,
            progress=progress,
        )
    finally:
        bar.close()
    human = (
        f"wrote {summary.messages} messages (seq 1..{summary.seq_max}, key versions "
        f"{', '.join(map(str, summary.key_versions))}, {summary.faults} broken records, "
        f"{summary.media_files} media files) to {out}"
    )
    cli.emit(summary.to_json(), human)


COMMANDS = [simulate_command]
