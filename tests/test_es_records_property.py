"""Record collections sorted on the cluster come back in exactly the order the embedded
store (and the backend's own in-app sort) gives: a property over random records.

``SortingIndex`` answers searches as Elasticsearch sorts (each sort clause in turn, a
missing value first or last as the clause says, then ``search_after``); the same store
is asked with a limit (sorted on the cluster) and without one (sorted in the app)."""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from store.elasticsearch import requests as R
from tests.test_es_control_flow import P, ScriptedTransport, make_store


class SortingIndex:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def search(self, method: str, path: str, params: Any, body: dict[str, Any]) -> dict[str, Any]:
        clauses = [(field, spec) for clause in body["sort"] for field, spec in clause.items()]
        rows = sorted(self.docs, key=functools.cmp_to_key(lambda a, b: _compare(a, b, clauses)))
        after = body.get("search_after")
        if after is not None:
            rows = [d for d in rows if _compare_values(_sort_values(d, clauses), after, clauses) > 0]
        page = rows[: body["size"]]
        return {"hits": {"hits": [{"_source": d, "sort": _sort_values(d, clauses)} for d in page]}}

    def count_text_values(self, method: str, path: str, params: Any, body: dict[str, Any]) -> dict[str, Any]:
        field = body["query"]["bool"]["filter"][1]["term"]["others"]["value"]
        return {"count": sum(field in d["others"] for d in self.docs)}


def _value(doc: dict[str, Any], field: str) -> Any:
    if field.startswith("numbers."):
        return doc["numbers"].get(field.split(".", 1)[1])
    return doc[field]


def _sort_values(doc: dict[str, Any], clauses: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    return [_value(doc, field) for field, _ in clauses]


def _compare(a: dict[str, Any], b: dict[str, Any], clauses: list[tuple[str, dict[str, Any]]]) -> int:
    return _compare_values(_sort_values(a, clauses), _sort_values(b, clauses), clauses)


def _compare_values(left: list[Any], right: list[Any], clauses: list[tuple[str, dict[str, Any]]]) -> int:
    for x, y, (_, spec) in zip(left, right, clauses):
        if x == y:
            continue
        descending = spec["order"] == "desc"
        if x is None or y is None:  # missing: where the clause puts it, whatever the order
            first = spec.get("missing", "_last") == "_first"  # Elasticsearch: _last unless told
            return (-1 if first else 1) if x is None else (1 if first else -1)
        result = -1 if x < y else 1
        return -result if descending else result
    return 0


VALUES = st.one_of(st.none(), st.integers(-3, 3), st.floats(-3, 3, allow_nan=False), st.booleans())


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(VALUES, min_size=1, max_size=12),
    descending=st.booleans(),
    limit=st.integers(1, 5),
    offset=st.integers(0, 4),
)
def test_cluster_sorted_records_equal_the_app_sort(
    values: list[Any], descending: bool, limit: int, offset: int
) -> None:
    """GIVEN records with numbers, booleans or nothing in a field WHEN sorted by it with a limit and offset THEN the
    cluster-sorted page equals the same slice of the app-sorted list (ties by id, missing first ascending)."""
    docs = [R.record_document("rules", f"r{i:02d}", {"rank": v} if v is not None else {}) for i, v in enumerate(values)]
    index = SortingIndex(docs)
    script = {
        ("POST", f"/{P}-records/_search"): index.search,
        ("POST", f"/{P}-records/_count"): index.count_text_values,
    }
    t = ScriptedTransport(script)
    store = make_store(t)
    page = store.find_records("rules", order_by="rank", descending=descending, limit=limit, offset=offset)
    cluster_sorted = [c for c in t.named("POST", f"/{P}-records/_search") if "numbers.rank" in str(c.body["sort"])]
    everything = store.find_records("rules", order_by="rank", descending=descending)
    assert cluster_sorted, "the limited query was not sorted on the cluster"
    assert [d["_id"] for d in page] == [d["_id"] for d in everything[offset : offset + limit]]
