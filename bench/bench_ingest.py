"""End-to-end ingest throughput against the RSA decryption limit, measured in the same run.

    .venv/bin/python bench/bench_ingest.py --messages 20000

Simulates an archive (cached under bench/out/), pulls it into a fresh embedded store
(source → decrypt → normalize → analyze → match → store, media fetching off) and prints
messages/s, the time per stage, peak RSS, and the ratio to ``openssl speed -multi N
rsa2048`` private-key operations per second (the ceiling: every message needs one RSA
private-key operation). Target (issue 3): ≥ 75 % of the openssl figure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzers.rules.files import load_starter_pack  # noqa: E402
from chatarchive.archive import Archive  # noqa: E402
from compliance.rulestore import save_rule  # noqa: E402
from indexer.pipeline import Pipeline  # noqa: E402
from indexer.source import open_source  # noqa: E402
from indexer.source.simulator import simulate  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def openssl_private_ops(seconds: int, cores: int) -> float:
    """RSA-2048 private operations per second across ``cores`` (openssl's 'sign/s')."""
    cmd = ["openssl", "speed", "-seconds", str(seconds), "-multi", str(cores), "rsa2048"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*rsa\s+2048 bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+[\d.]+", line)
        if m:
            return float(m.group(1))
    raise RuntimeError(f"cannot parse openssl speed output:\n{out}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0, help="decryption threads (0: one per core)")
    parser.add_argument("--openssl-seconds", type=int, default=3)
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    archive_dir = OUT / f"ingest-{args.messages}-{args.seed}"
    if not (archive_dir / "sim.json").exists():
        shutil.rmtree(archive_dir, ignore_errors=True)
        print(f"simulating {args.messages} messages into {archive_dir} ...", file=sys.stderr)
        simulate(archive_dir, args.messages, seed=args.seed, days=30, transient_fault_rate=0.0)

    limit = openssl_private_ops(args.openssl_seconds, cores)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive.open(data=tmp, media=False)
        for rule in load_starter_pack():
            save_rule(archive.store, rule, "bench")
        pipeline = Pipeline(archive, open_source(f"sim:{archive_dir}"), workers=args.workers)
        started = time.perf_counter()
        result = pipeline.run()
        seconds = time.perf_counter() - started
        pipeline.close()
        index_bytes = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        archive.close()
    rate = result.pulled / seconds
    after = openssl_private_ops(args.openssl_seconds, cores)

    print(
        f"\n## Ingest: {result.pulled} records, {cores} cores, "
        f"{pipeline.decryptor.workers if pipeline.decryptor else 0} decrypt threads\n"
    )
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| ingest (msgs/s) | {rate:,.0f} |")
    print(f"| openssl rsa2048 private ops/s, -multi {cores} (before / after) | {limit:,.0f} / {after:,.0f} |")
    print(f"| ratio ingest / openssl (mean of before and after) | {rate / ((limit + after) / 2):.2f} |")
    print(f"| peak RSS (MB) | {peak_rss_mb():,.0f} |")
    print(f"| store size on disk per message (bytes) | {index_bytes / max(result.stored, 1):,.0f} |")
    print(f"| violations flagged | {result.violations} |")
    print("\n| stage | seconds | µs per message | share |")
    print("| --- | ---: | ---: | ---: |")
    total = sum(pipeline.timings.values())
    for stage, secs in sorted(pipeline.timings.items(), key=lambda kv: -kv[1]):
        print(f"| {stage} | {secs:.2f} | {secs / result.pulled * 1e6:,.0f} | {secs / total:.0%} |")
    print(f"| (wall clock) | {seconds:.2f} | {seconds / result.pulled * 1e6:,.0f} | |")


if __name__ == "__main__":
    main()
