"""The ingest path after decryption, as an explicit ordered list of small stages.

    source → decrypt → normalize → analyze → consent → reply times → match → store → alert

``source`` (GetChatData with backoff), ``decrypt`` (``indexer.decrypt.Decryptor``) and
``normalize`` work on encrypted records and are driven by ``indexer.pipeline``, which
decrypts the next batch ahead on worker threads. From a normalized batch on, every stage
takes a ``StagedBatch`` and returns it: one input, one output, run in ``WRITE_ORDER``.

Reply times come after consent so that messages the consent policy excludes do not count
as waiting customers; text analysis comes before it, and masking keeps only the words
still in the masked text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from analyzers.chinese import ChineseAnalyzer
from analyzers.rules import RuleEngine
from compliance.consent import apply_consent_policy
from compliance.integrity import record_batch
from compliance.rulestore import engine_from_store, rules_fingerprint
from core.directory import Directory
from core.models import Batch, DeadLetter, Message, Violation
from core.settings import Settings
from indexer.analyze import analyze_messages
from indexer.media import media_queue_records
from indexer.replies import ReplyTracker
from store.base import Store
from store.context import ArchiveContext
from wecom.alerts import notify_violations


@dataclass
class StagedBatch:
    """What flows through the stages: one batch's messages and what was learnt about them."""

    messages: list[Message]
    deadletters: list[DeadLetter] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    checkpoint: int | None = None  # the highest seq of a pulled batch; None for replays and imports
    resolved_deadletters: list[str] = field(default_factory=list)  # replayed dead letters now stored
    # records to create with the batch besides the media queue (re-delivered content kept as versions)
    new_records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    analyzed: bool = False  # worker processes already set words and sentiment (indexer.workers)


class Stage(Protocol):
    name: str

    def __call__(self, batch: StagedBatch) -> StagedBatch: ...


@dataclass
class Analyze:
    """jieba words of each text, and the sentiment of customer messages."""

    analyzer: ChineseAnalyzer
    name: str = "analyze"

    def __call__(self, batch: StagedBatch) -> StagedBatch:
        if not batch.analyzed:
            analyze_messages(batch.messages, self.analyzer)
        return batch


@dataclass
class Consent:
    """Records agree/disagree events; keeps, masks or drops messages of contacts who disagreed."""

    store: Store
    settings: Settings
    name: str = "consent"

    def __call__(self, batch: StagedBatch) -> StagedBatch:
        batch.messages = apply_consent_policy(self.store, batch.messages, settings=self.settings)
        return batch


@dataclass
class ReplyTimes:
    """First-response times of employees' replies to customers (working hours too)."""

    tracker: ReplyTracker
    name: str = "replies"

    def __call__(self, batch: StagedBatch) -> StagedBatch:
        self.tracker.apply(batch.messages)
        return batch


@dataclass
class Match:
    """Rule hits: violations, and the flag on each message with one. The engine is rebuilt
    only when the stored rules change; the store decides how candidates are found
    (Elasticsearch percolates), the shared engine decides the hits."""

    store: Store
    directory: Callable[[], Directory]
    name: str = "match"
    _engine: RuleEngine | None = None
    _fingerprint: str | None = None

    def engine(self) -> RuleEngine:
        fingerprint = rules_fingerprint(self.store)
        if self._engine is None or fingerprint != self._fingerprint:
            self._engine = engine_from_store(self.store, self.directory(), previous=self._engine)
            self._fingerprint = fingerprint
        return self._engine

    def __call__(self, batch: StagedBatch) -> StagedBatch:
        batch.violations = self.store.match_rules(batch.messages, self.engine())
        flagged = {v.msgid for v in batch.violations}
        for m in batch.messages:
            m.flagged = m.flagged or m.msgid in flagged
        return batch


@dataclass
class Write:
    """One ``write_batch``: messages, violations, dead letters, media queue and checkpoint
    together, so a crash replays at most this batch; then the evidence ledger's entry for
    exactly what was written (``compliance.integrity.record_batch``)."""

    store: Store
    timezone: str
    name: str = "store"

    def __call__(self, batch: StagedBatch) -> StagedBatch:
        written = Batch(
            messages=batch.messages,
            violations=batch.violations,
            deadletters=batch.deadletters,
            resolved_deadletters=batch.resolved_deadletters,
            revoked_msgids=[m.pre_msgid for m in batch.messages if m.msgtype == "revoke" and m.pre_msgid],
            new_records=media_queue_records(batch.messages) + batch.new_records,
            checkpoint=batch.checkpoint,
        )
        self.store.write_batch(written)
        record_batch(self.store, written, tz=self.timezone)
        return batch


@dataclass
class Alert:
    """Tells the assigned reviewers about the batch's violations (``wecom.alerts``); never
    raises: an alert problem must not stop archiving."""

    archive: ArchiveContext
    name: str = "alert"

    def __call__(self, batch: StagedBatch) -> StagedBatch:
        notify_violations(self.archive, batch.violations)
        return batch


WRITE_ORDER = ("analyze", "consent", "replies", "match", "store", "alert")


def write_stages(
    archive: ArchiveContext,
    analyzer: ChineseAnalyzer,
    tracker: ReplyTracker,
    directory: Callable[[], Directory],
) -> list[Stage]:
    """The stages from a normalized batch to the store, in ``WRITE_ORDER``."""
    store, settings = archive.store, archive.settings
    stages: list[Stage] = [
        Analyze(analyzer),
        Consent(store, settings),
        ReplyTimes(tracker),
        Match(store, directory),
        Write(store, settings.timezone),
        Alert(archive),
    ]
    assert tuple(s.name for s in stages) == WRITE_ORDER
    return stages
