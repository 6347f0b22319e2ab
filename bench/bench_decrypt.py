"""Decryption throughput: indexer.decrypt.Decryptor at 1 and 2 workers, against the machine's
RSA-2048 private-key speed as `openssl speed` measures it in the same run.

Every record costs one RSA-2048 private operation (the random key) plus an AES-256-CBC
decryption of the body, so openssl's private-op rate over both cores is the ceiling; the
ratio shows how close the Python pipeline (cryptography + a thread pool) gets to it.

Records are made with the simulator's scheme (indexer.source.simcrypto). The body is
decrypted by the simulator's DecryptData and, when gcc is available, also through the
production ctypes binding over the compiled SDK stub (tests/sdkstub/stub.c).

    .venv/bin/python bench/bench_decrypt.py [--records 3000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from indexer.decrypt import Decryptor, KeyRing  # noqa: E402
from indexer.source import simcrypto  # noqa: E402
from indexer.source.base import EncryptedRecord  # noqa: E402


class SimCipher:
    name = "sim"

    def decrypt_data(self, encrypt_key: str, encrypt_msg: str) -> bytes:
        return simcrypto.decrypt_data(encrypt_key, encrypt_msg)


def make_records(key: rsa.RSAPrivateKey, n: int) -> tuple[list[EncryptedRecord], list[bytes]]:
    records, plains = [], []
    for i in range(n):
        plain = json.dumps(
            {
                "msgid": f"{9123348812305550000 + i}_1716947123",
                "action": "send",
                "from": "zhangwei",
                "tolist": ["wmAbCdEfGHIjKlMnOpQrStUvWxYz0123"],
                "roomid": "",
                "msgtime": 1716947123000 + i,
                "msgtype": "text",
                "text": {"content": f"您好，第{i}份报价单已发您邮箱，请查收。" * (1 + i % 4)},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        erk, ecm = simcrypto.encrypt_message(key.public_key(), plain)
        records.append(
            EncryptedRecord(seq=i + 1, msgid=f"m{i}", publickey_ver=1, encrypt_random_key=erk, encrypt_chat_msg=ecm)
        )
        plains.append(plain)
    return records, plains


def openssl_private_ops(seconds: int, cores: int) -> float:
    """RSA-2048 private operations per second over ``cores`` processes ("sign/s"); the ceiling
    bench_ingest.py compares ingest with, too."""
    cmd = ["openssl", "speed", "-seconds", str(seconds), "-multi", str(cores), "rsa2048"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", out, re.M)
    if not m:
        raise RuntimeError(f"cannot parse openssl speed output:\n{out[-500:]}")
    return float(m.group(1))


def build_stub_archive(workdir: Path, records: list[EncryptedRecord]) -> Any:
    """Compiles the SDK stub and opens the production binding over it, or None without gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    from indexer.source.sdk import SdkSource

    so = workdir / "libWeWorkFinanceSdk_C.so"
    stub = REPO / "tests" / "sdkstub"
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-O2", f"-I{stub}", "-o", str(so), str(stub / "stub.c"), "-lcrypto"], check=True
    )
    sim = workdir / "sim"
    sim.mkdir()
    (sim / "sim.json").write_text(json.dumps({"corpid": "wwbench", "secret": "bench", "seed": 1}))
    with open(sim / "chatdata.jsonl", "wb") as data, open(sim / "chatdata.idx", "wb") as idx:
        for r in records[:1]:
            idx.write(struct.pack("<QQ", r.seq, data.tell()))
            data.write(json.dumps(r.to_dict()).encode() + b"\n")
    os.environ["WWF_STUB_DIR"] = str(sim)
    return SdkSource(so, "wwbench", "bench")


def measure(decryptor: Decryptor, records: list[EncryptedRecord], plains: list[bytes]) -> float:
    start = time.perf_counter()
    results = decryptor.decrypt_batch(records)
    elapsed = time.perf_counter() - start
    assert results == plains, "decryption produced wrong plaintexts"
    return len(records) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=3, help="openssl speed duration per test")
    args = parser.parse_args()

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    records, plains = make_records(key, args.records)
    keyring = KeyRing({1: key})
    openssl_ops = openssl_private_ops(args.seconds, 2)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sources: list[tuple[str, Any]] = [("simulator DecryptData", SimCipher())]
        stub = build_stub_archive(Path(tmp), records)
        if stub is not None:
            sources.append(("SDK binding (ctypes, C stub)", stub))
        for label, source in sources:
            for workers in (1, 2):
                with Decryptor(keyring, source, workers=workers) as decryptor:
                    measure(decryptor, records[:50], plains[:50])  # warm-up
                    rate = measure(decryptor, records, plains)
                rows.append((label, workers, rate))
        if stub is not None:
            stub.close()

    print(
        f"records: {args.records}, cores: {os.cpu_count()}, "
        f"openssl speed -seconds {args.seconds} -multi 2 rsa2048: {openssl_ops:,.0f} private ops/s"
    )
    print("| body decrypted by | workers | msgs/s | openssl private ops/s (2 cores) | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, workers, rate in rows:
        print(f"| {label} | {workers} | {rate:,.0f} | {openssl_ops:,.0f} | {rate / openssl_ops:.2f} |")


if __name__ == "__main__":
    main()
