"""The indexer's memory as the archive grows: RSS sampled every N batches during one pull.

    .venv/bin/python bench/ingest_memory.py --archive bench/out/ingest-100000-1 --every 10

Simulate the archive first (``chatarchive simulate --out DIR --messages N``) so its generation
is not in this process's peak. Prints (messages stored, RSS now, peak RSS) rows: a flat tail
means memory does not grow with the archive.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatarchive.archive import Archive  # noqa: E402
from indexer.pipeline import Pipeline  # noqa: E402
from indexer.source import open_source  # noqa: E402


def rss_mb() -> int:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--every", type=int, default=10, help="sample every N batches")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive.open(data=tmp, media=False)
        pipeline = Pipeline(archive, open_source(f"sim:{args.archive}"))
        state = {"batches": 0, "stored": 0}
        started = time.perf_counter()
        print("| messages stored | RSS now (MB) | peak RSS (MB) | msgs/s so far |")
        print("| ---: | ---: | ---: | ---: |", flush=True)

        def sample(step: object) -> None:
            state["batches"] += 1
            state["stored"] += step.stored  # type: ignore[attr-defined]
            if state["batches"] % args.every == 0:
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
                rate = state["stored"] / (time.perf_counter() - started)
                print(f"| {state['stored']:,} | {rss_mb()} | {peak} | {rate:,.0f} |", flush=True)

        pipeline.run(progress=sample)
        pipeline.close()
        archive.close()


if __name__ == "__main__":
    main()
