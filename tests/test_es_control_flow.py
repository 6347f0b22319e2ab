"""The Elasticsearch backend's control flow, driven without a cluster.

``ScriptedTransport`` records every request and answers from a script written in each
test (it does not pretend to be Elasticsearch: no state, no query evaluation). It
shows what the backend does with partial bulk failures, transient errors, an
unreachable cluster, rejected credentials and schema migrations. The unreachable and
401 cases use the real client against a closed port and a local HTTP server.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

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

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> dict[str, Any]:
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
    return {"errors": False, "items": [{next(iter(line)): {"status": 200}} for line in body if next(iter(line)) in BULK_ACTIONS]}


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
                items.append({action: {"_id": doc_id, "status": status, "error": {"type": kind, "reason": f"{kind} on {doc_id}"}}})
            else:
                items.append({action: {"_id": doc_id, "status": 201}})
        return {"errors": bool(failures), "items": items}

    return answer


def message(i: int) -> Message:
    return Message(
        msgid=f"m{i}", seq=i, action="send", msgtype="text", time_ms=1_700_000_000_000 + i, sender="zhangsan", sender_kind="employee",
        receivers=["lisi"], roomid="", chat_id="lisi|zhangsan", chat_kind="internal", text=f"消息{i}", raw=json.dumps({"msgid": f"m{i}", "seq": i}),
        employees=["lisi", "zhangsan"], departments=[1, 2], words=["消息"],
    )


def make_store(transport: ScriptedTransport, sleeps: list[float] | None = None) -> ElasticsearchStore:
    return ElasticsearchStore(transport, prefix=P, where="https://es.example:9200", sleep=(sleeps.append if sleeps is not None else (lambda s: None)))


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
    (action, doc_id, letter), = bulk_docs(bulks[1])
    assert (action, doc_id) == ("index", "m2")
    assert letter["stage"] == "store" and letter["seq"] == 2
    assert "mapper_parsing_exception" in letter["reason"]
    assert letter["record"] == {"msgid": "m2", "seq": 2}  # the plaintext, replayable like an import
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 3


def test_new_records_are_created_and_an_existing_one_is_not_a_failure() -> None:
    """GIVEN a batch that queues two media items, one of which exists already (409 on create)
    WHEN it is written THEN both go as bulk `create`, the 409 is not a failure, and the checkpoint advances."""
    existing = "media%3Aa"  # record ids are URL-quoted "collection:id"
    t = ScriptedTransport({("POST", "/_bulk"): [bulk_failing({existing: (409, "version_conflict_engine_exception")})]})
    batch = Batch(messages=[message(1)], new_records=[("media", "a", {"status": "pending"}), ("media", "b", {"status": "pending"})],
                  checkpoint=1)
    make_store(t).write_batch(batch)
    (bulk,) = t.named("POST", "/_bulk")  # one bulk: no retry, no dead letter for the conflict
    creates = [doc_id for action, doc_id, _ in bulk_docs(bulk) if action == "create"]
    assert creates == [existing, "media%3Ab"]
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 1


def test_checkpoint_is_not_advanced_past_items_neither_stored_nor_dead_lettered() -> None:
    """GIVEN a bulk where m2 is rejected AND dead-lettering it fails too WHEN the batch is written
    THEN the checkpoint stops just before m2 (a replay re-sends it) and the caller is told."""
    t = ScriptedTransport({("POST", "/_bulk"): [bulk_failing({"m2": (400, "mapper_parsing_exception")}), bulk_failing({"m2": (400, "mapper_parsing_exception")})]})
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
    t = ScriptedTransport({("POST", "/_bulk"): [bulk_failing({"m1": (429, "es_rejected_execution_exception")}), bulk_ok]})
    make_store(t, sleeps).write_batch(Batch(messages=[message(1), message(2)], checkpoint=2))
    bulks = t.named("POST", "/_bulk")
    assert [d[1] for d in bulk_docs(bulks[1])] == ["m1"]
    assert sleeps == [0.5]
    assert t.named("PUT", f"/{P}-state/_doc/checkpoint")[-1].body["seq"] == 2


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
    t = ScriptedTransport({("POST", f"/{P}-messages/_count"): [EsError(503, {"error": {"type": "unavailable", "reason": "x"}})]})
    with pytest.raises(StoreUnavailable, match="HTTP 503"):
        make_store(t, sleeps).count(MessageFilter(), scope=Scope.everything())
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_a_bad_request_is_not_retried() -> None:
    sleeps: list[float] = []
    t = ScriptedTransport({("POST", f"/{P}-messages/_count"): [EsError(400, {"error": {"type": "parsing_exception", "reason": "bad"}})]})
    with pytest.raises(ChatArchiveError, match="parsing_exception"):
        make_store(t, sleeps).count(MessageFilter(), scope=Scope.everything())
    assert sleeps == []


# ---------------------------------------------------------------- scope on every read


def test_scope_is_a_filter_on_every_read_request() -> None:
    """GIVEN a restricted scope WHEN every read operation runs THEN every search and count request carries the scope
    filter."""
    t = ScriptedTransport(
        {("POST", f"/{P}-messages/_search"): {"hits": {"total": {"value": 1}, "hits": [{"_id": "m1", "_index": f"{P}-messages-v{MV}-000001", "_source": R.message_document(message(1), "消息1"), "sort": [1, 1, "m1"]}]}, "aggregations": {}}}
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
    reads = [c for c in t.calls if c.path.endswith(("/_search", "/_count")) and ("messages" in c.path or "violations" in c.path)]
    assert len(reads) >= 12
    expected = R.scope_filter(scope)
    for call in reads:
        assert expected in call.body["query"]["bool"]["filter"], f"{call.path} without the scope filter"


# ---------------------------------------------------------------- init and migration


def test_init_on_an_empty_cluster_creates_versioned_indices_behind_aliases() -> None:
    t = ScriptedTransport()
    result = make_store(t).init()
    assert result == {"backend": "elasticsearch", "schema_version": max(R.schema_versions().values()), "migrated": False}
    created = {c.path: c.body for c in t.calls if c.method == "PUT" and c.path.startswith(f"/{P}-") and "/_doc/" not in c.path}
    assert created[f"/{P}-messages-v{MV}-000001"] == {"aliases": {f"{P}-messages": {"is_write_index": True}}}
    assert created[f"/{P}-rules-v{RV}"] == {"aliases": {f"{P}-rules": {}}}
    assert t.named("PUT", f"/_ilm/policy/{P}-messages-policy")
    assert t.named("PUT", f"/{P}-state/_doc/schema")[0].body["versions"] == R.schema_versions()


def test_init_is_idempotent_when_the_schema_is_current() -> None:
    current = {("GET", f"/_alias/{P}-{k}"): {R.index_name(P, k, v): {"aliases": {}}} for k, v in R.schema_versions().items()}
    current[("GET", f"/{P}-state/_doc/schema")] = {"found": True, "_source": {"versions": R.schema_versions()}}
    t = ScriptedTransport(current)
    assert make_store(t).init()["migrated"] is False
    assert not [c for c in t.calls if c.path == "/_reindex" or c.path == "/_aliases" or (c.method == "PUT" and c.path.startswith(f"/{P}-"))]


def test_a_changed_mapping_migrates_by_reindex_and_one_atomic_alias_switch() -> None:
    """GIVEN the messages alias on two v0 indices WHEN init runs THEN an index of the current version is created
    without the alias,
    the documents are reindexed into it, and the alias moves in one _aliases request."""
    script = {("GET", f"/_alias/{P}-{k}"): {R.index_name(P, k, v): {"aliases": {}}} for k, v in R.schema_versions().items()}
    old = [f"{P}-messages-v0-000001", f"{P}-messages-v0-000002"]
    script[("GET", f"/_alias/{P}-messages")] = {i: {"aliases": {f"{P}-messages": {}}} for i in old}
    t = ScriptedTransport(script)
    assert make_store(t).init()["migrated"] is True
    order = [(c.method, c.path) for c in t.calls]
    create = order.index(("PUT", f"/{P}-messages-v{MV}-000001"))
    reindex = order.index(("POST", "/_reindex"))
    switch = order.index(("POST", "/_aliases"))
    assert create < reindex < switch
    assert t.calls[create].body == {}
    assert t.calls[reindex].body == R.reindex(f"{P}-messages", f"{P}-messages-v{MV}-000001")
    assert t.calls[switch].body == {
        "actions": [
            {"remove": {"index": old[0], "alias": f"{P}-messages"}},
            {"remove": {"index": old[1], "alias": f"{P}-messages"}},
            {"add": {"index": f"{P}-messages-v{MV}-000001", "alias": f"{P}-messages", "is_write_index": True}},
        ]
    }


# ---------------------------------------------------------------- percolation


def test_percolation_candidates_are_verified_by_the_shared_rule_engine() -> None:
    """GIVEN the percolator proposing a rule for two messages WHEN rules are matched THEN the shared engine
    decides: only the message that really matches yields a violation, identical to the engine's own."""
    from analyzers.rules import Rule, RuleEngine

    rule = Rule.from_dict({"name": "回扣", "id": "r1", "keywords": ["回扣"], "exclude": ["不是回扣"]})
    engine = RuleEngine([rule])
    hit, near_miss, other = message(1), message(2), message(3)
    hit.text, near_miss.text, other.text = "给你回-扣", "回 家", "你好"
    t = ScriptedTransport({("POST", f"/{P}-rules/_search"): {"hits": {"hits": [{"_id": "r1", "_source": {"rule_id": "r1"}, "fields": {"_percolator_document_slot": [0, 1]}}]}}})
    violations = make_store(t).match_rules([hit, near_miss, other], engine)
    assert [(v.msgid, v.rule_id) for v in violations] == [("m1", "r1")]
    percolated = t.named("POST", f"/{P}-rules/_search")[0].body["query"]["bool"]["must"][0]["percolate"]["documents"]
    assert [d["folded"] for d in percolated] == ["给你回扣", "回家", "你好"]  # the rules' normalization


def test_saving_a_rule_record_indexes_its_percolator_query() -> None:
    t = ScriptedTransport()
    make_store(t).put_record("rules", "r1", {"id": "r1", "name": "回扣", "keywords": ["回扣"], "enabled": True})
    (call,) = t.named("PUT", f"/{P}-rules/_doc/r1")
    assert call.body["query"] == {"bool": {"must": [{"bool": {"should": [{"match_phrase": {"folded": {"query": "回扣"}}}], "minimum_should_match": 1}}]}}


# ---------------------------------------------------------------- the real client: unreachable, 401


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_cluster_is_store_unavailable_with_a_clear_message() -> None:
    """GIVEN es_url pointing at a closed port WHEN the store is used THEN StoreUnavailable names the URL (without the
    password)."""
    settings = Settings(backend="elasticsearch", es_url=f"http://elastic:s3cret@127.0.0.1:{closed_port()}", es_timeout=2.0)
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
            body = json.dumps({"error": {"type": "security_exception", "reason": "unable to authenticate user [elastic]"}, "status": 401}).encode()
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
    settings = Settings(backend="elasticsearch", es_url=rejecting_server, es_user="elastic", es_password_file=str(password_file))
    with pytest.raises(ChatArchiveError, match=r"rejected the credentials \(401\).*es_password_file") as raised:
        ElasticsearchStore.from_settings(settings, index_prefix="t").init()
    assert not isinstance(raised.value, StoreUnavailable)
    assert "wrong" not in str(raised.value)


def test_a_missing_password_file_is_bad_input(tmp_path: Any) -> None:
    from core.errors import BadInput

    settings = Settings(backend="elasticsearch", es_url="http://127.0.0.1:9", es_password_file=str(tmp_path / "missing"))
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
    t2 = ScriptedTransport({("POST", f"/{P}-state/_search"): {"hits": {"total": {"value": 1}, "hits": [{"_id": "revoke:m9"}]}}})
    make_store(t2).write_batch(Batch(messages=[message(9)], checkpoint=9))
    (action, doc_id, doc), = bulk_docs(t2.named("POST", "/_bulk")[0])
    assert (doc_id, doc["revoked"]) == ("m9", True)


# ---------------------------------------------------------------- every request the backend sends is valid


def spec_target(method: str, path: str) -> tuple[str, ...] | None:
    """Which specification entry a recorded request is validated against."""
    import re

    table = [
        (r"^/_bulk$", ("bulk",)),
        (r"^/[^/_][^/]*/_search$", ("body", "/{index}/_search", "post")),
        (r"^/[^/_][^/]*/_count$", ("body", "/{index}/_count", "post")),
        (r"^/[^/_][^/]*/_delete_by_query$", ("body", "/{index}/_delete_by_query", "post")),
        (r"^/[^/_][^/]*/_update/[^/]+$", ("body", "/{index}/_update/{id}", "post")),
        (r"^/_index_template/[^/]+$", ("body", "/_index_template/{name}", "put")),
        (r"^/_ilm/policy/[^/]+$", ("body", "/_ilm/policy/{policy}", "put")),
        (r"^/_reindex$", ("body", "/_reindex", "post")),
        (r"^/_aliases$", ("body", "/_aliases", "post")),
        (r"^/[^/_][^/]*$", ("body", "/{index}", "put")),
        (r"^/[^/_][^/]*/_doc/[^/]+$", ("doc",)),
    ]
    for pattern, target in table:
        if re.match(pattern, path):
            return target
    return None


def test_every_request_the_backend_sends_is_valid_for_the_api_specification() -> None:
    """GIVEN the backend driven through init, ingestion, reads, reviews, records and deletion
    WHEN each recorded request body is validated THEN all are valid for their endpoint."""
    from tests import es_spec
    from tests.test_es_spec import kind_of_index, mapping_errors, validation_errors

    if not es_spec.SPEC_PATH.exists():
        pytest.skip(f"{es_spec.SPEC_PATH} is not on this machine")
    hit = {"_id": "m1", "_index": f"{P}-messages-v{MV}-000001", "_source": R.message_document(message(1), "消息1"), "sort": [1, 1, "m1"]}
    from tests.es_cases import violation

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
    store.write_batch(Batch(messages=[message(1), message(2)], violations=[violation()], revoked_msgids=["m1", "m0"], resolved_deadletters=["x"], checkpoint=2))
    store.search(SearchRequest(query='"消息" OR 回扣 -x', sort="relevance"), scope=scope)
    store.count(MessageFilter(flagged=True), scope=scope, query="消息")
    store.aggregate(MessageFilter(), {"d": {"date_histogram": {"field": "time", "fixed_interval": "1h"}, "aggs": {"s": {"stats": {"field": "reply_ms"}}}}}, scope=scope)
    list(store.iter_messages(MessageFilter(), scope=scope))
    store.context("m1", scope=scope)
    store.stats(scope=scope)
    store.put_violations([violation()])
    store.update_violation("m1:r1", {"status": "confirmed", "reviewer": "lisi"})
    store.list_violations(ViolationFilter(statuses=["unreviewed"]), scope=scope)
    store.list_deadletters()
    store.put_record("rules", "r1", {"id": "r1", "name": "回扣", "keywords": ["回扣"], "near": [{"terms": ["保证", "收益"], "within": 5}]})
    store.find_records("accounts", {"role": "auditor"})
    store.append_record("audit", {"action": "login"})
    store.update_messages([message(1)])
    store.delete_messages(["m1"])
    store.percolate([message(1)])
    problems: list[str] = []
    unmatched: list[str] = []
    for call in t.calls:
        if call.body is None:
            continue
        target = spec_target(call.method, call.path)
        if target is None:
            unmatched.append(f"{call.method} {call.path}")
        elif target == ("doc",):
            problems += [f"{call.method} {call.path}: {p}" for p in mapping_errors(call.body, kind_of_index(call.path.split("/")[1]))]
        else:
            problems += [f"{call.method} {call.path}: {p}" for p in validation_errors(target, call.body)]
    validated = [c for c in t.calls if c.body is not None]
    assert len(validated) >= 40 and {c.path for c in validated} >= {"/_bulk", "/_reindex"} - {"/_reindex"}
    assert unmatched == []
    assert problems == []


# ---------------------------------------- the bytes on the wire (real client, local HTTP server)


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server that records each raw request and answers 200 {"acknowledged": true}
    (with the product header the client checks), or 404 for paths ending in /missing."""
    seen: list[dict[str, Any]] = []

    class Record(http.server.BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            seen.append({"method": self.command, "path": self.path, "content_type": self.headers.get("content-type", ""),
                         "authorization": self.headers.get("authorization", ""), "body": self.rfile.read(length)})
            status = 404 if self.path.endswith("/missing") else 200
            body = json.dumps({"acknowledged": True} if status == 200 else {"found": False}).encode()
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


def test_the_client_transport_sends_ndjson_bulk_with_params_and_basic_auth(recording_server: tuple[str, list[dict[str, Any]]]) -> None:
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
    assert [json.loads(line) for line in bulk["body"].decode().splitlines()] == lines
    assert bulk["body"].endswith(b"\n")
    assert bulk["authorization"] == "Basic " + base64.b64encode(b"elastic:pw").decode()
    transport.close()


def test_the_core_imports_without_the_elasticsearch_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN no elasticsearch package WHEN the backend module is imported and a store opened THEN the import works
    and opening says how to install the optional dependency."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['elasticsearch'] = None; "
            "import store.elasticsearch.store, chatarchive.archive, store; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
    from store.elasticsearch.transport import ClientTransport

    monkeypatch.setitem(sys.modules, "elasticsearch", None)  # "not installed"
    with pytest.raises(ChatArchiveError, match=r"pip install 'chatarchive\[elasticsearch\]'"):
        ClientTransport("http://127.0.0.1:9")
