"""Names agree between the index templates and every request the backend sends
(tests/es_crossref.py): analyzers and their parts defined or built in, ngram and date
parameters valid, every queried, sorted, aggregated or percolated field mapped with a
fitting type. The mutation tests prove each check bites.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from store.elasticsearch import requests as R
from tests import es_crossref as X
from tests.es_cases import CASES, RULE
from tests.test_es_control_flow import P, drive_everything, searched_index
from tests.test_es_spec import mapping_errors

# Which index each golden search case is sent to (the others are messages searches).
CASE_KIND = {
    "records_prefilter": "records",
    "records_sorted_by_field": "audit",
    "percolate": "rules",
    "violations_list": "violations",
    "aggregate_violations": "violations",
}


def fields_of(kind: str) -> dict[str, dict[str, Any]]:
    return X.field_types(R.index_template("chatarchive", kind)["template"]["mappings"])


def recorded_problems(calls: list[Any]) -> list[str]:
    """Cross-reference problems of every request body the backend sent."""
    problems: list[str] = []
    for call in calls:
        kind = _kind_of_path(call)
        if call.body is None or kind is None:
            continue
        if call.path.endswith(("/_search", "/_count", "/_delete_by_query")):
            problems += [f"{call.path}: {p}" for p in X.search_body_errors(call.body, fields_of(kind))]
            for doc in _percolated_documents(call.body):
                problems += [f"{call.path}: percolated {p}" for p in mapping_errors(doc, "rules")]
        elif kind == "rules" and "/_doc/" in call.path:
            problems += [
                f"{call.path}: percolator {p}" for p in X.query_field_errors(call.body["query"], fields_of("rules"))
            ]
    return problems


def _kind_of_path(call: Any) -> str | None:
    first = searched_index(call)
    for kind in R.INDEX_KINDS:
        if first == f"{P}-{kind}" or first.startswith(f"{P}-{kind}-"):
            return kind
    return None


def _percolated_documents(body: dict[str, Any]) -> list[dict[str, Any]]:
    must = body.get("query", {}).get("bool", {}).get("must", [])
    return [doc for clause in must if "percolate" in clause for doc in clause["percolate"].get("documents", [])]


# ---------------------------------------------------------------- the project passes


@pytest.mark.parametrize("kind", R.INDEX_KINDS)
def test_template_names_only_defined_or_built_in_analysis(kind: str) -> None:
    """GIVEN an index template WHEN its analysis chain, ngram gaps and date formats are checked THEN all are valid."""
    assert X.analysis_errors(R.index_template("chatarchive", kind)) == []


def test_every_field_the_backend_queries_is_mapped_with_a_fitting_type() -> None:
    """GIVEN every request the backend sends (init to deletion) WHEN its query, sort, aggregation and percolator
    fields are looked up in the index's mappings THEN each exists with a type that query can use."""
    t = drive_everything()
    checked = [c for c in t.calls if c.body is not None and _kind_of_path(c)]
    assert len(checked) >= 30
    assert recorded_problems(t.calls) == []


@pytest.mark.parametrize("case", [c for c in CASES if c.target[:2] == ("body", "/{index}/_search")], ids=lambda c: c.id)
def test_golden_search_bodies_name_mapped_fields(case: Any) -> None:
    assert X.search_body_errors(case.build(), fields_of(CASE_KIND.get(case.id, "messages"))) == []


def test_percolator_queries_name_fields_of_the_rules_index() -> None:
    for rule in (RULE, {"name": "x", "keywords": ["扣"], "near": [{"terms": ["回扣", "回-扣"], "within": 3}]}):
        assert X.query_field_errors(R.rule_percolator_query(rule, normalize=lambda s: s), fields_of("rules")) == []


# ---------------------------------------------------------------- mutations turn the checks red


def _messages_template() -> dict[str, Any]:
    return copy.deepcopy(R.index_template("chatarchive", "messages"))


def _mutated(change: str) -> dict[str, Any]:
    template = _messages_template()
    settings = template["template"]["settings"]
    properties = template["template"]["mappings"]["properties"]
    if change == "undefined-analyzer":
        properties["folded"]["analyzer"] = "chatarchive_trigram"
    elif change == "plugin-tokenizer":
        settings["analysis"]["tokenizer"]["chatarchive_bigram"]["type"] = "ik_max_word"
    elif change == "undefined-tokenizer":
        settings["analysis"]["analyzer"]["chatarchive_bigram"]["tokenizer"] = "smartcn_tokenizer"
    elif change == "undefined-filter":
        settings["analysis"]["analyzer"]["chatarchive_bigram"]["filter"] = ["icu_folding"]
    elif change == "ngram-gap":
        settings["analysis"]["tokenizer"]["chatarchive_bigram"].update(min_gram=1, max_gram=3)
    elif change == "date-format":
        properties["time"]["format"] = "epoch_milis"
    elif change == "undefined-normalizer":
        properties["sender"]["normalizer"] = "folding"
    return template


@pytest.mark.parametrize(
    "change",
    [
        "undefined-analyzer",
        "plugin-tokenizer",
        "undefined-tokenizer",
        "undefined-filter",
        "ngram-gap",
        "date-format",
        "undefined-normalizer",
    ],
)
def test_a_broken_template_fails_the_analysis_check(change: str) -> None:
    """GIVEN a copy of the messages template with one broken analysis reference WHEN checked THEN it fails."""
    assert X.analysis_errors(_mutated(change)), f"{change} was accepted"


def test_a_search_on_a_misspelled_field_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the phrase query builder mutated to name a field that is not mapped WHEN the backend's requests
    are checked THEN the check fails (so does a mapping that loses the field)."""
    original = R.phrase_query
    monkeypatch.setattr(
        R, "phrase_query", lambda p: {"match_phrase": {"foldd": original(p + "x")["match_phrase"]["folded"]}}
    )
    assert any("'foldd'" in p for p in recorded_problems(drive_everything().calls))


def test_a_mapping_that_loses_a_queried_field_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    original = R.load_mapping_file

    def without_chat_id(kind: str) -> dict[str, Any]:
        doc = copy.deepcopy(original(kind))
        doc.get("template", {}).get("mappings", {}).get("properties", {}).pop("chat_id", None)
        return doc

    monkeypatch.setattr(R, "load_mapping_file", without_chat_id)
    assert any("'chat_id'" in p for p in recorded_problems(drive_everything().calls))


def test_a_percolator_query_on_an_unmapped_field_fails() -> None:
    query = R.rule_percolator_query(RULE, normalize=lambda s: s)
    query["bool"]["filter"].append({"term": {"roomid": {"value": "r1"}}})  # mapped on messages, not on rules
    assert X.query_field_errors(query, fields_of("rules"))


@pytest.mark.parametrize(
    "body,why",
    [
        ({"query": {"match_phrase": {"msgid": {"query": "a b"}}}}, "phrase on a keyword"),
        ({"query": {"range": {"chat_id": {"gte": 1}}}}, "range on a keyword"),
        ({"query": {"term": {"text": {"value": "x"}}}}, "term on an unindexed field"),
        ({"query": {"match_all": {}}, "sort": [{"folded": {"order": "asc"}}]}, "sort on text"),
        ({"query": {"match_all": {}}, "sort": [{"raw": {"order": "asc"}}]}, "sort without doc values"),
        (
            {"query": {"match_all": {}}, "aggregations": {"a": {"terms": {"field": "words"}}}},
            "terms aggregation on text",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_field_of_the_wrong_type_fails(body: dict[str, Any], why: str) -> None:
    assert X.search_body_errors(body, fields_of("messages")), why


def test_percolated_documents_must_fit_the_rules_mapping() -> None:
    body = R.percolate_body([{**R.percolate_document(_message(), "回扣"), "roomid": "r1"}])
    assert any("roomid" in p for p in recorded_problems([_Call(f"/{P}-rules/_search", body)]))


class _Call:
    def __init__(self, path: str, body: dict[str, Any]) -> None:
        self.path, self.body = path, body


def _message() -> Any:
    from tests.es_cases import message

    return message()
