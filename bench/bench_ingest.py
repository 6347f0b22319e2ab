"""End-to-end ingest throughput against the RSA decryption limit, measured in the same run.

    .venv/bin/python bench/bench_ingest.py --messages 60000
    .venv/bin/python bench/bench_ingest.py --messages 60000 --modes processes,threads --cores 1,2

Simulates an archive (cached under bench/out/), pulls it into a fresh embedded store
(source → decrypt → normalize → analyze → match → store, starter rules on, media fetching
off) and prints messages/s, the ratio to ``openssl speed -multi N rsa2048`` private-key
operations per second on the same cores (the ceiling: every message needs one RSA
private-key operation), the time per stage and the CPU each message costs.

Modes: ``processes`` (worker processes decrypt, normalize and analyze; the main process
writes: ``indexer.workers``) and ``threads`` (RSA on threads, everything else on the main
thread). ``--cores`` pins the whole run (workers included) to that many cores, so the same
run shows how ingest scales with cores. Target (issue 17): ≥ 75 % of the openssl figure.

The CPU budget explains the ratio: with every core busy, ingest / openssl = RSA / (RSA +
the rest), where RSA is the CPU-µs of one private-key operation (measured by CPU time, so
load does not change it) and the rest is every other CPU-µs a message costs (the main
process's plus the workers'). "share of the ceiling" says how busy the run kept the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzers.rules.files import load_starter_pack  # noqa: E402
from bench.bench_decrypt import openssl_private_ops  # noqa: E402
from chatarchive.archive import Archive  # noqa: E402
from compliance.rulestore import save_rule  # noqa: E402
from indexer.pipeline import Pipeline  # noqa: E402
from indexer.source import open_source  # noqa: E402
from indexer.source.simulator import simulate  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
WORKER_CPU = "worker processes (CPU)"


def rsa_cpu_us(seconds: float = 1.0) -> float:
    """CPU-µs of one RSA-2048 private-key decryption (cryptography, as ingest does it), by CPU
    time: unlike openssl's operations per wall-clock second it does not change with load."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ciphertext = key.public_key().encrypt(b"k" * 32, padding.PKCS1v15())
    done, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        for _ in range(50):
            key.decrypt(ciphertext, padding.PKCS1v15())
        done += 50
    return (time.process_time() - started) / done * 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Run:
    mode: str
    cores: int
    pulled: int
    seconds: float
    main_cpu: float
    worker_cpu: float
    openssl: float  # mean of before and after, on the same cores
    rsa_us: float  # CPU-µs of one RSA private-key operation (rsa_cpu_us)
    violations: int
    store_bytes: int
    peak_rss_mb: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.pulled / self.seconds

    @property
    def cpu_us(self) -> float:
        return (self.main_cpu + self.worker_cpu) / self.pulled * 1e6

    @property
    def ceiling(self) -> float:
        """The ratio this much CPU per message allows with every core busy."""
        rest = max(self.cpu_us - self.rsa_us, 0.0)
        return self.rsa_us / (self.rsa_us + rest)


def pull_once(archive_dir: Path, mode: str, cores: int, workers: int, openssl_seconds: int) -> Run:
    before = openssl_private_ops(openssl_seconds, cores)
    rsa_us = rsa_cpu_us()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive.open(data=tmp, media=False)
        for rule in load_starter_pack():
            save_rule(archive.store, rule, "bench")
        processes = 0 if mode == "processes" else -1
        pipeline = Pipeline(archive, open_source(f"sim:{archive_dir}"), workers=workers, processes=processes)
        cpu0, started = time.process_time(), time.perf_counter()
        result = pipeline.run()
        seconds, main_cpu = time.perf_counter() - started, time.process_time() - cpu0
        pipeline.close()
        store_bytes = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        archive.close()
    after = openssl_private_ops(openssl_seconds, cores)
    timings = dict(pipeline.timings)
    return Run(
        mode=mode,
        cores=cores,
        pulled=result.pulled,
        seconds=seconds,
        main_cpu=main_cpu,
        worker_cpu=timings.pop(WORKER_CPU, 0.0),
        openssl=(before + after) / 2,
        rsa_us=rsa_us,
        violations=result.violations,
        store_bytes=store_bytes,
        peak_rss_mb=peak_rss_mb(),
        timings=timings,
    )


def print_runs(runs: list[Run]) -> None:
    print(f"\n## Ingest: {runs[0].pulled} records (load average after: {os.getloadavg()[0]:.1f})\n")
    print(
        "| mode | cores | msgs/s | openssl ops/s | ratio | CPU µs/msg: main | workers | of which RSA | "
        "the rest | ceiling ratio at this CPU | share of the ceiling |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in runs:
        rest = r.cpu_us - r.rsa_us
        print(
            f"| {r.mode} | {r.cores} | {r.rate:,.0f} | {r.openssl:,.0f} | **{r.rate / r.openssl:.2f}** | "
            f"{r.main_cpu / r.pulled * 1e6:,.0f} | {r.worker_cpu / r.pulled * 1e6:,.0f} | {r.rsa_us:,.0f} | "
            f"{rest:,.0f} | {r.ceiling:.2f} | {r.rate / r.openssl / r.ceiling:.0%} |"
        )
    for r in runs:
        print(f"\n### Stages: {r.mode}, {r.cores} core(s) (wall seconds on the main process; worker rows: CPU)\n")
        print("| stage | seconds | µs per message | share |")
        print("| --- | ---: | ---: | ---: |")
        total = sum(v for k, v in r.timings.items() if not k.startswith("worker"))
        for stage, secs in sorted(r.timings.items(), key=lambda kv: -kv[1]):
            share = "" if stage.startswith("worker") else f"{secs / total:.0%}"
            print(f"| {stage} | {secs:.2f} | {secs / r.pulled * 1e6:,.0f} | {share} |")
        print(f"| (wall clock) | {r.seconds:.2f} | {r.seconds / r.pulled * 1e6:,.0f} | |")
        print(f"\nstore on disk: {r.store_bytes / max(r.pulled, 1):,.0f} bytes/message; violations: {r.violations}")
    print(f"\npeak RSS of the main process (largest run): {max(r.peak_rss_mb for r in runs):,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--modes", default="processes", help="comma-separated: processes, threads")
    parser.add_argument("--cores", default="", help="comma-separated core counts to pin the run to (default: all)")
    parser.add_argument("--workers", type=int, default=0, help="decryption threads (0: one per core)")
    parser.add_argument("--openssl-seconds", type=int, default=3)
    parser.add_argument("--single", default="", help=argparse.SUPPRESS)  # MODE:CORES, internal
    args = parser.parse_args()

    archive_dir = OUT / f"ingest-{args.messages}-{args.seed}"
    if not (archive_dir / "sim.json").exists():
        shutil.rmtree(archive_dir, ignore_errors=True)
        print(f"simulating {args.messages} messages into {archive_dir} ...", file=sys.stderr)
        simulate(archive_dir, args.messages, seed=args.seed, days=30, transient_fault_rate=0.0)

    if args.single:  # one measurement in this fresh process (its own fork server), as JSON
        mode, cores = args.single.split(":")
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: int(cores)])  # openssl and workers inherit it
        run = pull_once(archive_dir, mode, int(cores), args.workers, args.openssl_seconds)
        print(json.dumps(asdict(run)))
        return

    available = len(os.sched_getaffinity(0))
    core_counts = [int(c) for c in args.cores.split(",") if c] or [available]
    runs = []
    for cores in core_counts:
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            print(f"pulling with {mode} on {cores} core(s) ...", file=sys.stderr)
            cmd = [sys.executable, __file__, "--messages", str(args.messages), "--seed", str(args.seed)]
            cmd += ["--workers", str(args.workers), "--openssl-seconds", str(args.openssl_seconds)]
            out = subprocess.run([*cmd, "--single", f"{mode}:{cores}"], capture_output=True, text=True, check=True)
            runs.append(Run(**json.loads(out.stdout.strip().splitlines()[-1])))
    print_runs(runs)


if __name__ == "__main__":
    main()
