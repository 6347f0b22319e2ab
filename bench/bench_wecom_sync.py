"""Directory sync over HTTP from ``wecom-sim``: API calls and seconds for a full and an incremental sync.

Simulates an organisation of ``--employees`` members (with its customers and groups), serves it with
``wecom-sim`` on loopback, imports the messages (so internal groups and consent pairs are known), then
runs ``sync_directory`` full and again incrementally. Calls are counted by the client; seconds are wall
time (loopback HTTP and the simulator share this machine, so they are an upper bound for the client).

Usage: .venv/bin/python bench/bench_wecom_sync.py [--employees 300] [--messages 3000]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatarchive.archive import Archive  # noqa: E402
from indexer.pipeline import Pipeline  # noqa: E402
from indexer.source.simulator.generate import simulate  # noqa: E402
from wecom.client import WeComClient  # noqa: E402
from wecom.sim_org import sim_settings, simulated_secrets  # noqa: E402
from wecom.sim_server import SimServer  # noqa: E402
from wecom.sync import sync_directory  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive_dir = Path(tmp) / "archive"
        simulate(archive_dir, args.messages, seed=1, employees=args.employees)
        server = SimServer(archive_dir)
        server.start_in_thread()
        archive = Archive.for_cli(data=str(Path(tmp) / "data"), **sim_settings(archive_dir, server.url))
        try:
            Pipeline.for_import(archive).import_lines((archive_dir / "truth.jsonl").open(encoding="utf-8"))
            for label, full in (("full", True), ("incremental", False)):
                client = WeComClient(server.corpid, simulated_secrets(archive_dir), server.url)
                started = time.perf_counter()
                counts = sync_directory(archive, client, full=full)
                seconds = time.perf_counter() - started
                by_api = collections.Counter(client.call_log).most_common(4)
                print(f"{label}: {seconds:.2f} s, {client.calls} calls {dict(by_api)}; {counts.to_contract()}")
        finally:
            archive.close()
            server.shutdown()


if __name__ == "__main__":
    main()
