"""Every kind of request body the Elasticsearch backend sends, built from small inputs.

Shared by the golden tests (``test_es_requests.py``: the exact JSON) and the
specification tests (``test_es_spec.py``: the JSON is valid for its endpoint).
``target`` says what to validate against: ``("body", path, method)`` or
``("component", schema_name)``; bulk bodies are ``("bulk", ...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analyzers.rules.normalize import normalize_fast
from analyzers.textfold import fold
from core.models import DeadLetter, Message, MessageFilter, Scope, Violation, ViolationFilter
from store.base import AGG_FIELDS, VIOLATION_AGG_FIELDS
from store.elasticsearch import requests as R
from store.query import parse_query

PREFIX = "chatarchive"
SEARCH = ("body", "/{index}/_search", "post")
LISI_SCOPE = Scope.of([2], ["lisi"])
QUERY = ("component", "_types.query_dsl:QueryContainer")


def segment(word: str) -> list[str]:
    """A fixed segmentation for golden files (the real one is jieba's)."""
    return {"回扣": ["回扣"], "保证收益": ["保证", "收益"], "，": []}.get(word, [word])


def message(msgid: str = "m1", seq: int = 7) -> Message:
    return Message(
        msgid=msgid,
        seq=seq,
        action="send",
        msgtype="text",
        time_ms=1_700_000_000_000,
        sender="zhangsan",
        sender_kind="employee",
        receivers=["wmCustomer1"],
        roomid="",
        chat_id="wmCustomer1|zhangsan",
        chat_kind="external",
        text="给您ＶＩＰ回扣",
        raw='{"msgid":"m1"}',
        has_external=True,
        employees=["zhangsan"],
        externals=["wmCustomer1"],
        departments=[1, 2],
        words=["给", "您", "vip", "回扣"],
    )


def violation() -> Violation:
    return Violation(
        msgid="m1",
        rule_id="r1",
        rule_version=2,
        rule_name="私下交易",
        category="私下交易监控",
        severity="high",
        terms=["回扣"],
        spans=[[5, 7]],
        time_ms=1_700_000_000_000,
        sender="zhangsan",
        chat_id="wmCustomer1|zhangsan",
        employees=["zhangsan"],
        departments=[1, 2],
    )


def search(
    query: str, filters: MessageFilter | None = None, scope: Scope = LISI_SCOPE, sort: str = "time_desc"
) -> dict[str, Any]:
    text = R.text_query(parse_query(query), fold=fold, segment=segment)
    return R.search_body(
        R.filtered_query(text, R.message_filter_clauses(filters or MessageFilter()), scope),
        sort=sort,
        size=20,
        offset=40,
    )


RULE = {
    "name": "私下交易",
    "keywords": ["回扣", {"term": "返点", "match": "word"}, "佣"],
    "require": 2,
    "exclude": ["不保本"],
    "near": [{"terms": ["保证", "收益"], "within": 10}],
    "msgtypes": ["text"],
    "direction": "employee",
    "chat_kinds": ["external", "group"],
    "scope": {"departments": [2], "users": ["zhangsan"]},
}

MESSAGE_AGGS = {
    "per_day": {
        "date_histogram": {"field": "time", "fixed_interval": "1d"},
        "aggs": {"senders": {"terms": {"field": "sender", "size": 5}}},
    },
    "types": {"terms": {"field": "msgtype"}},
    "reply": {"stats": {"field": "reply_ms"}},
    "reply_p": {"percentiles": {"field": "reply_ms", "percents": [50, 90]}},
    "reply_h": {"histogram": {"field": "reply_ms", "interval": 60000}},
    "people": {"cardinality": {"field": "employees"}},
    "n": {"value_count": {"field": "msgtype"}},
    "first": {"min": {"field": "time"}},
}


@dataclass(frozen=True)
class Case:
    id: str
    target: tuple[str, ...]
    build: Callable[[], Any]


CASES: list[Case] = [
    *[
        Case(f"template_{k}", ("body", "/_index_template/{name}", "put"), lambda k=k: R.index_template(PREFIX, k))
        for k in R.INDEX_KINDS
    ],
    Case("ilm_policy", ("body", "/_ilm/policy/{policy}", "put"), R.ilm_policy),
    Case(
        "create_messages_index",
        ("body", "/{index}", "put"),
        lambda: R.create_index_body(PREFIX, "messages", with_alias=True),
    ),
    Case(
        "create_rules_index", ("body", "/{index}", "put"), lambda: R.create_index_body(PREFIX, "rules", with_alias=True)
    ),
    Case(
        "alias_switch_messages",
        ("body", "/_aliases", "post"),
        lambda: R.alias_switch(
            PREFIX,
            "messages",
            ["chatarchive-messages-v1-000001", "chatarchive-messages-v1-000002"],
            "chatarchive-messages-v2-000001",
        ),
    ),
    Case(
        "reindex",
        ("body", "/_reindex", "post"),
        lambda: R.reindex(
            ["chatarchive-messages-v1-000002", "chatarchive-messages-v1-000001"], "chatarchive-messages-v2-000001"
        ),
    ),
    Case(
        "reindex_records",
        ("body", "/_reindex", "post"),
        lambda: R.reindex(["chatarchive-records-v1"], "chatarchive-records-v2", "records"),
    ),
    Case(
        "create_messages_index_for_migration",
        ("body", "/{index}", "put"),
        lambda: R.migration_index_body(PREFIX, "messages"),
    ),
    Case("indexing_complete", ("body", "/{index}/_settings", "put"), R.indexing_complete_settings),
    Case("search_phrase_and_word", SEARCH, lambda: search('"ＶＩＰ 回" 回扣')),
    Case("search_one_char_phrase", SEARCH, lambda: search('"扣"', sort="time_asc")),
    Case("search_or_not_parens", SEARCH, lambda: search('(回扣 OR 保证收益) -"不保本"', sort="relevance")),
    Case("search_only_negative", SEARCH, lambda: search("NOT 回扣")),
    Case("search_punctuation_word", SEARCH, lambda: search("，")),
    Case("search_whole_words", SEARCH, lambda: search("=保证收益 =回扣 保证收益", sort="relevance")),
    Case(
        "search_all_filters",
        SEARCH,
        lambda: search(
            "",
            MessageFilter(
                time_from=1,
                time_to=2,
                senders=["a"],
                chats=["c"],
                msgtypes=["text"],
                employees=["e"],
                externals=["x"],
                departments=[3],
                chat_kinds=["group"],
                sender_kinds=["employee"],
                flagged=True,
                revoked=False,
                msgids=["m"],
                seq_from=10,
                seq_to=20,
            ),
        ),
    ),
    Case("search_scope_everything", SEARCH, lambda: search("回扣", scope=Scope.everything())),
    Case("search_scope_empty", SEARCH, lambda: search("回扣", scope=Scope.of())),
    Case(
        "context_before",
        SEARCH,
        lambda: R.context_body("wmCustomer1|zhangsan", 1_700_000_000_000, 7, before=True, size=10, scope=Scope.of([2])),
    ),
    Case(
        "context_after",
        SEARCH,
        lambda: R.context_body(
            "wmCustomer1|zhangsan", 1_700_000_000_000, 7, before=False, size=10, scope=Scope.everything()
        ),
    ),
    Case(
        "iter_page",
        SEARCH,
        lambda: R.iter_body(R.filtered_query(None, [], Scope.of([2])), size=1000, search_after=[7, "m7"]),
    ),
    Case(
        "iter_page_pit",
        ("body", "/_search", "post"),
        lambda: R.iter_body(
            R.filtered_query(None, [], Scope.of([2])), size=1000, search_after=[7, "m7"], pit_id="pit-1"
        ),
    ),
    Case("close_pit", ("body", "/_pit", "delete"), lambda: {"id": "pit-1"}),
    Case("locate_ids", SEARCH, lambda: R.locate_body(["m1", "m2"])),
    Case(
        "count",
        ("body", "/{index}/_count", "post"),
        lambda: {"query": R.filtered_query(None, R.message_filter_clauses(MessageFilter(flagged=True)), Scope.of([2]))},
    ),
    Case(
        "aggregate_messages",
        SEARCH,
        lambda: {
            "query": R.filtered_query(None, [], Scope.of([2])),
            "size": 0,
            "aggregations": R.aggregations(MESSAGE_AGGS, allowed_fields=AGG_FIELDS, time_zone="Asia/Shanghai"),
        },
    ),
    Case(
        "violations_list",
        SEARCH,
        lambda: R.search_body(
            R.filtered_query(
                None,
                R.violation_filter_clauses(
                    ViolationFilter(rule_ids=["r1"], statuses=["unreviewed"], assignee="wangwu", time_from=5)
                ),
                Scope.of([2]),
            ),
            sort="time_desc",
            size=50,
            sorts=R.VIOLATION_SORTS,
        ),
    ),
    Case(
        "aggregate_violations",
        SEARCH,
        lambda: {
            "query": R.filtered_query(None, [], Scope.of(users=["zhangsan"])),
            "size": 0,
            "aggregations": R.aggregations(
                {"by_rule": {"terms": {"field": "rule_id", "size": 20}}},
                allowed_fields=VIOLATION_AGG_FIELDS,
                time_zone="UTC",
            ),
        },
    ),
    Case(
        "records_sorted_by_field",
        SEARCH,
        lambda: {
            "query": R.record_prefilter("audit", {"action": "export"}),
            "size": 1,
            "sort": R.record_sort("seq", True),
            "track_total_hits": False,
        },
    ),
    Case(
        "records_prefilter",
        SEARCH,
        lambda: {
            "query": R.record_prefilter("accounts", {"role": ["auditor", "viewer"], "locked": False, "_id": "x"}),
            "size": 1000,
        },
    ),
    Case("rule_percolator_query", QUERY, lambda: R.rule_percolator_query(RULE, normalize=normalize_fast)),
    Case(
        "rule_percolator_query_regex",
        QUERY,
        lambda: R.rule_percolator_query(
            {"name": "电话", "regex": [r"\d{11}"], "exclude": ["客服"]}, normalize=normalize_fast
        ),
    ),
    Case(
        "rule_percolator_query_all",
        QUERY,
        lambda: R.rule_percolator_query(
            {"name": "a", "keywords": ["保证", "收益"], "require": "all"}, normalize=normalize_fast
        ),
    ),
    Case(
        "percolate", SEARCH, lambda: R.percolate_body([R.percolate_document(message(), normalize_fast(message().text))])
    ),
    Case("rule_document", ("mapped", "rules"), lambda: R.rule_document("r1", RULE, normalize=normalize_fast)),
    Case("message_document", ("mapped", "messages"), lambda: R.message_document(message(), fold(message().text))),
    Case("violation_document", ("mapped", "violations"), lambda: R.violation_document(violation())),
    Case(
        "deadletter_document",
        ("mapped", "deadletters"),
        lambda: R.deadletter_document(
            DeadLetter(
                seq=3, msgid="m3", reason="store: mapper_parsing_exception", stage="store", record={"msgid": "m3"}
            )
        ),
    ),
    Case(
        "record_document",
        ("mapped", "records"),
        lambda: R.record_document(
            "accounts",
            "alice",
            {"name": "alice", "role": "auditor", "locked": False, "tags": ["a", 1], "scope": {"departments": [2]}},
        ),
    ),
    Case(
        "bulk",
        ("bulk",),
        lambda: R.bulk_lines(
            [
                ("index", "chatarchive-messages", "m1", R.message_document(message(), fold(message().text))),
                ("update", "chatarchive-messages-v1-000001", "m0", {"revoked": True}),
                ("delete", "chatarchive-deadletters", "m1", None),
            ]
        ),
    ),
]
