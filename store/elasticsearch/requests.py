"""Every Elasticsearch request body the backend sends, built by pure functions.

Nothing here talks to a cluster: each function turns our model (filters, scope, the
query AST, aggregations, rules, batches) into plain JSON-able data. That is what
``tests/test_es_requests.py`` pins as golden JSON and ``tests/test_es_spec.py``
validates against Elasticsearch's own API specification.

Text fields: the indexer sends ``folded`` = ``fold(text)`` (width and case folding,
one character for one) and ``words`` = the jieba words joined by spaces. ``folded`` is
indexed as character bigrams (phrases of two or more characters: ``match_phrase``) and
as unigrams in ``folded.uni`` (one-character phrases), so a phrase matches exactly the
messages whose folded text contains it, as in the embedded engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.models import DeadLetter, Message, MessageFilter, Scope, Violation, ViolationFilter
from store.query import And, MatchAll, Node, Not, Or, Phrase, Word

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"

# Index kinds: each lives in ``{prefix}-{kind}-v{version}`` behind the alias ``{prefix}-{kind}``.
# Messages are time-based: ``{prefix}-messages-v{version}-000001``, rolled over by ILM.
INDEX_KINDS: tuple[str, ...] = (
    "messages",
    "violations",
    "rules",
    "deadletters",
    "records",
    "audit",
    "reviews",
    "state",
)
ROLLED_KINDS: frozenset[str] = frozenset({"messages"})

# Record collections with an index of their own; the others share ``records``.
RECORD_INDEX_OF: dict[str, str] = {"audit": "audit", "reviews": "reviews"}

MATCH_NONE: dict[str, Any] = {"match_none": {}}
MATCH_ALL: dict[str, Any] = {"match_all": {}}

# ---------------------------------------------------------------- names and templates


def alias_name(prefix: str, kind: str) -> str:
    return f"{prefix}-{kind}"


def index_name(prefix: str, kind: str, version: int) -> str:
    """The concrete index a fresh ``init`` creates for ``kind`` at ``version``."""
    base = f"{prefix}-{kind}-v{version}"
    return f"{base}-000001" if kind in ROLLED_KINDS else base


_VERSION_RE = re.compile(r"-v(\d+)(?:-\d{6})?$")


def version_of_index(index: str) -> int:
    """The schema version encoded in a concrete index name (0 if it has none)."""
    m = _VERSION_RE.search(index)
    return int(m.group(1)) if m else 0


def load_mapping_file(kind: str) -> dict[str, Any]:
    return json.loads((MAPPINGS_DIR / f"{kind}.json").read_text(encoding="utf-8"))


def schema_versions() -> dict[str, int]:
    """The current schema version of every index kind (from mappings/*.json)."""
    return {kind: int(load_mapping_file(kind)["version"]) for kind in INDEX_KINDS}


def ilm_policy_name(prefix: str) -> str:
    return f"{prefix}-messages-policy"


def ilm_policy() -> dict[str, Any]:
    """PUT /_ilm/policy/{name}: rollover only; retention deletes, legal holds respected."""
    return json.loads((MAPPINGS_DIR / "ilm-messages.json").read_text(encoding="utf-8"))


def index_template(prefix: str, kind: str) -> dict[str, Any]:
    """PUT /_index_template/{prefix}-{kind}: the versioned mapping plus our index pattern."""
    doc = load_mapping_file(kind)
    body: dict[str, Any] = {
        "index_patterns": [f"{prefix}-{kind}-v*"],
        "priority": 200,
        "version": doc["version"],
        "_meta": doc["_meta"],  # {"chatarchive": {schema_version, kind, description}}
        "template": json.loads(json.dumps(doc["template"])),
    }
    if kind in ROLLED_KINDS:
        index_settings = body["template"]["settings"].setdefault("index", {})
        index_settings["lifecycle"] = {"name": ilm_policy_name(prefix), "rollover_alias": alias_name(prefix, kind)}
    return body


def dynamic_index_settings(kind: str) -> dict[str, Any]:
    """PUT /{alias}/_settings at every init: the template's settings that can change on a live
    index, so indices created by an older release follow them too. ``auto_expand_replicas``
    0-1: no replica on a single node (the cluster is green, not yellow), one once a second
    node joins."""
    index = load_mapping_file(kind)["template"]["settings"]["index"]
    return {"index": {"auto_expand_replicas": index["auto_expand_replicas"]}}


def create_index_body(prefix: str, kind: str, *, with_alias: bool) -> dict[str, Any]:
    """PUT /{index}: the template supplies settings and mappings; we add the alias."""
    if not with_alias:
        return {}
    alias: dict[str, Any] = {"is_write_index": True} if kind in ROLLED_KINDS else {}
    return {"aliases": {alias_name(prefix, kind): alias}}


def migration_index_body(prefix: str, kind: str) -> dict[str, Any]:
    """PUT /{index} of the index a migration fills. A rolled kind's index joins its rollover
    alias in the create request itself (ILM rejects an index whose rollover alias does not
    point at it), hidden from reads by a ``match_none`` filter and not the write index, so
    reads and writes keep using the old indices until the atomic switch. Other kinds have
    no ILM and their old index is the alias's only (implicit) write target: no alias yet."""
    if kind not in ROLLED_KINDS:
        return {}
    return {"aliases": {alias_name(prefix, kind): {"is_write_index": False, "filter": MATCH_NONE}}}


def write_block_settings(blocked: bool) -> dict[str, Any]:
    """PUT /{old indices}/_settings during a migration: no write may land in an index the
    reindex has already copied past (it would be lost at the switch)."""
    return {"index": {"blocks": {"write": blocked}}}


def indexing_complete_settings() -> dict[str, Any]:
    """PUT /{old write index}/_settings: tells ILM the index will get no more writes, so it
    stops waiting to roll it over once the alias has moved to the migrated index."""
    return {"index": {"lifecycle": {"indexing_complete": True}}}


def alias_switch(prefix: str, kind: str, old_indices: Iterable[str], new_index: str) -> dict[str, Any]:
    """POST /_aliases: one atomic switch of the alias from the old indices to the new one."""
    alias = alias_name(prefix, kind)
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}} for old in sorted(old_indices)]
    add: dict[str, Any] = {"index": new_index, "alias": alias}
    if kind in ROLLED_KINDS:
        add["is_write_index"] = True
    actions.append({"add": add})
    return {"actions": actions}


def reindex(source_indices: Iterable[str], dest_index: str, kind: str = "messages") -> dict[str, Any]:
    """POST /_reindex: copy every document of the old concrete indices into the new versioned
    index (ids kept). Concrete names, not the alias: the new index is already a (hidden)
    member of a rolled kind's alias, and a reindex may not read the index it writes.
    Record kinds recompute their sort fields on the way (``RECORD_REINDEX_SCRIPT``)."""
    body: dict[str, Any] = {
        "source": {"index": sorted(source_indices), "size": 1000},
        "dest": {"index": dest_index, "op_type": "index"},
        "conflicts": "proceed",
    }
    if kind in RECORD_KINDS:
        body["script"] = {"lang": "painless", "source": RECORD_REINDEX_SCRIPT}
    return body


REINDEX_ACTION = "indices:data/write/reindex"


def is_reindex_into(task: dict[str, Any], dest_index: str) -> bool:
    """Whether a running task (GET /_tasks?detailed) is a reindex into ``dest_index``: its
    description is ``reindex from [sources] to [dest]`` (ReindexRequest#getDescription)."""
    description = str(task.get("description", ""))
    if task.get("action") != REINDEX_ACTION:
        return False
    return description.startswith("reindex from ") and description.endswith(f" to [{dest_index}]")


def task_progress(task: dict[str, Any]) -> tuple[int, int]:
    """``(documents done, total)`` of a reindex task's status (GET /_tasks/{id})."""
    status = task.get("task", {}).get("status", {})
    done = sum(int(status.get(k, 0)) for k in ("created", "updated", "deleted", "version_conflicts", "noops"))
    return done, int(status.get("total", 0))


def task_failure(task: dict[str, Any]) -> str | None:
    """Why a completed reindex task failed, or None if every document was copied."""
    if task.get("error"):
        error = task["error"]
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"
    failures = task.get("response", {}).get("failures") or []
    if failures:
        first = failures[0]
        cause = first.get("cause", {}) if isinstance(first, dict) else {}
        example = f"{first.get('id', '?')}: {cause.get('type', '')}: {cause.get('reason', '')}"
        return f"{len(failures)} documents failed, e.g. {example}"
    return None


# ---------------------------------------------------------------- documents


def message_document(message: Message, folded: str) -> dict[str, Any]:
    """The _source of a message: the message itself plus the indexed helper fields."""
    doc = message.to_dict()
    doc["time"] = message.time_ms
    doc["direction"] = message.direction
    doc["folded"] = folded
    doc["words"] = " ".join(message.words)
    return doc


def message_from_source(source: dict[str, Any]) -> Message:
    d = dict(source)
    words = d.get("words") or ""
    d["words"] = words.split(" ") if isinstance(words, str) and words else (words if isinstance(words, list) else [])
    return Message.from_dict(d)


def violation_document(violation: Violation) -> dict[str, Any]:
    doc = violation.to_dict()
    doc["time"] = violation.time_ms
    return doc


def deadletter_document(deadletter: DeadLetter) -> dict[str, Any]:
    return deadletter.to_dict()


def record_document(collection: str, record_id: str, doc: dict[str, Any], seq: int = 0) -> dict[str, Any]:
    """``doc`` is kept whole (not indexed); ``fields`` indexes its scalar top-level values
    as keywords so ``find_records`` can pre-filter on the cluster; ``numbers`` repeats the
    numeric and boolean ones as doubles and ``others`` names the keys holding anything else,
    so records can be sorted on the cluster exactly as the embedded store sorts them."""
    fields: dict[str, Any] = {}
    numbers: dict[str, float | int] = {}
    others: list[str] = []
    for key, value in doc.items():
        if not _indexable_key(key):
            continue
        if isinstance(value, bool):
            fields[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            fields[key] = str(value)
        elif isinstance(value, list) and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            fields[key] = [str(v) for v in value]
        if isinstance(value, (bool, int, float)):
            numbers[key] = int(value) if isinstance(value, bool) else value
        elif value is not None:
            others.append(key)
    return {
        "collection": collection,
        "record_id": record_id,
        "seq": seq,
        "fields": fields,
        "numbers": numbers,
        "others": others,
        "doc": doc,
    }


def _indexable_key(key: str) -> bool:
    return bool(key) and not key.startswith("_") and "." not in key


# The same derivation in Painless, for a migration: documents written by an older release
# lack ``numbers`` and ``others`` (a reindex copies _source as it is).
RECORD_REINDEX_SCRIPT = (
    "def numbers = [:]; def others = []; def doc = ctx._source.doc == null ? [:] : ctx._source.doc;"
    " for (entry in doc.entrySet()) { String key = entry.getKey(); def value = entry.getValue();"
    " if (key.isEmpty() || key.startsWith('_') || key.contains('.')) { continue; }"
    " if (value instanceof Boolean) { numbers[key] = value ? 1 : 0; }"
    " else if (value instanceof Number) { numbers[key] = value; }"
    " else if (value != null) { others.add(key); } }"
    " ctx._source.numbers = numbers; ctx._source.others = others;"
)
RECORD_KINDS: frozenset[str] = frozenset({"records", "audit", "reviews"})


def record_sort(order_by: str | None, descending: bool) -> list[dict[str, Any]] | None:
    """The cluster-side sort equal to the embedded store's order, or None when ``order_by``
    is not a plain field. A field sort is exact only if no matching record holds a
    non-numeric value there (``others``): the caller checks that first."""
    direction = "desc" if descending else "asc"
    if order_by is None:
        return [{"seq": {"order": "asc"}}, {"record_id": {"order": "asc"}}]
    if order_by == "_seq":
        return [{"seq": {"order": direction}}, {"record_id": {"order": direction}}]
    if order_by == "_id":
        return [{"record_id": {"order": direction}}]
    if not _indexable_key(order_by):
        return None
    # Missing values (None) sort first ascending and last descending, as in Python.
    missing = "_last" if descending else "_first"
    by_value = {"order": direction, "missing": missing, "unmapped_type": "double"}
    return [{f"numbers.{order_by}": by_value}, {"record_id": {"order": direction}}]


def record_prefilter(collection: str, where: dict[str, Any] | None) -> dict[str, Any]:
    """A query that returns a superset of the records ``where`` selects (the exact
    comparison is done in Python, with the embedded store's semantics)."""
    clauses: list[dict[str, Any]] = [{"term": {"collection": {"value": collection}}}]
    for key, value in (where or {}).items():
        if key.startswith("_") or "." in key:
            continue
        values = value if isinstance(value, list) else [value]
        if not values:
            return MATCH_NONE
        # Floats are compared in Python only: 1.0 == 1 there, but "1.0" != "1" as keywords.
        if all(isinstance(v, (str, int)) and len(str(v)) <= 1024 for v in values):
            strings = ["true" if v is True else "false" if v is False else str(v) for v in values]
            clauses.append({"terms": {f"fields.{key}": strings}})
    return {"bool": {"filter": clauses}}


def bulk_lines(operations: Iterable[tuple[str, str, str, dict[str, Any] | None]]) -> list[dict[str, Any]]:
    """The body of POST /_bulk as a list of objects (the client writes them as NDJSON).

    ``operations`` are ``(action, index, id, payload)`` with action ``index`` (payload
    = the document), ``create`` (the document, only if the id is new: 409 otherwise),
    ``update`` (payload = the partial document) or ``delete``."""
    lines: list[dict[str, Any]] = []
    for action, index, doc_id, payload in operations:
        lines.append({action: {"_index": index, "_id": doc_id}})
        if action in ("index", "create"):
            lines.append(payload or {})
        elif action == "update":
            lines.append({"doc": payload or {}})
        elif action != "delete":
            raise ValueError(f"unknown bulk action {action!r}")
    return lines


# ---------------------------------------------------------------- scope and filters


def scope_filter(scope: Scope) -> dict[str, Any] | None:
    """The scope as a filter clause on employees/departments; None for everything."""
    if scope.all:
        return None
    if scope.is_empty:
        return MATCH_NONE
    should: list[dict[str, Any]] = []
    if scope.users:
        should.append({"terms": {"employees": sorted(scope.users)}})
    if scope.departments:
        should.append({"terms": {"departments": sorted(scope.departments)}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _range(field: str, gte: int | None, lt: int | None) -> dict[str, Any] | None:
    if gte is None and lt is None:
        return None
    bounds: dict[str, Any] = {}
    if gte is not None:
        bounds["gte"] = gte
    if lt is not None:
        bounds["lt"] = lt
    return {"range": {field: bounds}}


def message_filter_clauses(filters: MessageFilter) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    for clause in (_range("time", filters.time_from, filters.time_to), _range("seq", filters.seq_from, filters.seq_to)):
        if clause is not None:
            clauses.append(clause)
    for field, values in filters.terms():
        clauses.append({"terms": {field: values}})
    if filters.flagged is not None:
        clauses.append({"term": {"flagged": {"value": filters.flagged}}})
    if filters.revoked is not None:
        clauses.append({"term": {"revoked": {"value": filters.revoked}}})
    return clauses


def violation_filter_clauses(filters: ViolationFilter) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    clause = _range("time", filters.time_from, filters.time_to)
    if clause is not None:
        clauses.append(clause)
    for field, values in filters.terms():
        clauses.append({"terms": {field: values}})
    if filters.assignee is not None:
        clauses.append({"term": {"assignee": {"value": filters.assignee}}})
    return clauses


def filtered_query(text_query: dict[str, Any] | None, clauses: list[dict[str, Any]], scope: Scope) -> dict[str, Any]:
    """``bool``: the text query scores, the filters and the scope restrict (always)."""
    filters = list(clauses)
    sf = scope_filter(scope)
    if sf is not None:
        filters.append(sf)
    body: dict[str, Any] = {}
    if text_query is not None and text_query != MATCH_ALL:
        body["must"] = [text_query]
    if filters:
        body["filter"] = filters
    if not body:
        return {"match_all": {}}
    return {"bool": body}


# ---------------------------------------------------------------- the query language


def phrase_query(folded_phrase: str) -> dict[str, Any]:
    """Substring semantics on the folded text: unigrams for one character, bigram
    phrases otherwise (consecutive overlapping bigrams = the exact substring)."""
    if len(folded_phrase) == 1:
        return {"term": {"folded.uni": {"value": folded_phrase}}}
    return {"match_phrase": {"folded": {"query": folded_phrase}}}


def word_query(words: list[str], boost: float | None = None) -> dict[str, Any]:
    """A whole word (``=word``): its jieba words in sequence in the ``words`` field."""
    if not words:
        return MATCH_NONE
    extra = {"boost": boost} if boost is not None else {}
    if len(words) == 1:
        return {"term": {"words": {"value": words[0], **extra}}}
    return {"match_phrase": {"words": {"query": " ".join(words), **extra}}}


# How much a whole-word occurrence adds to a bare word's relevance over a substring one.
WHOLE_WORD_BOOST = 2.0


def bare_word_query(folded_word: str, words: list[str]) -> dict[str, Any]:
    """A bare word: every message containing it (the phrase query); where jieba keeps it
    whole, the optional ``should`` clause scores the message higher."""
    substring = phrase_query(folded_word)
    if not words:
        return substring
    return {"bool": {"must": [substring], "should": [word_query(words, WHOLE_WORD_BOOST)]}}


def text_query(node: Node, *, fold: Any, segment: Any) -> dict[str, Any]:
    """The Query DSL of a parsed query. ``fold`` folds a phrase like the indexer folds
    text; ``segment`` gives a bare word's jieba words (``analyzers.chinese.query_words``)."""
    if isinstance(node, MatchAll):
        return MATCH_ALL
    if isinstance(node, Phrase):
        return phrase_query(fold(node.text))
    if isinstance(node, Word):
        words = list(segment(node.text))
        if not node.whole:
            return bare_word_query(fold(node.text), words)
        # A "word" with no jieba words (punctuation, symbols) matches as a phrase, as in the embedded store.
        return word_query(words) if words else phrase_query(fold(node.text))
    if isinstance(node, And):
        must = [text_query(c, fold=fold, segment=segment) for c in node.children if not isinstance(c, Not)]
        must_not = [text_query(c.child, fold=fold, segment=segment) for c in node.children if isinstance(c, Not)]
        body: dict[str, Any] = {"must": must or [MATCH_ALL]}
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if isinstance(node, Or):
        return {
            "bool": {
                "should": [text_query(c, fold=fold, segment=segment) for c in node.children],
                "minimum_should_match": 1,
            }
        }
    if isinstance(node, Not):
        return {"bool": {"must": [MATCH_ALL], "must_not": [text_query(node.child, fold=fold, segment=segment)]}}
    raise TypeError(f"not a query node: {node!r}")


SORTS: dict[str, list[Any]] = {
    "time_desc": [{"time": {"order": "desc"}}, {"seq": {"order": "desc"}}],
    "time_asc": [{"time": {"order": "asc"}}, {"seq": {"order": "asc"}}],
    "relevance": ["_score", {"time": {"order": "desc"}}, {"seq": {"order": "desc"}}],
}

VIOLATION_SORTS: dict[str, list[Any]] = {
    "time_desc": [{"time": {"order": "desc"}}, {"id": {"order": "desc"}}],
    "time_asc": [{"time": {"order": "asc"}}, {"id": {"order": "asc"}}],
}


PIT_KEEP_ALIVE = "5m"  # how long the point in time lives between two pages (renewed by each page)


def iter_body(
    query: dict[str, Any], *, size: int, search_after: list[Any] | None, pit_id: str | None = None
) -> dict[str, Any]:
    """One page of a full scan in (seq, msgid) order, as the embedded store streams:
    ``search_after`` on a total order, so no message is lost or repeated. With ``pit_id``
    the page reads the point in time (POST /_search, no index in the path): one
    consistent view for the whole scan, however long it runs."""
    body: dict[str, Any] = {
        "query": query,
        "sort": [{"seq": {"order": "asc"}}, {"msgid": {"order": "asc"}}],
        "size": size,
        "track_total_hits": False,
    }
    if search_after is not None:
        body["search_after"] = search_after
    if pit_id is not None:
        body["pit"] = {"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}
    return body


def sort_clause(sort: str, table: dict[str, list[Any]] = SORTS) -> list[Any]:
    try:
        return table[sort]
    except KeyError:
        raise BadInput(f"unknown sort {sort!r} (use one of: {', '.join(table)})") from None


def search_body(
    query: dict[str, Any],
    *,
    sort: str,
    size: int,
    offset: int = 0,
    search_after: list[Any] | None = None,
    source: bool | list[str] = True,
    sorts: dict[str, list[Any]] = SORTS,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": query,
        "sort": sort_clause(sort, sorts),
        "size": size,
        "track_total_hits": True,
        "_source": source,
    }
    if search_after is not None:
        body["search_after"] = search_after
    elif offset:
        body["from"] = offset
    return body


def ids_query(ids: list[str]) -> dict[str, Any]:
    return {"ids": {"values": list(ids)}}


def locate_body(ids: list[str]) -> dict[str, Any]:
    """Which concrete index holds each of these ids (messages live in rolled indices)."""
    return {"query": ids_query(ids), "size": len(ids), "_source": False}


def context_body(chat_id: str, time_ms: int, seq: int, *, before: bool, size: int, scope: Scope) -> dict[str, Any]:
    """Messages of the same conversation strictly before (or after) (time, seq)."""
    if before:
        order = {
            "bool": {
                "should": [
                    {"range": {"time": {"lt": time_ms}}},
                    {"bool": {"filter": [{"term": {"time": {"value": time_ms}}}, {"range": {"seq": {"lt": seq}}}]}},
                ],
                "minimum_should_match": 1,
            }
        }
        sort = "time_desc"
    else:
        order = {
            "bool": {
                "should": [
                    {"range": {"time": {"gt": time_ms}}},
                    {"bool": {"filter": [{"term": {"time": {"value": time_ms}}}, {"range": {"seq": {"gt": seq}}}]}},
                ],
                "minimum_should_match": 1,
            }
        }
        sort = "time_asc"
    query = filtered_query(None, [{"term": {"chat_id": {"value": chat_id}}}, order], scope)
    return search_body(query, sort=sort, size=size)


# ---------------------------------------------------------------- aggregations

BUCKET_AGGS = frozenset({"terms", "date_histogram", "histogram"})
METRIC_AGGS = frozenset({"value_count", "min", "max", "avg", "sum", "stats", "percentiles", "cardinality"})
FIXED_INTERVALS = frozenset({"1h", "1d"})


def aggregations(
    aggs: dict[str, Any], *, allowed_fields: frozenset[str], time_zone: str, depth: int = 0
) -> dict[str, Any]:
    """Translates the documented subset; anything else is a ``BadInput``."""
    if not isinstance(aggs, dict) or not aggs:
        raise BadInput("aggregations: expected a non-empty object of named aggregations")
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        if not isinstance(spec, dict):
            raise BadInput(f"aggregation {name!r}: expected an object")
        sub = spec.get("aggs", spec.get("aggregations"))
        kinds = [k for k in spec if k not in ("aggs", "aggregations")]
        if len(kinds) != 1:
            raise BadInput(f"aggregation {name!r}: expected exactly one aggregation type, got {kinds}")
        kind = kinds[0]
        params = spec[kind]
        if kind not in BUCKET_AGGS and kind not in METRIC_AGGS:
            raise BadInput(f"aggregation {name!r}: unsupported type {kind!r}")
        if not isinstance(params, dict) or params.get("field") not in allowed_fields:
            raise BadInput(f"aggregation {name!r}: field must be one of {sorted(allowed_fields)}")
        field = params["field"]
        body: dict[str, Any]
        if kind == "terms":
            size = int(params.get("size", 10))
            body = {
                "field": field,
                "size": size,
                "shard_size": max(size * 10, 1000),
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            }
        elif kind == "date_histogram":
            interval = params.get("fixed_interval")
            if field != "time" or interval not in FIXED_INTERVALS:
                raise BadInput(f"aggregation {name!r}: date_histogram needs field 'time' and fixed_interval 1h or 1d")
            body = {"field": "time", "fixed_interval": interval, "time_zone": time_zone, "min_doc_count": 1}
        elif kind == "histogram":
            interval = params.get("interval")
            if not isinstance(interval, (int, float)) or isinstance(interval, bool) or interval <= 0:
                raise BadInput(f"aggregation {name!r}: histogram needs a positive interval")
            body = {"field": field, "interval": interval, "min_doc_count": 1}
        elif kind == "percentiles":
            percents = params.get("percents", [1, 5, 25, 50, 75, 95, 99])
            body = {"field": field, "percents": [float(p) for p in percents], "keyed": True}
        elif kind == "cardinality":
            body = {"field": field, "precision_threshold": 40000}
        else:
            body = {"field": field}
        container: dict[str, Any] = {kind: body}
        if sub is not None:
            if kind not in BUCKET_AGGS:
                raise BadInput(f"aggregation {name!r}: only bucket aggregations take sub-aggregations")
            if depth >= 1:
                raise BadInput(f"aggregation {name!r}: only one level of sub-aggregations is supported")
            container["aggregations"] = aggregations(
                sub, allowed_fields=allowed_fields, time_zone=time_zone, depth=depth + 1
            )
        out[name] = container
    return out


def _bucket_key(kind: str, bucket: dict[str, Any]) -> Any:
    if kind == "date_histogram":
        return int(bucket["key"])
    return bucket["key"]


def normalize_aggregations(aggs: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch's response reduced to exactly what the embedded engine returns
    (store.embedded.aggs.from_tantivy): the same keys, key types and empty-value rules."""
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        kind = next(k for k in spec if k not in ("aggs", "aggregations"))
        sub = spec.get("aggs", spec.get("aggregations"))
        result = response.get(name) or {}
        if kind in BUCKET_AGGS:
            buckets = []
            for b in result.get("buckets", []):
                if int(b.get("doc_count", 0)) == 0:
                    continue
                item: dict[str, Any] = {"key": _bucket_key(kind, b), "doc_count": int(b["doc_count"])}
                if kind == "terms" and "key_as_string" in b:
                    item["key_as_string"] = b["key_as_string"]
                if sub:
                    item.update(normalize_aggregations(sub, b))
                buckets.append(item)
            if kind == "terms":
                out[name] = {
                    "doc_count_error_upper_bound": int(result.get("doc_count_error_upper_bound", 0)),
                    "sum_other_doc_count": int(result.get("sum_other_doc_count", 0)),
                    "buckets": buckets,
                }
            else:
                out[name] = {"buckets": buckets}
        elif kind == "stats":
            count = int(result.get("count") or 0)
            out[name] = {
                "count": count,
                "min": result.get("min") if count else None,
                "max": result.get("max") if count else None,
                "avg": result.get("avg") if count else None,
                "sum": float(result.get("sum") or 0.0),
            }
        elif kind == "percentiles":
            values = {str(float(k)): v for k, v in (result.get("values") or {}).items()}
            percents = spec[kind].get("percents") or [1, 5, 25, 50, 75, 95, 99]
            out[name] = {"values": {str(float(p)): values.get(str(float(p))) for p in percents}}
        elif kind in ("value_count", "cardinality"):
            out[name] = {"value": int(result.get("value") or 0)}
        else:
            value = result.get("value")
            if kind == "sum" and value is None:
                value = 0.0
            out[name] = {"value": value}
    return out


# ---------------------------------------------------------------- rules as percolator queries


def _keyword_term(keyword: Any) -> str:
    if isinstance(keyword, dict):
        return str(keyword.get("term", ""))
    return str(keyword)


def rule_percolator_query(rule: dict[str, Any], *, normalize: Any) -> dict[str, Any]:
    """A percolator query that selects a SUPERSET of the messages the rule matches.

    The shared rules engine (``analyzers.rules``) verifies every candidate, so hits are
    identical to the embedded path; this query only has to never miss one. Hence:
    word keywords become substring phrases (a word occurrence is a substring
    occurrence); ``near`` clauses and keywords are alternatives (OR is a superset of
    AND); regex, behaviours and pinyin cannot be expressed, so such a rule's text part
    is ``match_all``. ``normalize`` is the rules engine's keyword normalization (the
    percolated documents carry the text normalized the same way)."""

    def phrase(term: str) -> dict[str, Any] | None:
        norm = normalize(term)
        return phrase_query(norm) if norm else None

    structured: list[dict[str, Any]] = []
    if rule.get("msgtypes"):
        structured.append({"terms": {"msgtype": list(rule["msgtypes"])}})
    if rule.get("chat_kinds"):
        structured.append({"terms": {"chat_kind": list(rule["chat_kinds"])}})
    direction = rule.get("direction", "any")
    if direction in ("employee", "customer"):
        structured.append({"term": {"direction": {"value": direction}}})
    rule_scope = rule.get("scope") or {}
    if rule_scope.get("users") or rule_scope.get("departments"):
        structured.append(
            scope_filter(Scope.of(rule_scope.get("departments", ()), rule_scope.get("users", ()))) or MATCH_ALL
        )

    keyword_pinyin = any(isinstance(k, dict) and k.get("pinyin") for k in rule.get("keywords") or [])
    opaque = bool(rule.get("regex") or rule.get("behaviours") or rule.get("pinyin") or keyword_pinyin)
    alternatives: list[dict[str, Any]] = []
    keyword_phrases = [p for p in (phrase(_keyword_term(k)) for k in rule.get("keywords") or []) if p is not None]
    if keyword_phrases:
        require = rule.get("require", "any")
        if require == "all":
            needed = len(keyword_phrases)
        elif require == "any" or require is None:
            needed = 1
        else:
            needed = max(1, min(int(require), len(keyword_phrases)))
        alternatives.append({"bool": {"should": keyword_phrases, "minimum_should_match": needed}})
    for near in rule.get("near") or []:
        clause = near_query([normalize(str(t)) for t in near.get("terms", [])], int(near.get("within", 10)))
        if clause is not None:
            alternatives.append(clause)
    body: dict[str, Any] = {}
    if not opaque and alternatives:
        body["must"] = [
            alternatives[0] if len(alternatives) == 1 else {"bool": {"should": alternatives, "minimum_should_match": 1}}
        ]
    excludes = [p for p in (phrase(str(e)) for e in rule.get("exclude") or []) if p is not None]
    if excludes:
        body["must_not"] = excludes
    if structured:
        body["filter"] = structured
    return {"bool": body} if body else {"match_all": {}}


def near_query(terms: list[str], within: int) -> dict[str, Any] | None:
    """A superset of a ``near`` clause over normalized terms. Terms that normalize alike
    (回扣, 回-扣) are kept once: the engine lets one occurrence serve both, but Lucene merges
    identical interval sources into a repeating source that needs one occurrence each.
    A single distinct term is a phrase (no proximity left to check)."""
    distinct = list(dict.fromkeys(t for t in terms if t))
    if not distinct:
        return None
    if len(distinct) == 1:
        return phrase_query(distinct[0])
    sources = [{"match": {"query": t, "max_gaps": 0, "ordered": True}} for t in distinct]
    return {"intervals": {"folded.uni": {"all_of": {"intervals": sources, "max_gaps": within, "ordered": False}}}}


def rule_document(rule_id: str, rule: dict[str, Any], *, normalize: Any) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "rule_version": int(rule.get("version", 0) or 0),
        "enabled": bool(rule.get("enabled", True)),
        "query": rule_percolator_query(rule, normalize=normalize),
    }


def percolate_document(message: Message, normalized: str) -> dict[str, Any]:
    """What a message looks like to the percolator: its rule-normalized text and the
    fields rules filter on."""
    return {
        "msgid": message.msgid,
        "msgtype": message.msgtype,
        "direction": message.direction,
        "chat_kind": message.chat_kind,
        "employees": list(message.employees),
        "departments": list(message.departments),
        "folded": normalized,
        "words": " ".join(message.words),
    }


def percolate_body(documents: list[dict[str, Any]], *, size: int = 10000) -> dict[str, Any]:
    """POST /{rules}/_search: which enabled rules may match which documents (slots)."""
    return {
        "query": {
            "bool": {
                "must": [{"percolate": {"field": "query", "documents": documents}}],
                "filter": [{"term": {"enabled": {"value": True}}}],
            }
        },
        "size": size,
        "_source": {"includes": ["rule_id", "rule_version"]},
    }


def percolate_candidates(response: dict[str, Any], documents: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``{msgid: [rule_id, ...]}`` from the hits' ``_percolator_document_slot``."""
    out: dict[str, list[str]] = {}
    for hit in response.get("hits", {}).get("hits", []):
        rule_id = hit.get("_source", {}).get("rule_id", hit.get("_id"))
        for slot in hit.get("fields", {}).get("_percolator_document_slot", []):
            msgid = documents[int(slot)]["msgid"]
            out.setdefault(msgid, []).append(rule_id)
    for rules in out.values():
        rules.sort()
    return out
