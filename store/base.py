"""The store interface. The pipeline, the CLI, the compliance layer and every dashboard
page read and write through it; no caller talks to tantivy, SQLite or Elasticsearch.

Scope: every read of messages or violations takes a required keyword ``scope``. The
backend applies it inside the query (a filter on ``employees``/``departments``), so
totals, hits and aggregation buckets never include anything outside it. ``Scope.everything()``
is for the pipeline and super administrators only; ``compliance.access`` decides which
scope an account gets.

Aggregations use Elasticsearch's aggregation JSON (a subset, identical on both
backends): ``terms`` (field, size; buckets ordered by ``_count`` desc, ties by key asc),
``date_histogram`` (field ``time``, ``fixed_interval`` ``"1h"`` or ``"1d"``; buckets are
local to the archive's time zone, keys in epoch ms; empty buckets omitted),
``histogram`` (field, interval), and the metrics ``value_count``, ``min``, ``max``,
``avg``, ``sum``, ``stats``, ``percentiles`` (field, percents) and ``cardinality``; one
level of sub-aggregations under ``aggs``. Results have Elasticsearch's response shape:
``{"name": {"buckets": [{"key": k, "doc_count": n, "sub_name": {...}}]}}`` for bucket
aggregations (each sub-aggregation's result is a key of its bucket, as in Elasticsearch;
``buckets()`` reads them) and ``{"name": {"value": v}}`` (``stats``: ``count/min/max/avg/sum``;
``percentiles``: ``{"values": {"50.0": v}}``) for metrics. Only ``AGG_FIELDS`` may be named.

Records: small state (accounts, the audit trail, rules and their versions, reviews,
saved searches, legal holds, consent, settings, digests, the directory) lives in named
collections of JSON documents with the generic ``*_record`` methods, so the compliance
and rules layers keep their logic in one place for both backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

from analyzers.rules.engine import RuleEngine
from core.models import (
    Batch,
    DeadLetter,
    Message,
    MessageFilter,
    Scope,
    SearchRequest,
    SearchResult,
    Violation,
    ViolationFilter,
)

# Message fields that aggregations may name (all are indexed as keywords/numbers on both backends).
AGG_FIELDS: frozenset[str] = frozenset(
    {
        "time",  # = time_ms, a date
        "msgtype",
        "sender",
        "sender_kind",
        "chat_id",
        "chat_kind",
        "employees",
        "externals",
        "departments",
        "flagged",
        "revoked",
        "has_external",
        "reply_ms",
        "reply_business_ms",
        "key_version",
        "sentiment",
    }
)

# Violation fields that violation aggregations may name.
VIOLATION_AGG_FIELDS: frozenset[str] = frozenset(
    {"time", "rule_id", "category", "severity", "status", "sender", "employees", "departments", "chat_id", "assignee"}
)

RECORD_COLLECTIONS: frozenset[str] = frozenset(
    {
        "accounts",
        "sessions",
        "audit",  # append-only; compliance.audit chains the entries
        "rules",  # current version of each rule
        "rule_versions",  # every version ever saved
        "reviews",  # review records (evidence of supervision)
        "samples",  # supervisor sampling draws
        "saved_searches",
        "legal_holds",
        "consent",
        "digests",  # daily message-hash chain
        "directory",  # departments, employees, external contacts, groups
        "settings_log",
        "media",  # fetched media objects and the download backlog
        "events",  # switch records and pipeline events
        "meta",  # counters, alerts, pipeline health
        "message_versions",  # re-delivered messages whose content differs from the stored one (evidence)
        "ledger_items",  # the evidence ledger's writer cache: one record per section item (compliance.ledger)
    }
)


# A migration's progress report: (index kind or what is migrated, done, total).
MigrationProgress = Callable[[str, int, int], None]


@runtime_checkable
class Store(Protocol):
    """Everything the product stores. Implementations: EmbeddedStore, ElasticsearchStore."""

    backend_name: str

    # --- lifecycle -------------------------------------------------------------------
    def init(self, progress: MigrationProgress | None = None) -> dict[str, Any]:
        """Creates the store or migrates it to the current schema; safe to repeat, and an
        interrupted migration resumes. ``progress`` hears how far a migration is.
        Returns ``{"backend": name, "schema_version": v, "migrated": bool}``."""
        ...

    def close(self) -> None:
        """Releases writers, locks and connections."""
        ...

    # --- ingestion -------------------------------------------------------------------
    def write_batch(self, batch: Batch) -> None:
        """Stores messages (upsert by msgid: storing a message twice keeps one copy),
        violations (upsert by id), dead letters (upsert by msgid), marks ``revoked_msgids``,
        removes ``resolved_deadletters``, and advances the checkpoint, so that a crash at
        any instant neither loses nor duplicates anything (the pipeline replays from the
        last checkpoint)."""
        ...

    def checkpoint(self) -> int:
        """The highest seq whose batch is fully stored (0 for a new store)."""
        ...

    def refresh(self) -> None:
        """Makes everything written so far visible to searches (near-real-time backends)."""
        ...

    # --- messages ----------------------------------------------------------------------
    def get_messages(self, msgids: list[str], *, scope: Scope) -> list[Message]:
        """The messages with these ids that ``scope`` allows, in the order given."""
        ...

    def search(self, request: SearchRequest, *, scope: Scope) -> SearchResult:
        """Full-text search with the contract's query syntax (``store.query``), filters,
        sorting, paging and highlights. Raises ``QueryError`` for a bad query."""
        ...

    def list_messages(
        self,
        filters: MessageFilter,
        *,
        scope: Scope,
        sort: str = "time_asc",
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[int, list[Message]]:
        """Messages matching the filters (no text query): ``(total, page)``. ``sort`` is
        ``time_asc`` or ``time_desc`` (ties broken by seq)."""
        ...

    def iter_messages(
        self, filters: MessageFilter, *, scope: Scope, batch_size: int = 1000, query: str = ""
    ) -> Iterator[Message]:
        """Every matching message (and, if given, matching the text query) in (seq, msgid)
        order, streamed with no size limit and no offsets (exports, backtests, purges).
        Elasticsearch: ``search_after`` over a point in time, closed when the iteration ends."""
        ...

    def context(self, msgid: str, *, before: int = 10, after: int = 10, scope: Scope) -> list[Message]:
        """The conversation around one message, in time order, the message included.
        Empty if the message does not exist or ``scope`` does not allow it."""
        ...

    def count(self, filters: MessageFilter, *, scope: Scope, query: str = "") -> int:
        """How many messages match (and, if given, match the text query)."""
        ...

    def aggregate(
        self, filters: MessageFilter, aggs: dict[str, Any], *, scope: Scope, query: str = ""
    ) -> dict[str, Any]:
        """Aggregations over matching messages (see the module docstring for the subset)."""
        ...

    def update_messages(self, messages: list[Message]) -> None:
        """Replaces stored messages by msgid (masking, consent, late flags)."""
        ...

    def delete_messages(self, msgids: list[str]) -> int:
        """Deletes messages and their violations (retention purge). Returns how many existed."""
        ...

    # --- violations ------------------------------------------------------------------------
    def match_rules(self, messages: list[Message], engine: RuleEngine) -> list[Violation]:
        """The violations of a batch by the shared rule engine. A backend may narrow the
        candidate rules first (Elasticsearch percolates); the hits are the engine's, so
        identical on every backend."""
        ...

    def put_violations(self, violations: list[Violation]) -> None:
        """Upserts violations by id and marks their messages flagged (retroactive rules)."""
        ...

    def list_violations(
        self,
        filters: ViolationFilter,
        *,
        scope: Scope,
        sort: str = "time_desc",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[Violation]]: ...

    def aggregate_violations(self, filters: ViolationFilter, aggs: dict[str, Any], *, scope: Scope) -> dict[str, Any]:
        """The same aggregation subset over violations (``VIOLATION_AGG_FIELDS``)."""
        ...

    def update_violation(self, violation_id: str, changes: dict[str, Any]) -> Violation:
        """Review workflow: status, assignee, reviewer, reviewed_ms, comment."""
        ...

    # --- dead letters ------------------------------------------------------------------------
    def list_deadletters(self, *, limit: int = 1000, offset: int = 0) -> tuple[int, list[DeadLetter]]: ...

    # --- records: small state in named collections ---------------------------------------
    def put_record(self, collection: str, record_id: str, doc: dict[str, Any]) -> None: ...

    def put_records(self, collection: str, docs: dict[str, dict[str, Any]]) -> None:
        """``put_record`` for each ``{record_id: doc}``, in one write where the backend can."""
        ...

    def get_record(self, collection: str, record_id: str) -> dict[str, Any] | None: ...

    def get_records(self, collection: str, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Those of ``record_ids`` that exist, by id, in one request where the backend can."""
        ...

    def delete_record(self, collection: str, record_id: str) -> bool: ...

    def find_records(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Documents whose top-level fields equal ``where``'s values (a list value means
        "one of"). Each returned doc carries its id as ``_id`` (and ``_seq`` for appended)."""
        ...

    def count_records(self, collection: str, where: dict[str, Any] | None = None) -> int: ...

    def append_record(self, collection: str, doc: dict[str, Any]) -> int:
        """Appends to an append-only collection; returns its position (1, 2, 3, ...)."""
        ...

    # --- overview ------------------------------------------------------------------------------
    def stats(self, *, scope: Scope) -> dict[str, Any]:
        """``{"messages", "violations", "deadletter", "last_seq", "by_msgtype"}`` as in the contract."""
        ...


def buckets(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The buckets of bucket aggregation ``name`` in an aggregation result, or a bucket (for
    its sub-aggregations): the one reader of the documented shape."""
    return list((result.get(name) or {}).get("buckets") or [])
