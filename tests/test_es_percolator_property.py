"""The percolator never misses a violation: a property against the shared rules engine.

On Elasticsearch, a batch is percolated first and only the candidate (message, rule)
pairs are verified by ``analyzers.rules.RuleEngine``. A candidate the percolator drops
is a violation lost, so the rule's percolator query must select a SUPERSET of what the
engine matches. ``matches`` below evaluates our query subset the way Lucene does on the
rules index's fields (a bigram ``match_phrase`` is an exact substring test: see
``test_phrase_query_is_exactly_folded_substring``; ``intervals`` ``all_of`` unordered
with ``max_gaps`` is a window whose uncovered positions are at most ``max_gaps``).
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analyzers.rules import Rule, RuleEngine
from analyzers.rules.normalize import normalize_fast
from core.errors import RuleError
from core.models import Message
from store.elasticsearch import requests as R
from tests.helpers import examples


def occurrences(text: str, term: str) -> list[tuple[int, int]]:
    return [(i, i + len(term)) for i in range(len(text) - len(term) + 1) if text.startswith(term, i)]


def matches(query: dict[str, Any], doc: dict[str, Any]) -> bool:
    """Our Query DSL subset evaluated on a percolated document."""
    ((kind, body),) = query.items()
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "match_phrase":
        ((field, spec),) = body.items()
        assert field == "folded"
        return spec["query"] in doc["folded"]
    if kind == "term":
        ((field, spec),) = body.items()
        if field == "folded.uni":
            return spec["value"] in doc["folded"]
        value = doc.get(field)
        return spec["value"] in value if isinstance(value, list) else spec["value"] == value
    if kind == "terms":
        ((field, values),) = body.items()
        value = doc.get(field)
        have = value if isinstance(value, list) else [value]
        return bool(set(values) & set(have))
    if kind == "intervals":
        ((field, spec),) = body.items()
        assert field == "folded.uni"
        all_of = spec["all_of"]
        assert all_of["ordered"] is False
        queries = [i["match"]["query"] for i in all_of["intervals"]]
        per_term = [occurrences(doc["folded"], q) for q in queries]
        for combo in itertools.product(*per_term):
            if not _distinct_for_identical_sources(queries, combo):
                continue
            window = max(e for _, e in combo) - min(s for s, _ in combo)
            if window - sum(e - s for s, e in combo) <= all_of["max_gaps"]:
                return True
        return False
    if kind == "bool":
        must = body.get("must", []) + body.get("filter", [])
        if not all(matches(q, doc) for q in must):
            return False
        if any(matches(q, doc) for q in body.get("must_not", [])):
            return False
        should = body.get("should", [])
        needed = body.get("minimum_should_match", 0 if must else 1) if should else 0
        return sum(matches(q, doc) for q in should) >= needed
    raise AssertionError(f"the model does not know {kind}")


def _distinct_for_identical_sources(queries: list[str], combo: tuple[tuple[int, int], ...]) -> bool:
    """Lucene merges identical sub-sources of an unordered ``all_of`` into one repeating source
    (``Intervals.unordered`` deduplicates into ``Intervals.repeating``): each copy needs an
    occurrence of its own, so near(回扣, 回-扣) needs two occurrences of 回扣 on the cluster."""
    used: dict[str, set[int]] = {}
    for query, (start, _) in zip(queries, combo):
        if start in used.setdefault(query, set()):
            return False
        used[query].add(start)
    return True


# Small alphabets make hits, near misses and evasions (separators, case, traditional forms) frequent.
CHARS = list("回扣返点保证收益A") + ["-", " ", "釦", "a"]
TERMS = st.text(st.sampled_from(list("回扣返点保证收益Aa釦")), min_size=1, max_size=3)
TEXT = st.text(st.sampled_from(CHARS), max_size=16)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    keywords = draw(
        st.lists(st.one_of(TERMS, st.builds(lambda t: {"term": t, "match": "word"}, TERMS)), max_size=3, unique_by=str)
    )
    near = draw(
        st.lists(
            st.builds(
                lambda ts, w: {"terms": ts, "within": w}, st.lists(TERMS, min_size=2, max_size=2), st.integers(0, 4)
            ),
            max_size=1,
        )
    )
    if not keywords and not near:
        keywords = [draw(TERMS)]
    rule: dict[str, Any] = {"name": "r", "id": "r", "keywords": keywords, "near": near}
    if keywords:
        rule["require"] = draw(st.sampled_from(["any", "all", *range(1, len(keywords) + 1)]))
    rule["exclude"] = draw(st.lists(TERMS, max_size=1))
    rule["allow"] = draw(st.lists(TERMS, max_size=1))
    rule["direction"] = draw(st.sampled_from(["any", "employee", "customer"]))
    rule["msgtypes"] = draw(st.sampled_from([[], ["text"], ["image"]]))
    rule["chat_kinds"] = draw(st.sampled_from([[], ["external"], ["internal", "group"]]))
    return rule


def message(text: str, sender_kind: str, msgtype: str, chat_kind: str) -> Message:
    return Message(
        msgid="m1",
        seq=1,
        action="send",
        msgtype=msgtype,
        time_ms=1,
        sender="s",
        sender_kind=sender_kind,  # type: ignore[arg-type]
        receivers=[],
        roomid="",
        chat_id="c",
        chat_kind=chat_kind,
        text=text,
        raw="",
        employees=["s"],
        departments=[1],  # type: ignore[arg-type]
    )


@settings(max_examples=examples(400))
@given(
    rule=rules(),
    text=TEXT,
    sender_kind=st.sampled_from(["employee", "external"]),
    msgtype=st.sampled_from(["text", "image"]),
    chat_kind=st.sampled_from(["internal", "external", "group"]),
)
def test_percolator_query_selects_every_message_the_engine_matches(
    rule: dict[str, Any], text: str, sender_kind: str, msgtype: str, chat_kind: str
) -> None:
    """GIVEN any rule and message WHEN the engine finds a violation THEN the rule's percolator query selects the
    message."""
    try:
        parsed = Rule.from_dict(rule)
    except RuleError:  # e.g. duplicate keywords after normalization: not a rule anyone can save
        assume(False)
    m = message(text, sender_kind, msgtype, chat_kind)
    engine_hit = bool(RuleEngine([parsed]).match(m))
    query = R.rule_percolator_query(parsed.to_dict(), normalize=normalize_fast)
    doc = R.percolate_document(m, normalize_fast(text))
    if engine_hit:
        assert matches(query, doc), f"the percolator would drop a violation: {rule} on {text!r}"


def test_near_with_equivalent_terms_selects_a_single_occurrence() -> None:
    """GIVEN near(回扣, 回-扣), two spellings of one term WHEN a message says 回扣 once THEN the engine matches, and so
    does the percolator query (Lucene would need two occurrences for two identical interval sources)."""
    rule = Rule.from_dict({"name": "r", "id": "r", "near": [{"terms": ["回扣", "回-扣"], "within": 3}]})
    m = message("给你回扣", "employee", "text", "internal")
    assert RuleEngine([rule]).match(m)
    query = R.rule_percolator_query(rule.to_dict(), normalize=normalize_fast)
    assert matches(query, R.percolate_document(m, normalize_fast(m.text)))
    twice = [{"match": {"query": "回扣", "max_gaps": 0, "ordered": True}}] * 2
    merged = {"intervals": {"folded.uni": {"all_of": {"intervals": twice, "max_gaps": 3, "ordered": False}}}}
    assert not matches(merged, {"folded": "给你回扣"})  # the model knows Lucene needs two occurrences here


def test_the_model_can_reject() -> None:
    """The property above is not vacuous: the model rejects messages the query does not select."""
    query = R.rule_percolator_query({"keywords": ["回扣"], "exclude": ["不是"]}, normalize=normalize_fast)
    assert (
        matches(query, {"folded": "给回扣"})
        and not matches(query, {"folded": "回家"})
        and not matches(query, {"folded": "不是回扣"})
    )
