"""Worker processes for a backlog: each decrypts (RSA and DecryptData), normalizes and
analyzes a slice of a batch; the pipeline's process keeps everything that touches the
store (consent, reply times, matching, writing, the evidence ledger).

Why processes: with threads, RSA runs in parallel (it releases the GIL), but every
message's Python work (DecryptData's wrapping, JSON, normalization, jieba, sentiment)
queues for the one GIL with the writer's, and a decryption thread that finishes waits
for the GIL while its core idles. A worker process has its own interpreter, so the
per-message work of a batch runs on every core and the main process only writes.

Nothing here changes exactly-once: workers are pure functions of the records they are
given (no store, no checkpoint). A batch goes out in slices and comes back in record
order; the pipeline stores it with its checkpoint as before. A worker that dies breaks
the pool: the pull fails before the batch is written and the next pull starts again
from the checkpoint.

Private keys reach the workers over the pool's pipe as PKCS#8 PEM (never written to
disk), through ``forkserver`` (a fresh process, so no lock or thread of the indexer is
inherited).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from analyzers.chinese import ChineseAnalyzer
from core import clock
from core.directory import Directory
from core.errors import ChatArchiveError
from core.models import DeadLetter, Message
from indexer.analyze import analyze_messages
from indexer.decrypt import KeyRing, decrypt_record
from indexer.normalize import normalize_records
from indexer.source.base import BodyDecrypter, EncryptedRecord

logger = logging.getLogger(__name__)

# Below this many records a batch is processed in one slice (a slice costs a round trip).
MIN_SLICE = 100


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker needs, sent once when it starts (picklable)."""

    keys_pem: dict[int, bytes]
    key_problems: dict[int, str]
    body: BodyDecrypter
    directory: dict[str, Any]
    dictionaries: tuple[str, ...]  # the analyzer's extra dictionaries (the bundled one is implied)
    max_chars: int | None


@dataclass
class _Worker:
    keyring: KeyRing
    body: BodyDecrypter
    directory: Directory
    analyzer: ChineseAnalyzer
    max_chars: int | None


_worker: _Worker | None = None


def _exit_with_parent() -> None:
    """A worker outlives a SIGKILLed indexer otherwise (blocked on its task queue)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(1)


def _start(setup: WorkerSetup) -> None:
    """Pool initializer: loads the keys, the directory and the analyzer once per worker."""
    global _worker
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    ring = KeyRing()
    for version, pem in setup.keys_pem.items():
        key = serialization.load_pem_private_key(pem, password=None)
        ring.add(version, key)  # type: ignore[arg-type]  # an RSA key: it came from a KeyRing
    ring.problems.update(setup.key_problems)
    _worker = _Worker(
        keyring=ring,
        body=setup.body,
        directory=Directory.from_dict(setup.directory),
        analyzer=ChineseAnalyzer([Path(p) for p in setup.dictionaries]),
        max_chars=setup.max_chars,
    )


Processed = tuple[list[Message], list[DeadLetter], dict[str, float]]


RecordFields = tuple[int, str, int, str, str]  # EncryptedRecord's fields: tuples pickle cheaper


def process_slice(fields: list[RecordFields]) -> Processed:
    """In a worker: decrypt, normalize and analyze the records (dead letters for failures);
    also the CPU seconds of each step, for the pipeline's stage profile."""
    worker = _worker
    assert worker is not None, "the pool initializer did not run"
    t0 = time.process_time()
    records = [EncryptedRecord(*f) for f in fields]
    plaintexts = [decrypt_record(worker.keyring, worker.body, r) for r in records]
    t1 = time.process_time()
    messages, dead = normalize_records(
        records, plaintexts, directory=worker.directory, max_chars=worker.max_chars, now_ms=clock.now_ms()
    )
    t2 = time.process_time()
    analyze_messages(messages, worker.analyzer)
    t3 = time.process_time()
    return messages, dead, {"worker decrypt": t1 - t0, "worker normalize": t2 - t1, "worker analyze": t3 - t2}


def _pem(key: Any) -> bytes:
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# The one writer absorbs about what three workers produce (docs/benchmarks.md, Ingest: ~140
# CPU-µs a message to write against ~330 to decrypt and analyze), and a worker holds ~190 MB
# (the analyzer, the sentiment model), so more than this many only costs memory.
MAX_DEFAULT_PROCESSES = 4


def default_processes() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_PROCESSES))


class WorkerPool:
    """A pool of worker processes; ``submit`` returns a handle whose ``result()`` is the
    batch's (messages, dead letters) in record order."""

    def __init__(
        self,
        keyring: KeyRing,
        body: BodyDecrypter,
        directory: Directory,
        analyzer: ChineseAnalyzer,
        *,
        max_chars: int | None,
        processes: int,
    ) -> None:
        self.processes = max(1, processes)
        setup = WorkerSetup(
            keys_pem={v: _pem(keyring.get(v)) for v in keyring.versions()},
            key_problems=dict(keyring.problems),
            body=body,
            directory=directory.to_dict(),
            dictionaries=tuple(str(p) for p in analyzer.dictionaries[1:]),
            max_chars=max_chars,
        )
        context = multiprocessing.get_context("forkserver")
        # Imported once in the fork server, not in every worker (about a second each).
        context.set_forkserver_preload([__name__, "analyzers.insights.sentiment_model"])
        self._pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_start,
            initargs=(setup,),
        )
        logger.info("started %d ingest worker processes", self.processes)

    def submit(self, records: list[EncryptedRecord]) -> PendingBatch:
        """Starts processing ``records`` in slices, one per worker (at least ``MIN_SLICE``)."""
        size = max(MIN_SLICE, -(-len(records) // self.processes))
        fields = [(r.seq, r.msgid, r.publickey_ver, r.encrypt_random_key, r.encrypt_chat_msg) for r in records]
        slices = [fields[i : i + size] for i in range(0, len(fields), size)]
        try:
            return PendingBatch([self._pool.submit(process_slice, s) for s in slices])
        except BrokenProcessPool as e:
            raise _died() from e

    def cpu_seconds(self) -> float:
        """CPU time the worker processes have used so far (Linux /proc; 0 where unavailable):
        the benchmark's stage profile. Read before ``close``."""
        total = 0.0
        for pid in list(getattr(self._pool, "_processes", None) or {}):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
            except (OSError, ValueError, IndexError):
                continue
        return total

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _died() -> ChatArchiveError:
    return ChatArchiveError(
        "an ingest worker process died (killed, or out of memory): nothing of this batch was stored, "
        "the next pull starts again from the checkpoint; set ingest_processes to -1 to ingest "
        "without worker processes"
    )


class PendingBatch:
    def __init__(self, futures: list[Future[Processed]]) -> None:
        self._futures = futures

    def result(self) -> Processed:
        messages: list[Message] = []
        dead: list[DeadLetter] = []
        seconds: dict[str, float] = {}
        for f in self._futures:
            try:
                m, d, t = f.result()
            except BrokenProcessPool as e:
                raise _died() from e
            messages.extend(m)
            dead.extend(d)
            for step, s in t.items():
                seconds[step] = seconds.get(step, 0.0) + s
        return messages, dead, seconds
