"""EmbeddedStore: the Store interface on tantivy (messages) + SQLite (small state).

Layout of the data directory: ``index/`` (the tantivy index: every message, stored whole
as JSON; stores from before the checkpoint moved to SQLite also hold one checkpoint
document) and ``state.sqlite3`` (records, violations, dead letters, the set of revoked
msgids, meta with the checkpoint). ``path=None`` keeps both in memory (tests).

Writes take the tantivy writer per call and release it after the commit, so the
dashboard process and the indexer process can both write (the second waits for the
lock). The crash-safety argument for ``write_batch`` is in docs/embedded-engine.md.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import tantivy

from analyzers.rules.engine import RuleEngine
from core.errors import BadInput, ReadOnlyStore, StoreUnavailable
from core.models import (
    REVIEW_STATUSES,
    Batch,
    DeadLetter,
    Message,
    MessageFilter,
    Scope,
    SearchHit,
    SearchRequest,
    SearchResult,
    Violation,
    ViolationFilter,
)
from core.settings import Settings
from store.base import MigrationProgress
from store.embedded import aggs as aggmod
from store.embedded.schema import (
    CHECKPOINT_ID,
    SCHEMA_VERSION,
    build_schema,
    checkpoint_document,
    from_stored,
    register_tokenizers,
    schema_fingerprint,
    to_document,
)
from store.embedded.state import StateDB
from store.embedded.translate import Occur, Query, combine, only_text_documents, translate
from store.filemodes import make_private_dir, private_umask, restrict_tree
from store.highlight import highlight
from store.query import MatchAll, Node, has_scoring_terms, parse_query, positive_terms

logger = logging.getLogger(__name__)

SORTS = ("time_desc", "time_asc", "relevance")
WRITER_HEAP = 64_000_000
LOCK_WAIT_SECONDS = 120.0
# Less free space than one segment flush can need, after an index write failed: the disk is full.
DISK_FULL_BYTES = WRITER_HEAP
WINDOW_MIN_MATCHES = 2_000  # below this, ordering every match by time is cheap
VIOLATION_CHANGES = {"status", "assignee", "reviewer", "reviewed_ms", "comment", "explanation"}


def _tz_offset_ms(timezone: str) -> int:
    offset = datetime.now(ZoneInfo(timezone)).utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0


def _default_timezone(path: Path | None) -> str:
    try:
        return str(Settings(**({"data": str(path)} if path is not None else {})).timezone)
    except Exception:  # a broken config.yaml is reported by whoever reads settings; keep the default here
        return "Asia/Shanghai"


class EmbeddedStore:
    backend_name = "embedded"

    def __init__(self, path: Path | str | None, *, timezone: str | None = None, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        self.read_only = read_only and self.path is not None
        self.timezone = timezone or _default_timezone(self.path)
        self.tz_offset_ms = _tz_offset_ms(self.timezone)
        self._schema = build_schema()
        self._index: tantivy.Index | None = None
        self._state: StateDB | None = None
        self._write_lock = threading.RLock()
        self._open_lock = threading.Lock()
        self._init_result: dict[str, Any] | None = None

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def index_dir(self) -> Path:
        assert self.path is not None
        return self.path / "index"

    def init(self, progress: MigrationProgress | None = None) -> dict[str, Any]:
        with self._open_lock:
            if self._init_result is not None:
                return {**self._init_result, "migrated": False}
            migrated = False
            if self.path is None:
                self._state = StateDB(None)
                self._index = register_tokenizers(tantivy.Index(self._schema))
            elif self.read_only:
                self._open_read_only()
            else:
                private_umask()  # tantivy and SQLite create files we do not open ourselves
                make_private_dir(self.path)
                restrict_tree(self.path, skip=frozenset({"media"}))  # media files are made private as written
                self._state = StateDB(self.path / "state.sqlite3")
                fingerprint = schema_fingerprint()
                self._recover_interrupted_migration()
                exists = self.index_dir.exists() and tantivy.Index.exists(str(self.index_dir))
                stored = self._state.get_meta("schema_fingerprint")
                if exists and stored != fingerprint:
                    self._migrate(fingerprint, stored, progress)
                    migrated = True
                elif not exists:
                    self.index_dir.mkdir(parents=True, exist_ok=True)
                    tantivy.Index(self._schema, path=str(self.index_dir))
                self._index = register_tokenizers(tantivy.Index.open(str(self.index_dir)))
                self._state.set_meta("schema_fingerprint", fingerprint)
                self._state.set_meta("schema_version", str(SCHEMA_VERSION))
            self._init_result = {"backend": self.backend_name, "schema_version": SCHEMA_VERSION, "migrated": migrated}
            return dict(self._init_result)

    def _open_read_only(self) -> None:
        """Opens an existing archive without writing anything: no mode changes, no migration,
        no meta updates (a schema older than this version is searched as it is)."""
        assert self.path is not None
        if not (self.path / "state.sqlite3").is_file() or not tantivy.Index.exists(str(self.index_dir)):
            raise StoreUnavailable(f"no archive at {self.path} to open read-only")
        self._state = StateDB(self.path / "state.sqlite3", read_only=True)
        self._index = register_tokenizers(tantivy.Index.open(str(self.index_dir)))

    def _ready(self) -> tuple[tantivy.Index, StateDB]:
        if self._index is None or self._state is None:
            self.init()
        assert self._index is not None and self._state is not None
        return self._index, self._state

    def close(self) -> None:
        with self._write_lock:
            if self._state is not None:
                self._state.close()
            self._state = None
            self._index = None
            self._init_result = None

    def _recover_interrupted_migration(self) -> None:
        """A migration builds ``index.new`` and swaps it in; finish or discard a half-done one."""
        new, old = self.path / "index.new", self.path / "index.old"  # type: ignore[operator]
        if new.exists() and (new / ".complete").exists() and not self.index_dir.exists():
            new.rename(self.index_dir)
        if new.exists():
            shutil.rmtree(new)
        if old.exists() and self.index_dir.exists():
            shutil.rmtree(old)

    def _migrate(self, fingerprint: str, stored: str | None, progress: MigrationProgress | None = None) -> None:
        """Rebuilds the index with the current schema and analyzer from the stored messages.
        The words are recomputed: a dictionary change is what usually brings us here."""
        logger.info("rebuilding the message index (schema/dictionary %s → %s)", stored, fingerprint)
        old_index = tantivy.Index.open(str(self.index_dir))
        new_dir = self.path / "index.new"  # type: ignore[operator]
        new_dir.mkdir(parents=True)
        new_index = register_tokenizers(tantivy.Index(self._schema, path=str(new_dir)))
        writer = new_index.writer(WRITER_HEAP, 1)
        searcher = old_index.searcher()
        total = searcher.num_docs
        done, step = 0, 5000
        result = searcher.search(Query.all_query(), max(total, 1))
        for _, address in result.hits:
            doc = searcher.doc(address)
            if doc.get_first("doc") is None:  # the checkpoint document: its value is a fast field
                checkpoint = searcher.fast_field_values("checkpoint", [address])[0]
                if checkpoint is not None:
                    writer.add_document(checkpoint_document(int(checkpoint)))
                continue
            message = from_stored(doc)
            message.words = []
            writer.add_document(to_document(message))
            done += 1
            if done % step == 0:
                logger.info("migrated %d of %d messages", done, total)
                if progress is not None:
                    progress("messages", done, total)
        writer.commit()
        writer.wait_merging_threads()
        if progress is not None:
            progress("messages", done, done)
        (new_dir / ".complete").write_text("ok")
        old_dir = self.path / "index.old"  # type: ignore[operator]
        self.index_dir.rename(old_dir)
        new_dir.rename(self.index_dir)
        shutil.rmtree(old_dir)

    # --- writing ------------------------------------------------------------------------
    def _writer(self, num_threads: int = 1) -> tantivy.IndexWriter:
        index, _ = self._ready()
        if self.read_only:
            raise ReadOnlyStore(f"{self.path} is opened read-only (an evidence copy); nothing can be written to it")
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        delay = 0.02
        while True:
            try:
                return index.writer(WRITER_HEAP, num_threads)
            except ValueError as e:
                if "LockBusy" not in str(e):
                    raise
                if time.monotonic() > deadline:
                    raise StoreUnavailable(
                        f"the index at {self.path} is locked by another writer for more than {LOCK_WAIT_SECONDS:.0f}s"
                    ) from e
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _commit(
        self, prepare: Callable[[], tuple[list[Message], list[str], int | None]], *, large: bool = False
    ) -> None:
        """One tantivy commit. ``prepare`` runs while this process holds the index's writer
        lock, on a freshly reloaded reader, so what it reads (stored originals, the current
        checkpoint, SQLite flags) cannot change under it, even from another process. It
        returns (messages to upsert, msgids to delete, checkpoint or None)."""
        index, state = self._ready()
        for attempt in (1, 2):
            try:
                written = self._commit_once(index, prepare, large)
                break
            except ValueError as e:
                self._raise_disk_problem(e)
                # Left over by a writer killed mid-commit and not yet collected: collect, retry once.
                if attempt == 2 or "FileAlreadyExists" not in str(e):
                    raise
                logger.warning("retrying a commit after a leftover file from an interrupted writer: %s", e)
        index.reload()
        if written:  # sizes the time windows of _top_by_time; a stale value only costs speed
            state.extend_time_bounds(min(m.time_ms for m in written), max(m.time_ms for m in written))

    def _raise_disk_problem(self, error: ValueError) -> None:
        """tantivy reports an I/O error in its indexing thread only as "an index writer was killed"
        (the cause is lost): look at the disk, so a full or read-only volume reads as one."""
        if self.path is None or "writer was killed" not in str(error):
            return
        try:
            free = shutil.disk_usage(self.index_dir).free
        except OSError:
            return
        if free < DISK_FULL_BYTES:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.index_dir)) from error
        if not os.access(self.index_dir, os.W_OK):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self.index_dir)) from error

    def _commit_once(
        self, index: tantivy.Index, prepare: Callable[[], tuple[list[Message], list[str], int | None]], large: bool
    ) -> list[Message]:
        writer = self._writer(2 if large else 1)
        try:
            # A writer killed mid-commit (SIGKILL) leaves files the last commit does not
            # reference; a delete file of the same segment and opstamp would then collide
            # ("FileAlreadyExists …del"). Holding the lock, nobody else is writing: clear them.
            writer.garbage_collect_files()
            index.reload()
            adds, deletes, checkpoint = prepare()
            if not adds and not deletes and checkpoint is None:
                return []
            for m in adds:
                writer.delete_documents_by_term("msgid", m.msgid)  # upsert: deletes only older documents
                writer.add_document(to_document(m))
            for msgid in deletes:
                writer.delete_documents_by_term("msgid", msgid)
            if checkpoint is not None:
                writer.delete_documents_by_term("msgid", CHECKPOINT_ID)
                writer.add_document(checkpoint_document(checkpoint))
            writer.commit()
            return adds
        except Exception:
            try:
                writer.rollback()
            except Exception:  # keep the original error; the uncommitted work is discarded anyway
                logger.warning("rollback after a failed commit failed too", exc_info=True)
            raise
        finally:
            writer.wait_merging_threads()  # also releases the writer lock

    def write_batch(self, batch: Batch) -> None:
        _, state = self._ready()
        messages = list({m.msgid: m for m in batch.messages}.values())  # last copy of a msgid wins
        in_batch = {m.msgid for m in messages}
        revoked = set(batch.revoked_msgids)
        violated = {v.msgid for v in batch.violations}

        def prepare() -> tuple[list[Message], list[str], int | None]:
            # Runs holding the index's writer lock. This batch's revokes go to SQLite now, before
            # the commit: another process's batch that re-writes the same original waits for the
            # lock, then sees them (recorded after the commit, a re-write could slip in between
            # and store the original un-revoked). A revoke may precede its original anyway.
            if revoked:
                with state.transaction() as c:
                    state.add_revokes(c, sorted(revoked))
            # Flags that outlive a re-write: every revoke and violation, stored or in this batch.
            revoked_before = state.revoked_among(list(in_batch)) | revoked
            violated_before = state.violated_among(list(in_batch)) | violated
            adds: list[Message] = []
            for m in messages:
                is_revoked = m.revoked or m.msgid in revoked_before
                is_flagged = m.flagged or m.msgid in violated_before
                # A copy only when a flag changes: replace() re-runs __init__, which costs per message.
                changed = is_revoked != m.revoked or is_flagged != m.flagged
                adds.append(dataclasses.replace(m, revoked=is_revoked, flagged=is_flagged) if changed else m)
            # Originals stored by earlier batches.
            for m in self._load(sorted((revoked | violated) - in_batch)):
                changed = dataclasses.replace(
                    m, revoked=m.revoked or m.msgid in revoked, flagged=m.flagged or m.msgid in violated
                )
                if changed != m:
                    adds.append(changed)
            return adds, [], None

        with self._write_lock:
            # Messages first, then (with the checkpoint) everything that refers to them: a crash
            # in between leaves no violation or dead letter without its message, and the old
            # checkpoint makes the pipeline replay the batch, whose writes are all upserts.
            if messages or revoked or violated:
                self._commit(prepare, large=len(messages) >= 20_000)
            with state.transaction() as c:
                state.put_violations(batch.violations, c)
                state.upsert_deadletters(c, batch.deadletters)
                state.remove_deadletters(c, batch.resolved_deadletters)
                state.add_records_if_absent(c, batch.new_records)
                if batch.checkpoint is not None:
                    state.advance_checkpoint(c, int(batch.checkpoint))

    def checkpoint(self) -> int:
        """The checkpoint in SQLite, written after its batch's messages; a store written before
        the checkpoint moved there still has it as a document in the index."""
        index, state = self._ready()
        stored = state.checkpoint()
        searcher = index.searcher()
        result = searcher.search(Query.term_query(self._schema, "msgid", CHECKPOINT_ID), 1)
        legacy = 0
        if result.hits:
            values = searcher.fast_field_values("checkpoint", [result.hits[0][1]])
            legacy = int(values[0]) if values and values[0] is not None else 0
        return max(stored or 0, legacy)

    def refresh(self) -> None:
        index, _ = self._ready()
        index.reload()

    # --- reading helpers ------------------------------------------------------------------
    def _searcher(self) -> tantivy.Searcher:
        index, _ = self._ready()
        return index.searcher()

    def _query(
        self, query: tantivy.Query | None, filters: MessageFilter, scope: Scope, *, text_only: bool = False
    ) -> tantivy.Query:
        return combine(self._schema, query, filters, scope, text_only=text_only)

    def _text_query(self, query: str) -> tuple[Node, tantivy.Query | None, bool]:
        """(AST, tantivy query or None for every message, whether it matches only documents with text)."""
        node = parse_query(query)
        if isinstance(node, MatchAll):
            return node, None, False
        return node, translate(self._schema, node), only_text_documents(node)

    def _load(self, msgids: list[str], scope: Scope | None = None) -> list[Message]:
        if not msgids:
            return []
        searcher = self._searcher()
        q = self._query(None, MessageFilter(msgids=msgids), scope or Scope.everything())
        result = searcher.search(q, len(msgids))
        return [from_stored(searcher.doc(address)) for _, address in result.hits]

    def _time_window(self, q: tantivy.Query, descending: bool, bound: int) -> tantivy.Query:
        """``q`` restricted to time >= bound (newest first) or time <= bound (oldest first)."""
        low, high = (bound, None) if descending else (None, bound)
        window = Query.range_query(self._schema, "time", tantivy.FieldType.Integer, low, high)
        return Query.boolean_query([(Occur.Must, q), (Occur.Must, window)])

    def _top_by_time(
        self, searcher: tantivy.Searcher, q: tantivy.Query, descending: bool, wanted: int, total: int
    ) -> list[tantivy.DocAddress]:
        """The first ``wanted`` matches by time (tantivy orders by one fast field).

        Ordering every match costs O(matches); when there are many, search a time window
        at the newest (oldest) end first and widen it until it holds ``wanted`` matches:
        every match outside the window is older (newer) than every match inside, so the
        window's top is the global top whatever the bounds. ``state.time_bounds`` (the
        archive's first and last message time) only sizes the first window."""
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc
        state = self._ready()[1]
        bounds = state.time_bounds()
        if bounds is None and total > WINDOW_MIN_MATCHES:  # a store written before bounds were kept
            found = searcher.aggregate(
                Query.all_query(), {"first": {"min": {"field": "time"}}, "last": {"max": {"field": "time"}}}
            )
            if found["first"]["value"] is not None:
                state.extend_time_bounds(int(found["first"]["value"]), int(found["last"]["value"]))
                bounds = state.time_bounds()
        if bounds is not None and total > WINDOW_MIN_MATCHES and wanted * 4 < total:
            first, last = bounds
            span = max(1, last - first)
            width = max(60_000, span * wanted * 3 // total)
            while width < span:
                bound = last - width if descending else first + width
                result = searcher.search(
                    self._time_window(q, descending, bound), wanted, count=True, order_by_field="time", order=order
                )
                if result.count >= wanted:
                    return [a for _, a in result.hits]
                width *= 8
        return [a for _, a in searcher.search(q, wanted, count=False, order_by_field="time", order=order).hits]

    def _page(
        self,
        searcher: tantivy.Searcher,
        q: tantivy.Query,
        sort: str,
        limit: int,
        offset: int,
        total: int | None = None,
    ) -> tuple[int, list[tuple[float, tantivy.DocAddress]]]:
        """(total, [(score, address)]) of one page, exactly ordered: by BM25 for
        relevance, by (time, seq) otherwise (the documents that tie with the page's last
        time are fetched whole and ordered by seq). ``total`` if the caller knows it."""
        if sort not in SORTS:
            raise BadInput(f"unknown sort {sort!r}; use one of {', '.join(SORTS)}")
        if limit < 0 or offset < 0:
            raise BadInput("limit and offset must not be negative")
        wanted = offset + limit
        if sort == "relevance" and wanted > 0:
            result = searcher.search(q, limit, count=True, offset=offset)
            return result.count, list(result.hits)
        if total is None:
            total = searcher.search(q, 1, count=True).count
        if wanted == 0 or total == 0:  # (tantivy panics on limit 0: never asked)
            return total, []
        descending = sort == "time_desc"
        addresses = self._top_by_time(searcher, q, descending, wanted, total)
        if not addresses:
            return total, []
        times = searcher.fast_field_values("time", addresses)
        if len(addresses) == wanted and total > wanted:
            boundary = times[-1]
            tie_q = Query.boolean_query(
                [
                    (Occur.Must, q),
                    (
                        Occur.Must,
                        Query.range_query(self._schema, "time", tantivy.FieldType.Integer, boundary, boundary),
                    ),
                ]
            )
            ties = searcher.search(tie_q, 1, count=True).count
            if ties > sum(1 for t in times if t == boundary):
                keep = [a for a, t in zip(addresses, times) if t != boundary]
                tied = [a for _, a in searcher.search(tie_q, ties).hits]
                addresses = keep + tied
                times = searcher.fast_field_values("time", addresses)
        seqs = searcher.fast_field_values("seq", addresses)
        ordered = sorted(zip(times, seqs, range(len(addresses))), reverse=descending)
        return total, [(0.0, addresses[i]) for _, _, i in ordered[offset:wanted]]

    def _known_total(
        self, searcher: tantivy.Searcher, text_query: tantivy.Query | None, filters: MessageFilter, scope: Scope
    ) -> int | None:
        """Every message, unfiltered: the index's document count minus the checkpoint document,
        without visiting a million documents."""
        if text_query is not None or not scope.all or filters != MessageFilter():
            return None
        has_checkpoint = searcher.search(Query.term_query(self._schema, "msgid", CHECKPOINT_ID), 1, count=True).count
        return searcher.num_docs - has_checkpoint

    # --- messages -----------------------------------------------------------------------
    def get_messages(self, msgids: list[str], *, scope: Scope) -> list[Message]:
        wanted = list(dict.fromkeys(msgids))
        by_id = {m.msgid: m for m in self._load(wanted, scope)}
        return [by_id[i] for i in wanted if i in by_id]

    def search(self, request: SearchRequest, *, scope: Scope) -> SearchResult:
        started = time.perf_counter()
        node, text_query, text_only = self._text_query(request.query)
        sort = request.sort
        if sort == "relevance" and not has_scoring_terms(node):
            sort = "time_desc"
        searcher = self._searcher()
        known = self._known_total(searcher, text_query, request.filters, scope)
        q = self._query(text_query, request.filters, scope, text_only=text_only)
        total, page = self._page(searcher, q, sort, request.limit, request.offset, known)
        terms = positive_terms(node)
        hits = []
        for score, address in page:
            m = from_stored(searcher.doc(address))
            hits.append(
                SearchHit(
                    msgid=m.msgid,
                    seq=m.seq,
                    time_ms=m.time_ms,
                    sender=m.sender,
                    chat_id=m.chat_id,
                    msgtype=m.msgtype,
                    highlight=highlight(m.text, terms) if request.highlight else "",
                    score=float(score) if sort == "relevance" else 0.0,
                    message=m,
                )
            )
        took_ms = (time.perf_counter() - started) * 1000
        return SearchResult(total=total, took_ms=round(took_ms, 3), hits=hits)

    def list_messages(
        self, filters: MessageFilter, *, scope: Scope, sort: str = "time_asc", limit: int = 100, offset: int = 0
    ) -> tuple[int, list[Message]]:
        if sort not in ("time_asc", "time_desc"):
            raise BadInput(f"unknown sort {sort!r}; use time_asc or time_desc")
        searcher = self._searcher()
        known = self._known_total(searcher, None, filters, scope)
        total, page = self._page(searcher, self._query(None, filters, scope), sort, limit, offset, known)
        return total, [from_stored(searcher.doc(a)) for _, a in page]

    def iter_messages(
        self, filters: MessageFilter, *, scope: Scope, batch_size: int = 1000, query: str = ""
    ) -> Iterator[Message]:
        """Pages by seq range (never deep offsets): after each page, every message with the
        page's highest seq is read whole, so duplicates of a seq are neither lost nor repeated."""
        batch_size = max(1, int(batch_size))
        _, text_query, text_only = self._text_query(query)
        after: int | None = None
        while True:
            searcher = self._searcher()
            f = dataclasses.replace(filters)
            if after is not None:
                f.seq_from = max(after + 1, filters.seq_from if filters.seq_from is not None else after + 1)
            addresses = []
            if after is not None:  # seqs are dense: the next few batch sizes of seqs usually hold a page
                window_end = after + 1 + 4 * batch_size
                if f.seq_to is None or window_end < f.seq_to:
                    window_filter = dataclasses.replace(f, seq_to=window_end)
                    window = self._query(text_query, window_filter, scope, text_only=text_only)
                    result = searcher.search(
                        window, batch_size, count=True, order_by_field="seq", order=tantivy.Order.Asc
                    )
                    if result.count >= batch_size:
                        addresses = [a for _, a in result.hits]
            if not addresses:
                q = self._query(text_query, f, scope, text_only=text_only)
                result = searcher.search(q, batch_size, count=False, order_by_field="seq", order=tantivy.Order.Asc)
                addresses = [a for _, a in result.hits]
            if not addresses:
                return
            seqs = searcher.fast_field_values("seq", addresses)
            top = max(seqs)
            page = [from_stored(searcher.doc(a)) for a, s in zip(addresses, seqs) if s < top]
            same = dataclasses.replace(f, seq_from=top, seq_to=top + 1)
            tied = self._query(text_query, same, scope, text_only=text_only)
            n = searcher.search(tied, 1, count=True).count
            page += [from_stored(searcher.doc(a)) for _, a in searcher.search(tied, max(n, 1)).hits]
            page.sort(key=lambda m: (m.seq, m.msgid))
            yield from page
            after = top

    def context(self, msgid: str, *, before: int = 10, after: int = 10, scope: Scope) -> list[Message]:
        found = self._load([msgid], scope)
        if not found:
            return []
        target = found[0]
        key = (target.time_ms, target.seq)
        searcher = self._searcher()
        chat = MessageFilter(chats=[target.chat_id])
        ties = searcher.search(
            self._query(None, dataclasses.replace(chat, time_from=target.time_ms, time_to=target.time_ms + 1), scope), 1
        ).count
        earlier: list[Message] = []
        if before > 0:
            q = self._query(None, dataclasses.replace(chat, time_to=target.time_ms + 1), scope)
            _, page = self._page(searcher, q, "time_desc", before + ties, 0)
            earlier = [m for m in (from_stored(searcher.doc(a)) for _, a in page) if (m.time_ms, m.seq) < key][:before]
            earlier.reverse()
        later: list[Message] = []
        if after > 0:
            q = self._query(None, dataclasses.replace(chat, time_from=target.time_ms), scope)
            _, page = self._page(searcher, q, "time_asc", after + ties, 0)
            later = [m for m in (from_stored(searcher.doc(a)) for _, a in page) if (m.time_ms, m.seq) > key][:after]
        return [*earlier, target, *later]

    def count(self, filters: MessageFilter, *, scope: Scope, query: str = "") -> int:
        _, text_query, text_only = self._text_query(query)
        searcher = self._searcher()
        known = self._known_total(searcher, text_query, filters, scope)
        if known is not None:
            return known
        return searcher.search(self._query(text_query, filters, scope, text_only=text_only), 1, count=True).count

    def aggregate(
        self, filters: MessageFilter, aggs: dict[str, Any], *, scope: Scope, query: str = ""
    ) -> dict[str, Any]:
        _, text_query, text_only = self._text_query(query)
        request = aggmod.to_tantivy(aggs, self.tz_offset_ms)
        if not request:
            return {}
        result = self._searcher().aggregate(self._query(text_query, filters, scope, text_only=text_only), request)
        return aggmod.from_tantivy(aggs, result)

    def update_messages(self, messages: list[Message]) -> None:
        with self._write_lock:
            if messages:
                unique = list({m.msgid: m for m in messages}.values())
                self._commit(lambda: (unique, [], None))

    def delete_messages(self, msgids: list[str]) -> int:
        _, state = self._ready()
        with self._write_lock:
            wanted = list(dict.fromkeys(msgids))
            if not wanted:
                return 0
            existing = (
                self._searcher().search(self._query(None, MessageFilter(msgids=wanted), Scope.everything()), 1).count
            )
            state.delete_violations_of(wanted)
            state.delete_revokes(wanted)
            self._commit(lambda: ([], wanted, None))
            return existing

    # --- violations -------------------------------------------------------------------------
    def match_rules(self, messages: list[Message], engine: RuleEngine) -> list[Violation]:
        return engine.match_batch(messages)  # the automaton is the fastest candidate filter here

    def put_violations(self, violations: list[Violation]) -> None:
        _, state = self._ready()
        with self._write_lock:
            state.put_violations(violations)
            to_flag = sorted({v.msgid for v in violations})
            if to_flag:
                self._commit(
                    lambda: (
                        [dataclasses.replace(m, flagged=True) for m in self._load(to_flag) if not m.flagged],
                        [],
                        None,
                    )
                )

    def list_violations(
        self, filters: ViolationFilter, *, scope: Scope, sort: str = "time_desc", limit: int = 50, offset: int = 0
    ) -> tuple[int, list[Violation]]:
        _, state = self._ready()
        return state.list_violations(filters, scope, sort, limit, offset)

    def aggregate_violations(self, filters: ViolationFilter, aggs: dict[str, Any], *, scope: Scope) -> dict[str, Any]:
        _, state = self._ready()
        return state.aggregate_violations(filters, aggs, scope, self.tz_offset_ms)

    def update_violation(self, violation_id: str, changes: dict[str, Any]) -> Violation:
        _, state = self._ready()
        unknown = set(changes) - VIOLATION_CHANGES
        if unknown:
            raise BadInput(
                f"cannot change {', '.join(sorted(unknown))} of a "
                f"violation; allowed: {', '.join(sorted(VIOLATION_CHANGES))}"
            )
        if "status" in changes and changes["status"] not in REVIEW_STATUSES:
            raise BadInput(f"unknown review status {changes['status']!r}; use one of {', '.join(REVIEW_STATUSES)}")
        with self._write_lock:
            current = state.get_violation(violation_id)
            if current is None:
                raise BadInput(f"no violation {violation_id!r}")
            updated = dataclasses.replace(current, **changes)
            state.put_violations([updated])
            return updated

    # --- dead letters --------------------------------------------------------------------------
    def list_deadletters(self, *, limit: int = 1000, offset: int = 0) -> tuple[int, list[DeadLetter]]:
        _, state = self._ready()
        return state.list_deadletters(limit, offset)

    # --- records ---------------------------------------------------------------------------------
    def put_record(self, collection: str, record_id: str, doc: dict[str, Any]) -> None:
        self._ready()[1].put_record(collection, record_id, doc)

    def put_records(self, collection: str, docs: dict[str, dict[str, Any]]) -> None:
        self._ready()[1].put_records(collection, docs)

    def get_record(self, collection: str, record_id: str) -> dict[str, Any] | None:
        return self._ready()[1].get_record(collection, record_id)

    def get_records(self, collection: str, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._ready()[1].get_records(collection, record_ids)

    def delete_record(self, collection: str, record_id: str) -> bool:
        return self._ready()[1].delete_record(collection, record_id)

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
        return self._ready()[1].find_records(
            collection, where, order_by=order_by, descending=descending, limit=limit, offset=offset
        )

    def count_records(self, collection: str, where: dict[str, Any] | None = None) -> int:
        return self._ready()[1].count_records(collection, where)

    def append_record(self, collection: str, doc: dict[str, Any]) -> int:
        return self._ready()[1].append_record(collection, doc)

    # --- overview -----------------------------------------------------------------------------
    def stats(self, *, scope: Scope) -> dict[str, Any]:
        _, state = self._ready()
        everything = MessageFilter()
        by_type = self.aggregate(
            everything, {"t": {"terms": {"field": "msgtype", "size": aggmod.ALL_TERMS}}}, scope=scope
        )
        return {
            "messages": self.count(everything, scope=scope),
            "violations": state.count_violations(scope),
            "deadletter": state.count_deadletters(),
            "last_seq": self.checkpoint(),
            "by_msgtype": {b["key"]: b["doc_count"] for b in by_type["t"]["buckets"]},
        }
