"""The pipeline: source → decrypt → normalize → analyze → consent → match → store, one batch
at a time. The stages after normalize are ``indexer.stages``, run in ``WRITE_ORDER``.

Exactly-once: a batch's messages, violations and dead letters are written by
``store.write_batch`` together with the checkpoint (the highest seq of the batch), and
storing is an upsert by msgid. A crash at any instant therefore replays at most the
batch in flight, which overwrites itself: nothing is lost, nothing duplicated.

Nothing is dropped silently: a record that cannot be decrypted, parsed or normalized
becomes a dead letter with its reason and the encrypted record, and ``replay_deadletters``
retries it once the cause is fixed (e.g. the missing private key was added).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from analyzers.chinese import get_analyzer
from compliance.integrity import update_digests
from core import clock
from core.errors import ChatArchiveError, DecryptError, ParseError, SourceError
from core.models import DeadLetter, Message
from indexer import health
from indexer.decrypt import Decryptor, KeyRing, load_private_key
from indexer.imports import LineOrigin, line_deadletter, replay_plaintext
from indexer.normalize import normalize, normalize_records
from indexer.redelivery import Redelivery, split_redeliveries
from indexer.replies import ReplyTracker, WorkingHours
from indexer.source.base import EncryptedRecord, Source, portable_body_decrypter
from indexer.stages import Stage, StagedBatch, write_stages
from indexer.workers import WorkerPool, default_processes
from store.context import ArchiveContext
from store.directory import load_or_empty, save_directory

logger = logging.getLogger(__name__)

# ``ingest_processes`` 0 (automatic) uses worker processes only for pulls of batches this big
# that come back full: starting the pool costs about a second.
MIN_BACKLOG = 500


@dataclass
class PullResult:
    """The contract's ``pull --json`` shape."""

    pulled: int = 0
    stored: int = 0  # new messages
    duplicates: int = 0  # re-delivered records of messages already stored (pulled = stored + duplicates + deadletter)
    versions: int = 0  # duplicates whose content differed: kept as versions (indexer.redelivery)
    deadletter: int = 0
    violations: int = 0
    last_seq: int = 0
    seconds: float = 0.0
    batches: int = 0

    def add(self, other: PullResult) -> None:
        """Adds another run's counts; ``last_seq`` becomes the other's."""
        for name in ("pulled", "stored", "duplicates", "versions", "deadletter", "violations", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        self.last_seq = other.last_seq

    def to_contract(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        d.pop("batches")
        return d


class _Pending(Protocol):
    def result(self) -> tuple[list[Message], list[DeadLetter], dict[str, float]]: ...


class _ThreadBatch:
    """A batch whose RSA runs on the decryption threads; normalized here when its result is asked."""

    def __init__(self, pipeline: Pipeline, records: list[EncryptedRecord], futures: list[Future[bytes | DecryptError]]):
        self.pipeline, self.records, self.futures = pipeline, records, futures

    def result(self) -> tuple[list[Message], list[DeadLetter], dict[str, float]]:
        plaintexts = [f.result() for f in self.futures]
        return (*self.pipeline.process(self.records, plaintexts), {})


class _PullAhead:
    """Batches pulled and handed to decryption ahead of the writer: up to a write's worth and
    one more, so the workers stay busy while a whole group is written. A pull error stops the
    pulling; what was pulled before it is still stored, then the error is raised."""

    def __init__(
        self,
        pipeline: Pipeline,
        pool: WorkerPool | None,
        first: list[EncryptedRecord],
        *,
        after: int,
        limit: int | None,
    ) -> None:
        self.pipeline, self.pool, self.limit = pipeline, pool, limit
        self.depth = max(2, pipeline.write_size // max(pipeline.batch_size, 1) + 1)
        self.pending: deque[tuple[list[EncryptedRecord], _Pending]] = deque()
        self.error: SourceError | None = None
        self.pulled = 0
        self.last_seq = after
        self.exhausted = False
        self._first: list[EncryptedRecord] | None = first

    def fill(self) -> None:
        while not self.exhausted and self.error is None and len(self.pending) < self.depth:
            if self.limit is not None and self.pulled >= self.limit:
                return
            batch, self._first = self._first, None
            if batch is None:
                try:
                    with self.pipeline._timed("source"):
                        batch = self.pipeline._get_chat_data(self.last_seq)
                except SourceError as e:
                    self.error = e
                    return
            if not batch:
                self.exhausted = True
                return
            self.pulled += len(batch)
            self.last_seq = max(r.seq for r in batch)
            self.pending.append((batch, self.pipeline._start(batch, self.pool)))


class Pipeline:
    """Processes records from one source into the archive's store."""

    def __init__(
        self,
        archive: ArchiveContext,
        source: Source | None,
        *,
        keyring: KeyRing | None = None,
        batch_size: int | None = None,
        workers: int | None = None,
        processes: int | None = None,
        write_size: int | None = None,
        retry_delays: Iterable[float] = (0.5, 1, 2, 4, 8, 16, 30),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.archive = archive
        self.store = archive.store
        self.source = source
        self.settings = archive.settings
        self.keyring = keyring or KeyRing.load(self.settings.data_dir / "keys")
        self.batch_size = batch_size or self.settings.batch_size
        self.max_chars: int = self.settings.max_message_chars
        self.decryptor: Decryptor | None = None
        if source is not None:
            self._adopt_source_keys()
            self.decryptor = Decryptor(self.keyring, source, workers=workers or self.settings.decrypt_workers)
        self.processes = self.settings.ingest_processes if processes is None else processes
        self.write_size = write_size or self.settings.write_size
        self.retry_delays = tuple(retry_delays)
        self.sleep = sleep
        self.analyzer = get_analyzer()
        source_directory = source.directory() if source is not None else None
        if source_directory:
            save_directory(self.store, source_directory)
        self.directory = load_or_empty(self.store)
        self.replies = ReplyTracker(
            self.store, WorkingHours(self.settings.working_hours, self.settings.working_days, self.settings.timezone)
        )
        self.stages: list[Stage] = write_stages(archive, self.analyzer, self.replies, lambda: self.directory)
        self.timings: dict[str, float] = defaultdict(float)  # seconds per stage (bench/bench_ingest.py)

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - started

    @classmethod
    def for_import(cls, archive: ArchiveContext) -> Pipeline:
        """A pipeline for already-decrypted JSON (``chatarchive import``): no source."""
        return cls(archive, None)

    # --- set-up -------------------------------------------------------------------------------
    def _adopt_source_keys(self) -> None:
        """A simulated archive ships its private keys (DIR/keys): register the ones we lack."""
        assert self.source is not None
        for version, path in self.source.private_key_files().items():
            if version not in self.keyring.versions():
                self.keyring.add(version, load_private_key(path))
                logger.info("registered the simulator's private key for publickey_ver %s", version)

    def close(self) -> None:
        if self.decryptor is not None:
            self.decryptor.close()

    # --- one batch ----------------------------------------------------------------------------
    def _get_chat_data(self, seq: int) -> list[EncryptedRecord]:
        """GetChatData with backoff on transient errors and a smaller limit on 301058."""
        limit = self.batch_size
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                return self.source.get_chat_data(seq, limit)
            except SourceError as e:
                if e.code == 301058 and limit > 1:
                    limit = max(1, limit // 2)
                    logger.warning("response too large: retrying with limit %d", limit)
                    continue
                if not e.retryable or delay is None:
                    raise
                logger.warning("pull failed (%s, attempt %d): retrying in %.1f s", e, attempt + 1, delay)
                health.count(self.store, "source_retries")
                self.sleep(delay)
        raise SourceError("unreachable")  # pragma: no cover

    def process(
        self, records: list[EncryptedRecord], plaintexts: list[bytes | DecryptError] | None = None
    ) -> tuple[list[Message], list[DeadLetter]]:
        """Decrypts (unless ``plaintexts`` are given) and normalizes records; failures become
        dead letters, in record order."""
        if self.decryptor is None:
            raise ChatArchiveError("this pipeline has no source to decrypt records with")
        if plaintexts is None:
            with self._timed("decrypt"):
                plaintexts = self.decryptor.decrypt_batch(records)
        with self._timed("normalize"):
            return normalize_records(
                records, plaintexts, directory=self.directory, max_chars=self.max_chars, now_ms=clock.now_ms()
            )

    def write(
        self,
        messages: list[Message],
        dead: list[DeadLetter],
        *,
        checkpoint: int | None,
        resolved: list[str] | None = None,
        versions: Redelivery | None = None,
        analyzed: bool = False,
    ) -> int:
        """Runs a normalized batch through the write stages; returns its number of violations.
        ``analyzed``: worker processes already did the analyze stage's work."""
        batch = StagedBatch(
            messages,
            dead,
            checkpoint=checkpoint,
            resolved_deadletters=resolved or [],
            new_records=versions.version_records() if versions else [],
            analyzed=analyzed,
        )
        for stage in self.stages:
            with self._timed(stage.name):
                batch = stage(batch)
        return len(batch.violations)

    def _store_group(
        self,
        group: list[tuple[list[EncryptedRecord], list[Message], list[DeadLetter]]],
        seq_before: int,
        *,
        analyzed: bool,
    ) -> PullResult:
        """Analyzes (unless done), matches and stores consecutive pulled batches as one write,
        with the checkpoint of the last (their records stay in seq order)."""
        started = time.monotonic()
        records = [r for g in group for r in g[0]]
        messages = [m for g in group for m in g[1]]
        dead = [d for g in group for d in g[2]]
        last_seq = max(r.seq for r in records)
        arrivals = split_redeliveries(self.store, messages)
        result = PullResult(
            last_seq=last_seq,
            pulled=len(records),
            stored=arrivals.new,
            duplicates=arrivals.duplicates,
            versions=len(arrivals.versions),
            deadletter=len(dead),
            batches=len(group),
        )
        result.violations = self.write(arrivals.write, dead, checkpoint=last_seq, versions=arrivals, analyzed=analyzed)
        result.seconds = time.monotonic() - started
        health.batch_done(self.store, records, messages, dead, seq_before=seq_before)
        return result

    def _worker_pool(self, first: list[EncryptedRecord]) -> WorkerPool | None:
        """Worker processes for this run, or None (threads): ``ingest_processes`` 0 starts one per
        core when a full batch is waiting (a backlog), N ≥ 1 starts N, -1 never; only for a
        source whose DecryptData works in another process."""
        wanted = self.processes
        if wanted < 0 or (wanted == 0 and (len(first) < self.batch_size or self.batch_size < MIN_BACKLOG)):
            return None
        body = portable_body_decrypter(self.source)
        if body is None:
            return None
        return WorkerPool(
            self.keyring,
            body,
            self.directory,
            self.analyzer,
            max_chars=self.max_chars,
            processes=wanted or default_processes(),
        )

    def _start(self, records: list[EncryptedRecord], pool: WorkerPool | None) -> _Pending:
        if pool is not None:
            return pool.submit(records)
        assert self.decryptor is not None
        return _ThreadBatch(self, records, self.decryptor.submit(records))

    def run(self, *, limit: int | None = None, progress: Callable[[PullResult], None] | None = None) -> PullResult:
        """Pulls until caught up (or ``limit`` records were pulled).

        Pipelined: while batches are stored here, the next ones (up to a write's worth) are
        already pulled and being decrypted: by worker processes that also normalize and analyze
        them when there is a backlog (``indexer.workers``), else by threads. Only stored batches
        move the checkpoint; batches processed ahead and not stored (crash, stop, error) are
        simply pulled again next time."""
        if self.source is None or self.decryptor is None:
            raise ChatArchiveError("this pipeline has no source to pull from")
        total = PullResult(last_seq=self.store.checkpoint())
        started = time.monotonic()
        seq = total.last_seq
        with self._timed("source"):
            records = self._get_chat_data(seq)
        pool = self._worker_pool(records) if records else None
        ahead = _PullAhead(self, pool, records, after=seq, limit=limit)
        group: list[tuple[list[EncryptedRecord], list[Message], list[DeadLetter]]] = []
        try:
            ahead.fill()
            while ahead.pending:
                batch, handle = ahead.pending.popleft()
                with self._timed("decrypt_wait"):
                    messages, dead, worker_times = handle.result()
                for stage, seconds in worker_times.items():
                    self.timings[stage] += seconds
                group.append((batch, messages, dead))
                ahead.fill()
                # One write (one commit) per ``write_size`` records: a commit costs the same for
                # 1,000 messages as for 5,000, and a crash still replays only unwritten batches.
                if not ahead.pending or sum(len(g[0]) for g in group) >= self.write_size:
                    step = self._store_group(group, seq, analyzed=pool is not None)
                    group = []
                    total.add(step)
                    seq = step.last_seq
                    if progress is not None:
                        progress(step)
            if ahead.error is not None:
                raise ahead.error
        finally:
            if pool is not None:
                self.timings["worker processes (CPU)"] += pool.cpu_seconds()
                pool.close()
        total.seconds = time.monotonic() - started
        self.store.refresh()
        health.pull_succeeded(self.store, total.last_seq, total.pulled)
        try:
            update_digests(self.store, tz=self.settings.timezone)
        except ChatArchiveError as e:  # the digest is evidence, not a reason to stop ingesting
            logger.error("daily digest update failed: %s", e)
        return total

    # --- dead letters ---------------------------------------------------------------------------
    def replay_deadletters(self) -> dict[str, int]:
        """Retries every dead letter; those that now succeed are stored and removed."""
        total, items = self.store.list_deadletters(limit=1_000_000)
        replayed = still_failing = 0
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            records = [EncryptedRecord.from_dict(d.record) for d in chunk if "encrypt_chat_msg" in d.record]
            plain = [d for d in chunk if "encrypt_chat_msg" not in d.record]  # from `import`: plaintext
            messages, dead = self.process(records) if records else ([], [])
            for d in plain:
                try:
                    messages.append(
                        normalize(
                            replay_plaintext(d.record), seq=d.seq, directory=self.directory, max_chars=self.max_chars
                        )
                    )
                except ParseError as e:
                    dead.append(
                        DeadLetter(
                            seq=d.seq,
                            msgid=d.msgid,
                            reason=str(e),
                            stage="parse",
                            record=d.record,
                            time_ms=clock.now_ms(),
                        )
                    )
            failed_ids = {d.msgid for d in dead}
            resolved = [d.msgid for d in chunk if d.msgid not in failed_ids]
            self.write(messages, dead, checkpoint=None, resolved=resolved)
            replayed += len(resolved)
            still_failing += len(dead)
        self.store.refresh()
        return {"deadletter": total, "replayed": replayed, "failed": still_failing}

    # --- import of decrypted JSON ------------------------------------------------------------------
    def import_lines(
        self, lines: Iterable[bytes | str], *, origin: LineOrigin | None = None, chunk: int = 1000
    ) -> dict[str, int]:
        """Decrypted WeCom message JSON, one per line (truth.jsonl's shape); idempotent by msgid.

        Every bad line (not UTF-8, not JSON, a bad field, too long) becomes a dead letter with its
        file and line number; the other lines are stored. ``read = stored + duplicates + deadletter``."""
        origin = origin or LineOrigin.of_stream()
        counts = {"read": 0, "stored": 0, "skipped": 0, "duplicates": 0, "versions": 0, "deadletter": 0}
        buffer: list[tuple[int, bytes | str]] = []
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            counts["read"] += 1
            buffer.append((line_no, line.rstrip(b"\r\n") if isinstance(line, bytes) else line.rstrip("\r\n")))
            if len(buffer) >= chunk:
                self._import_chunk(buffer, origin, counts)
                buffer.clear()
        if buffer:
            self._import_chunk(buffer, origin, counts)
        self.store.refresh()
        return counts

    def _import_chunk(self, lines: list[tuple[int, bytes | str]], origin: LineOrigin, counts: dict[str, int]) -> None:
        messages: list[Message] = []
        dead: list[DeadLetter] = []
        for line_no, line in lines:
            try:
                messages.append(normalize(line, seq=0, directory=self.directory, max_chars=self.max_chars))
            except ParseError as e:
                dead.append(line_deadletter(origin, line_no, line, str(e)))
        arrivals = split_redeliveries(self.store, messages)
        self.write(arrivals.write, dead, checkpoint=None, versions=arrivals)
        counts["stored"] += arrivals.new
        counts["duplicates"] += arrivals.duplicates
        counts["skipped"] += arrivals.duplicates  # the contract's older name for the same count
        counts["versions"] += len(arrivals.versions)
        counts["deadletter"] += len(dead)
