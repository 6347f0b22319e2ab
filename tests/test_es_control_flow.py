"""The Elasticsearch backend's control flow, driven without a cluster.

``ScriptedTransport`` records every request and answers from a script written in each
test (it does not pretend to be Elasticsearch: no state, no query evaluation). It
shows what the backend does with partial bulk failures, transient errors, an
unreachable cluster, rejected credentials and schema migrations. The unreachable and
401 cases use the real client against a closed port and a local HTTP server.
"""

from __future__ import annotations

import gzip
import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.errors import ChatArchiveError, StoreUnavailable
from core.models import Batch, Message, MessageFilter, Scope, SearchRequest, ViolationFilter
from core.settings import Settings
from store.elasticsearch import requests as R
from store.elasticsearch.store import ElasticsearchStore
from store.elasticsearch.transport import EsError

P = "ca"
MV = R.schema_versions()["messages"]  # the messages mapping version: index names carry it
RV = R.schema_versions()["rules"]
Handler = Callable[[str, str, Any, Any], Any]


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any] | None
    body: Any


@dataclass
class ScriptedTransport:
    """Answers ``(method, path)`` from ``script`` (a list of answers is consumed in order,
    the last one repeating); an answer is a dict, an ``EsError`` to raise, or a function
    of the request. Unscripted requests get ``default``."""

    script: dict[tuple[str, str], Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        self.calls.append(Call(method, path, params, json.loads(json.dumps(body)) if body is not None else None))
        answer = self.script.get((method, path), self.default(method, path))
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if callable(answer):
            answer = answer(method, path, params, body)
        if isinstance(answer, EsError):
            raise answer
        return answer

    @staticmethod
    def default(method: str, path: str) -> Any:
        if path.startswith("/_alias/") or (method == "GET" and "/_doc/" in path):
            return EsError(404, {"found": False})
        if path == "/_reindex":
            return {"task": "node1:1"}
        if method == "GET" and path.startswith("/_tasks/"):
            return {"completed": True, "task": {"status": {"total": 0}}, "response": {"failures": []}}
        if method == "POST" and path.endswith("/_pit"):
            return {"id": f"pit-of:{path.split('/')[1]}"}  # names its index, so checks can tell what a PIT search reads
        if method == "DELETE" and path == "/_pit":
            return {"succeeded": True, "num_freed": 1}
        if path.endswith("/_search"):
            return {"hits": {"total": {"value": 0}, "hits": []}}
        if path.endswith("/_count"):
            return {"count": 0}
        if path == "/_bulk":
            return bulk_ok
        return {"acknowledged": True}

    def close(self) -> None:
        pass

    def named(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]


BULK_ACTIONS = ("index", "create", "update", "delete")


def bulk_ok(method: str, path: str, params: Any, body: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "errors": False,
        "items": [{next(iter(line)): {"status": 200}} for line in body if next(iter(line)) in BULK_ACTIONS],
    }


def bulk_failing(failures: dict[str, tuple[int, str]]) -> Handler:
    """A bulk answer where the items with these ids fail with (status, error type)."""

    def answer(method: str, path: str, params: Any, body: list[dict[str, Any]]) -> dict[str, Any]:
        items = []
        for line in body:
            action = next(iter(line))
            if action not in BULK_ACTIONS:
                continue
            doc_id = line[action]["_id"]
            if doc_id in failures:
                status, kind = failures[doc_id]
                items.append(
                    {
                        action: {
                            "_id": doc_id,
                            "status": status,
                            "error": {"type": kind, "reason": f"{kind} on {doc_id}"},
                        }
                    }
                )
            else:
                items.append({action: {"_id": doc_id, "status": 201}})
        return {"errors": bool(failures), "items": items}

    return answer


def message(i: int) -> Message:
    return Message(
        msgid=f"m{i}",
        seq=i,
        action="send",
        msgtype="text",
        time_ms=1_700_000_000_000 + i,
        sender="zhangsan",
        sender_kind="employee",
        receivers=["lisi"],
        roomid="",
        chat_id="lisi|zhangsan",
        chat_kind="internal",
        text=f"消息{i}",
        raw=json.dumps({"msgid": f"m{i}", "seq": i}),
        employees=["lisi", "zhangsan"],
        departments=[1, 2],
        words=["消息"],
    )


def searched_index(call: Call) -> str:
    """The index (alias) a request reads: from the path, or from the point in time it searches."""
    if call.path == "/_search" and isinstance(call.body, dict) and "pit" in call.body:
        return call.body["pit"]["id"].removeprefix("pit-of:")
    return call.path.split("/")[1]


def make_store(transport: ScriptedTransport, sleeps: list[float] | None = None) -> ElasticsearchStore:
    return ElasticsearchStore(
        transport,
        prefix=P,
        where="https://es.example:9200",
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
    )


def bulk_docs(call: Call) -> list[tuple[str, str, dict[str, Any] | None]]:
    out = []
    lines = call.body
    i = 0
    while i < len(lines):
        action = next(iter(lines[i]))
        doc = lines[i + 1] if action in ("index", "create", "update") else None
        out.append((action, lines[i][action]["_id"], doc))
        i += 2 if doc is not None else 1
    return out


# ---------------------------------------------------------------- ingestion


def test_batch_is_one_bulk_then_the_checkpoint() -> None:
    """GIVEN a batch WHEN written THEN one bulk (refresh=wait_for) carries everything and the checkpoint is written
    after it."""
    t = ScriptedTransport()
    make_store(t).write_batch(Batch(messages=[message(1), message(2)], checkpoint=2))
    paths = [(c.method, c.path) for c in t.calls]
    bulk_at = paths.index(("POST", "/_bulk"))
    checkpoint_at = paths.index(("PUT", f"/{P}-state/_doc/checkpoint"))
    assert bulk_at < checkpoint_at
    assert t.calls[bulk_at].params == {"refresh": "wait_for"}
    assert [d[1] for d in bulk_docs(t.calls[bulk_at])] == ["m1", "m2"]
    assert t.calls[checkpoint_at].body["seq"] == 2


def test_permanently_failed_items_become_dead_letters_before_the_checkpoint() -> None:
    """GIVEN a bulk where one message is rejected (mapping error) WHEN the batch is written
    THEN that message is dead-lettered with the ES error as the reason, and only then is the checkpoint written."""
    t = ScriptedTransport({("POST", "/_bulk"): [bulk_failing({"m2": (400, "mapper_parsing_exception")}), bulk_ok]})
    make_store(t).write_batch(Batch(messages=[message(1), message(2), message(3)], checkpoint=3))
    bulks = t.named("POST", "/_bulk")
    assert len(bulks) == 2
    ((action, doc_id, letter),) = bulk_docs(bulks[1])
    assert (action, doc_id) == ("index", "m2")
    assert letter["stage"] == "store" and letter["seq"] == 2
    assert "mapper_parsing_exception" in letter["reason"]
    assert letter["record"] == {"msgid": "m2", "seq": 2}  # the plaintext, replayable like an import
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 3


def test_new_records_are_created_and_an_existing_one_is_not_a_failure() -> None:
    """GIVEN a batch that queues two media items, one of which exists already (409 on create)
    WHEN it is written THEN both go as bulk `create`, the 409 is not a failure, and the checkpoint advances."""
    existing = "media:a"  # "collection:id": the id put_record's URL path (/_doc/media%3Aa) decodes to
    conflict = bulk_failing({existing: (409, "version_conflict_engine_exception")})
    t = ScriptedTransport({("POST", "/_bulk"): [bulk_ok, conflict]})
    batch = Batch(
        messages=[message(1)],
        new_records=[("media", "a", {"status": "pending"}), ("media", "b", {"status": "pending"})],
        checkpoint=1,
    )
    make_store(t).write_batch(batch)
    messages_bulk, records_bulk = t.named("POST", "/_bulk")  # messages, then records: no retry, no dead letter
    assert [action for action, _, _ in bulk_docs(messages_bulk)] == ["index"]
    creates = [doc_id for action, doc_id, _ in bulk_docs(records_bulk) if action == "create"]
    assert creates == [existing, "media:b"]
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 1


def test_violations_and_dead_letters_are_sent_only_after_their_messages() -> None:
    """GIVEN a batch with messages, a violation and a dead letter
    WHEN it is written
    THEN the messages go in a first bulk and the violation and dead letter in a second one, so a
    crash between them never leaves a violation without its message (a bulk is not atomic)"""
    from core.models import DeadLetter
    from tests.conformance.test_store_basics import violation

    t = ScriptedTransport({("POST", "/_bulk"): [bulk_ok]})
    m1, m2 = message(1), message(2)
    dead = DeadLetter(seq=3, msgid="m3", reason="bad", stage="decrypt", record={"seq": 3})
    make_store(t).write_batch(Batch(messages=[m1, m2], violations=[violation(m1)], deadletters=[dead], checkpoint=3))
    first, second = t.named("POST", "/_bulk")
    assert {doc_id for _, doc_id, _ in bulk_docs(first)} == {"m1", "m2"}
    assert first.params is None or "refresh" not in (first.params or {})
    assert {doc_id for _, doc_id, _ in bulk_docs(second)} == {violation(m1).id, "m3"}
    assert second.params == {"refresh": "wait_for"}


def test_checkpoint_is_not_advanced_past_items_neither_stored_nor_dead_lettered() -> None:
    """GIVEN a bulk where m2 is rejected AND dead-lettering it fails too WHEN the batch is written
    THEN the checkpoint stops just before m2 (a replay re-sends it) and the caller is told."""
    t = ScriptedTransport(
        {
            ("POST", "/_bulk"): [
                bulk_failing({"m2": (400, "mapper_parsing_exception")}),
                bulk_failing({"m2": (400, "mapper_parsing_exception")}),
            ]
        }
    )
    with pytest.raises(StoreUnavailable, match="checkpoint stays at 1"):
        make_store(t).write_batch(Batch(messages=[message(1), message(2), message(3)], checkpoint=3))
    assert [c.body["seq"] for c in t.named("PUT", f"/{P}-state/_doc/checkpoint")] == [1]


def test_checkpoint_never_moves_backwards() -> None:
    t = ScriptedTransport({("GET", f"/{P}-state/_doc/checkpoint"): {"found": True, "_source": {"seq": 50}}})
    make_store(t).write_batch(Batch(messages=[message(1)], checkpoint=10))
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint") == []


def test_items_rejected_with_429_are_retried_with_backoff() -> None:
    """GIVEN a bulk where one item gets 429 (queue full) WHEN written THEN only that item is re-sent after a backoff."""
    sleeps: list[float] = []
    t = ScriptedTransport(
        {("POST", "/_bulk"): [bulk_failing({"m1": (429, "es_rejected_execution_exception")}), bulk_ok]}
    )
    make_store(t, sleeps).write_batch(Batch(messages=[message(1), message(2)], checkpoint=2))
    bulks = t.named("POST", "/_bulk")
    assert [d[1] for d in bulk_docs(bulks[1])] == ["m1"]
    assert sleeps == [0.5]
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 2


def dead_letter_writes(t: ScriptedTransport) -> list[str]:
    letters = []
    for call in t.named("POST", "/_bulk"):
        letters += [
            doc_id
            for action, doc_id, _ in bulk_docs(call)
            if action == "index" and _index_of(call, doc_id) == f"{P}-deadletters"
        ]
    return letters


def _index_of(call: Call, doc_id: str) -> str:
    return next(line[a]["_index"] for line in call.body for a in BULK_ACTIONS if a in line and line[a]["_id"] == doc_id)


def test_sustained_429s_slow_the_pipeline_and_never_dead_letter() -> None:
    """GIVEN a cluster that keeps refusing one message with 429 WHEN a batch is written THEN that item is re-sent with
    bounded exponential backoff, the cluster health is read once, no dead letter is written, the checkpoint stays
    just before the unwritten message and the batch fails as StoreUnavailable (the pull resumes from there)."""
    sleeps: list[float] = []
    full = bulk_failing({"m2": (429, "es_rejected_execution_exception")})
    t = ScriptedTransport({("POST", "/_bulk"): [full], ("GET", "/_cluster/health"): {"status": "yellow"}})
    with pytest.raises(StoreUnavailable, match="kept refusing 1 documents .*HTTP 429.*checkpoint stays at 1"):
        make_store(t, sleeps).write_batch(Batch(messages=[message(1), message(2), message(3)], checkpoint=3))
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert len(t.named("POST", "/_bulk")) == 9 and len(t.named("GET", "/_cluster/health")) == 1
    assert dead_letter_writes(t) == []
    assert [c.body["seq"] for c in t.named("PUT", f"/{P}-state/_doc/checkpoint")] == [1]


def test_nothing_that_refers_to_an_unwritten_message_is_sent() -> None:
    """GIVEN a cluster that keeps refusing a message with 429 WHEN its batch, with a violation, is written
    THEN the violation's bulk is never sent (it would refer to a message the store may never hold),
    and the batch fails as StoreUnavailable with the checkpoint before the batch (replayed whole)."""
    from tests.es_cases import violation

    v = violation()
    full = bulk_failing({"m2": (429, "es_rejected_execution_exception")})
    t = ScriptedTransport({("POST", "/_bulk"): [full], ("GET", "/_cluster/health"): {"status": "yellow"}})
    with pytest.raises(StoreUnavailable, match="checkpoint stays at 0"):
        make_store(t).write_batch(Batch(messages=[message(1), message(2)], violations=[v], checkpoint=2))
    sent = [doc_id for call in t.named("POST", "/_bulk") for _, doc_id, _ in bulk_docs(call)]
    assert v.id not in sent and dead_letter_writes(t) == []


def test_a_red_cluster_is_an_alert_and_its_refusals_are_not_dead_letters(caplog: pytest.LogCaptureFixture) -> None:
    """GIVEN a red cluster refusing items with 503 WHEN a batch is written THEN an ALERT names the red cluster,
    the error says so, and nothing is dead-lettered."""
    red = bulk_failing({"m1": (503, "unavailable_shards_exception")})
    t = ScriptedTransport({("POST", "/_bulk"): [red], ("GET", "/_cluster/health"): {"status": "red"}})
    with pytest.raises(StoreUnavailable, match="cluster red"):
        make_store(t).write_batch(Batch(messages=[message(1)], checkpoint=1))
    assert any("ALERT store" in r.getMessage() and "red" in r.getMessage() for r in caplog.records)
    assert dead_letter_writes(t) == [] and t.named("PUT", f"/{P}-state/_doc/checkpoint") == []


def test_a_blocked_index_is_the_clusters_state_not_the_messages_fault() -> None:
    """GIVEN items refused by an index write block (a migration, or the disk flood stage) WHEN written THEN they are
    retried and never dead-lettered; a blocked single write is a clear StoreUnavailable, not a privilege error."""
    blocked = bulk_failing({"m1": (403, "cluster_block_exception")})
    t = ScriptedTransport({("POST", "/_bulk"): [blocked, bulk_ok]})
    make_store(t).write_batch(Batch(messages=[message(1)], checkpoint=1))
    assert dead_letter_writes(t) == [] and len(t.named("POST", "/_bulk")) == 2
    reason = "index [ca-records-v1] blocked by: [FORBIDDEN/8/index write (api)]"
    block = EsError(403, {"error": {"type": "cluster_block_exception", "reason": reason}})
    t2 = ScriptedTransport({("PUT", f"/{P}-records/_doc/accounts%3Aalice"): block})
    with pytest.raises(StoreUnavailable, match="blocked index.*migration is running"):
        make_store(t2).put_record("accounts", "alice", {"name": "alice"})


def test_a_short_overload_is_absorbed_without_loss() -> None:
    """GIVEN 429s on three attempts, then success WHEN written THEN the batch is stored, the checkpoint moves,
    nothing is dead-lettered."""
    sleeps: list[float] = []
    queue_full = (429, "es_rejected_execution_exception")
    full = bulk_failing({"m1": queue_full, "m2": queue_full})
    t = ScriptedTransport({("POST", "/_bulk"): [full, full, full, bulk_ok]})
    make_store(t, sleeps).write_batch(Batch(messages=[message(1), message(2)], checkpoint=2))
    assert sleeps == [0.5, 1.0, 2.0]
    assert dead_letter_writes(t) == [] and t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 2


def test_only_the_message_at_fault_is_dead_lettered_while_the_overloaded_one_is_retried() -> None:
    """GIVEN one item with a mapping error and one refused with 429 once WHEN written THEN only the first is a
    dead letter."""
    mixed = bulk_failing({"m1": (400, "mapper_parsing_exception"), "m2": (429, "es_rejected_execution_exception")})
    t = ScriptedTransport({("POST", "/_bulk"): [mixed, bulk_ok]})
    make_store(t).write_batch(Batch(messages=[message(1), message(2)], checkpoint=2))
    assert dead_letter_writes(t) == ["m1"]
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 2


def test_a_failed_violation_write_holds_the_checkpoint_before_the_whole_batch() -> None:
    """GIVEN a message at fault (dead-lettered) and a violation the cluster rejects WHEN written THEN the checkpoint
    stays before the batch's first message, not just before the dead-lettered one."""
    from tests.es_cases import violation

    v = violation()
    failing = bulk_failing({"m3": (400, "mapper_parsing_exception"), v.id: (400, "illegal_argument_exception")})
    # the messages' bulk, then the violation's, then the dead letter's
    t = ScriptedTransport({("POST", "/_bulk"): [failing, failing, bulk_ok]})
    with pytest.raises(StoreUnavailable, match="checkpoint stays at 1"):
        make_store(t).write_batch(Batch(messages=[message(2), message(3)], violations=[v], checkpoint=3))


def test_deleting_a_dead_letter_that_is_not_there_is_not_a_failure() -> None:
    t = ScriptedTransport({("POST", "/_bulk"): bulk_failing({"gone": (404, "not_found")})})
    make_store(t).write_batch(Batch(messages=[message(1)], resolved_deadletters=["gone"], checkpoint=1))
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504], ids=lambda s: f"http-{s}")
def test_transient_request_errors_are_retried_with_exponential_backoff(status: int) -> None:
    """GIVEN a cluster answering {status} twice WHEN a request is made THEN it is retried after 0.5 s and 1 s and
    succeeds."""
    sleeps: list[float] = []
    busy = EsError(status, {"error": {"type": "busy", "reason": "try later"}})
    t = ScriptedTransport({("POST", f"/{P}-messages/_count"): [busy, busy, {"count": 7}]})
    assert make_store(t, sleeps).count(MessageFilter(), scope=Scope.everything()) == 7
    assert sleeps == [0.5, 1.0]


def test_a_cluster_that_stays_overloaded_is_store_unavailable() -> None:
    sleeps: list[float] = []
    t = ScriptedTransport(
        {("POST", f"/{P}-messages/_count"): [EsError(503, {"error": {"type": "unavailable", "reason": "x"}})]}
    )
    with pytest.raises(StoreUnavailable, match="HTTP 503"):
        make_store(t, sleeps).count(MessageFilter(), scope=Scope.everything())
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_a_bad_request_is_not_retried() -> None:
    sleeps: list[float] = []
    t = ScriptedTransport(
        {("POST", f"/{P}-messages/_count"): [EsError(400, {"error": {"type": "parsing_exception", "reason": "bad"}})]}
    )
    with pytest.raises(ChatArchiveError, match="parsing_exception"):
        make_store(t, sleeps).count(MessageFilter(), scope=Scope.everything())
    assert sleeps == []


# ---------------------------------------------------------------- scope on every read


def test_scope_is_a_filter_on_every_read_request() -> None:
    """GIVEN a restricted scope WHEN every read operation runs THEN every search and count request carries the scope
    filter."""
    t = ScriptedTransport(
        {
            ("POST", f"/{P}-messages/_search"): {
                "hits": {
                    "total": {"value": 1},
                    "hits": [
                        {
                            "_id": "m1",
                            "_index": f"{P}-messages-v{MV}-000001",
                            "_source": R.message_document(message(1), "消息1"),
                            "sort": [1, 1, "m1"],
                        }
                    ],
                },
                "aggregations": {},
            }
        }
    )
    store = make_store(t)
    scope = Scope.of([2], ["zhangsan"])
    store.search(SearchRequest(query="消息"), scope=scope)
    store.count(MessageFilter(), scope=scope, query='"消息"')
    store.aggregate(MessageFilter(), {"t": {"terms": {"field": "msgtype"}}}, scope=scope)
    store.list_messages(MessageFilter(), scope=scope)
    list(store.iter_messages(MessageFilter(), scope=scope))
    store.get_messages(["m1"], scope=scope)
    store.context("m1", scope=scope)
    store.stats(scope=scope)
    store.list_violations(ViolationFilter(), scope=scope)
    store.aggregate_violations(ViolationFilter(), {"r": {"terms": {"field": "rule_id"}}}, scope=scope)
    reads = [
        c
        for c in t.calls
        if c.path.endswith(("/_search", "/_count"))
        and ("messages" in searched_index(c) or "violations" in searched_index(c))
    ]
    assert len(reads) >= 12
    expected = R.scope_filter(scope)
    for call in reads:
        assert expected in call.body["query"]["bool"]["filter"], f"{call.path} without the scope filter"


# ---------------------------------------------------------------- iteration: search_after over a point in time


def pages_of(messages: list[Message], size: int) -> list[dict[str, Any]]:
    """The PIT search answers for ``messages`` in pages of ``size`` (each page renews the PIT id)."""
    pages = []
    for n, start in enumerate(range(0, len(messages) + 1, size)):
        chunk = messages[start : start + size]
        hits = [{"_id": m.msgid, "_source": R.message_document(m, m.text), "sort": [m.seq, m.msgid]} for m in chunk]
        pages.append({"pit_id": f"pit-{n + 1}", "hits": {"hits": hits}})
    return pages


def test_iteration_reads_a_point_in_time_page_by_page_and_closes_it() -> None:
    """GIVEN 25,000 matches WHEN iterated in pages of 10,000 THEN one point in time is opened, every page searches it
    after the previous page's last sort values (never an offset), and it is closed at the end."""
    msgs = [message(i) for i in range(1, 25_001)]
    pit = {"id": "pit-0"}
    t = ScriptedTransport({("POST", f"/{P}-messages/_pit"): pit, ("POST", "/_search"): pages_of(msgs, 10_000)})
    got = [m.msgid for m in make_store(t).iter_messages(MessageFilter(), scope=Scope.everything(), batch_size=10_000)]
    assert got == [m.msgid for m in msgs]
    assert [c.params for c in t.named("POST", f"/{P}-messages/_pit")] == [{"keep_alive": R.PIT_KEEP_ALIVE}]
    searches = t.named("POST", "/_search")
    assert [c.body["pit"]["id"] for c in searches] == ["pit-0", "pit-1", "pit-2"]
    assert [c.body.get("search_after") for c in searches] == [None, [10_000, "m10000"], [20_000, "m20000"]]
    assert not any("from" in c.body for c in searches)
    assert [c.body for c in t.named("DELETE", "/_pit")] == [{"id": "pit-3"}]


def test_an_abandoned_iteration_still_closes_its_point_in_time() -> None:
    t = ScriptedTransport({("POST", "/_search"): pages_of([message(i) for i in range(1, 6)], 2)})
    stream = make_store(t).iter_messages(MessageFilter(), scope=Scope.everything(), batch_size=2)
    assert next(stream).msgid == "m1"
    stream.close()
    assert len(t.named("DELETE", "/_pit")) == 1


def test_a_point_in_time_that_cannot_be_closed_does_not_fail_the_iteration() -> None:
    gone = EsError(404, {"error": {"type": "search_context_missing_exception", "reason": "gone"}})
    t = ScriptedTransport({("DELETE", "/_pit"): gone})
    assert list(make_store(t).iter_messages(MessageFilter(), scope=Scope.everything())) == []


# ---------------------------------------------------------------- init and migration


def test_init_on_an_empty_cluster_creates_versioned_indices_behind_aliases() -> None:
    t = ScriptedTransport()
    result = make_store(t).init()
    assert result == {
        "backend": "elasticsearch",
        "schema_version": max(R.schema_versions().values()),
        "migrated": False,
    }
    created = {
        c.path: c.body for c in t.calls if c.method == "PUT" and c.path.startswith(f"/{P}-") and "/_doc/" not in c.path
    }
    assert created[f"/{P}-messages-v{MV}-000001"] == {"aliases": {f"{P}-messages": {"is_write_index": True}}}
    assert created[f"/{P}-rules-v{RV}"] == {"aliases": {f"{P}-rules": {}}}
    assert t.named("PUT", f"/_ilm/policy/{P}-messages-policy")
    assert t.named("PUT", f"/{P}-state/_doc/schema")[0].body["versions"] == R.schema_versions()


def test_init_is_idempotent_when_the_schema_is_current() -> None:
    current = {
        ("GET", f"/_alias/{P}-{k}"): {R.index_name(P, k, v): {"aliases": {}}} for k, v in R.schema_versions().items()
    }
    current[("GET", f"/{P}-state/_doc/schema")] = {"found": True, "_source": {"versions": R.schema_versions()}}
    t = ScriptedTransport(current)
    assert make_store(t).init()["migrated"] is False
    writes = [
        c
        for c in t.calls
        if c.path in ("/_reindex", "/_aliases") or (c.method == "PUT" and c.path.startswith(f"/{P}-"))
    ]
    # Only the live settings are re-applied (indices of an older release follow the template): no index, no document.
    assert {c.path for c in writes} == {f"/{P}-{k}/_settings" for k in R.INDEX_KINDS}
    assert all(c.body == {"index": {"auto_expand_replicas": "0-1"}} for c in writes)


OLD_MESSAGES = [f"{P}-messages-v0-000001", f"{P}-messages-v0-000002"]
NEW_MESSAGES = f"{P}-messages-v{MV}-000001"


def outdated_messages(extra: dict[tuple[str, str], Any] | None = None) -> ScriptedTransport:
    """A cluster where every kind is current except messages: two v0 indices, the second the write index."""
    script: dict[tuple[str, str], Any] = {
        ("GET", f"/_alias/{P}-{k}"): {R.index_name(P, k, v): {"aliases": {}}} for k, v in R.schema_versions().items()
    }
    script[("GET", f"/_alias/{P}-messages")] = {
        OLD_MESSAGES[0]: {"aliases": {f"{P}-messages": {"is_write_index": False}}},
        OLD_MESSAGES[1]: {"aliases": {f"{P}-messages": {"is_write_index": True}}},
    }
    return ScriptedTransport({**script, **(extra or {})})


def task(
    done: int, total: int, *, completed: bool = False, failures: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"completed": completed, "task": {"status": {"total": total, "created": done}}}
    if completed:
        answer["response"] = {"failures": failures or []}
    return answer


def test_a_changed_mapping_migrates_by_a_reindex_task_and_one_atomic_alias_switch() -> None:
    """GIVEN the messages alias on two v0 indices WHEN init runs THEN the old write index is marked indexing_complete,
    the new index is created with its (hidden) alias in the same request, the reindex starts as a task
    (wait_for_completion=false), the task is polled with progress until done, and the alias moves in one request."""
    sleeps: list[float] = []
    reported: list[tuple[str, int, int]] = []
    polls = [task(0, 25_000), task(12_000, 25_000), task(25_000, 25_000, completed=True)]
    t = outdated_messages({("POST", "/_reindex"): {"task": "n1:77"}, ("GET", "/_tasks/n1:77"): polls})
    assert make_store(t, sleeps).init(progress=lambda *a: reported.append(a))["migrated"] is True
    order = [(c.method, c.path) for c in t.calls]
    complete = order.index(("PUT", f"/{OLD_MESSAGES[1]}/_settings"))
    create = order.index(("PUT", f"/{NEW_MESSAGES}"))
    block = order.index(("PUT", f"/{','.join(OLD_MESSAGES)}/_settings"))
    start = order.index(("POST", "/_reindex"))
    switch = order.index(("POST", "/_aliases"))
    assert complete < create < block < start < switch
    assert t.calls[block].body == {"index": {"blocks": {"write": True}}}  # no write lands behind the copy
    assert t.calls[complete].body == {"index": {"lifecycle": {"indexing_complete": True}}}
    assert not t.named("PUT", f"/{OLD_MESSAGES[0]}/_settings")
    hidden = {"is_write_index": False, "filter": {"match_none": {}}}
    assert t.calls[create].body == {"aliases": {f"{P}-messages": hidden}}
    assert t.calls[start].params == {"wait_for_completion": "false", "refresh": "true"}
    assert t.calls[start].body == R.reindex(OLD_MESSAGES, NEW_MESSAGES)
    assert len(t.named("GET", "/_tasks/n1:77")) == 3 and sleeps == [2.0, 2.0]
    assert reported == [("messages", 0, 25_000), ("messages", 12_000, 25_000), ("messages", 25_000, 25_000)]
    assert t.calls[switch].body == R.alias_switch(P, "messages", OLD_MESSAGES, NEW_MESSAGES)


def test_a_timed_out_reindex_is_never_sent_again() -> None:
    """GIVEN a reindex request that times out (it may be running) WHEN init runs THEN it is sent exactly once,
    nothing is switched, and the error says that running init again resumes."""
    timeout = EsError(0, None, "ConnectionTimeout: read timed out")
    t = outdated_messages({("POST", "/_reindex"): timeout})
    with pytest.raises(StoreUnavailable, match="run init again"):
        make_store(t).init()
    assert len(t.named("POST", "/_reindex")) == 1
    assert not t.named("POST", "/_aliases")
    blocks = [c.body for c in t.named("PUT", f"/{','.join(OLD_MESSAGES)}/_settings")]
    assert blocks == [{"index": {"blocks": {"write": True}}}]  # not lifted: the reindex may be running


def test_a_reindex_rejected_by_a_busy_cluster_is_retried() -> None:
    """GIVEN a 429 (rejected before it ran) WHEN the reindex is started THEN it is re-sent after a backoff."""
    busy = EsError(429, {"error": {"type": "es_rejected_execution_exception", "reason": "queue full"}})
    t = outdated_messages({("POST", "/_reindex"): [busy, {"task": "n1:5"}]})
    assert make_store(t).init()["migrated"] is True
    assert len(t.named("POST", "/_reindex")) == 2 and t.named("GET", "/_tasks/n1:5")


def test_an_interrupted_migration_resumes_its_running_task() -> None:
    """GIVEN the new index already a hidden member of the alias and its reindex task still running
    WHEN init runs again THEN no new reindex starts: the running task is polled, then the alias switches."""
    description = f"reindex from [{', '.join(OLD_MESSAGES)}] to [{NEW_MESSAGES}]"
    running = {"nodes": {"n1": {"tasks": {"n1:9": {"action": R.REINDEX_ACTION, "description": description}}}}}
    t = outdated_messages({("GET", "/_tasks"): running, ("GET", "/_tasks/n1:9"): task(10, 10, completed=True)})
    hidden = {"is_write_index": False, "filter": {"match_none": {}}}
    t.script[("GET", f"/_alias/{P}-messages")][NEW_MESSAGES] = {"aliases": {f"{P}-messages": hidden}}
    exists = {"error": {"type": "resource_already_exists_exception", "reason": "exists"}}
    t.script[("PUT", f"/{NEW_MESSAGES}")] = EsError(400, exists)
    assert make_store(t).init()["migrated"] is True
    assert t.named("POST", "/_reindex") == []
    assert t.named("POST", "/_aliases")[0].body == R.alias_switch(P, "messages", OLD_MESSAGES, NEW_MESSAGES)


def test_a_migration_another_init_finished_is_not_switched_twice() -> None:
    """GIVEN two inits (indexer and dashboard) waiting for the same reindex WHEN the other one switched the alias first
    THEN this one sees the alias on the new index alone and sends no second switch (which would fail)."""
    t = outdated_messages()
    before = t.script[("GET", f"/_alias/{P}-messages")]
    switched = {NEW_MESSAGES: {"aliases": {f"{P}-messages": {"is_write_index": True}}}}
    t.script[("GET", f"/_alias/{P}-messages")] = [before, switched]
    make_store(t).init()
    assert t.named("POST", "/_reindex") and not t.named("POST", "/_aliases")


def test_a_failed_reindex_task_keeps_the_old_indices() -> None:
    failures = [{"id": "m7", "cause": {"type": "mapper_parsing_exception", "reason": "failed to parse field [time]"}}]
    t = outdated_messages({("GET", "/_tasks/node1:1"): task(9, 10, completed=True, failures=failures)})
    expected = "1 documents failed, e.g. m7: mapper_parsing_exception.*old indices are still in use"
    with pytest.raises(ChatArchiveError, match=expected):
        make_store(t).init()
    assert not t.named("POST", "/_aliases")
    blocks = [c.body["index"]["blocks"]["write"] for c in t.named("PUT", f"/{','.join(OLD_MESSAGES)}/_settings")]
    assert blocks == [True, False]  # writes resume on the old indices


def test_a_reindex_task_that_vanished_is_a_clear_error() -> None:
    not_found = EsError(404, {"error": {"type": "resource_not_found_exception", "reason": "task not found"}})
    t = outdated_messages({("GET", "/_tasks/node1:1"): not_found})
    with pytest.raises(StoreUnavailable, match="node1:1 .* is gone"):
        make_store(t).init()
    assert not t.named("POST", "/_aliases")
    blocks = [c.body for c in t.named("PUT", f"/{','.join(OLD_MESSAGES)}/_settings")]
    assert blocks == [{"index": {"blocks": {"write": True}}}]  # kept until the next init restarts the copy


# ---------------------------------------------------------------- record collections: sorted and limited on the cluster


class AuditIndex:
    """The audit index of ``n`` chained entries, answering sorted, limited searches as Elasticsearch
    would (sort on seq / numbers.<field> / record_id, size, search_after): enough to count requests."""

    def __init__(self, n: int) -> None:
        from store.elasticsearch.requests import record_document

        self.docs = [
            record_document("audit", str(i), {"seq": i, "hash": f"h{i}", "action": "login"}, seq=i)
            for i in range(1, n + 1)
        ]

    def search(self, method: str, path: str, params: Any, body: dict[str, Any]) -> dict[str, Any]:
        keys = [(next(iter(s)), next(iter(s.values()))["order"]) for s in body["sort"]]
        rows = sorted(self.docs, key=lambda d: [self._value(d, f) for f, _ in keys], reverse=keys[0][1] == "desc")
        after = body.get("search_after")
        if after is not None:
            position = next(i for i, d in enumerate(rows) if [self._value(d, f) for f, _ in keys] == after)
            rows = rows[position + 1 :]
        page = rows[: body["size"]]
        return {"hits": {"hits": [{"_source": d, "sort": [self._value(d, f) for f, _ in keys]} for d in page]}}

    @staticmethod
    def _value(doc: dict[str, Any], field: str) -> Any:
        if field.startswith("numbers."):
            return doc["numbers"][field.split(".", 1)[1]]
        return doc[field]


@pytest.mark.parametrize("entries", [5, 50_000])
def test_an_audit_append_costs_the_same_few_requests_however_long_the_trail(entries: int) -> None:
    """GIVEN an audit trail of {entries} entries WHEN one more action is audited THEN the last entry is found by one
    sorted search of size 1 (plus one count proving the sort exact): 6 requests in all, at 5 entries as at 50,000."""
    from compliance import audit

    trail = AuditIndex(entries)
    t = ScriptedTransport(
        {
            ("POST", f"/{P}-audit/_search"): trail.search,
            ("POST", f"/{P}-state/_update/counter-audit"): {"get": {"_source": {"n": entries + 1}}},
        }
    )
    entry = audit.record(make_store(t), "auditor1", "login")
    assert entry["seq"] == entries + 1 and entry["prev_hash"] == f"h{entries}"
    searches = t.named("POST", f"/{P}-audit/_search")
    by_seq = {"numbers.seq": {"order": "desc", "missing": "_last", "unmapped_type": "double"}}
    assert [(c.body["size"], c.body["sort"][0]) for c in searches] == [(1, by_seq)]
    assert len(t.calls) == 6


def test_a_field_holding_text_somewhere_is_sorted_in_python_as_the_embedded_store_does() -> None:
    """GIVEN records where the sort field holds a string in some record WHEN sorted by it with a limit THEN the
    store does not trust the cluster's numeric sort: it reads all matches and sorts them as the embedded store."""
    docs = [R.record_document("rules", rid, {"order": order}) for rid, order in (("a", "x"), ("b", 2), ("c", 1))]
    hits = {"hits": {"hits": [{"_source": d, "sort": [0, d["record_id"]]} for d in docs]}}
    t = ScriptedTransport({("POST", f"/{P}-records/_count"): {"count": 1}, ("POST", f"/{P}-records/_search"): hits})
    got = make_store(t).find_records("rules", order_by="order", limit=2)
    assert [d["_id"] for d in got] == ["c", "b"]
    assert t.named("POST", f"/{P}-records/_search")[0].body["sort"] == R.record_sort(None, False)


# ---------------------------------------------------------------- percolation


def test_percolation_candidates_are_verified_by_the_shared_rule_engine() -> None:
    """GIVEN the percolator proposing a rule for two messages WHEN rules are matched THEN the shared engine
    decides: only the message that really matches yields a violation, identical to the engine's own."""
    from analyzers.rules import Rule, RuleEngine

    rule = Rule.from_dict({"name": "回扣", "id": "r1", "keywords": ["回扣"], "exclude": ["不是回扣"]})
    engine = RuleEngine([rule])
    hit, near_miss, other = message(1), message(2), message(3)
    hit.text, near_miss.text, other.text = "给你回-扣", "回 家", "你好"
    proposal = {"_id": "r1", "_source": {"rule_id": "r1"}, "fields": {"_percolator_document_slot": [0, 1]}}
    proposals = {"hits": {"hits": [proposal]}}

    def rules_search(method: str, path: str, params: Any, body: Any) -> dict[str, Any]:
        return proposals if "percolate" in str(body) else {"hits": {"hits": []}}  # percolation, else the sync's listing

    t = ScriptedTransport({("POST", f"/{P}-rules/_search"): rules_search})
    violations = make_store(t).match_rules([hit, near_miss, other], engine)
    assert [(v.msgid, v.rule_id) for v in violations] == [("m1", "r1")]
    percolated = t.named("POST", f"/{P}-rules/_search")[-1].body["query"]["bool"]["must"][0]["percolate"]["documents"]
    assert [d["folded"] for d in percolated] == ["给你回扣", "回家", "你好"]  # the rules' normalization


def rule_records(*rules: dict[str, Any]) -> dict[str, Any]:
    hits = [{"_source": R.record_document("rules", r["id"], r), "sort": [0, r["id"]]} for r in rules]
    return {"hits": {"hits": hits}}


def percolator_docs(*docs: dict[str, Any]) -> dict[str, Any]:
    return {"hits": {"hits": [{"_id": d["rule_id"], "_source": d, "sort": [d["rule_id"]]} for d in docs]}}


def test_the_percolator_is_rebuilt_from_the_rule_records() -> None:
    """GIVEN rule r1 in step, r2 whose percolator document was never written, r3 with a stale one (older version)
    and a percolator document for a deleted rule r9 WHEN the percolator is synced THEN one bulk indexes r2 and r3
    and deletes r9."""
    from analyzers.rules.normalize import normalize_fast

    r1 = {"id": "r1", "name": "a", "keywords": ["回扣"], "version": 1}
    r2 = {"id": "r2", "name": "b", "keywords": ["返点"], "version": 1}
    r3 = {"id": "r3", "name": "c", "keywords": ["保本"], "version": 2}
    in_step = R.rule_document("r1", r1, normalize=normalize_fast)
    stale = R.rule_document("r3", {**r3, "version": 1, "keywords": ["保"]}, normalize=normalize_fast)
    orphan = R.rule_document("r9", {"id": "r9", "name": "x", "keywords": ["x"]}, normalize=normalize_fast)
    t = ScriptedTransport(
        {
            ("POST", f"/{P}-records/_search"): rule_records(r1, r2, r3),
            ("POST", f"/{P}-rules/_search"): percolator_docs(in_step, stale, orphan),
        }
    )
    assert make_store(t).sync_percolator() == {"rules": 3, "indexed": 2, "deleted": 1}
    (bulk,) = t.named("POST", "/_bulk")
    assert [(a, i) for a, i, _ in bulk_docs(bulk)] == [("index", "r2"), ("index", "r3"), ("delete", "r9")]
    assert bulk_docs(bulk)[1][2] == R.rule_document("r3", r3, normalize=normalize_fast)


def test_init_and_every_new_rule_engine_check_the_percolator() -> None:
    """GIVEN a cluster WHEN init runs, then rules are matched twice with one engine and once with a rebuilt engine
    THEN the percolator is checked at init and once per engine (not per batch)."""
    from analyzers.rules import RuleEngine

    t = ScriptedTransport()
    store = make_store(t)
    store.init()

    def listings() -> list[Call]:
        return [c for c in t.named("POST", f"/{P}-rules/_search") if "percolate" not in str(c.body)]

    assert len(listings()) == 1
    first, rebuilt = RuleEngine([]), RuleEngine([])
    store.match_rules([message(1)], first)
    store.match_rules([message(2)], first)
    assert len(listings()) == 2
    store.match_rules([message(3)], rebuilt)
    assert len(listings()) == 3


def test_saving_a_rule_record_indexes_its_percolator_query() -> None:
    t = ScriptedTransport()
    make_store(t).put_record("rules", "r1", {"id": "r1", "name": "回扣", "keywords": ["回扣"], "enabled": True})
    (call,) = t.named("PUT", f"/{P}-rules/_doc/r1")
    assert call.body["query"] == {
        "bool": {
            "must": [{"bool": {"should": [{"match_phrase": {"folded": {"query": "回扣"}}}], "minimum_should_match": 1}}]
        }
    }


# ---------------------------------------------------------------- the real client: unreachable, 401


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_cluster_is_store_unavailable_with_a_clear_message() -> None:
    """GIVEN es_url pointing at a closed port WHEN the store is used THEN StoreUnavailable names the URL (without the
    password)."""
    settings = Settings(
        backend="elasticsearch", es_url=f"http://elastic:s3cret@127.0.0.1:{closed_port()}", es_timeout=2.0
    )
    store = ElasticsearchStore.from_settings(settings, index_prefix="t")
    store.t.max_retries, store.t.sleep = 1, lambda s: None
    with pytest.raises(StoreUnavailable) as raised:
        store.checkpoint()
    assert "cannot reach Elasticsearch at http://elastic:***@127.0.0.1" in str(raised.value)
    assert "s3cret" not in str(raised.value)


@pytest.fixture
def rejecting_server() -> Iterator[str]:
    """A local HTTP server that answers every request like a secured cluster with wrong credentials."""

    class Reject(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {
                    "error": {"type": "security_exception", "reason": "unable to authenticate user [elastic]"},
                    "status": 401,
                }
            ).encode()
            self.send_response(401)
            self.send_header("content-type", "application/json")
            self.send_header("WWW-Authenticate", 'Basic realm="security"')
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PUT = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Reject)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_wrong_credentials_are_a_clear_error(rejecting_server: str, tmp_path: Any) -> None:
    """GIVEN a cluster that rejects the password WHEN init runs THEN the error says the credentials were rejected and
    which settings to check."""
    password_file = tmp_path / "es_password"
    password_file.write_text("wrong\n")
    settings = Settings(
        backend="elasticsearch", es_url=rejecting_server, es_user="elastic", es_password_file=str(password_file)
    )
    with pytest.raises(ChatArchiveError, match=r"rejected the credentials \(401\).*es_password_file") as raised:
        ElasticsearchStore.from_settings(settings, index_prefix="t").init()
    assert not isinstance(raised.value, StoreUnavailable)
    assert "wrong" not in str(raised.value)


def test_a_missing_password_file_is_bad_input(tmp_path: Any) -> None:
    from core.errors import BadInput

    settings = Settings(
        backend="elasticsearch", es_url="http://127.0.0.1:9", es_password_file=str(tmp_path / "missing")
    )
    with pytest.raises(BadInput, match="es_password_file"):
        ElasticsearchStore.from_settings(settings)


# ---------------------------------------------------------------- revokes that arrive before their original


def test_a_revoke_is_remembered_and_marks_an_original_that_arrives_later() -> None:
    """GIVEN a revoke naming a message not stored yet WHEN written THEN the revoke is remembered in the state index;
    WHEN the original arrives and the store finds that revoke THEN the original is indexed as revoked."""
    t = ScriptedTransport()
    store = make_store(t)
    store.write_batch(Batch(revoked_msgids=["m9"], checkpoint=1))
    docs = bulk_docs(t.named("POST", "/_bulk")[0])
    assert ("index", "revoke:m9") in [(a, i) for a, i, _ in docs]
    assert not [d for d in docs if d[0] == "update"]  # nothing to update: the original is not stored
    t2 = ScriptedTransport(
        {("POST", f"/{P}-state/_search"): {"hits": {"total": {"value": 1}, "hits": [{"_id": "revoke:m9"}]}}}
    )
    make_store(t2).write_batch(Batch(messages=[message(9)], checkpoint=9))
    ((action, doc_id, doc),) = bulk_docs(t2.named("POST", "/_bulk")[0])
    assert (doc_id, doc["revoked"]) == ("m9", True)


# ---------------------------------------------------------------- every request the backend sends is valid


def spec_target(method: str, path: str) -> tuple[str, ...] | None:
    """Which specification entry a recorded request is validated against."""
    import re

    table = [
        (r"^/_bulk$", ("bulk",)),
        (r"^/[^/_][^/]*/_search$", ("body", "/{index}/_search", "post")),
        (r"^/_search$", ("body", "/_search", "post")),
        (r"^/_pit$", ("body", "/_pit", "delete")),
        (r"^/[^/_][^/]*/_count$", ("body", "/{index}/_count", "post")),
        (r"^/[^/_][^/]*/_delete_by_query$", ("body", "/{index}/_delete_by_query", "post")),
        (r"^/[^/_][^/]*/_update/[^/]+$", ("body", "/{index}/_update/{id}", "post")),
        (r"^/_index_template/[^/]+$", ("body", "/_index_template/{name}", "put")),
        (r"^/_ilm/policy/[^/]+$", ("body", "/_ilm/policy/{policy}", "put")),
        (r"^/_reindex$", ("body", "/_reindex", "post")),
        (r"^/[^/_][^/]*/_settings$", ("body", "/{index}/_settings", "put")),
        (r"^/_aliases$", ("body", "/_aliases", "post")),
        (r"^/[^/_][^/]*$", ("body", "/{index}", "put")),
        (r"^/[^/_][^/]*/_doc/[^/]+$", ("doc",)),
    ]
    for pattern, target in table:
        if re.match(pattern, path):
            return target
    return None


def drive_everything() -> ScriptedTransport:
    """The backend driven through init, ingestion, reads, reviews, records, deletion and
    percolation; the transport holds every request it sent."""
    from tests.es_cases import violation

    source = R.message_document(message(1), "消息1")
    hit = {"_id": "m1", "_index": f"{P}-messages-v{MV}-000001", "_source": source, "sort": [1, 1, "m1"]}
    t = ScriptedTransport(
        {
            ("POST", f"/{P}-messages/_search"): {"hits": {"total": {"value": 1}, "hits": [hit]}, "aggregations": {}},
            ("GET", f"/{P}-violations/_doc/m1%3Ar1"): {"found": True, "_source": R.violation_document(violation())},
            ("POST", f"/{P}-state/_update/counter-audit"): {"get": {"_source": {"n": 1}}},
        }
    )
    store = make_store(t)
    scope = Scope.of([2])
    store.init()
    store.write_batch(
        Batch(
            messages=[message(1), message(2)],
            violations=[violation()],
            revoked_msgids=["m1", "m0"],
            resolved_deadletters=["x"],
            checkpoint=2,
        )
    )
    store.search(SearchRequest(query='"消息" OR 回扣 -x', sort="relevance"), scope=scope)
    store.count(MessageFilter(flagged=True), scope=scope, query="消息")
    store.aggregate(
        MessageFilter(),
        {
            "d": {
                "date_histogram": {"field": "time", "fixed_interval": "1h"},
                "aggs": {"s": {"stats": {"field": "reply_ms"}}},
            }
        },
        scope=scope,
    )
    list(store.iter_messages(MessageFilter(), scope=scope))
    store.context("m1", scope=scope)
    store.stats(scope=scope)
    store.put_violations([violation()])
    store.update_violation("m1:r1", {"status": "confirmed", "reviewer": "lisi"})
    store.list_violations(ViolationFilter(statuses=["unreviewed"]), scope=scope)
    store.list_deadletters()
    store.put_record(
        "rules",
        "r1",
        {"id": "r1", "name": "回扣", "keywords": ["回扣"], "near": [{"terms": ["保证", "收益"], "within": 5}]},
    )
    store.find_records("accounts", {"role": "auditor"})
    store.put_records(
        "ledger_items", {"day:2026-11-30|m:m1": {"section": "day:2026-11-30", "key": "m:m1", "hash": "a"}}
    )
    store.get_records("ledger_items", ["day:2026-11-30|m:m1", "day:2026-11-30|m:m2"])
    store.append_record("audit", {"action": "login"})
    store.update_messages([message(1)])
    store.delete_messages(["m1"])
    store.percolate([message(1)])
    migration = outdated_messages()
    make_store(migration).init()
    t.calls += migration.calls
    return t


def test_every_request_the_backend_sends_is_valid_for_the_api_specification() -> None:
    """GIVEN the backend driven through init, ingestion, reads, reviews, records and deletion
    WHEN each recorded request body is validated THEN all are valid for their endpoint."""
    from tests.test_es_spec import kind_of_index, mapping_errors, validation_errors

    t = drive_everything()
    problems: list[str] = []
    unmatched: list[str] = []
    for call in t.calls:
        if call.body is None:
            continue
        target = spec_target(call.method, call.path)
        if target is None:
            unmatched.append(f"{call.method} {call.path}")
        elif target == ("doc",):
            problems += [
                f"{call.method} {call.path}: {p}"
                for p in mapping_errors(call.body, kind_of_index(call.path.split("/")[1]))
            ]
        else:
            problems += [f"{call.method} {call.path}: {p}" for p in validation_errors(target, call.body)]
    validated = [c for c in t.calls if c.body is not None]
    assert len(validated) >= 40 and {c.path for c in validated} >= {"/_bulk", "/_reindex"} - {"/_reindex"}
    assert unmatched == []
    assert problems == []


# ---------------------------------------- the bytes on the wire (real client, local HTTP server)


API_KEY = {"id": "k1", "name": "chatarchive-app", "api_key": "secret-part", "encoded": "azE6c2VjcmV0LXBhcnQ="}


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server that records each raw request and answers 200 {"acknowledged": true}
    (with the product header the client checks), or 404 for paths ending in /missing."""
    seen: list[dict[str, Any]] = []

    class Record(http.server.BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            encoding = self.headers.get("content-encoding", "")
            seen.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "content_type": self.headers.get("content-type", ""),
                    "authorization": self.headers.get("authorization", ""),
                    "content_encoding": encoding,
                    "body": gzip.decompress(raw) if encoding == "gzip" else raw,
                }
            )
            status = 404 if self.path.endswith("/missing") else 200
            answer = API_KEY if self.path.startswith("/_security/api_key") else {"acknowledged": True}
            body = json.dumps(answer if status == 200 else {"found": False}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("x-elastic-product", "Elasticsearch")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_the_client_transport_sends_ndjson_bulk_with_params_and_basic_auth(
    recording_server: tuple[str, list[dict[str, Any]]],
) -> None:
    """GIVEN the real client WHEN a bulk with refresh=wait_for is sent THEN the wire has NDJSON lines, the query
    parameter and basic auth; a 404 comes back as EsError(404)."""
    import base64

    from store.elasticsearch.transport import ClientTransport

    url, seen = recording_server
    transport = ClientTransport(url.replace("http://", "http://elastic:pw@"))
    lines = R.bulk_lines([("index", "ca-messages", "m1", {"text": "回扣"}), ("delete", "ca-deadletters", "m1", None)])
    assert transport.request("POST", "/_bulk", params={"refresh": "wait_for"}, body=lines) == {"acknowledged": True}
    with pytest.raises(EsError) as raised:
        transport.request("GET", "/ca-state/_doc/missing")
    assert raised.value.status == 404
    bulk = seen[0]
    assert (bulk["method"], bulk["path"]) == ("POST", "/_bulk?refresh=wait_for")
    assert "x-ndjson" in bulk["content_type"]
    assert bulk["content_encoding"] == "gzip"  # HTTP compression on: bulk bodies travel gzipped
    assert [json.loads(line) for line in bulk["body"].decode().splitlines()] == lines
    assert bulk["body"].endswith(b"\n")
    assert bulk["authorization"] == "Basic " + base64.b64encode(b"elastic:pw").decode()
    transport.close()


def test_the_core_imports_without_the_elasticsearch_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN no elasticsearch package WHEN the backend module is imported and a store opened THEN the import works
    and opening says how to install the optional dependency."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['elasticsearch'] = None; "
        "import store.elasticsearch.store, chatarchive.archive, store; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
    from store.elasticsearch.transport import ClientTransport

    monkeypatch.setitem(sys.modules, "elasticsearch", None)  # "not installed"
    with pytest.raises(ChatArchiveError, match=r"pip install 'chatarchive\[elasticsearch\]'"):
        ClientTransport("http://127.0.0.1:9")
