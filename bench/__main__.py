"""``make bench``: every benchmark at its quick default size, one after another.

Each script prints its own table (and, where a peer or a limit exists, the ratio to it
measured in the same run). The figures in docs/benchmarks.md come from the commands
written there, often at larger sizes than these defaults.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

QUICK = [
    ("bench_decrypt.py", []),
    ("bench_simulate.py", ["--sizes", "10000"]),
    ("bench_ingest.py", ["--messages", "20000"]),
    ("bench_rules.py", []),
    ("bench_search.py", ["--messages", "100000", "--runs", "20"]),
    ("bench_integrity.py", []),
    ("bench_logins.py", []),
    ("bench_sentiment.py", []),
    ("bench_reports.py", ["--build", "100000"]),
    ("bench_dashboard.py", ["--messages", "100000"]),
    ("bench_scale.py", ["--messages", "100000", "--runs", "20", "--workers", "2"]),
]


def main() -> int:
    failed = []
    for script, args in QUICK:
        print(f"\n===== {script} {' '.join(args)}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / script), *args], cwd=HERE.parent)
        if code:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
