"""The Elasticsearch request bodies, pinned as golden JSON, and the pure translations.

Golden files live in tests/es_golden/<case>.json; after a deliberate change, rewrite
them with ``UPDATE_GOLDEN=1 pytest tests/test_es_requests.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.chinese import query_words
from analyzers.textfold import fold
from core.errors import BadInput
from core.models import Scope
from store.base import AGG_FIELDS
from store.elasticsearch import requests as R
from store.query import Word, parse_query
from tests.es_cases import CASES, Case
from tests.helpers import examples

GOLDEN = Path(__file__).parent / "es_golden"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_request_body_matches_golden(case: Case) -> None:
    """GIVEN a request built from fixed inputs WHEN serialized THEN it equals the reviewed golden JSON."""
    body = json.loads(json.dumps(case.build(), ensure_ascii=False))
    path = GOLDEN / f"{case.id}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert body == json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- phrase semantics


def ngrams(text: str, n: int) -> list[str]:
    """What Elasticsearch's ngram tokenizer (min_gram = max_gram = n, token_chars []) emits, in position order."""
    return [text[i : i + n] for i in range(len(text) - n + 1)]


def es_phrase_matches(doc_folded: str, query: dict) -> bool:
    """A model of how Lucene evaluates our phrase queries on the two analyzed fields."""
    if "term" in query:
        return query["term"]["folded.uni"]["value"] in ngrams(doc_folded, 1)
    grams = ngrams(query["match_phrase"]["folded"]["query"], 2)
    doc = ngrams(doc_folded, 2)
    return any(doc[i : i + len(grams)] == grams for i in range(len(doc) - len(grams) + 1))


ALPHABET = st.sampled_from(list("回扣返点aAＡ 　,，1１"))


@settings(max_examples=examples(300))
@given(text=st.text(ALPHABET, max_size=12), phrase=st.text(ALPHABET, min_size=1, max_size=4))
def test_phrase_query_is_exactly_folded_substring(text: str, phrase: str) -> None:
    """GIVEN any text and phrase WHEN the phrase query is evaluated on the bigram/unigram fields
    THEN it matches exactly when the folded phrase is a substring of the folded text (the contract)."""
    folded_phrase = fold(phrase)
    assert es_phrase_matches(fold(text), R.phrase_query(folded_phrase)) == (folded_phrase in fold(text))


def es_bare_word_matches(doc_folded: str, query: dict) -> bool:
    """A model of Lucene on our bare-word query: a bool with ``must`` clauses (the phrase) and
    optional ``should`` clauses (the whole-word boost) matches when every ``must`` matches."""
    if "bool" not in query:
        return es_phrase_matches(doc_folded, query)
    return all(es_phrase_matches(doc_folded, clause) for clause in query["bool"]["must"])


@settings(max_examples=examples(300))
@given(text=st.text(ALPHABET, max_size=12), word=st.text(ALPHABET, min_size=1, max_size=4).filter(str.strip))
def test_bare_word_query_is_exactly_folded_substring(text: str, word: str) -> None:
    """GIVEN any text and bare word WHEN the query the Elasticsearch backend sends for the bare
    word (``text_query`` of the parsed query, jieba words included) is evaluated on the model
    THEN it matches exactly the texts that contain the folded word, as a quoted phrase would
    (issue 15: a bare word finds every message that contains it)."""
    node = parse_query(word.strip())
    if not isinstance(node, Word) or node.whole:
        return  # the parser read it as an operator or a whole word: other tests cover those
    query = R.text_query(node, fold=fold, segment=query_words)
    assert es_bare_word_matches(fold(text), query) == (fold(node.text) in fold(text))


# ---------------------------------------------------------------- scope, aggregations, percolation

SCOPES = [
    pytest.param(Scope.everything(), None, id="everything-no-filter"),
    pytest.param(Scope.of(), R.MATCH_NONE, id="empty-scope-matches-nothing"),
    pytest.param(
        Scope.of([3, 1]),
        {"bool": {"should": [{"terms": {"departments": [1, 3]}}], "minimum_should_match": 1}},
        id="departments",
    ),
    pytest.param(
        Scope.of([], ["b", "a"]),
        {"bool": {"should": [{"terms": {"employees": ["a", "b"]}}], "minimum_should_match": 1}},
        id="users",
    ),
]


@pytest.mark.parametrize("scope,expected", SCOPES)
def test_scope_filter(scope: Scope, expected: dict | None) -> None:
    assert R.scope_filter(scope) == expected


def test_scope_is_a_filter_on_every_read() -> None:
    """GIVEN a restricted scope WHEN any read query is built THEN the scope is in bool.filter."""
    sf = R.scope_filter(Scope.of([2]))
    for query in (
        R.filtered_query(None, [], Scope.of([2])),
        R.filtered_query({"term": {"words": {"value": "x"}}}, [], Scope.of([2])),
    ):
        assert sf in query["bool"]["filter"]
    assert sf in R.context_body("c", 1, 1, before=True, size=1, scope=Scope.of([2]))["query"]["bool"]["filter"]


BAD_AGGS = [
    pytest.param({"a": {"terms": {"field": "text"}}}, id="field-not-aggregatable"),
    pytest.param({"a": {"geohash_grid": {"field": "time"}}}, id="unsupported-type"),
    pytest.param({"a": {"date_histogram": {"field": "time", "fixed_interval": "7m"}}}, id="unsupported-interval"),
    pytest.param({"a": {"histogram": {"field": "reply_ms", "interval": 0}}}, id="zero-interval"),
    pytest.param({"a": {"terms": {"field": "sender"}, "avg": {"field": "reply_ms"}}}, id="two-types"),
    pytest.param(
        {
            "a": {
                "terms": {"field": "sender"},
                "aggs": {"b": {"terms": {"field": "msgtype"}, "aggs": {"c": {"max": {"field": "time"}}}}},
            }
        },
        id="two-levels",
    ),
    pytest.param(
        {"a": {"avg": {"field": "reply_ms"}, "aggs": {"b": {"max": {"field": "time"}}}}}, id="metric-with-sub"
    ),
    pytest.param({}, id="empty"),
]


@pytest.mark.parametrize("aggs", BAD_AGGS)
def test_unsupported_aggregations_are_bad_input(aggs: dict) -> None:
    with pytest.raises(BadInput):
        R.aggregations(aggs, allowed_fields=AGG_FIELDS, time_zone="UTC")


def test_aggregation_response_is_normalized_to_the_documented_shape() -> None:
    """GIVEN an Elasticsearch aggregation response WHEN normalized THEN keys have the engine's types and extras are
    gone."""
    aggs = {
        "days": {
            "date_histogram": {"field": "time", "fixed_interval": "1d"},
            "aggs": {"who": {"terms": {"field": "sender"}}},
        },
        "flag": {"terms": {"field": "flagged"}},
        "dept": {"terms": {"field": "departments"}},
        "h": {"histogram": {"field": "reply_ms", "interval": 1000}},
        "s": {"stats": {"field": "reply_ms"}},
        "p": {"percentiles": {"field": "reply_ms", "percents": [50]}},
        "c": {"cardinality": {"field": "sender"}},
        "m": {"max": {"field": "time"}},
    }
    response = {
        "days": {
            "buckets": [
                {
                    "key_as_string": "2023-11-14",
                    "key": 1699891200000,
                    "doc_count": 2,
                    "who": {
                        "doc_count_error_upper_bound": 0,
                        "sum_other_doc_count": 0,
                        "buckets": [{"key": "a", "doc_count": 2}],
                    },
                },
                {"key": 1699977600000, "doc_count": 0, "who": {"buckets": []}},
            ]
        },
        "flag": {
            "buckets": [
                {"key": 1, "key_as_string": "true", "doc_count": 3},
                {"key": 0, "key_as_string": "false", "doc_count": 1},
            ]
        },
        "dept": {"buckets": [{"key": 2, "doc_count": 4}]},
        "h": {
            "buckets": [{"key": 0.0, "doc_count": 1}, {"key": 1000.0, "doc_count": 0}, {"key": 2000.0, "doc_count": 5}]
        },
        "s": {"count": 2, "min": 1.0, "max": 3.0, "avg": 2.0, "sum": 4.0},
        "p": {"values": {"50.0": 2.0}},
        "c": {"value": 7},
        "m": {"value": 1699977600000.0, "value_as_string": "2023-11-14T16:00:00.000Z"},
    }
    assert R.normalize_aggregations(aggs, response) == {
        "days": {
            "buckets": [
                {
                    "key": 1699891200000,
                    "doc_count": 2,
                    "who": {
                        "doc_count_error_upper_bound": 0,
                        "sum_other_doc_count": 0,
                        "buckets": [{"key": "a", "doc_count": 2}],
                    },
                }
            ]
        },
        "flag": {
            "doc_count_error_upper_bound": 0,
            "sum_other_doc_count": 0,
            "buckets": [
                {"key": 1, "key_as_string": "true", "doc_count": 3},
                {"key": 0, "key_as_string": "false", "doc_count": 1},
            ],
        },
        "dept": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [{"key": 2, "doc_count": 4}]},
        "h": {"buckets": [{"key": 0.0, "doc_count": 1}, {"key": 2000.0, "doc_count": 5}]},
        "s": {"count": 2, "min": 1.0, "max": 3.0, "avg": 2.0, "sum": 4.0},
        "p": {"values": {"50.0": 2.0}},
        "c": {"value": 7},
        "m": {"value": 1699977600000.0},
    }


def test_empty_aggregations_follow_the_embedded_engine() -> None:
    """GIVEN no matching documents WHEN normalized THEN metrics are None/0 exactly as the embedded engine reports."""
    aggs = {
        "s": {"stats": {"field": "reply_ms"}},
        "sum": {"sum": {"field": "reply_ms"}},
        "n": {"value_count": {"field": "reply_ms"}},
        "p": {"percentiles": {"field": "reply_ms", "percents": [50, 99]}},
        "mx": {"max": {"field": "time"}},
    }
    response = {
        "s": {"count": 0, "min": None, "max": None, "avg": None, "sum": 0.0},
        "sum": {"value": 0.0},
        "n": {"value": 0},
        "p": {"values": {"50.0": None, "99.0": None}},
        "mx": {"value": None},
    }
    assert R.normalize_aggregations(aggs, response) == {
        "s": {"count": 0, "min": None, "max": None, "avg": None, "sum": 0.0},
        "sum": {"value": 0.0},
        "n": {"value": 0},
        "p": {"values": {"50.0": None, "99.0": None}},
        "mx": {"value": None},
    }


def test_percolator_slots_map_back_to_messages() -> None:
    docs = [{"msgid": "m0"}, {"msgid": "m1"}, {"msgid": "m2"}]
    response = {
        "hits": {
            "hits": [
                {"_id": "r2", "_source": {"rule_id": "r2"}, "fields": {"_percolator_document_slot": [0, 2]}},
                {"_id": "r1", "_source": {"rule_id": "r1"}, "fields": {"_percolator_document_slot": [2]}},
            ]
        }
    }
    assert R.percolate_candidates(response, docs) == {"m0": ["r2"], "m2": ["r1", "r2"]}


REQUIRE = [
    pytest.param("any", 1, id="any"),
    pytest.param("all", 3, id="all"),
    pytest.param(2, 2, id="at-least-2"),
    pytest.param(9, 3, id="at-least-more-than-keywords"),
]


@pytest.mark.parametrize("require,expected", REQUIRE)
def test_rule_require_becomes_minimum_should_match(require: object, expected: int) -> None:
    query = R.rule_percolator_query({"keywords": ["回扣", "返点", "佣"], "require": require}, normalize=fold)
    assert query["bool"]["must"][0]["bool"]["minimum_should_match"] == expected


def test_rule_with_regex_cannot_be_narrowed_by_text() -> None:
    """GIVEN a rule the percolator cannot express (regex) WHEN translated THEN its text part matches all (a superset),
    exclusions still apply."""
    query = R.rule_percolator_query(
        {"keywords": ["回扣"], "regex": ["\\d+"], "exclude": ["测试"], "msgtypes": ["text"]}, normalize=fold
    )
    assert "must" not in query["bool"]
    assert query["bool"]["must_not"] == [R.phrase_query("测试")]
    assert query["bool"]["filter"] == [{"terms": {"msgtype": ["text"]}}]


@pytest.mark.parametrize(
    "index,version",
    [("chatarchive-messages-v3-000002", 3), ("chatarchive-rules-v12", 12), ("legacy-index", 0)],
    ids=["rolled", "plain", "unversioned"],
)
def test_version_of_index(index: str, version: int) -> None:
    assert R.version_of_index(index) == version


def test_message_document_round_trips() -> None:
    from tests.es_cases import message

    m = message()
    assert R.message_from_source(R.message_document(m, fold(m.text))) == m


@pytest.mark.parametrize(
    "where,prefiltered",
    [
        ({"role": "auditor"}, {"fields.role": ["auditor"]}),
        ({"enabled": False}, {"fields.enabled": ["false"]}),
        ({"order": 1}, {"fields.order": ["1"]}),
        ({"order": 1.0}, None),
        ({"missing": None}, None),
        ({"scope": {"departments": [2]}}, None),
    ],
    ids=["string", "boolean", "integer", "float-python-only", "none-python-only", "object-python-only"],
)
def test_record_prefilter_is_never_narrower_than_the_python_comparison(where: dict, prefiltered: dict | None) -> None:
    """GIVEN a where clause WHEN prefiltered on the cluster THEN only values whose keyword form is exact are sent."""
    clauses = R.record_prefilter("accounts", where)["bool"]["filter"]
    assert clauses[0] == {"term": {"collection": {"value": "accounts"}}}
    assert clauses[1:] == ([{"terms": prefiltered}] if prefiltered else [])
    assert R.record_prefilter("accounts", {"role": []}) == R.MATCH_NONE
