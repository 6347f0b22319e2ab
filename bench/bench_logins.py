"""Refused logins cost the same whatever the reason, and the password policy is cheap.

Times ``authenticate`` for an unknown name, a wrong password, a disabled and a locked account
(each must do one argon2 verification, so the answer time does not tell them apart) and the
policy check of ``compliance.passwords`` (the 10,000-entry list, padding variants included).

    .venv/bin/python bench/bench_logins.py --runs 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance import accounts as acc  # noqa: E402
from compliance.passwords import check_password  # noqa: E402
from core.errors import AuthenticationFailed  # noqa: E402
from store.embedded import EmbeddedStore  # noqa: E402

PASSWORD = "benchmark-lantern-orbit-47"
WRONG = "benchmark-harbor-sketch-92"
FOREVER = 2**52


def refused_login_ms(store: EmbeddedStore, name: str, password: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        try:
            acc.authenticate(store, name, password)
        except AuthenticationFailed:
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp))
        store.init()
        acc.create_account(store, "root", "super", PASSWORD)
        for name in ("wrong", "disabled", "locked"):
            acc.create_account(store, name, "viewer", PASSWORD, [1])
        acc.set_disabled(store, "disabled", True, actor="root")
        store.put_record("accounts", "locked", {**store.get_record("accounts", "locked"), "locked_until_ms": FOREVER})
        cases = {
            "unknown name": ("nobody", PASSWORD),
            "wrong password": ("wrong", WRONG),
            "disabled (right password)": ("disabled", PASSWORD),
            "locked (right password)": ("locked", PASSWORD),
        }
        print(f"{'refused login':<28} median of {args.runs}")
        for label, (name, password) in cases.items():
            print(f"{label:<28} {refused_login_ms(store, name, password, args.runs):8.0f} ms")
        store.close()
    checks = 2000
    start = time.perf_counter()
    for i in range(checks):
        check_password(f"quiet-lantern-{i:05d}-orbit", "alice")
    print(f"{'password policy check':<28} {(time.perf_counter() - start) / checks * 1e6:8.1f} µs")


if __name__ == "__main__":
    main()
