"""Stand-in store for the compliance tests until store/embedded lands: real SQLite for the
record collections, a plain in-memory table for messages (scope applied with
Scope.allows). Delete once the compliance tests run on EmbeddedStore."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from chatarchive.models import Batch, Message, MessageFilter, Scope, SearchHit, SearchRequest, SearchResult
from store.base import RECORD_COLLECTIONS


class StandInStore:
    backend_name = "stand-in"

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path / "records.sqlite"))
        self.db.execute("create table if not exists records (collection text, id text, seq integer, doc text, "
                        "primary key (collection, id))")
        self.messages: dict[str, Message] = {}
        self.violations: dict[str, Any] = {}

    def init(self) -> dict[str, Any]:
        return {"backend": self.backend_name, "schema_version": 1, "migrated": False}

    def close(self) -> None:
        self.db.close()

    def refresh(self) -> None:
        pass

    # messages
    def write_batch(self, batch: Batch) -> None:
        for m in batch.messages:
            self.messages[m.msgid] = Message.from_dict(m.to_dict())
        for v in batch.violations:
            self.violations[v.id] = v

    def list_violations(self, filters: Any, *, scope: Scope, sort: str = "time_desc", limit: int = 50,
                        offset: int = 0) -> tuple[int, list[Any]]:
        found = [v for v in self.violations.values() if v.msgid in self.messages and scope.allows(self.messages[v.msgid])]
        return len(found), found[offset:offset + limit]

    def _match(self, m: Message, f: MessageFilter) -> bool:
        return ((f.time_from is None or m.time_ms >= f.time_from) and (f.time_to is None or m.time_ms < f.time_to)
                and (not f.msgtypes or m.msgtype in f.msgtypes) and (not f.msgids or m.msgid in f.msgids))

    def iter_messages(self, filters: MessageFilter, *, scope: Scope, batch_size: int = 1000) -> Iterator[Message]:
        for m in sorted(self.messages.values(), key=lambda m: (m.time_ms, m.seq)):
            if scope.allows(m) and self._match(m, filters):
                yield Message.from_dict(m.to_dict())

    def get_messages(self, msgids: list[str], *, scope: Scope) -> list[Message]:
        return [Message.from_dict(self.messages[i].to_dict()) for i in msgids
                if i in self.messages and scope.allows(self.messages[i])]

    def search(self, request: SearchRequest, *, scope: Scope) -> SearchResult:
        found = [m for m in self.iter_messages(request.filters, scope=scope) if request.query in m.text]
        page = found[request.offset:request.offset + request.limit]
        return SearchResult(len(found), 0.0, [SearchHit(m.msgid, m.seq, m.time_ms, m.sender, m.chat_id, m.msgtype, m.text)
                                              for m in page])

    def update_messages(self, messages: list[Message]) -> None:
        for m in messages:
            self.messages[m.msgid] = Message.from_dict(m.to_dict())

    def delete_messages(self, msgids: list[str]) -> int:
        return sum(self.messages.pop(i, None) is not None for i in msgids)

    # records
    def _check(self, collection: str) -> None:
        assert collection in RECORD_COLLECTIONS, collection

    def put_record(self, collection: str, record_id: str, doc: dict[str, Any]) -> None:
        self._check(collection)
        self.db.execute("insert into records values (?, ?, null, ?) on conflict (collection, id) do update set doc = "
                        "excluded.doc", (collection, record_id, json.dumps(doc)))
        self.db.commit()

    def get_record(self, collection: str, record_id: str) -> dict[str, Any] | None:
        row = self.db.execute("select doc from records where collection = ? and id = ?", (collection, record_id)).fetchone()
        return json.loads(row[0]) if row else None

    def delete_record(self, collection: str, record_id: str) -> bool:
        cur = self.db.execute("delete from records where collection = ? and id = ?", (collection, record_id))
        self.db.commit()
        return cur.rowcount > 0

    def find_records(self, collection: str, where: dict[str, Any] | None = None, *, order_by: str | None = None,
                     descending: bool = False, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        self._check(collection)
        out = []
        for rid, seq, doc in self.db.execute("select id, seq, doc from records where collection = ? order by rowid",
                                             (collection,)):
            d = json.loads(doc)
            if all((d.get(k) in v) if isinstance(v, list) else d.get(k) == v for k, v in (where or {}).items()):
                d["_id"] = rid
                if seq is not None:
                    d["_seq"] = seq
                out.append(d)
        if order_by:
            out.sort(key=lambda d: d.get(order_by), reverse=descending)
        return out[offset:offset + limit if limit is not None else None]

    def count_records(self, collection: str, where: dict[str, Any] | None = None) -> int:
        return len(self.find_records(collection, where))

    def append_record(self, collection: str, doc: dict[str, Any]) -> int:
        self._check(collection)
        seq = (self.db.execute("select max(seq) from records where collection = ?", (collection,)).fetchone()[0] or 0) + 1
        self.db.execute("insert into records values (?, ?, ?, ?)", (collection, str(seq), seq, json.dumps(doc)))
        self.db.commit()
        return seq


def _aggregate_days(self: StandInStore, filters: MessageFilter, aggs: dict[str, Any], *, scope: Scope,
                    query: str = "") -> dict[str, Any]:
    from compliance.integrity import day_bounds, day_of

    counts: dict[str, int] = {}
    for m in self.iter_messages(filters, scope=scope):
        d = day_of(m.time_ms)
        counts[d] = counts.get(d, 0) + 1
    (name, spec), = aggs.items()
    assert "date_histogram" in spec
    return {name: {"buckets": [{"key": day_bounds(d)[0], "doc_count": n} for d, n in sorted(counts.items())]}}


StandInStore.aggregate = _aggregate_days  # type: ignore[attr-defined]


def open_test_store(path: Path) -> Any:
    """The real embedded store when it exists, else the stand-in."""
    try:
        from store.embedded import EmbeddedStore  # type: ignore[attr-defined]
    except ImportError:
        return StandInStore(path)
    store = EmbeddedStore(path)
    store.init()
    return store
