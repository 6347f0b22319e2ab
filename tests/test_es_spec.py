"""Every request body and index template is valid for its endpoint in Elasticsearch's
REST API specification (the in-repo subset tests/es_spec_data, OpenAPI 3.0), validated strictly: an
unknown or misspelled parameter fails (see tests/es_spec.py for how the open schemas
are closed). Documents are checked against our own ``dynamic: strict`` mappings.

A passing validation is necessary, not sufficient: the specification is looser than
Elasticsearch in places (the conformance suite against a live cluster is the proof).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from store.elasticsearch import requests as R
from tests import es_spec
from tests.es_cases import CASES, Case, search

# Mapping types whose documents we check value shapes of (the others are stored, not indexed).
_SCALAR_CHECKS = {
    "keyword": lambda v: isinstance(v, str),
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "date": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "text": lambda v: isinstance(v, str),
    "flattened": lambda v: isinstance(v, dict),
    "object": lambda v: isinstance(v, (dict, list)),
    "percolator": lambda v: isinstance(v, dict),
}


def _flatten(value: Any) -> list[Any]:
    """Elasticsearch flattens arrays (of arrays) of a concrete field into its values."""
    if isinstance(value, list):
        return [v for item in value for v in _flatten(item)]
    return [value]


def mapping_errors(doc: dict[str, Any], kind: str) -> list[str]:
    """Fields the index's strict mapping would reject, and values of the wrong type."""
    properties = R.load_mapping_file(kind)["template"]["mappings"]["properties"]
    problems: list[str] = []
    for field, value in doc.items():
        if field not in properties:
            problems.append(f"{kind}: field {field!r} is not mapped (dynamic: strict rejects it)")
            continue
        check = _SCALAR_CHECKS[properties[field]["type"]]
        values = _flatten(value) if properties[field]["type"] != "object" else [value]
        bad = [v for v in values if v is not None and not check(v)]
        if bad:
            problems.append(f"{kind}: field {field!r} ({properties[field]['type']}) cannot hold {bad[0]!r}")
        if properties[field]["type"] == "percolator":
            problems += es_spec.validate_component(value, "_types.query_dsl:QueryContainer")
    return problems


def kind_of_index(index: str) -> str:
    """``messages`` for ``<prefix>-messages`` or ``<prefix>-messages-v1-000001``."""
    import re

    for kind in R.INDEX_KINDS:
        if re.search(rf"-{kind}(-v\d+(-\d{{6}})?)?$", index):
            return kind
    raise AssertionError(f"{index} is none of our indices")


def bulk_errors(lines: list[dict[str, Any]]) -> list[str]:
    problems = es_spec.validate_body(lines, "/_bulk")
    i = 0
    while i < len(lines):
        action = lines[i]
        problems += es_spec.validate_component(action, "_global.bulk:OperationContainer")
        if len(action) != 1 or next(iter(action)) not in ("index", "create", "update", "delete"):
            return problems + [f"line {i}: not a bulk action: {action!r}"]
        ((name, meta),) = action.items()
        if name == "index":
            problems += mapping_errors(lines[i + 1], kind_of_index(meta["_index"]))
            i += 2
        elif name == "update":
            problems += es_spec.validate_component(lines[i + 1], "_global.bulk:UpdateAction")
            problems += mapping_errors(lines[i + 1]["doc"], kind_of_index(meta["_index"]))
            i += 2
        else:
            i += 1
    return problems


def validation_errors(target: tuple[str, ...], body: Any) -> list[str]:
    if target[0] == "body":
        return es_spec.validate_body(body, target[1], target[2])
    if target[0] == "component":
        return es_spec.validate_component(body, target[1])
    if target[0] == "mapped":
        return mapping_errors(body, target[1])
    if target[0] == "bulk":
        return bulk_errors(body)
    raise AssertionError(f"unknown target {target}")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_request_is_valid_for_its_endpoint(case: Case) -> None:
    """GIVEN a request the backend sends WHEN validated against the ES API specification THEN it has no errors."""
    assert validation_errors(case.target, case.build()) == []


@pytest.mark.parametrize("kind", R.INDEX_KINDS)
def test_template_mapping_is_a_valid_type_mapping(kind: str) -> None:
    mappings = R.index_template("chatarchive", kind)["template"]["mappings"]
    assert es_spec.validate_component(mappings, "_types.mapping:TypeMapping") == []
    assert mappings["dynamic"] == "strict"


def test_aggregations_are_valid_aggregation_containers() -> None:
    from store.base import AGG_FIELDS
    from tests.es_cases import MESSAGE_AGGS

    for name, container in R.aggregations(MESSAGE_AGGS, allowed_fields=AGG_FIELDS, time_zone="Asia/Shanghai").items():
        assert es_spec.validate_component(container, "_types.aggregations:AggregationContainer") == [], name


def test_percolate_query_is_a_valid_percolate_query() -> None:
    body = R.percolate_body([{"msgid": "m1", "folded": "回扣"}])
    assert (
        es_spec.validate_component(body["query"]["bool"]["must"][0]["percolate"], "_types.query_dsl:PercolateQuery")
        == []
    )


# ---------------------------------------------------------------- the validation can fail


def _mutate(build, path: list[Any], action: str, value: Any = None):
    def mutated() -> Any:
        body = copy.deepcopy(build())
        node = body
        for key in path[:-1]:
            node = node[key]
        last = path[-1]
        if action == "rename":
            node[value] = node.pop(last)
        else:
            node[last] = value
        return body

    return mutated


_BY_ID = {c.id: c for c in CASES}


def _case(case_id: str) -> Case:
    return _BY_ID[case_id]


NEGATIVE = [
    pytest.param(
        "search_phrase_and_word",
        ["query", "bool", "must", 0, "bool", "must", 0, "match_phrase", "folded", "query"],
        "rename",
        "qeury",
        id="misspelled-match_phrase-parameter",
    ),
    pytest.param(
        "search_phrase_and_word",
        ["query", "bool", "must", 0, "bool", "must", 0, "match_phrase"],
        "rename",
        "match_phrse",
        id="misspelled-query-type",
    ),
    pytest.param(
        "search_phrase_and_word", ["query", "bool", "filter"], "rename", "filters", id="misspelled-bool-clause"
    ),
    pytest.param("search_phrase_and_word", ["size"], "set", "twenty", id="size-is-not-a-number"),
    pytest.param("search_phrase_and_word", ["track_total_hit"], "set", True, id="unknown-search-parameter"),
    pytest.param("search_phrase_and_word", ["sort", 0, "time", "order"], "rename", "ordr", id="misspelled-sort-order"),
    pytest.param(
        "search_phrase_and_word", ["sort", 0, "time", "order"], "set", "descending", id="sort-order-not-in-enum"
    ),
    pytest.param(
        "search_scope_empty", ["query", "bool", "filter", 0, "match_none"], "set", [], id="match_none-wrong-shape"
    ),
    pytest.param(
        "aggregate_messages",
        ["aggregations", "per_day", "date_histogram", "fixed_interval"],
        "rename",
        "fixed_intervall",
        id="misspelled-date_histogram-parameter",
    ),
    pytest.param("aggregate_messages", ["aggregations", "types"], "rename", "types", id="control-unchanged-is-valid"),
    pytest.param(
        "aggregate_messages", ["aggregations", "types", "terms"], "rename", "term", id="misspelled-aggregation-type"
    ),
    pytest.param(
        "aggregate_messages",
        ["aggregations", "reply_p", "percentiles", "percents"],
        "set",
        50,
        id="percents-not-a-list",
    ),
    pytest.param("template_messages", ["index_pattern"], "set", ["x-*"], id="misspelled-template-key"),
    pytest.param(
        "template_messages",
        ["template", "mappings", "properties", "msgid", "type"],
        "set",
        "keywrod",
        id="unknown-field-type",
    ),
    pytest.param(
        "template_messages",
        ["template", "mappings", "properties", "folded", "analyser"],
        "set",
        "x",
        id="misspelled-text-field-parameter",
    ),
    pytest.param("template_messages", ["template", "mappings", "dynamic"], "set", "very", id="dynamic-not-in-enum"),
    pytest.param(
        "template_rules",
        ["template", "mappings", "properties", "query", "type"],
        "set",
        "percolate",
        id="percolator-type-misspelled",
    ),
    pytest.param(
        "ilm_policy",
        ["policy", "phases", "hot", "actions", "rollover", "max_size_primary"],
        "set",
        "1gb",
        id="misspelled-rollover-condition",
    ),
    pytest.param(
        "alias_switch_messages", ["actions", 0, "remove", "indx"], "set", "x", id="misspelled-alias-action-parameter"
    ),
    pytest.param("reindex", ["dest", "index"], "rename", "idx", id="reindex-dest-without-index"),
    pytest.param(
        "percolate",
        ["query", "bool", "must", 0, "percolate", "document_list"],
        "set",
        [],
        id="misspelled-percolate-parameter",
    ),
    pytest.param(
        "rule_percolator_query",
        ["bool", "must", 0, "bool", "should", 1, "intervals", "folded.uni", "all_of", "max_gap"],
        "set",
        3,
        id="misspelled-intervals-parameter",
    ),
    pytest.param("bulk", [0, "index", "_idx"], "set", "x", id="misspelled-bulk-metadata"),
    pytest.param("bulk", [1, "sendr"], "set", "x", id="document-field-not-in-strict-mapping"),
    pytest.param("bulk", [1, "seq"], "set", "7", id="document-field-wrong-type"),
    pytest.param("bulk", [0, "index"], "rename", "indx", id="unknown-bulk-action"),
    pytest.param("rule_document", ["enabled"], "set", "yes", id="rule-document-wrong-type"),
]


@pytest.mark.parametrize("case_id,path,action,value", NEGATIVE)
def test_validation_rejects_a_broken_request(case_id: str, path: list[Any], action: str, value: Any) -> None:
    """GIVEN a valid request with one misspelled parameter or wrong shape WHEN validated THEN it fails
    (and the unchanged control case passes, so the mutation is what failed it)."""
    case = _case(case_id)
    problems = validation_errors(case.target, _mutate(case.build, path, action, value)())
    if "control" in str(path) or (action == "rename" and path[-1] == value):
        assert problems == []
    else:
        assert problems, "the validation accepted a broken request"


def test_negative_search_helper_is_really_invalid_without_query_parameter() -> None:
    body = search("=回扣")
    del body["query"]["bool"]["must"][0]["term"]["words"]["value"]
    assert es_spec.validate_body(body, "/{index}/_search")
