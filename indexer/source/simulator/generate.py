"""``simulate()``: organisation + conversations + keys + faults → a simulated archive directory.

Content is deterministic for a seed: separate seeded streams drive the organisation and
the conversations, the fault injection and the seq gaps, so changing ``fault_rate`` does not
change what people say. What is random by nature: the RSA key pairs, the per-message
random keys and the PKCS#1 v1.5 padding, hence every ciphertext byte.

The directory is written under a temporary name next to ``out`` and renamed at the end, so a
crash never leaves a half-written archive under the final name.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from core.errors import BadInput
from indexer.source import simcrypto
from indexer.source.simulator import org as org_module
from indexer.source.simulator.conversations import TZ_OFFSET_MS, ConversationGenerator
from indexer.source.simulator.writer import ArchiveWriter

log = logging.getLogger(__name__)

DEFAULT_END = dt.date(2026, 11, 20)
RECORD_FAULTS = ("bad_base64", "truncated_ciphertext", "bad_json", "duplicate_seq")
SEQ_GAP_RATE = 0.002
FORMAT_VERSION = 1


@dataclass
class SimulationSummary:
    messages: int = 0
    seq_max: int = 0
    msgtypes: dict[str, int] = field(default_factory=dict)
    key_versions: list[int] = field(default_factory=list)
    withheld_key_versions: list[int] = field(default_factory=list)
    faults: int = 0
    labelled: int = 0
    media_files: int = 0
    media_bytes: int = 0

    def to_json(self) -> dict[str, object]:
        """The contract's ``chatarchive simulate --json`` document."""
        return {
            "messages": self.messages,
            "seq_max": self.seq_max,
            "msgtypes": self.msgtypes,
            "key_versions": self.key_versions,
            "faults": self.faults,
        }


@dataclass(frozen=True)
class KeySchedule:
    """Which ``publickey_ver`` encrypts message number i (0-based, in time order).

    ``starts`` are (first message index, version) in increasing order: the admin uploaded a
    new public key at that point. A withheld version's private key is "lost".
    """

    starts: tuple[tuple[int, int], ...]
    withheld: tuple[int, ...] = ()

    @classmethod
    def plan(cls, messages: int, days: int, fault_rate: float) -> KeySchedule:
        count = max(2, min(8, 1 + days // 10))
        starts = [(round(messages * j / count), j + 1) for j in range(count)]
        if fault_rate <= 0 or messages < 20:
            return cls(tuple(starts))
        # A short-lived version whose private key was lost, uploaded at the middle rotation.
        middle = count // 2
        at = starts[middle][0]
        size = max(1, min(round(messages * fault_rate / 4), (messages // count) // 2))
        lost = middle + 1
        new = (
            starts[:middle]
            + [(at, lost)]
            + [
                (max(s, at + size) if k == middle else s, v + 1)
                for k, (s, v) in enumerate(starts[middle:], start=middle)
            ]
        )
        return cls(tuple(new), (lost,))

    @property
    def versions(self) -> list[int]:
        return [v for _, v in self.starts]

    def version_for(self, index: int) -> int:
        current = self.starts[0][1]
        for start, version in self.starts:
            if index >= start:
                current = version
            else:
                break
        return current


def end_of_window_ms(end: dt.date) -> int:
    """00:00 Asia/Shanghai of ``end``: the archive covers the days before it."""
    midnight_utc = dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC)
    return int(midnight_utc.timestamp() * 1000) - TZ_OFFSET_MS


def _check(
    messages: int, employees: int, days: int, fault_rate: float, transient_fault_rate: float, window_days: int
) -> None:
    if messages < 1:
        raise BadInput("--messages must be at least 1")
    if employees < 4 or employees > 5000:
        raise BadInput("--employees must be between 4 and 5000")
    if days < 1 or days > 3650:
        raise BadInput("--days must be between 1 and 3650")
    if not 0 <= fault_rate <= 0.5:
        raise BadInput("--fault-rate must be between 0 and 0.5")
    if not 0 <= transient_fault_rate <= 0.9:
        raise BadInput("--transient-fault-rate must be between 0 and 0.9")
    if window_days < 0:
        raise BadInput("--window-days must be 0 (no window) or more")


def _corrupt(fault: str, rng: random.Random, plaintext: str, erk: str, ecm: str, public_key) -> tuple[str, str]:
    """Breaks one record the way ``fault`` says; the result can never decrypt to the message."""
    if fault == "bad_json":
        broken = plaintext[: len(plaintext) - rng.randint(3, 12)]  # cut inside the closing braces
        return simcrypto.encrypt_message(public_key, broken.encode("utf-8"))
    if fault == "bad_base64":
        chars = list(ecm)
        for _ in range(3):
            chars[rng.randrange(len(chars))] = rng.choice("!#$%&")
        return erk, "".join(chars)
    if fault == "truncated_ciphertext":
        raw = base64.b64decode(ecm)
        cut = 16 + rng.randint(1, 15)  # never a multiple of the AES block
        return erk, base64.b64encode(raw[: len(raw) - cut]).decode("ascii")
    raise ValueError(fault)


def simulate(
    out: Path,
    messages: int,
    *,
    seed: int = 0,
    employees: int = 30,
    days: int = 14,
    end: dt.date = DEFAULT_END,
    fault_rate: float = 0.0,
    transient_fault_rate: float | None = None,
    window_days: int = 0,
    progress: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Writes a simulated WeCom archive of ``messages`` messages to ``out`` (which must not exist
    or be empty). ``progress(n)`` is called with the number of messages done so far."""
    transient = min(fault_rate, 0.2) if transient_fault_rate is None else transient_fault_rate
    _check(messages, employees, days, fault_rate, transient, window_days)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{out} already exists and is not empty; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)

    end_ms = end_of_window_ms(end)
    start_ms = end_ms - days * org_module.DAY_MS
    organisation = org_module.generate(random.Random(f"{seed}:org"), employees, start_ms, end_ms)
    schedule = KeySchedule.plan(messages, days, fault_rate)
    keys = {v: rsa.generate_private_key(public_exponent=65537, key_size=2048) for v in schedule.versions}
    public = {v: k.public_key() for v, k in keys.items()}
    fault_rng = random.Random(f"{seed}:faults")
    seq_rng = random.Random(f"{seed}:seq")
    md5_fault_rate = min(0.05, fault_rate)
    generator = ConversationGenerator(
        random.Random(f"{seed}:content"), organisation, start_ms, end_ms, messages, md5_fault_rate=md5_fault_rate
    )

    writer = ArchiveWriter(tmp)
    summary = SimulationSummary(key_versions=schedule.versions, withheld_key_versions=list(schedule.withheld))
    counts: Counter[str] = Counter()
    try:
        writer.write_org(organisation.data)
        for v, key in keys.items():
            writer.write_key(v, key, withheld=v in schedule.withheld, pkcs8=v % 2 == 0)
        seq = 0
        now_ms = start_ms
        for index, item in enumerate(generator):
            version = schedule.version_for(index)
            plaintext = item.plaintext()
            erk, ecm = simcrypto.encrypt_message(public[version], plaintext.encode("utf-8"))
            fault = None
            if version not in schedule.withheld and fault_rng.random() < fault_rate:
                fault = fault_rng.choice(RECORD_FAULTS)
                if fault != "duplicate_seq":
                    erk, ecm = _corrupt(fault, fault_rng, plaintext, erk, ecm, public[version])
            seq += 1 + (seq_rng.randint(1, 3) if seq_rng.random() < SEQ_GAP_RATE else 0)
            writer.write_record(seq, item.msgid, version, erk, ecm)
            if version in schedule.withheld:
                writer.write_fault(seq, item.msgid, "missing_key")
            elif fault and fault != "duplicate_seq":
                writer.write_fault(seq, item.msgid, fault)
            if fault == "duplicate_seq":  # the server delivers the same message again under a new seq
                seq += 1
                writer.write_record(seq, item.msgid, version, erk, ecm)
                writer.write_fault(seq, item.msgid, "duplicate_seq")
            writer.write_truth(plaintext)
            if item.labels:
                writer.write_label(item.msgid, item.labels, item.terms)
                summary.labelled += 1
            if item.near_miss:
                writer.write_near_miss(item.msgid, item.near_miss)
            for blob in item.media:
                writer.write_media(blob)
                summary.media_files += 1
            counts[item.msgtype] += 1
            now_ms = max(now_ms, item.time_ms)
            if progress is not None:
                progress(index + 1)
        summary.messages = sum(counts.values())
        summary.seq_max = seq
        summary.msgtypes = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        summary.faults = writer.faults
        summary.media_bytes = writer.media_bytes
        writer.close(
            {
                "format": FORMAT_VERSION,
                "seed": seed,
                "corpid": organisation.corpid,
                "secret": organisation.secret,
                "messages": summary.messages,
                "seq_max": seq,
                "fault_rate": fault_rate,
                "transient_fault_rate": transient,
                "window_days": window_days,
                "now_ms": now_ms,
                "start_ms": start_ms,
                "end_ms": end_ms,
                "days": days,
                "employees": employees,
                "key_versions": schedule.versions,
                "withheld_key_versions": list(schedule.withheld),
                "md5_fault_rate": md5_fault_rate,
            }
        )
    except BaseException:
        writer.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        out.rmdir()  # empty (checked above)
    os.replace(tmp, out)
    log.info("simulated %d messages into %s (%d faults)", summary.messages, out, summary.faults)
    return summary
