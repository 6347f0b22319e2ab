"""``ElasticsearchStore``: the Store interface on an Elasticsearch 8.x cluster.

Layout (``P`` = ``es_index_prefix``): each kind of data lives in a versioned index
``P-<kind>-v<N>`` behind the alias ``P-<kind>``; messages are time-based indices
``P-messages-v<N>-00000k`` behind a write alias, rolled over by the ILM policy.
``init`` installs the ILM policy and the index templates, creates what is missing
and, when a mapping version changed, creates the new index, reindexes and switches
the alias atomically (``migrated: true``). Request bodies come from ``requests``
(pure functions); this module is control flow only.

Ingestion: one bulk request per batch with ``refresh=wait_for`` (the batch is
searchable when ``write_batch`` returns, like the embedded store, without forcing
extra segments); items that fail with a transient status are retried with backoff;
items that fail for good become dead letters (stage ``store``, the ES error as the
reason); the checkpoint is written last, only once every item is stored or
dead-lettered, and never past an item that is neither.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

from analyzers.chinese import query_words
from analyzers.rules.engine import RuleEngine
from analyzers.rules.normalize import normalize_fast
from analyzers.textfold import fold
from core import clock
from core.errors import BadInput, ChatArchiveError, StoreUnavailable
from core.models import (
    REVIEW_STATUSES,
    Batch,
    DeadLetter,
    Message,
    MessageFilter,
    Scope,
    SearchHit,
    SearchRequest,
    SearchResult,
    Violation,
    ViolationFilter,
)
from core.settings import Settings
from store.base import AGG_FIELDS, RECORD_COLLECTIONS, VIOLATION_AGG_FIELDS
from store.elasticsearch import requests as R
from store.elasticsearch.transport import (
    RETRY_STATUSES,
    ClientTransport,
    EsError,
    RetryingTransport,
    Transport,
    redact_url,
)
from store.highlight import highlight
from store.query import MatchAll, has_scoring_terms, parse_query, positive_terms

logger = logging.getLogger(__name__)

VIOLATION_CHANGES = frozenset({"status", "assignee", "reviewer", "reviewed_ms", "comment"})
MAX_PAGE = 10_000  # index.max_result_window: deeper pages use search_after
ITEM_RETRIES = 3



def _words(text: str) -> list[str]:
    return list(query_words(text))


def _rules_normalize(text: str) -> str:
    return normalize_fast(text)


class ElasticsearchStore:
    backend_name = "elasticsearch"

    def __init__(
        self,
        transport: Transport,
        *,
        prefix: str = "chatarchive",
        timezone: str = "Asia/Shanghai",
        where: str = "the cluster",
        sleep: Any = time.sleep,
        max_retries: int = 5,
    ) -> None:
        self.prefix = prefix
        self.timezone = timezone
        self.where = where
        self.sleep = sleep
        self.t = RetryingTransport(transport, where=where, max_retries=max_retries, sleep=sleep)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: Settings, *, index_prefix: str | None = None, transport: Transport | None = None) -> "ElasticsearchStore":
        url = settings.es_url
        if not url and transport is None:
            raise BadInput("the elasticsearch backend needs es_url (or ES_URL), e.g. https://elastic:PASSWORD@localhost:9200")
        password = settings.es_password
        if settings.es_password_file:
            path = Path(settings.es_password_file)
            try:
                password = path.read_text(encoding="utf-8").strip()
            except OSError as e:
                raise BadInput(f"es_password_file {path}: {e.strerror}") from e
        if transport is None:
            transport = ClientTransport(
                url,
                user=settings.es_user,
                password=password,
                api_key=settings.es_api_key,
                ca_certs=settings.es_ca_certs,
                timeout=float(settings.es_timeout),
            )
        return cls(transport, prefix=index_prefix or settings.es_index_prefix, timezone=settings.timezone, where=redact_url(url) if url else "the cluster")

    def alias(self, kind: str) -> str:
        return R.alias_name(self.prefix, kind)

    def _record_alias(self, collection: str) -> str:
        if collection not in RECORD_COLLECTIONS:
            raise BadInput(f"unknown record collection {collection!r}; use one of {', '.join(sorted(RECORD_COLLECTIONS))}")
        return self.alias(R.RECORD_INDEX_OF.get(collection, "records"))

    # --- lifecycle -------------------------------------------------------------------------
    def _alias_indices(self, alias: str) -> list[str]:
        try:
            response = self.t.request("GET", f"/_alias/{alias}", ok=(404,))
        except EsError:
            return []
        return sorted(response)

    def init(self) -> dict[str, Any]:
        versions = R.schema_versions()
        self.t.request("PUT", f"/_ilm/policy/{R.ilm_policy_name(self.prefix)}", body=R.ilm_policy())
        migrated = False
        for kind in R.INDEX_KINDS:
            self.t.request("PUT", f"/_index_template/{self.alias(kind)}", body=R.index_template(self.prefix, kind))
            current = self._alias_indices(self.alias(kind))
            target = R.index_name(self.prefix, kind, versions[kind])
            if not current:
                self._create_index(target, kind, with_alias=True)
                continue
            if all(R.version_of_index(i) >= versions[kind] for i in current):
                continue
            logger.info("migrating %s from %s to %s", self.alias(kind), current, target)
            self._create_index(target, kind, with_alias=False)
            self.t.request("POST", "/_reindex", params={"refresh": "true", "wait_for_completion": "true"}, body=R.reindex(self.alias(kind), target))
            self.t.request("POST", "/_aliases", body=R.alias_switch(self.prefix, kind, current, target))
            migrated = True
        state = self._get("state", "schema") or {}
        if state.get("versions") != versions:
            self.t.request("PUT", f"/{self.alias('state')}/_doc/schema", params={"refresh": "wait_for"}, body={"versions": versions, "updated_ms": clock.now_ms()})
        return {"backend": self.backend_name, "schema_version": max(versions.values()), "migrated": migrated}

    def _create_index(self, index: str, kind: str, *, with_alias: bool) -> None:
        try:
            self.t.request("PUT", f"/{index}", body=R.create_index_body(self.prefix, kind, with_alias=with_alias), ok=(400,))
        except EsError as e:
            if e.error_type != "resource_already_exists_exception":  # a concurrent init created it
                raise self.t.translate(e, "PUT", f"/{index}") from e

    def drop_all(self) -> None:
        """Deletes every index, template and policy of this prefix (tests, uninstall)."""
        for kind in R.INDEX_KINDS:
            for index in self._alias_indices(self.alias(kind)):
                self.t.request("DELETE", f"/{index}", ok=(404,))
            try:
                self.t.request("DELETE", f"/_index_template/{self.alias(kind)}", ok=(404,))
            except EsError:
                pass
        try:
            self.t.request("DELETE", f"/_ilm/policy/{R.ilm_policy_name(self.prefix)}", ok=(404,))
        except EsError:
            pass

    def close(self) -> None:
        self.t.close()

    # --- small helpers -----------------------------------------------------------------------
    def _get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        try:
            response = self.t.request("GET", f"/{self.alias(kind)}/_doc/{quote(doc_id, safe='')}", ok=(404,))
        except EsError:
            return None
        return response.get("_source") if response.get("found") else None

    def _search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.t.request("POST", f"/{self.alias(kind)}/_search", body=body)

    def _locate(self, msgids: list[str]) -> dict[str, str]:
        """msgid → the concrete message index holding it (upserts across rolled indices)."""
        located: dict[str, str] = {}
        for i in range(0, len(msgids), 1000):
            chunk = msgids[i : i + 1000]
            response = self._search("messages", R.locate_body(chunk))
            for hit in response["hits"]["hits"]:
                located[hit["_id"]] = hit["_index"]
        return located

    def _bulk(self, operations: list[tuple[str, str, str, dict[str, Any] | None]], *, refresh: str | None = None) -> list[tuple[int, dict[str, Any]]]:
        """Sends the operations; retries items that failed transiently. Returns the
        permanently failed ``(operation index, error)`` pairs."""
        pending = list(range(len(operations)))
        failed: list[tuple[int, dict[str, Any]]] = []
        attempt = 0
        while pending:
            params = {"refresh": refresh} if refresh else None
            response = self.t.request("POST", "/_bulk", params=params, body=R.bulk_lines([operations[i] for i in pending]))
            retry: list[int] = []
            for op_index, item in zip(pending, response.get("items", [])):
                ((action, result),) = item.items()
                status = int(result.get("status", 200))
                if status < 300 or (action == "create" and status == 409):  # create: already there is done
                    continue
                if status in RETRY_STATUSES and attempt < ITEM_RETRIES:
                    retry.append(op_index)
                else:
                    failed.append((op_index, {"status": status, **(result.get("error") or {})}))
            if retry:
                wait = self.t.delay(attempt)
                logger.warning("%d bulk items rejected transiently; retrying in %.1fs", len(retry), wait)
                self.sleep(wait)
            pending = retry
            attempt += 1
        return failed

    # --- ingestion -----------------------------------------------------------------------------
    def write_batch(self, batch: Batch) -> None:
        messages = list({m.msgid: m for m in batch.messages}.values())
        revoked = set(batch.revoked_msgids)
        violated = {v.msgid for v in batch.violations}
        in_batch = {m.msgid for m in messages}
        located = self._locate(sorted(in_batch | revoked | violated))
        previous = self._flags_of([i for i in located if i in in_batch])
        # Flags that outlive a re-write or arrive first: stored revokes and violations.
        revoked_before = self._revoked_among(sorted(in_batch))
        violated_before = self._violated_among(sorted(in_batch))
        ops: list[tuple[str, str, str, dict[str, Any] | None]] = []
        op_message: dict[int, Message] = {}
        for m in messages:
            was_revoked, was_flagged = previous.get(m.msgid, (False, False))
            was_revoked = was_revoked or m.msgid in revoked_before
            was_flagged = was_flagged or m.msgid in violated_before
            m = dataclasses.replace(m, revoked=m.revoked or m.msgid in revoked or was_revoked, flagged=m.flagged or m.msgid in violated or was_flagged)
            op_message[len(ops)] = m
            ops.append(("index", located.get(m.msgid, self.alias("messages")), m.msgid, R.message_document(m, fold(m.text))))
        for msgid in sorted(revoked):  # remembered, so an original that arrives later is marked too
            ops.append(("index", self.alias("state"), _revoke_id(msgid), {"updated_ms": clock.now_ms()}))
        for msgid in sorted((revoked | violated) - in_batch):
            if msgid in located:
                ops.append(("update", located[msgid], msgid, {**({"revoked": True} if msgid in revoked else {}), **({"flagged": True} if msgid in violated else {})}))
        for v in batch.violations:
            ops.append(("index", self.alias("violations"), v.id, R.violation_document(v)))
        for d in batch.deadletters:
            ops.append(("index", self.alias("deadletters"), d.msgid, R.deadletter_document(d)))
        for msgid in batch.resolved_deadletters:
            ops.append(("delete", self.alias("deadletters"), msgid, None))
        for collection, record_id, doc in batch.new_records:
            ops.append(("create", self._record_alias(collection), _doc_id(collection, record_id), R.record_document(collection, record_id, doc)))
        failed = self._bulk(ops, refresh="wait_for") if ops else []
        held_at: int | None = None
        if failed:
            held_at = self._dead_letter_failures(ops, op_message, failed)
        if batch.checkpoint is not None:
            target = batch.checkpoint if held_at is None else min(batch.checkpoint, held_at)
            self._advance_checkpoint(int(target))
        if held_at is not None:
            raise StoreUnavailable("some documents of the batch could not be stored or dead-lettered; " f"the checkpoint stays at {held_at} and they will be replayed")

    def _flags_of(self, msgids: list[str]) -> dict[str, tuple[bool, bool]]:
        """(revoked, flagged) of stored messages: flags outlive a re-write of the message."""
        if not msgids:
            return {}
        body = {"query": R.ids_query(msgids), "size": len(msgids), "_source": {"includes": ["revoked", "flagged"]}}
        response = self._search("messages", body)
        return {h["_id"]: (bool(h["_source"].get("revoked")), bool(h["_source"].get("flagged"))) for h in response["hits"]["hits"]}

    def _revoked_among(self, msgids: list[str]) -> set[str]:
        if not msgids:
            return set()
        ids = [_revoke_id(i) for i in msgids]
        response = self._search("state", {"query": R.ids_query(ids), "size": len(ids), "_source": False})
        return {h["_id"][len("revoke:") :] for h in response["hits"]["hits"]}

    def _violated_among(self, msgids: list[str]) -> set[str]:
        if not msgids:
            return set()
        body = {"query": {"terms": {"msgid": msgids}}, "size": 0, "aggregations": {"m": {"terms": {"field": "msgid", "size": len(msgids)}}}}
        response = self._search("violations", body)
        return {b["key"] for b in response.get("aggregations", {}).get("m", {}).get("buckets", [])}

    def _dead_letter_failures(
        self, ops: list[tuple[str, str, str, dict[str, Any] | None]], op_message: dict[int, Message], failed: list[tuple[int, dict[str, Any]]]
    ) -> int | None:
        """Failed messages become dead letters; returns the seq to hold the checkpoint at
        (just before the first item that is neither stored nor dead-lettered), or None."""
        letters: list[DeadLetter] = []
        hold: list[int] = []
        for op_index, error in failed:
            reason = f"store: {error.get('type', 'error')}: {error.get('reason', '')} (HTTP {error.get('status')})"
            logger.error("Elasticsearch rejected %s %s: %s", ops[op_index][0], ops[op_index][2], reason)
            message = op_message.get(op_index)
            if message is None:
                hold.append(-1)  # a violation, dead letter or flag update: nothing to dead-letter it as
                continue
            try:
                record = json.loads(message.raw) if message.raw else {"msgid": message.msgid}
            except ValueError:
                record = {"raw": message.raw}
            letters.append(DeadLetter(seq=message.seq, msgid=message.msgid, reason=reason, stage="store", record=record, key_version=message.key_version, time_ms=clock.now_ms()))
        if letters:
            dl_ops = [("index", self.alias("deadletters"), d.msgid, R.deadletter_document(d)) for d in letters]
            for op_index, _ in self._bulk(dl_ops, refresh="wait_for"):
                hold.append(letters[op_index].seq)
        if not hold:
            return None
        seqs = [s for s in hold if s >= 0] or [min((m.seq for m in op_message.values()), default=1)]
        return max(0, min(seqs) - 1)

    def _advance_checkpoint(self, seq: int) -> None:
        if seq <= self.checkpoint():
            return
        self.t.request("PUT", f"/{self.alias('state')}/_doc/checkpoint", params={"refresh": "wait_for"}, body={"seq": seq, "updated_ms": clock.now_ms()})

    def checkpoint(self) -> int:
        doc = self._get("state", "checkpoint")
        return int(doc.get("seq", 0)) if doc else 0

    def refresh(self) -> None:
        kinds = ",".join(self.alias(k) for k in R.INDEX_KINDS)
        self.t.request("POST", f"/{kinds}/_refresh")

    # --- percolation ------------------------------------------------------------------------
    def _index_rule(self, rule_id: str, doc: dict[str, Any]) -> None:
        self.t.request(
            "PUT", f"/{self.alias('rules')}/_doc/{quote(rule_id, safe='')}", params={"refresh": "wait_for"}, body=R.rule_document(rule_id, doc, normalize=_rules_normalize)
        )

    def percolate(self, messages: list[Message]) -> dict[str, list[str]]:
        """``{msgid: [rule_id, ...]}``: the enabled rules that may match each message (a
        superset; ``analyzers.rules.RuleEngine`` verifies the candidates)."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(messages), 500):
            docs = [R.percolate_document(m, _rules_normalize(m.text or "")) for m in messages[i : i + 500]]
            out.update(R.percolate_candidates(self._search("rules", R.percolate_body(docs)), docs))
        return out

    def match_rules(self, messages: list[Message], engine: RuleEngine) -> list[Violation]:
        """The violations of ``messages``: percolation narrows the rules per message, the
        shared engine decides, so hits are identical to the embedded path."""
        candidates = self.percolate(messages)
        wanted = [m for m in messages if m.msgid in candidates]
        return [v for v in engine.match_batch(wanted) if v.rule_id in candidates.get(v.msgid, ())]

    # --- messages -----------------------------------------------------------------------------
    def _text_query(self, query: str) -> tuple[Any, dict[str, Any] | None]:
        node = parse_query(query)
        if isinstance(node, MatchAll):
            return node, None
        return node, R.text_query(node, fold=fold, segment=_words)

    def _hits(self, response: dict[str, Any]) -> list[Message]:
        return [R.message_from_source(h["_source"]) for h in response["hits"]["hits"]]

    def get_messages(self, msgids: list[str], *, scope: Scope) -> list[Message]:
        wanted = list(dict.fromkeys(msgids))
        if not wanted:
            return []
        query = R.filtered_query(None, [R.ids_query(wanted)], scope)
        found = {m.msgid: m for m in self._hits(self._search("messages", {"query": query, "size": len(wanted)}))}
        return [found[i] for i in wanted if i in found]

    def search(self, request: SearchRequest, *, scope: Scope) -> SearchResult:
        started = time.perf_counter()
        node, text = self._text_query(request.query)
        sort = request.sort if request.sort != "relevance" or has_scoring_terms(node) else "time_desc"
        self._check_page(request.limit, request.offset)
        body = R.search_body(R.filtered_query(text, R.message_filter_clauses(request.filters), scope), sort=sort, size=request.limit, offset=request.offset)
        response = self._search("messages", body)
        terms = positive_terms(node)
        hits = []
        for h in response["hits"]["hits"]:
            m = R.message_from_source(h["_source"])
            hits.append(
                SearchHit(
                    msgid=m.msgid, seq=m.seq, time_ms=m.time_ms, sender=m.sender, chat_id=m.chat_id, msgtype=m.msgtype,
                    highlight=highlight(m.text, terms) if request.highlight else "",
                    score=float(h.get("_score") or 0.0) if sort == "relevance" else 0.0, message=m,
                )
            )
        took_ms = (time.perf_counter() - started) * 1000
        return SearchResult(total=int(response["hits"]["total"]["value"]), took_ms=round(took_ms, 3), hits=hits)

    @staticmethod
    def _check_page(limit: int, offset: int) -> None:
        if limit < 0 or offset < 0:
            raise BadInput("limit and offset must not be negative")
        if limit + offset > MAX_PAGE:
            raise BadInput(f"cannot page past {MAX_PAGE} results; narrow the filters or export instead")

    def list_messages(self, filters: MessageFilter, *, scope: Scope, sort: str = "time_asc", limit: int = 100, offset: int = 0) -> tuple[int, list[Message]]:
        if sort not in ("time_asc", "time_desc"):
            raise BadInput(f"unknown sort {sort!r}; use time_asc or time_desc")
        self._check_page(limit, offset)
        response = self._search("messages", R.search_body(R.filtered_query(None, R.message_filter_clauses(filters), scope), sort=sort, size=limit, offset=offset))
        return int(response["hits"]["total"]["value"]), self._hits(response)

    def iter_messages(self, filters: MessageFilter, *, scope: Scope, batch_size: int = 1000) -> Iterator[Message]:
        query = R.filtered_query(None, R.message_filter_clauses(filters), scope)
        after: list[Any] | None = None
        size = max(1, min(int(batch_size), MAX_PAGE))
        while True:
            body = R.iter_body(query, size=size, search_after=after)
            hits = self._search("messages", body)["hits"]["hits"]
            for h in hits:
                yield R.message_from_source(h["_source"])
            if len(hits) < size:
                return
            after = hits[-1]["sort"]

    def context(self, msgid: str, *, before: int = 10, after: int = 10, scope: Scope) -> list[Message]:
        found = self.get_messages([msgid], scope=scope)
        if not found:
            return []
        target = found[0]
        earlier = self._hits(self._search("messages", R.context_body(target.chat_id, target.time_ms, target.seq, before=True, size=before, scope=scope))) if before > 0 else []
        later = self._hits(self._search("messages", R.context_body(target.chat_id, target.time_ms, target.seq, before=False, size=after, scope=scope))) if after > 0 else []
        return [*reversed(earlier), target, *later]

    def count(self, filters: MessageFilter, *, scope: Scope, query: str = "") -> int:
        _, text = self._text_query(query)
        response = self.t.request("POST", f"/{self.alias('messages')}/_count", body={"query": R.filtered_query(text, R.message_filter_clauses(filters), scope)})
        return int(response["count"])

    def aggregate(self, filters: MessageFilter, aggs: dict[str, Any], *, scope: Scope, query: str = "") -> dict[str, Any]:
        _, text = self._text_query(query)
        translated = R.aggregations(aggs, allowed_fields=AGG_FIELDS, time_zone=self.timezone)
        body = {"query": R.filtered_query(text, R.message_filter_clauses(filters), scope), "size": 0, "aggregations": translated}
        return R.normalize_aggregations(aggs, self._search("messages", body).get("aggregations", {}))

    def update_messages(self, messages: list[Message]) -> None:
        unique = list({m.msgid: m for m in messages}.values())
        if not unique:
            return
        located = self._locate([m.msgid for m in unique])
        ops = [("index", located.get(m.msgid, self.alias("messages")), m.msgid, R.message_document(m, fold(m.text))) for m in unique]
        self._raise_failed(self._bulk(ops, refresh="wait_for"), "update messages")

    def _raise_failed(self, failed: list[tuple[int, dict[str, Any]]], what: str) -> None:
        if failed:
            first = failed[0][1]
            raise ChatArchiveError(f"could not {what}: {len(failed)} documents rejected, e.g. {first.get('type')}: {first.get('reason')}")

    def delete_messages(self, msgids: list[str]) -> int:
        wanted = list(dict.fromkeys(msgids))
        if not wanted:
            return 0
        existing = len(self._locate(wanted))
        params = {"refresh": "true", "conflicts": "proceed"}
        self.t.request("POST", f"/{self.alias('violations')}/_delete_by_query", params=params, body={"query": {"terms": {"msgid": wanted}}})
        self.t.request("POST", f"/{self.alias('messages')}/_delete_by_query", params=params, body={"query": R.ids_query(wanted)})
        self.t.request("POST", f"/{self.alias('state')}/_delete_by_query", params=params, body={"query": R.ids_query([_revoke_id(i) for i in wanted])})
        return existing

    # --- violations -------------------------------------------------------------------------------
    def put_violations(self, violations: list[Violation]) -> None:
        if not violations:
            return
        located = self._locate(sorted({v.msgid for v in violations}))
        ops: list[tuple[str, str, str, dict[str, Any] | None]] = [("index", self.alias("violations"), v.id, R.violation_document(v)) for v in violations]
        ops += [("update", index, msgid, {"flagged": True}) for msgid, index in sorted(located.items())]
        self._raise_failed(self._bulk(ops, refresh="wait_for"), "store violations")

    def list_violations(self, filters: ViolationFilter, *, scope: Scope, sort: str = "time_desc", limit: int = 50, offset: int = 0) -> tuple[int, list[Violation]]:
        self._check_page(limit, offset)
        body = R.search_body(R.filtered_query(None, R.violation_filter_clauses(filters), scope), sort=sort, size=limit, offset=offset, sorts=R.VIOLATION_SORTS)
        response = self._search("violations", body)
        return int(response["hits"]["total"]["value"]), [Violation.from_dict(h["_source"]) for h in response["hits"]["hits"]]

    def aggregate_violations(self, filters: ViolationFilter, aggs: dict[str, Any], *, scope: Scope) -> dict[str, Any]:
        translated = R.aggregations(aggs, allowed_fields=VIOLATION_AGG_FIELDS, time_zone=self.timezone)
        body = {"query": R.filtered_query(None, R.violation_filter_clauses(filters), scope), "size": 0, "aggregations": translated}
        return R.normalize_aggregations(aggs, self._search("violations", body).get("aggregations", {}))

    def update_violation(self, violation_id: str, changes: dict[str, Any]) -> Violation:
        unknown = set(changes) - VIOLATION_CHANGES
        if unknown:
            raise BadInput(f"cannot change {', '.join(sorted(unknown))} of a " f"violation; allowed: {', '.join(sorted(VIOLATION_CHANGES))}")
        if "status" in changes and changes["status"] not in REVIEW_STATUSES:
            raise BadInput(f"unknown review status {changes['status']!r}; use one of {', '.join(REVIEW_STATUSES)}")
        current = self._get("violations", violation_id)
        if current is None:
            raise BadInput(f"no violation {violation_id!r}")
        updated = dataclasses.replace(Violation.from_dict(current), **changes)
        self.t.request("PUT", f"/{self.alias('violations')}/_doc/{quote(violation_id, safe='')}", params={"refresh": "wait_for"}, body=R.violation_document(updated))
        return updated

    # --- dead letters --------------------------------------------------------------------------------
    def list_deadletters(self, *, limit: int = 1000, offset: int = 0) -> tuple[int, list[DeadLetter]]:
        self._check_page(limit, offset)
        body = {"query": {"match_all": {}}, "sort": [{"seq": {"order": "asc"}}, {"msgid": {"order": "asc"}}], "size": limit, "from": offset, "track_total_hits": True}
        response = self._search("deadletters", body)
        return int(response["hits"]["total"]["value"]), [DeadLetter(**h["_source"]) for h in response["hits"]["hits"]]

    # --- records ----------------------------------------------------------------------------------------
    def put_record(self, collection: str, record_id: str, doc: dict[str, Any]) -> None:
        alias = self._record_alias(collection)
        clean = {k: v for k, v in doc.items() if k not in ("_id", "_seq")}
        self.t.request("PUT", f"/{alias}/_doc/{_doc_id(collection, record_id)}", params={"refresh": "wait_for"}, body=R.record_document(collection, record_id, clean))
        if collection == "rules":
            self._index_rule(record_id, clean)

    def get_record(self, collection: str, record_id: str) -> dict[str, Any] | None:
        alias = self._record_alias(collection)
        try:
            response = self.t.request("GET", f"/{alias}/_doc/{_doc_id(collection, record_id)}", ok=(404,))
        except EsError:
            return None
        if not response.get("found"):
            return None
        return _with_ids(response["_source"])

    def delete_record(self, collection: str, record_id: str) -> bool:
        alias = self._record_alias(collection)
        try:
            response = self.t.request("DELETE", f"/{alias}/_doc/{_doc_id(collection, record_id)}", params={"refresh": "wait_for"}, ok=(404,))
        except EsError:
            return False
        if collection == "rules":
            try:
                self.t.request("DELETE", f"/{self.alias('rules')}/_doc/{quote(record_id, safe='')}", params={"refresh": "wait_for"}, ok=(404,))
            except EsError:
                pass
        return response.get("result") == "deleted"

    def _scan_records(self, collection: str, where: dict[str, Any] | None) -> list[dict[str, Any]]:
        alias = self._record_alias(collection)
        query = R.record_prefilter(collection, where)
        out: list[dict[str, Any]] = []
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"query": query, "size": 1000, "sort": [{"seq": {"order": "asc"}}, {"record_id": {"order": "asc"}}]}
            if after is not None:
                body["search_after"] = after
            hits = self._search(alias[len(self.prefix) + 1 :], body)["hits"]["hits"]
            out += [_with_ids(h["_source"]) for h in hits]
            if len(hits) < 1000:
                return [d for d in out if _matches(d, where)]
            after = hits[-1]["sort"]

    def find_records(
        self, collection: str, where: dict[str, Any] | None = None, *, order_by: str | None = None, descending: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        found = self._scan_records(collection, where)  # in (seq, id) order, as the embedded store's default
        if order_by == "_seq":
            found.sort(key=lambda d: (d.get("_seq", 0), d["_id"]), reverse=descending)
        elif order_by == "_id":
            found.sort(key=lambda d: d["_id"], reverse=descending)
        elif order_by is not None:
            found.sort(key=lambda d: (_sort_key(d.get(order_by)), d["_id"]), reverse=descending)
        end = None if limit is None else offset + limit
        return found[offset:end]

    def count_records(self, collection: str, where: dict[str, Any] | None = None) -> int:
        return len(self._scan_records(collection, where))

    def append_record(self, collection: str, doc: dict[str, Any]) -> int:
        alias = self._record_alias(collection)
        response = self.t.request(
            "POST", f"/{self.alias('state')}/_update/counter-{collection}", params={"retry_on_conflict": "5", "_source": "true", "refresh": "wait_for"},
            body={"script": {"source": "ctx._source.n += 1", "lang": "painless"}, "upsert": {"n": 1}},
        )
        position = int(response["get"]["_source"]["n"])
        clean = {k: v for k, v in doc.items() if k not in ("_id", "_seq")}
        self.t.request("PUT", f"/{alias}/_doc/{_doc_id(collection, str(position))}", params={"refresh": "wait_for"}, body=R.record_document(collection, str(position), clean, seq=position))
        return position

    # --- overview ----------------------------------------------------------------------------------
    def stats(self, *, scope: Scope) -> dict[str, Any]:
        everything = MessageFilter()
        by_type = self.aggregate(everything, {"t": {"terms": {"field": "msgtype", "size": 1000}}}, scope=scope)
        violations = self.t.request("POST", f"/{self.alias('violations')}/_count", body={"query": R.filtered_query(None, [], scope)})
        deadletters = self.t.request("POST", f"/{self.alias('deadletters')}/_count", body={"query": {"match_all": {}}})
        return {
            "messages": self.count(everything, scope=scope),
            "violations": int(violations["count"]),
            "deadletter": int(deadletters["count"]),
            "last_seq": self.checkpoint(),
            "by_msgtype": {b["key"]: b["doc_count"] for b in by_type["t"]["buckets"]},
        }


def _revoke_id(msgid: str) -> str:
    return f"revoke:{msgid}"


def _doc_id(collection: str, record_id: str) -> str:
    """The document id of a record, URL-safe (record ids may contain '/' or '@')."""
    return quote(f"{collection}:{record_id}", safe="")


def _with_ids(source: dict[str, Any]) -> dict[str, Any]:
    doc = dict(source.get("doc") or {})
    doc["_id"] = source["record_id"]
    if source.get("seq"):
        doc["_seq"] = int(source["seq"])
    return doc


def _matches(doc: dict[str, Any], where: dict[str, Any] | None) -> bool:
    for key, value in (where or {}).items():
        actual = doc.get(key)
        if isinstance(value, list):
            if actual not in value:
                return False
        elif actual != value:
            return False
    return True


def _sort_key(value: Any) -> tuple[int, Any]:
    """None first, then numbers, then strings (no type errors on mixed values)."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))
