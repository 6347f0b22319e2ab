"""Simulator generation rate and peak memory, against the per-message encryption it cannot avoid.

Each size runs in a fresh subprocess (so its peak RSS is its own) and writes a full archive
(keys, chat data, index, truth, labels, media) to a temporary directory. The peer, measured in
the same run, is the bare cost of what the real server does per message: a fresh random key,
one RSA-2048 PKCS#1 v1.5 public-key encryption and AES-256-CBC of a typical plaintext. The ratio
says how much of the generator's time goes beyond that floor.

    .venv/bin/python bench/bench_simulate.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from indexer.source.simulator import simulate
t = time.perf_counter()
s = simulate({out!r}, {n}, seed=1, days=30)
elapsed = time.perf_counter() - t
print(json.dumps({{"seconds": elapsed, "messages": s.messages, "media_bytes": s.media_bytes,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def encryption_floor(n: int = 5000) -> float:
    """Messages/s of simcrypto.encrypt_message alone on a typical 300-byte plaintext."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from indexer.source import simcrypto

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    plaintext = (
        '{"msgid":"1_1","action":"send","from":"zhangwei","tolist":["wm0123456789"],"roomid":"",'
        '"msgtime":1,"msgtype":"text","text":{"content":"' + "您好，报价单已发您邮箱。" * 8 + '"}}'
    ).encode()
    t = time.perf_counter()
    for _ in range(n):
        simcrypto.encrypt_message(public, plaintext)
    return n / (time.perf_counter() - t)


def run(n: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-"))
    try:
        code = CHILD.format(repo=str(REPO), out=str(tmp / "archive"), n=n)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    floor = encryption_floor()
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        r = run(n)
        rate = r["messages"] / r["seconds"]
        rows.append((n, r["seconds"], rate, r["rss_kib"] / 1024, r["media_bytes"] / 1e6, rate / floor))
    print(f"encryption floor (random key + RSA-2048 encrypt + AES, 1 core): {floor:,.0f} msgs/s")
    print(f"{'messages':>9} {'seconds':>8} {'msgs/s':>8} {'peak RSS MiB':>13} {'media MB':>9} {'ratio to floor':>15}")
    for n, secs, rate, rss, media, ratio in rows:
        print(f"{n:>9,} {secs:>8.1f} {rate:>8,.0f} {rss:>13.0f} {media:>9.0f} {ratio:>15.2f}")


if __name__ == "__main__":
    main()
