"""The embedded store's small state in SQLite: records, violations, dead letters, meta.

One file (``DATA/state.sqlite3``) in WAL mode, so the dashboard process reads while the
indexer process writes. One connection guarded by a lock serves every thread of a
process (the state is small; the lock keeps sqlite3's thread rules simple). Every write
is an idempotent upsert, which the crash-safety argument of ``write_batch`` relies on
(docs/embedded-engine.md).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.errors import BadInput, ReadOnlyStore
from core.models import DeadLetter, Scope, Violation, ViolationFilter
from store.base import RECORD_COLLECTIONS, VIOLATION_AGG_FIELDS

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER, doc TEXT NOT NULL,
    PRIMARY KEY (collection, id));
CREATE INDEX IF NOT EXISTS records_seq ON records (collection, seq);
CREATE INDEX IF NOT EXISTS records_section ON records (collection, json_extract(doc, '$."section"'));
CREATE TABLE IF NOT EXISTS violations (
    id TEXT PRIMARY KEY, msgid TEXT NOT NULL, rule_id TEXT NOT NULL, category TEXT, severity TEXT,
    status TEXT, sender TEXT, chat_id TEXT, assignee TEXT, time INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS violations_time ON violations (time);
CREATE INDEX IF NOT EXISTS violations_msgid ON violations (msgid);
CREATE INDEX IF NOT EXISTS violations_rule ON violations (rule_id, time);
CREATE INDEX IF NOT EXISTS violations_status ON violations (status, time);
CREATE TABLE IF NOT EXISTS violation_employees (vid TEXT NOT NULL, employee TEXT NOT NULL, PRIMARY KEY (vid, employee));
CREATE INDEX IF NOT EXISTS violation_employees_e ON violation_employees (employee);
CREATE TABLE IF NOT EXISTS violation_departments (vid TEXT NOT NULL, department INTEGER NOT NULL,
    PRIMARY KEY (vid, department));
CREATE INDEX IF NOT EXISTS violation_departments_d ON violation_departments (department);
CREATE TABLE IF NOT EXISTS deadletters (msgid TEXT PRIMARY KEY, seq INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deadletters_seq ON deadletters (seq);
CREATE TABLE IF NOT EXISTS revokes (msgid TEXT PRIMARY KEY);
"""

# employees/departments of a violation live in side tables (one row per value)
_MULTI_TABLES = {
    "employees": ("violation_employees", "employee"),
    "departments": ("violation_departments", "department"),
}
_INTERVALS = {"1h": 3_600_000, "1d": 86_400_000, "hour": 3_600_000, "day": 86_400_000}


def check_collection(collection: str) -> None:
    if collection not in RECORD_COLLECTIONS:
        raise BadInput(f"unknown record collection {collection!r}")


def _json_path(field: str) -> str:
    if not field or '"' in field:
        raise BadInput(f"bad record field name {field!r}")
    return '$."' + field + '"'


def _sql_value(value: Any) -> Any:
    """What json_extract returns for a JSON value: booleans are 1/0, containers are JSON text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


BUSY_TIMEOUT_SECONDS = 30.0  # how long a write waits for another process's transaction


class StateDB:
    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only and path is not None
        self._lock = threading.RLock()
        if self.read_only:
            # immutable=1: SQLite neither writes nor creates -wal/-shm files and takes no locks,
            # so a copy on read-only media (or one that must stay bit-identical) opens as is.
            uri = f"{Path(str(path)).resolve().as_uri()}?mode=ro&immutable=1"
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            return
        target = str(path) if path is not None else ":memory:"
        self._conn = sqlite3.connect(
            target, check_same_thread=False, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None
        )
        with self._lock:
            if path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL" if path is None else "PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- helpers -------------------------------------------------------------------------
    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    # --- meta ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def checkpoint(self) -> int | None:
        value = self.get_meta("checkpoint")
        return int(value) if value is not None else None

    def advance_checkpoint(self, c: sqlite3.Cursor, seq: int) -> None:
        """Moves the checkpoint forward in the caller's transaction; never back."""
        c.execute(
            "INSERT INTO meta (key, value) VALUES ('checkpoint', ?) ON CONFLICT(key) DO UPDATE SET "
            "value = CAST(MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
            (str(int(seq)),),
        )

    def time_bounds(self) -> tuple[int, int] | None:
        """(first, last) message time ever written: a hint for sizing search windows."""
        first, last = self.get_meta("time_first"), self.get_meta("time_last")
        return (int(first), int(last)) if first is not None and last is not None else None

    def extend_time_bounds(self, first: int, last: int) -> None:
        if self.read_only:  # only a hint for sizing search windows
            return
        with self.transaction() as c:
            for key, value, pick in (("time_first", first, "MIN"), ("time_last", last, "MAX")):
                c.execute(
                    f"INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                    f"value = CAST({pick}(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
                    (key, str(int(value))),
                )

    # --- records --------------------------------------------------------------------------
    def put_record(self, collection: str, record_id: str, doc: dict[str, Any]) -> None:
        self.put_records(collection, {record_id: doc})

    def put_records(self, collection: str, docs: dict[str, dict[str, Any]]) -> None:
        """Upserts, in one transaction (one sync to disk for all of them)."""
        check_collection(collection)
        rows = [
            (
                collection,
                str(record_id),
                json.dumps({k: v for k, v in doc.items() if k not in ("_id", "_seq")}, ensure_ascii=False, default=str),
            )
            for record_id, doc in docs.items()
        ]
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO records (collection, id, seq, doc) VALUES (?, ?, NULL, ?) "
                "ON CONFLICT(collection, id) DO UPDATE SET doc = excluded.doc",
                rows,
            )

    def add_records_if_absent(self, c: sqlite3.Connection, items: list[tuple[str, str, dict[str, Any]]]) -> None:
        for collection, _, _ in items:
            check_collection(collection)
        c.executemany(
            "INSERT INTO records (collection, id, seq, doc) VALUES (?, ?, NULL, ?) "
            "ON CONFLICT(collection, id) DO NOTHING",
            [(col, str(rid), json.dumps(doc, ensure_ascii=False, default=str)) for col, rid, doc in items],
        )

    def get_records(self, collection: str, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        check_collection(collection)
        ids = list(dict.fromkeys(str(r) for r in record_ids))
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            sql = f"SELECT id, seq, doc FROM records WHERE collection = ? AND id IN ({','.join('?' * len(chunk))})"
            for row in self._query(sql, [collection, *chunk]):
                out[row[0]] = self._record(row)
        return out

    def get_record(self, collection: str, record_id: str) -> dict[str, Any] | None:
        check_collection(collection)
        rows = self._query(
            "SELECT id, seq, doc FROM records WHERE collection = ? AND id = ?", (collection, str(record_id))
        )
        return self._record(rows[0]) if rows else None

    def delete_record(self, collection: str, record_id: str) -> bool:
        check_collection(collection)
        with self.transaction() as c:
            cur = c.execute("DELETE FROM records WHERE collection = ? AND id = ?", (collection, str(record_id)))
            return cur.rowcount > 0

    @staticmethod
    def _record(row: tuple) -> dict[str, Any]:
        doc = json.loads(row[2])
        doc["_id"] = row[0]
        if row[1] is not None:
            doc["_seq"] = row[1]
        return doc

    @staticmethod
    def _where(collection: str, where: dict[str, Any] | None) -> tuple[str, list[Any]]:
        clauses, params = ["collection = ?"], [collection]
        for field, value in (where or {}).items():
            if field == "_id":
                column = "id"
            elif field == "_seq":
                column = "seq"
            else:
                column = f"json_extract(doc, '{_json_path(field)}')"
            if isinstance(value, (list, tuple, set, frozenset)):
                values = [_sql_value(v) for v in value]
                if not values:
                    clauses.append("0")
                    continue
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
            elif value is None:
                clauses.append(f"{column} IS NULL")
            else:
                clauses.append(f"{column} = ?")
                params.append(_sql_value(value))
        return " AND ".join(clauses), params

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
        check_collection(collection)
        sql_where, params = self._where(collection, where)
        direction = "DESC" if descending else "ASC"
        if order_by is None or order_by == "_seq":
            order = f"seq {direction}, id {direction}" if order_by else "seq, id"
        elif order_by == "_id":
            order = f"id {direction}"
        else:
            order = f"json_extract(doc, '{_json_path(order_by)}') {direction}, id {direction}"
        sql = f"SELECT id, seq, doc FROM records WHERE {sql_where} ORDER BY {order} LIMIT ? OFFSET ?"
        params += [-1 if limit is None else int(limit), int(offset)]
        return [self._record(r) for r in self._query(sql, params)]

    def count_records(self, collection: str, where: dict[str, Any] | None = None) -> int:
        check_collection(collection)
        sql_where, params = self._where(collection, where)
        return int(self._query(f"SELECT COUNT(*) FROM records WHERE {sql_where}", params)[0][0])

    def append_record(self, collection: str, doc: dict[str, Any]) -> int:
        check_collection(collection)
        body = {k: v for k, v in doc.items() if k not in ("_id", "_seq")}
        text = json.dumps(body, ensure_ascii=False, default=str)
        with self.transaction() as c:  # BEGIN IMMEDIATE: two processes never take the same number
            row = c.execute("SELECT MAX(seq) FROM records WHERE collection = ?", (collection,)).fetchone()
            position = int(row[0] or 0) + 1
            c.execute(
                "INSERT INTO records (collection, id, seq, doc) VALUES (?, ?, ?, ?)",
                (collection, str(position), position, text),
            )
        return position

    # --- violations ----------------------------------------------------------------------
    @staticmethod
    def _upsert_violation(c: sqlite3.Cursor, v: Violation) -> None:
        vid = v.id
        c.execute(
            "INSERT INTO violations "
            "(id, msgid, rule_id, category, severity, status, sender, chat_id, assignee, time, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET msgid = excluded.msgid, "
            "rule_id = excluded.rule_id, category = excluded.category, severity = excluded.severity, "
            "status = excluded.status, sender = excluded.sender, chat_id = excluded.chat_id, "
            "assignee = excluded.assignee, time = excluded.time, doc = excluded.doc",
            (
                vid,
                v.msgid,
                v.rule_id,
                v.category,
                v.severity,
                v.status,
                v.sender,
                v.chat_id,
                v.assignee,
                v.time_ms,
                json.dumps(v.to_dict(), ensure_ascii=False),
            ),
        )
        c.execute("DELETE FROM violation_employees WHERE vid = ?", (vid,))
        c.execute("DELETE FROM violation_departments WHERE vid = ?", (vid,))
        c.executemany(
            "INSERT OR IGNORE INTO violation_employees (vid, employee) VALUES (?, ?)", [(vid, e) for e in v.employees]
        )
        c.executemany(
            "INSERT OR IGNORE INTO violation_departments (vid, department) VALUES (?, ?)",
            [(vid, int(d)) for d in v.departments],
        )

    def put_violations(self, violations: list[Violation], c: sqlite3.Cursor | None = None) -> None:
        if c is not None:
            for v in violations:
                self._upsert_violation(c, v)
            return
        with self.transaction() as cur:
            for v in violations:
                self._upsert_violation(cur, v)

    def get_violation(self, violation_id: str) -> Violation | None:
        rows = self._query("SELECT doc FROM violations WHERE id = ?", (violation_id,))
        return Violation.from_dict(json.loads(rows[0][0])) if rows else None

    def delete_violations_of(self, msgids: list[str]) -> None:
        with self.transaction() as c:
            for chunk in _chunks(msgids, 500):
                marks = ",".join("?" * len(chunk))
                ids = [r[0] for r in c.execute(f"SELECT id FROM violations WHERE msgid IN ({marks})", chunk).fetchall()]
                for vchunk in _chunks(ids, 500):
                    vm = ",".join("?" * len(vchunk))
                    c.execute(f"DELETE FROM violation_employees WHERE vid IN ({vm})", vchunk)
                    c.execute(f"DELETE FROM violation_departments WHERE vid IN ({vm})", vchunk)
                    c.execute(f"DELETE FROM violations WHERE id IN ({vm})", vchunk)

    @staticmethod
    def _violation_where(filters: ViolationFilter, scope: Scope) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []

        def one_of(column: str, values: list[Any]) -> None:
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)

        for field, values in filters.terms():
            if field not in _MULTI_TABLES:  # employees and departments: the join tables below
                one_of(field, values)
        if filters.assignee is not None:
            clauses.append("assignee = ?")
            params.append(filters.assignee)
        if filters.time_from is not None:
            clauses.append("time >= ?")
            params.append(int(filters.time_from))
        if filters.time_to is not None:
            clauses.append("time < ?")
            params.append(int(filters.time_to))
        if filters.employees:
            clauses.append(
                "id IN (SELECT vid FROM violation_employees WHERE "
                f"employee IN ({','.join('?' * len(filters.employees))}))"
            )
            params.extend(filters.employees)
        if filters.departments:
            deps = [int(d) for d in filters.departments]
            clauses.append(
                f"id IN (SELECT vid FROM violation_departments WHERE department IN ({','.join('?' * len(deps))}))"
            )
            params.extend(deps)
        if not scope.all:
            users, deps = sorted(scope.users), sorted(scope.departments)
            parts = []
            if users:
                parts.append(
                    f"id IN (SELECT vid FROM violation_employees WHERE employee IN ({','.join('?' * len(users))}))"
                )
                params.extend(users)
            if deps:
                parts.append(
                    f"id IN (SELECT vid FROM violation_departments WHERE department IN ({','.join('?' * len(deps))}))"
                )
                params.extend(deps)
            clauses.append("(" + " OR ".join(parts) + ")" if parts else "0")
        return (" AND ".join(clauses) or "1"), params

    def list_violations(
        self, filters: ViolationFilter, scope: Scope, sort: str, limit: int, offset: int
    ) -> tuple[int, list[Violation]]:
        where, params = self._violation_where(filters, scope)
        orders = {"time_desc": "time DESC, id DESC", "time_asc": "time ASC, id ASC"}
        if sort not in orders:
            raise BadInput(f"unknown sort {sort!r}; use time_desc or time_asc")
        total = int(self._query(f"SELECT COUNT(*) FROM violations WHERE {where}", params)[0][0])
        rows = self._query(
            f"SELECT doc FROM violations WHERE {where} ORDER BY {orders[sort]} LIMIT ? OFFSET ?",
            [*params, int(limit), int(offset)],
        )
        return total, [Violation.from_dict(json.loads(r[0])) for r in rows]

    def count_violations(self, scope: Scope) -> int:
        where, params = self._violation_where(ViolationFilter(), scope)
        return int(self._query(f"SELECT COUNT(*) FROM violations WHERE {where}", params)[0][0])

    def aggregate_violations(
        self, filters: ViolationFilter, aggs: dict[str, Any], scope: Scope, tz_offset_ms: int
    ) -> dict[str, Any]:
        where, params = self._violation_where(filters, scope)
        return _ViolationAggregator(self, tz_offset_ms).run(where, params, aggs, depth=0)

    # --- dead letters ----------------------------------------------------------------------
    @staticmethod
    def upsert_deadletters(c: sqlite3.Cursor, items: list[DeadLetter]) -> None:
        c.executemany(
            "INSERT INTO deadletters (msgid, seq, doc) VALUES (?, ?, ?) "
            "ON CONFLICT(msgid) DO UPDATE SET seq = excluded.seq, doc = excluded.doc",
            [(d.msgid, int(d.seq), json.dumps(d.to_dict(), ensure_ascii=False, default=str)) for d in items],
        )

    @staticmethod
    def remove_deadletters(c: sqlite3.Cursor, msgids: list[str]) -> None:
        c.executemany("DELETE FROM deadletters WHERE msgid = ?", [(m,) for m in msgids])

    def list_deadletters(self, limit: int, offset: int) -> tuple[int, list[DeadLetter]]:
        total = int(self._query("SELECT COUNT(*) FROM deadletters")[0][0])
        rows = self._query(
            "SELECT doc FROM deadletters ORDER BY seq, msgid LIMIT ? OFFSET ?", (int(limit), int(offset))
        )
        return total, [DeadLetter(**json.loads(r[0])) for r in rows]

    def count_deadletters(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM deadletters")[0][0])

    # --- revoked msgids and violated msgids (flags that survive a re-write) ----------------
    @staticmethod
    def add_revokes(c: sqlite3.Cursor, msgids: list[str]) -> None:
        """Every revoked msgid, also one whose original has not arrived yet."""
        c.executemany("INSERT OR IGNORE INTO revokes (msgid) VALUES (?)", [(m,) for m in msgids])

    def delete_revokes(self, msgids: list[str]) -> None:
        with self.transaction() as c:
            c.executemany("DELETE FROM revokes WHERE msgid = ?", [(m,) for m in msgids])

    def _among(self, table: str, msgids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(msgids, 500):
            rows = self._query(
                f"SELECT DISTINCT msgid FROM {table} WHERE msgid IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update(r[0] for r in rows)
        return found

    def revoked_among(self, msgids: list[str]) -> set[str]:
        return self._among("revokes", msgids)

    def violated_among(self, msgids: list[str]) -> set[str]:
        return self._among("violations", msgids)


class _Transaction:
    """``with db.transaction() as cursor:`` BEGIN IMMEDIATE … COMMIT (ROLLBACK on error)."""

    def __init__(self, db: StateDB) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Cursor:
        if self.db.read_only:
            raise ReadOnlyStore(f"{self.db.path} is opened read-only (an evidence copy); nothing can be written to it")
        self.db._lock.acquire()
        try:
            self.cursor = self.db._conn.cursor()
            self.cursor.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.db._lock.release()
            raise
        return self.cursor

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.cursor.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.db._lock.release()


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


class _ViolationAggregator:
    """The store's aggregation subset, computed with SQL over the violations table."""

    def __init__(self, db: StateDB, tz_offset_ms: int) -> None:
        self.db = db
        self.tz_offset_ms = tz_offset_ms

    def _values_sql(self, field: str, where: str) -> str:
        """A SELECT of (id, value) rows for ``field`` over the matching violations."""
        if field in _MULTI_TABLES:
            table, column = _MULTI_TABLES[field]
            return (
                f"SELECT t.vid AS id, t.{column} AS v FROM {table} t "
                f"WHERE t.vid IN (SELECT id FROM violations WHERE {where})"
            )
        return f"SELECT id, {field} AS v FROM violations WHERE {where}"

    @staticmethod
    def _field(spec: dict[str, Any], kind: str) -> str:
        field = spec.get("field")
        if field not in VIOLATION_AGG_FIELDS:
            raise BadInput(f"{kind}: field {field!r} cannot be aggregated; use one of {sorted(VIOLATION_AGG_FIELDS)}")
        return field

    def run(self, where: str, params: list[Any], aggs: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, body in (aggs or {}).items():
            kinds = [k for k in body if k != "aggs"]
            if len(kinds) != 1:
                raise BadInput(f"aggregation {name!r}: expected exactly one aggregation type")
            kind, spec = kinds[0], body[kinds[0]]
            sub = body.get("aggs")
            if sub and depth >= 1:
                raise BadInput("only one level of sub-aggregations is supported")
            if kind in ("terms", "date_histogram", "histogram"):
                out[name] = self._buckets(kind, spec, where, params, sub, depth)
            else:
                out[name] = self._metric(kind, spec, where, params)
        return out

    def _buckets(
        self, kind: str, spec: dict[str, Any], where: str, params: list[Any], sub: Any, depth: int
    ) -> dict[str, Any]:
        field = self._field(spec, kind)
        values = self._values_sql(field, where)
        if kind == "terms":
            size = int(spec.get("size", 10))
            rows = self.db._query(
                f"SELECT v, COUNT(*) AS n FROM ({values}) WHERE v IS NOT NULL GROUP BY v ORDER BY n DESC, v ASC", params
            )
            keys = [(r[0], r[1], r[0]) for r in rows]
            other = sum(r[1] for r in rows[size:])
            keys = keys[:size]
        else:
            if field != "time" and kind == "date_histogram":
                raise BadInput("date_histogram: only the field time is supported")
            if kind == "date_histogram":
                interval_name = spec.get("fixed_interval") or spec.get("calendar_interval") or spec.get("interval")
                if interval_name not in _INTERVALS:
                    raise BadInput(f"date_histogram: interval must be 1h or 1d, got {interval_name!r}")
                interval = _INTERVALS[interval_name]
                offset = (-self.tz_offset_ms) % interval
            else:
                interval = float(spec.get("interval") or 0)
                if interval <= 0:
                    raise BadInput("histogram: interval must be positive")
                offset = float(spec.get("offset", 0))
            bucket = f"((CAST(v AS REAL) - {offset}) / {interval})"
            rows = self.db._query(
                f"SELECT CAST(floor({bucket}) AS INTEGER) AS b, COUNT(*) "
                f"FROM ({values}) WHERE v IS NOT NULL GROUP BY b ORDER BY b",
                params,
            )
            keys = []
            for b, n in rows:
                key = b * interval + offset
                key = int(key) if kind == "date_histogram" else float(key)
                keys.append((key, n, (b * interval + offset, (b + 1) * interval + offset)))
            other = None
        buckets = []
        for key, n, selector in keys:
            bucket: dict[str, Any] = {"key": key, "doc_count": n}
            if sub:
                sub_where, sub_params = self._narrow(field, kind, selector, where, params)
                bucket.update(self.run(sub_where, sub_params, sub, depth + 1))
            buckets.append(bucket)
        result: dict[str, Any] = {"buckets": buckets}
        if other is not None:
            result.update({"doc_count_error_upper_bound": 0, "sum_other_doc_count": other})
        return result

    def _narrow(self, field: str, kind: str, selector: Any, where: str, params: list[Any]) -> tuple[str, list[Any]]:
        if field in _MULTI_TABLES:
            table, column = _MULTI_TABLES[field]
            return f"{where} AND id IN (SELECT vid FROM {table} WHERE {column} = ?)", [*params, selector]
        if kind == "terms":
            return f"{where} AND {field} = ?", [*params, selector]
        low, high = selector
        return f"{where} AND {field} >= ? AND {field} < ?", [*params, low, high]

    def _metric(self, kind: str, spec: dict[str, Any], where: str, params: list[Any]) -> dict[str, Any]:
        field = self._field(spec, kind)
        values = self._values_sql(field, where)
        if kind == "cardinality":
            return {"value": self.db._query(f"SELECT COUNT(DISTINCT v) FROM ({values})", params)[0][0]}
        if kind == "value_count":
            return {"value": self.db._query(f"SELECT COUNT(v) FROM ({values})", params)[0][0]}
        if kind in ("min", "max", "avg", "sum", "stats"):
            n, lo, hi, avg, total = self.db._query(
                "SELECT COUNT(v), MIN(v), MAX(v), AVG(v), TOTAL(v) "
                f"FROM ({values}) WHERE typeof(v) IN ('integer', 'real')",
                params,
            )[0]
            stats = {"count": n, "min": _num(lo), "max": _num(hi), "avg": _num(avg), "sum": float(total)}
            if kind == "stats":
                return stats
            return {"value": stats[kind] if n else (0.0 if kind == "sum" else None)}
        if kind == "percentiles":
            rows = self.db._query(f"SELECT v FROM ({values}) WHERE typeof(v) IN ('integer', 'real') ORDER BY v", params)
            data = [float(r[0]) for r in rows]
            percents = spec.get("percents") or [1, 5, 25, 50, 75, 95, 99]
            return {"values": {f"{float(p)}": percentile(data, float(p)) for p in percents}}
        raise BadInput(f"unknown aggregation type {kind!r}")


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (Elasticsearch's result on small sets)."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = p / 100 * (len(sorted_values) - 1)
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)
