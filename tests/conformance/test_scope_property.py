"""Property: a scoped account never receives a message, a count or an aggregation bucket
outside its scope — on every backend, for random organisations, scopes and queries.

The reference is brute force: ``Scope.allows`` over the messages the example stored (and,
for text queries, the unscoped result filtered by ``Scope.allows``). Scopes are built from
account records by ``compliance.access.scope_for``, the same path the dashboard and CLI take.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.access import scope_for
from compliance.integrity import day_bounds, day_of
from core.directory import Directory
from core.models import ALL, Batch, Message, MessageFilter, Scope, SearchRequest, Violation, ViolationFilter
from tests.helpers import examples

T0 = 1_763_600_000_000
HOUR = 3_600_000
WORDS = ["回扣", "收益", "报价", "合同", "会议", "hello", "保本", "客户"]
EXTERNAL_IDS = ["wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "wmBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"]


@dataclass
class World:
    directory: Directory
    messages: list[Message]
    violations: list[Violation]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_depts = draw(st.integers(1, 6))
    departments = [{"id": 1, "name": "d1", "parentid": 0}]
    for i in range(2, n_depts + 1):
        departments.append({"id": i, "name": f"d{i}", "parentid": draw(st.integers(1, i - 1))})
    n_emps = draw(st.integers(1, 6))
    employees = [
        {"userid": f"e{i}", "name": f"员工{i}", "departments": [draw(st.integers(1, n_depts))]} for i in range(n_emps)
    ]
    directory = Directory(departments=departments, employees=employees)
    people = [e["userid"] for e in employees]
    messages: list[Message] = []
    violations: list[Violation] = []
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["internal", "external", "group"]))
        if kind == "internal":
            members = (
                draw(st.lists(st.sampled_from(people), min_size=2, max_size=2, unique=True))
                if len(people) > 1
                else [people[0], people[0]]
            )
        elif kind == "external":
            members = [draw(st.sampled_from(people)), draw(st.sampled_from(EXTERNAL_IDS))]
        else:
            members = draw(st.lists(st.sampled_from(people + EXTERNAL_IDS), min_size=2, max_size=4, unique=True))
        sender = draw(st.sampled_from(members))
        emps = sorted({m for m in members if not m.startswith("wm")})
        depts = sorted({d for e in emps for d in directory.departments_of(e)})
        roomid = f"wr{draw(st.integers(0, 2))}" if kind == "group" else ""
        chat_id = roomid or "|".join(sorted(set(members)))
        text = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)))
        time_ms = T0 + draw(st.integers(0, 72)) * HOUR + i
        msgtype = draw(st.sampled_from(["text", "text", "image", "file"]))
        raw = json.dumps(
            {"msgid": f"m{i}", "from": sender, "msgtype": msgtype, "text": {"content": text}}, ensure_ascii=False
        )
        m = Message(
            msgid=f"m{i}",
            seq=i + 1,
            action="send",
            msgtype=msgtype,
            time_ms=time_ms,
            sender=sender,
            sender_kind="external" if sender.startswith("wm") else "employee",
            receivers=[x for x in members if x != sender],
            roomid=roomid,
            chat_id=chat_id,
            chat_kind=kind,
            text=text,
            raw=raw,
            has_external=any(x.startswith("wm") for x in members),
            employees=emps,
            externals=sorted(x for x in members if x.startswith("wm")),
            departments=depts,
            words=text.split(" "),
        )
        if draw(st.booleans()):
            m.flagged = True
            violations.append(
                Violation(
                    msgid=m.msgid,
                    rule_id="r1",
                    rule_version=1,
                    rule_name="回扣",
                    category="私下交易",
                    severity="high",
                    terms=["回扣"],
                    spans=[[0, 2]],
                    time_ms=time_ms,
                    sender=sender,
                    chat_id=chat_id,
                    chat_kind=kind,
                    employees=emps,
                    departments=depts,
                )
            )
        messages.append(m)
    return World(directory, messages, violations)


@st.composite
def account_scopes(draw: st.DrawFn) -> Scope:
    role = draw(st.sampled_from(["auditor", "auditor", "rule-editor", "viewer", "super"]))
    departments = draw(st.lists(st.integers(1, 6), max_size=2, unique=True))
    users = draw(st.lists(st.sampled_from([f"e{i}" for i in range(6)]), max_size=2, unique=True))
    scope = scope_for({"role": role, "scope": {"departments": departments, "users": users}})
    if role != "super" and not departments and not users:
        assert scope.is_empty and not scope.all  # an empty scope sees nothing, never everything
    return scope


class _Slot:
    """What the previous example stored in the (function-scoped) store, to remove it."""

    msgids: list[str] = []


@settings(max_examples=examples(25), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds(), scope=account_scopes(), query=st.sampled_from(["", *WORDS]))
def test_scoped_reads_never_leave_the_scope(store: Any, world: World, scope: Scope, query: str) -> None:
    """GIVEN a random organisation, messages and violations, and a random account scope
    WHEN the account reads through every store operation THEN it sees exactly the allowed
    messages (and nothing outside them) in hits, totals, counts, buckets and statistics."""
    slot = store.__dict__.setdefault("_scope_property_slot", _Slot())
    if slot.msgids:
        store.delete_messages(slot.msgids)
    store.write_batch(Batch(messages=world.messages, violations=world.violations))
    store.refresh()
    slot.msgids = [m.msgid for m in world.messages]

    allowed = [m for m in world.messages if scope.allows(m)]
    allowed_ids = {m.msgid for m in allowed}
    everything = MessageFilter()

    # list_messages and count: exactly the allowed messages
    total, page = store.list_messages(everything, scope=scope, limit=1000)
    assert total == len(allowed)
    assert {m.msgid for m in page} == allowed_ids
    assert store.count(everything, scope=scope) == len(allowed)

    # search: the unscoped result filtered by Scope.allows
    unscoped = store.search(SearchRequest(query=query, limit=1000, highlight=False), scope=ALL)
    by_id = {m.msgid: m for m in world.messages}
    expected = {h.msgid for h in unscoped.hits if scope.allows(by_id[h.msgid])}
    scoped = store.search(SearchRequest(query=query, limit=1000), scope=scope)
    assert {h.msgid for h in scoped.hits} == expected
    assert scoped.total == len(expected)
    assert store.count(everything, scope=scope, query=query) == len(expected)

    # get_messages and context
    assert {m.msgid for m in store.get_messages(list(by_id), scope=scope)} == allowed_ids
    for m in world.messages[:5]:
        around = store.context(m.msgid, before=5, after=5, scope=scope)
        if m.msgid not in allowed_ids:
            assert around == []
        assert {x.msgid for x in around} <= allowed_ids

    # aggregations: no bucket, no count outside the scope
    aggs = {
        "senders": {"terms": {"field": "sender", "size": 1000}},
        "chats": {"terms": {"field": "chat_id", "size": 1000}},
        "days": {"date_histogram": {"field": "time", "fixed_interval": "1d"}},
    }
    result = store.aggregate(everything, aggs, scope=scope, query=query)
    matching = [by_id[i] for i in expected]
    assert _buckets(result, "senders") == Counter(m.sender for m in matching)
    assert _buckets(result, "chats") == Counter(m.chat_id for m in matching)
    assert _buckets(result, "days") == Counter(day_bounds(day_of(m.time_ms))[0] for m in matching)

    # violations and their aggregation
    allowed_violations = [v for v in world.violations if v.msgid in allowed_ids]
    v_total, v_page = store.list_violations(ViolationFilter(), scope=scope, limit=1000)
    assert v_total == len(allowed_violations)
    assert {v.msgid for v in v_page} == {v.msgid for v in allowed_violations}
    v_aggs = store.aggregate_violations(
        ViolationFilter(), {"who": {"terms": {"field": "sender", "size": 1000}}}, scope=scope
    )
    assert _buckets(v_aggs, "who") == Counter(v.sender for v in allowed_violations)

    # statistics
    stats = store.stats(scope=scope)
    assert stats["messages"] == len(allowed)
    assert stats["violations"] == len(allowed_violations)
    assert {k: v for k, v in stats["by_msgtype"].items() if v} == dict(Counter(m.msgtype for m in allowed))


def _buckets(result: dict[str, Any], name: str) -> Counter:
    return Counter({b["key"]: b["doc_count"] for b in result[name]["buckets"] if b["doc_count"]})
