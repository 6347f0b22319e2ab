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
import itertools
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
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
from store.base import AGG_FIELDS, RECORD_COLLECTIONS, VIOLATION_AGG_FIELDS, MigrationProgress
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
OVERLOAD_RETRIES = 8  # bulk items refused by a busy cluster: ~2.5 min of backoff (0.5 s doubling, at most 30 s)
Operation = tuple[str, str, str, dict[str, Any] | None]  # (bulk action, index, id, payload)
TASK_POLL_SECONDS = 2.0


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
        overload_retries: int = OVERLOAD_RETRIES,
    ) -> None:
        self.prefix = prefix
        self.overload_retries = overload_retries
        self.cluster_status = "unknown"  # the last health read, while the cluster refuses writes
        self._synced_engine: object | None = None  # the rule engine the percolator was last checked for
        self.timezone = timezone
        self.where = where
        self.sleep = sleep
        self.t = RetryingTransport(transport, where=where, max_retries=max_retries, sleep=sleep)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_settings(
        cls, settings: Settings, *, index_prefix: str | None = None, transport: Transport | None = None
    ) -> ElasticsearchStore:
        url = settings.es_url
        if not url and transport is None:
            raise BadInput(
                "the elasticsearch backend needs es_url (or ES_URL), e.g. https://elastic:PASSWORD@localhost:9200"
            )
        password = _secret_file(settings.es_password_file, "es_password_file") or settings.es_password
        api_key = _secret_file(settings.es_api_key_file, "es_api_key_file") or settings.es_api_key
        if transport is None:
            transport = ClientTransport(
                url,
                user=settings.es_user,
                password=password,
                api_key=api_key,
                ca_certs=settings.es_ca_certs,
                timeout=float(settings.es_timeout),
            )
        return cls(
            transport,
            prefix=index_prefix or settings.es_index_prefix,
            timezone=settings.timezone,
            where=redact_url(url) if url else "the cluster",
        )

    def alias(self, kind: str) -> str:
        return R.alias_name(self.prefix, kind)

    def _record_alias(self, collection: str) -> str:
        if collection not in RECORD_COLLECTIONS:
            raise BadInput(
                f"unknown record collection {collection!r}; use one of {', '.join(sorted(RECORD_COLLECTIONS))}"
            )
        return self.alias(R.RECORD_INDEX_OF.get(collection, "records"))

    # --- lifecycle -------------------------------------------------------------------------
    def _alias_members(self, alias: str) -> dict[str, dict[str, Any]]:
        """Concrete index → its definition of ``alias`` (is_write_index, filter)."""
        try:
            response = self.t.request("GET", f"/_alias/{alias}", ok=(404,))
        except EsError:
            return {}
        return {index: dict(info.get("aliases", {}).get(alias) or {}) for index, info in sorted(response.items())}

    def _alias_indices(self, alias: str) -> list[str]:
        return sorted(self._alias_members(alias))

    def init(self, progress: MigrationProgress | None = None) -> dict[str, Any]:
        """Creates what is missing; migrates a kind whose mapping version changed (a reindex
        task, polled with ``progress``); an interrupted migration resumes on the next init."""
        versions = R.schema_versions()
        self.t.request("PUT", f"/_ilm/policy/{R.ilm_policy_name(self.prefix)}", body=R.ilm_policy())
        migrated = False
        for kind in R.INDEX_KINDS:
            self.t.request("PUT", f"/_index_template/{self.alias(kind)}", body=R.index_template(self.prefix, kind))
            members = self._alias_members(self.alias(kind))
            target = R.index_name(self.prefix, kind, versions[kind])
            if not members:
                self._create_index(target, kind, body=R.create_index_body(self.prefix, kind, with_alias=True))
                continue
            self.t.request("PUT", f"/{self.alias(kind)}/_settings", body=R.dynamic_index_settings(kind))
            if all(R.version_of_index(i) >= versions[kind] for i in members):
                continue
            self._migrate(kind, members, target, progress)
            migrated = True
        self.sync_percolator()
        state = self._get("state", "schema") or {}
        if state.get("versions") != versions:
            self.t.request(
                "PUT",
                f"/{self.alias('state')}/_doc/schema",
                params={"refresh": "wait_for"},
                body={"versions": versions, "updated_ms": clock.now_ms()},
            )
        return {"backend": self.backend_name, "schema_version": max(versions.values()), "migrated": migrated}

    def _migrate(
        self, kind: str, members: dict[str, dict[str, Any]], target: str, progress: MigrationProgress | None
    ) -> None:
        """Old indices → ``target``: mark the old write index complete for ILM, create the
        target (with its hidden alias for a rolled kind), reindex as a task, switch atomically."""
        old = sorted(i for i in members if i != target)
        logger.info("migrating %s from %s to %s", self.alias(kind), old, target)
        if kind in R.ROLLED_KINDS:
            for index in (i for i in old if members[i].get("is_write_index")):
                self.t.request("PUT", f"/{index}/_settings", body=R.indexing_complete_settings())
        self._create_index(target, kind, body=R.migration_index_body(self.prefix, kind))
        # Writes wait (refused, retried by their callers) rather than land where the copy has passed.
        self._block_writes(old, blocked=True)
        try:
            task_id = self._running_reindex(target) or self._start_reindex(old, target, kind)
            self._wait_for_task(task_id, kind, progress)
        except MigrationFailed:
            self._block_writes(old, blocked=False)  # nothing runs any more: writes go on where they were
            raise
        # Any other error (a timeout, a vanished task) keeps the block: the reindex may still be running,
        # and the next init resumes or restarts it.
        now = self._alias_members(self.alias(kind))
        if set(now) == {target} and "filter" not in now[target]:
            return  # a concurrent init (the dashboard's or the indexer's) has switched already
        self.t.request("POST", "/_aliases", body=R.alias_switch(self.prefix, kind, old, target))

    def _block_writes(self, indices: list[str], *, blocked: bool) -> None:
        self.t.request("PUT", f"/{','.join(indices)}/_settings", body=R.write_block_settings(blocked))

    def _running_reindex(self, target: str) -> str | None:
        """The task id of a reindex into ``target`` still running (an init interrupted)."""
        response = self.t.request("GET", "/_tasks", params={"actions": R.REINDEX_ACTION, "detailed": "true"})
        for _, node in sorted(response.get("nodes", {}).items()):
            for task_id, task in sorted(node.get("tasks", {}).items()):
                if R.is_reindex_into(task, target) and not task.get("parent_task_id"):
                    logger.info("resuming the migration into %s: reindex task %s is still running", target, task_id)
                    return str(task_id)
        return None

    def _start_reindex(self, old: list[str], target: str, kind: str) -> str:
        try:
            params = {"wait_for_completion": "false", "refresh": "true"}
            body = R.reindex(old, target, kind)
            response = self.t.request("POST", "/_reindex", params=params, body=body, idempotent=False)
        except StoreUnavailable as e:
            raise StoreUnavailable(
                f"{e}; the reindex into {target} may have started: run init again, it resumes a running migration"
            ) from e
        return str(response["task"])

    def _wait_for_task(self, task_id: str, kind: str, progress: MigrationProgress | None) -> None:
        """Polls the task until it completes; its failures stop the migration (the old
        indices keep serving: nothing was switched)."""
        while True:
            try:
                task = self.t.request("GET", f"/_tasks/{task_id}", ok=(404,))
            except EsError as e:
                raise StoreUnavailable(
                    f"the reindex task {task_id} of {self.alias(kind)} is gone ({e}); "
                    "run init again to restart the migration"
                ) from e
            done, total = R.task_progress(task)
            if progress is not None:
                progress(kind, done, total)
            if task.get("completed"):
                failure = R.task_failure(task)
                if failure:
                    raise MigrationFailed(
                        f"migrating {self.alias(kind)} failed: {failure}; the old indices are still in use"
                    )
                return
            self.sleep(TASK_POLL_SECONDS)

    def _create_index(self, index: str, kind: str, *, body: dict[str, Any]) -> None:
        try:
            self.t.request("PUT", f"/{index}", body=body, ok=(400,))
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

    def _bulk(self, operations: list[Operation], *, refresh: str | None = None) -> BulkOutcome:
        """Sends the operations. Items the cluster refused for its own reasons (429, 5xx: full
        queues, a red index) are re-sent with bounded exponential backoff; what is still
        refused after ``overload_retries`` comes back as ``unwritten``, never as ``rejected``."""
        pending = list(range(len(operations)))
        outcome = BulkOutcome()
        attempt = 0
        while pending:
            params = {"refresh": refresh} if refresh else None
            response = self.t.request(
                "POST", "/_bulk", params=params, body=R.bulk_lines([operations[i] for i in pending])
            )
            retry: list[tuple[int, dict[str, Any]]] = []
            for op_index, item in zip(pending, response.get("items", [])):
                ((action, result),) = item.items()
                status = int(result.get("status", 200))
                if _item_done(action, status):
                    continue
                error = {"status": status, **(result.get("error") or {})}
                at_fault = retry if _cluster_fault(status, str(error.get("type", ""))) else outcome.rejected
                at_fault.append((op_index, error))
            if retry and attempt >= self.overload_retries:
                outcome.unwritten = retry
                return outcome
            if retry:
                self._back_off(attempt, len(retry), retry[0][1])
            pending = [i for i, _ in retry]
            attempt += 1
        return outcome

    def _back_off(self, attempt: int, count: int, error: dict[str, Any]) -> None:
        """Waits before re-sending refused items; from the third refusal on, says whether the
        cluster is red (an operator must act) or only busy (it will catch up)."""
        wait = self.t.delay(attempt)
        logger.warning(
            "%d bulk items refused by the cluster (%s, HTTP %s); retrying in %.1fs",
            count,
            error.get("type", "?"),
            error.get("status"),
            wait,
        )
        if attempt == 2:
            self.cluster_status = self._cluster_status()
            if self.cluster_status == "red":
                logger.error(
                    "ALERT store: Elasticsearch at %s is red: some primary shards are unassigned; writes wait for them",
                    self.where,
                )
        self.sleep(wait)

    def _cluster_status(self) -> str:
        try:
            return str(self.t.request("GET", "/_cluster/health", params={"timeout": "5s"}).get("status", "unknown"))
        except ChatArchiveError as e:
            logger.error("cannot read the cluster health: %s", e)
            return "unknown"

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
        ops: list[Operation] = []
        op_message: dict[int, Message] = {}
        for m in messages:
            was_revoked, was_flagged = previous.get(m.msgid, (False, False))
            was_revoked = was_revoked or m.msgid in revoked_before
            was_flagged = was_flagged or m.msgid in violated_before
            m = dataclasses.replace(
                m,
                revoked=m.revoked or m.msgid in revoked or was_revoked,
                flagged=m.flagged or m.msgid in violated or was_flagged,
            )
            op_message[len(ops)] = m
            ops.append(
                ("index", located.get(m.msgid, self.alias("messages")), m.msgid, R.message_document(m, fold(m.text)))
            )
        for msgid in sorted(revoked):  # remembered, so an original that arrives later is marked too
            ops.append(("index", self.alias("state"), _revoke_id(msgid), {"updated_ms": clock.now_ms()}))
        for msgid in sorted((revoked | violated) - in_batch):
            if msgid in located:
                ops.append(
                    (
                        "update",
                        located[msgid],
                        msgid,
                        {
                            **({"revoked": True} if msgid in revoked else {}),
                            **({"flagged": True} if msgid in violated else {}),
                        },
                    )
                )
        messages_end = len(ops)  # what follows refers to the messages: sent only after them
        for v in batch.violations:
            ops.append(("index", self.alias("violations"), v.id, R.violation_document(v)))
        for d in batch.deadletters:
            ops.append(("index", self.alias("deadletters"), d.msgid, R.deadletter_document(d)))
        for msgid in batch.resolved_deadletters:
            ops.append(("delete", self.alias("deadletters"), msgid, None))
        for collection, record_id, doc in batch.new_records:
            record = R.record_document(collection, record_id, doc)
            ops.append(("create", self._record_alias(collection), _record_key(collection, record_id), record))
        outcome = self._bulk_in_order(ops, messages_end) if ops else BulkOutcome()
        held_at = self._hold_for(ops, op_message, outcome)
        if batch.checkpoint is not None:
            target = batch.checkpoint if held_at is None else min(batch.checkpoint, held_at)
            self._advance_checkpoint(int(target))
        if outcome.unwritten:
            first = outcome.unwritten[0][1]
            why = f"{first.get('type', '?')}, HTTP {first.get('status')}; cluster {self.cluster_status}"
            raise StoreUnavailable(
                f"Elasticsearch at {self.where} kept refusing {len(outcome.unwritten)} documents ({why}); "
                f"the checkpoint stays at {held_at} and the pull resumes from there"
            )
        if held_at is not None:
            raise StoreUnavailable(
                "some documents of the batch could not be stored or dead-lettered; "
                f"the checkpoint stays at {held_at} and they will be replayed"
            )

    def _hold_for(self, ops: list[Operation], op_message: dict[int, Message], outcome: BulkOutcome) -> int | None:
        """Dead-letters the messages rejected for their own fault; returns the seq to hold
        the checkpoint at (just before the first message not stored or dead-lettered), or None."""
        hold = [self._seq_of(op_message, i) for i, _ in outcome.unwritten]
        if outcome.rejected:
            hold += self._dead_letter_failures(ops, op_message, outcome.rejected)
        if not hold:
            return None
        return max(0, min(hold) - 1)

    @staticmethod
    def _seq_of(op_message: dict[int, Message], op_index: int) -> int:
        """The message's seq; for a violation, flag or record: the batch's first seq (which
        message it belongs to is not tracked, so the whole batch is replayed)."""
        message = op_message.get(op_index)
        return message.seq if message is not None else min((m.seq for m in op_message.values()), default=1)

    def _bulk_in_order(self, ops: list[Operation], split: int) -> BulkOutcome:
        """``ops[:split]`` (messages) in one bulk, then the rest (violations, dead letters,
        records) once the messages are in: a bulk is not atomic, so one request could apply a
        violation whose message a crash, or a refusing cluster, then never writes. The last
        request waits for the refresh."""
        first, rest = ops[:split], ops[split:]
        outcome = self._bulk(first, refresh=None if rest else "wait_for") if first else BulkOutcome()
        if not rest:
            return outcome
        if outcome.unwritten:  # some messages are not in: what refers to them waits for the replay
            held = {"status": 0, "type": "held", "reason": "sent once the batch's messages are stored"}
            outcome.unwritten += [(split + i, held) for i in range(len(rest))]
            return outcome
        later = self._bulk(rest, refresh="wait_for")
        outcome.rejected += [(split + i, error) for i, error in later.rejected]
        outcome.unwritten += [(split + i, error) for i, error in later.unwritten]
        return outcome

    def _flags_of(self, msgids: list[str]) -> dict[str, tuple[bool, bool]]:
        """(revoked, flagged) of stored messages: flags outlive a re-write of the message."""
        if not msgids:
            return {}
        body = {"query": R.ids_query(msgids), "size": len(msgids), "_source": {"includes": ["revoked", "flagged"]}}
        response = self._search("messages", body)
        return {
            h["_id"]: (bool(h["_source"].get("revoked")), bool(h["_source"].get("flagged")))
            for h in response["hits"]["hits"]
        }

    def _revoked_among(self, msgids: list[str]) -> set[str]:
        if not msgids:
            return set()
        ids = [_revoke_id(i) for i in msgids]
        response = self._search("state", {"query": R.ids_query(ids), "size": len(ids), "_source": False})
        return {h["_id"][len("revoke:") :] for h in response["hits"]["hits"]}

    def _violated_among(self, msgids: list[str]) -> set[str]:
        if not msgids:
            return set()
        body = {
            "query": {"terms": {"msgid": msgids}},
            "size": 0,
            "aggregations": {"m": {"terms": {"field": "msgid", "size": len(msgids)}}},
        }
        response = self._search("violations", body)
        return {b["key"] for b in response.get("aggregations", {}).get("m", {}).get("buckets", [])}

    def _dead_letter_failures(
        self, ops: list[Operation], op_message: dict[int, Message], rejected: list[tuple[int, dict[str, Any]]]
    ) -> list[int]:
        """Messages rejected for their own fault (e.g. a mapping error) become dead letters;
        returns the seqs of those that could not be stored either way."""
        letters: list[DeadLetter] = []
        hold: list[int] = []
        for op_index, error in rejected:
            reason = f"store: {error.get('type', 'error')}: {error.get('reason', '')} (HTTP {error.get('status')})"
            logger.error("Elasticsearch rejected %s %s: %s", ops[op_index][0], ops[op_index][2], reason)
            message = op_message.get(op_index)
            if message is None:
                # A violation, flag or record: nothing to dead-letter it as.
                hold.append(self._seq_of(op_message, op_index))
                continue
            letters.append(_store_dead_letter(message, reason))
        if letters:
            dl_ops: list[Operation] = [
                ("index", self.alias("deadletters"), d.msgid, R.deadletter_document(d)) for d in letters
            ]
            outcome = self._bulk(dl_ops, refresh="wait_for")
            hold += [letters[i].seq for i, _ in outcome.rejected + outcome.unwritten]
        return hold

    def _advance_checkpoint(self, seq: int) -> None:
        if seq <= self.checkpoint():
            return
        self.t.request(
            "PUT",
            f"/{self.alias('state')}/_doc/checkpoint",
            params={"refresh": "wait_for"},
            body={"seq": seq, "updated_ms": clock.now_ms()},
        )

    def checkpoint(self) -> int:
        doc = self._get("state", "checkpoint")
        return int(doc.get("seq", 0)) if doc else 0

    def refresh(self) -> None:
        kinds = ",".join(self.alias(k) for k in R.INDEX_KINDS)
        self.t.request("POST", f"/{kinds}/_refresh")

    # --- percolation ------------------------------------------------------------------------
    def _index_rule(self, rule_id: str, doc: dict[str, Any]) -> None:
        self.t.request(
            "PUT",
            f"/{self.alias('rules')}/_doc/{quote(rule_id, safe='')}",
            params={"refresh": "wait_for"},
            body=R.rule_document(rule_id, doc, normalize=_rules_normalize),
        )

    def sync_percolator(self) -> dict[str, int]:
        """Makes the percolator index say exactly what the rule records say: a rule whose
        percolator document is missing or stale (its write failed after the record's) is
        indexed again, a document without a rule is deleted. One search and one bulk."""
        expected = {
            d["_id"]: R.rule_document(d["_id"], _record_body(d), normalize=_rules_normalize)
            for d in self._scan_records("rules", None)
        }
        stored = self._percolator_documents()
        ops: list[Operation] = [
            ("index", self.alias("rules"), rule_id, doc)
            for rule_id, doc in sorted(expected.items())
            if stored.get(rule_id) != doc
        ]
        stale = len(ops)
        ops += [("delete", self.alias("rules"), rule_id, None) for rule_id in sorted(set(stored) - set(expected))]
        if ops:
            deleted = len(ops) - stale
            logger.warning("percolator out of step with the rules: re-indexing %d, deleting %d", stale, deleted)
            self._raise_failed(self._bulk(ops, refresh="wait_for"), "rebuild the percolator")
        return {"rules": len(expected), "indexed": stale, "deleted": len(ops) - stale}

    def _percolator_documents(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"match_all": {}},
                "size": 1000,
                "sort": [{"rule_id": {"order": "asc"}}],
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            hits = self._search("rules", body)["hits"]["hits"]
            out.update((h["_id"], h["_source"]) for h in hits)
            if len(hits) < 1000:
                return out
            after = hits[-1]["sort"]

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
        if engine is not self._synced_engine:  # a rebuilt engine: the rules changed, check the percolator too
            self.sync_percolator()
            self._synced_engine = engine
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
        body = R.search_body(
            R.filtered_query(text, R.message_filter_clauses(request.filters), scope),
            sort=sort,
            size=request.limit,
            offset=request.offset,
        )
        response = self._search("messages", body)
        terms = positive_terms(node)
        hits = []
        for h in response["hits"]["hits"]:
            m = R.message_from_source(h["_source"])
            hits.append(
                SearchHit(
                    msgid=m.msgid,
                    seq=m.seq,
                    time_ms=m.time_ms,
                    sender=m.sender,
                    chat_id=m.chat_id,
                    msgtype=m.msgtype,
                    highlight=highlight(m.text, terms) if request.highlight else "",
                    score=float(h.get("_score") or 0.0) if sort == "relevance" else 0.0,
                    message=m,
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

    def list_messages(
        self, filters: MessageFilter, *, scope: Scope, sort: str = "time_asc", limit: int = 100, offset: int = 0
    ) -> tuple[int, list[Message]]:
        if sort not in ("time_asc", "time_desc"):
            raise BadInput(f"unknown sort {sort!r}; use time_asc or time_desc")
        self._check_page(limit, offset)
        response = self._search(
            "messages",
            R.search_body(
                R.filtered_query(None, R.message_filter_clauses(filters), scope), sort=sort, size=limit, offset=offset
            ),
        )
        return int(response["hits"]["total"]["value"]), self._hits(response)

    def iter_messages(
        self, filters: MessageFilter, *, scope: Scope, batch_size: int = 1000, query: str = ""
    ) -> Iterator[Message]:
        """Every match, any number: ``search_after`` over a point in time (one consistent
        view; no 10,000-result window), closed when the iteration ends or is abandoned."""
        _, text = self._text_query(query)
        body_query = R.filtered_query(text, R.message_filter_clauses(filters), scope)
        size = max(1, min(int(batch_size), MAX_PAGE))
        pit_id = self._open_pit("messages")
        try:
            after: list[Any] | None = None
            while True:
                page = R.iter_body(body_query, size=size, search_after=after, pit_id=pit_id)
                response = self.t.request("POST", "/_search", body=page)
                pit_id = str(response.get("pit_id") or pit_id)  # the cluster may hand back a new id
                hits = response["hits"]["hits"]
                yield from (R.message_from_source(h["_source"]) for h in hits)
                if len(hits) < size:
                    return
                after = hits[-1]["sort"]
        finally:
            self._close_pit(pit_id)

    def _open_pit(self, kind: str) -> str:
        response = self.t.request("POST", f"/{self.alias(kind)}/_pit", params={"keep_alive": R.PIT_KEEP_ALIVE})
        return str(response["id"])

    def _close_pit(self, pit_id: str) -> None:
        """Frees the point in time at once (else it holds segments until keep_alive ends)."""
        try:
            self.t.request("DELETE", "/_pit", body={"id": pit_id}, ok=(404,))
        except (EsError, ChatArchiveError) as e:  # expired already, or the cluster went away: it expires by itself
            logger.warning("could not close the point in time: %s", e)

    def context(self, msgid: str, *, before: int = 10, after: int = 10, scope: Scope) -> list[Message]:
        found = self.get_messages([msgid], scope=scope)
        if not found:
            return []
        target = found[0]
        earlier = (
            self._hits(
                self._search(
                    "messages",
                    R.context_body(target.chat_id, target.time_ms, target.seq, before=True, size=before, scope=scope),
                )
            )
            if before > 0
            else []
        )
        later = (
            self._hits(
                self._search(
                    "messages",
                    R.context_body(target.chat_id, target.time_ms, target.seq, before=False, size=after, scope=scope),
                )
            )
            if after > 0
            else []
        )
        return [*reversed(earlier), target, *later]

    def count(self, filters: MessageFilter, *, scope: Scope, query: str = "") -> int:
        _, text = self._text_query(query)
        response = self.t.request(
            "POST",
            f"/{self.alias('messages')}/_count",
            body={"query": R.filtered_query(text, R.message_filter_clauses(filters), scope)},
        )
        return int(response["count"])

    def aggregate(
        self, filters: MessageFilter, aggs: dict[str, Any], *, scope: Scope, query: str = ""
    ) -> dict[str, Any]:
        _, text = self._text_query(query)
        translated = R.aggregations(aggs, allowed_fields=AGG_FIELDS, time_zone=self.timezone)
        body = {
            "query": R.filtered_query(text, R.message_filter_clauses(filters), scope),
            "size": 0,
            "aggregations": translated,
        }
        return R.normalize_aggregations(aggs, self._search("messages", body).get("aggregations", {}))

    def update_messages(self, messages: list[Message]) -> None:
        unique = list({m.msgid: m for m in messages}.values())
        if not unique:
            return
        located = self._locate([m.msgid for m in unique])
        ops = [
            ("index", located.get(m.msgid, self.alias("messages")), m.msgid, R.message_document(m, fold(m.text)))
            for m in unique
        ]
        self._raise_failed(self._bulk(ops, refresh="wait_for"), "update messages")

    def _raise_failed(self, outcome: BulkOutcome, what: str) -> None:
        if outcome.unwritten:
            first = outcome.unwritten[0][1]
            raise StoreUnavailable(
                f"could not {what}: Elasticsearch at {self.where} kept refusing {len(outcome.unwritten)} documents "
                f"(HTTP {first.get('status')})"
            )
        if outcome.rejected:
            first = outcome.rejected[0][1]
            raise ChatArchiveError(
                f"could not {what}: {len(outcome.rejected)} documents rejected, "
                f"e.g. {first.get('type')}: {first.get('reason')}"
            )

    def delete_messages(self, msgids: list[str]) -> int:
        wanted = list(dict.fromkeys(msgids))
        if not wanted:
            return 0
        existing = len(self._locate(wanted))
        params = {"refresh": "true", "conflicts": "proceed"}
        self.t.request(
            "POST",
            f"/{self.alias('violations')}/_delete_by_query",
            params=params,
            body={"query": {"terms": {"msgid": wanted}}},
        )
        self.t.request(
            "POST", f"/{self.alias('messages')}/_delete_by_query", params=params, body={"query": R.ids_query(wanted)}
        )
        self.t.request(
            "POST",
            f"/{self.alias('state')}/_delete_by_query",
            params=params,
            body={"query": R.ids_query([_revoke_id(i) for i in wanted])},
        )
        return existing

    # --- violations -------------------------------------------------------------------------------
    def put_violations(self, violations: list[Violation]) -> None:
        if not violations:
            return
        located = self._locate(sorted({v.msgid for v in violations}))
        ops: list[Operation] = [("index", self.alias("violations"), v.id, R.violation_document(v)) for v in violations]
        ops += [("update", index, msgid, {"flagged": True}) for msgid, index in sorted(located.items())]
        self._raise_failed(self._bulk(ops, refresh="wait_for"), "store violations")

    def list_violations(
        self, filters: ViolationFilter, *, scope: Scope, sort: str = "time_desc", limit: int = 50, offset: int = 0
    ) -> tuple[int, list[Violation]]:
        self._check_page(limit, offset)
        body = R.search_body(
            R.filtered_query(None, R.violation_filter_clauses(filters), scope),
            sort=sort,
            size=limit,
            offset=offset,
            sorts=R.VIOLATION_SORTS,
        )
        response = self._search("violations", body)
        return int(response["hits"]["total"]["value"]), [
            Violation.from_dict(h["_source"]) for h in response["hits"]["hits"]
        ]

    def aggregate_violations(self, filters: ViolationFilter, aggs: dict[str, Any], *, scope: Scope) -> dict[str, Any]:
        translated = R.aggregations(aggs, allowed_fields=VIOLATION_AGG_FIELDS, time_zone=self.timezone)
        body = {
            "query": R.filtered_query(None, R.violation_filter_clauses(filters), scope),
            "size": 0,
            "aggregations": translated,
        }
        return R.normalize_aggregations(aggs, self._search("violations", body).get("aggregations", {}))

    def update_violation(self, violation_id: str, changes: dict[str, Any]) -> Violation:
        unknown = set(changes) - VIOLATION_CHANGES
        if unknown:
            raise BadInput(
                f"cannot change {', '.join(sorted(unknown))} of a "
                f"violation; allowed: {', '.join(sorted(VIOLATION_CHANGES))}"
            )
        if "status" in changes and changes["status"] not in REVIEW_STATUSES:
            raise BadInput(f"unknown review status {changes['status']!r}; use one of {', '.join(REVIEW_STATUSES)}")
        current = self._get("violations", violation_id)
        if current is None:
            raise BadInput(f"no violation {violation_id!r}")
        updated = dataclasses.replace(Violation.from_dict(current), **changes)
        self.t.request(
            "PUT",
            f"/{self.alias('violations')}/_doc/{quote(violation_id, safe='')}",
            params={"refresh": "wait_for"},
            body=R.violation_document(updated),
        )
        return updated

    # --- dead letters --------------------------------------------------------------------------------
    def list_deadletters(self, *, limit: int = 1000, offset: int = 0) -> tuple[int, list[DeadLetter]]:
        self._check_page(limit, offset)
        body = {
            "query": {"match_all": {}},
            "sort": [{"seq": {"order": "asc"}}, {"msgid": {"order": "asc"}}],
            "size": limit,
            "from": offset,
            "track_total_hits": True,
        }
        response = self._search("deadletters", body)
        return int(response["hits"]["total"]["value"]), [DeadLetter(**h["_source"]) for h in response["hits"]["hits"]]

    # --- records ----------------------------------------------------------------------------------------
    def put_record(self, collection: str, record_id: str, doc: dict[str, Any]) -> None:
        alias = self._record_alias(collection)
        clean = _record_body(doc)
        self.t.request(
            "PUT",
            f"/{alias}/_doc/{_doc_id(collection, record_id)}",
            params={"refresh": "wait_for"},
            body=R.record_document(collection, record_id, clean),
        )
        if collection == "rules":
            self._index_rule(record_id, clean)

    def put_records(self, collection: str, docs: dict[str, dict[str, Any]]) -> None:
        """One bulk request per 1,000 records, each waiting for the refresh once."""
        alias = self._record_alias(collection)
        ops: list[Operation] = [
            (
                "index",
                alias,
                _record_key(collection, record_id),
                R.record_document(collection, record_id, _record_body(doc)),
            )
            for record_id, doc in docs.items()
        ]
        for i in range(0, len(ops), 1000):
            self._raise_failed(self._bulk(ops[i : i + 1000], refresh="wait_for"), f"store {collection} records")
        if collection == "rules":
            for record_id, doc in docs.items():
                self._index_rule(record_id, _record_body(doc))

    def get_records(self, collection: str, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        """An ids query per 1,000 ids (a search: it also reads the records of rolled-over indices)."""
        alias = self._record_alias(collection)
        ids = list(dict.fromkeys(str(r) for r in record_ids))
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 1000):
            keys = [_record_key(collection, r) for r in ids[i : i + 1000]]
            body = {"query": R.ids_query(keys), "size": len(keys)}
            for hit in self.t.request("POST", f"/{alias}/_search", body=body)["hits"]["hits"]:
                doc = _with_ids(hit["_source"])
                out[doc["_id"]] = doc
        return out

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
            response = self.t.request(
                "DELETE", f"/{alias}/_doc/{_doc_id(collection, record_id)}", params={"refresh": "wait_for"}, ok=(404,)
            )
        except EsError:
            return False
        if collection == "rules":
            try:
                self.t.request(
                    "DELETE",
                    f"/{self.alias('rules')}/_doc/{quote(record_id, safe='')}",
                    params={"refresh": "wait_for"},
                    ok=(404,),
                )
            except EsError:
                pass
        return response.get("result") == "deleted"

    def _scan_records(self, collection: str, where: dict[str, Any] | None) -> list[dict[str, Any]]:
        return list(self._sorted_records(collection, where, R.record_sort(None, False) or []))

    def _sorted_records(
        self, collection: str, where: dict[str, Any] | None, sort: list[dict[str, Any]], page: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """The matching records in ``sort`` order, page by page (search_after): the
        cluster pre-filters, ``_matches`` compares exactly as the embedded store does."""
        kind = self._record_alias(collection)[len(self.prefix) + 1 :]
        query = R.record_prefilter(collection, where)
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"query": query, "size": page, "sort": sort, "track_total_hits": False}
            if after is not None:
                body["search_after"] = after
            hits = self._search(kind, body)["hits"]["hits"]
            yield from (d for d in (_with_ids(h["_source"]) for h in hits) if _matches(d, where))
            if len(hits) < page:
                return
            after = hits[-1]["sort"]

    def find_records(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Sorted and limited on the cluster when the order can be exact there (so the
        last audit entry is one search, however long the trail); in Python otherwise."""
        sort = self._cluster_sort(collection, where, order_by, descending)
        if sort is not None and limit is not None:
            wanted = offset + limit
            pages = self._sorted_records(collection, where, sort, page=max(1, min(wanted, 1000)))
            found = list(itertools.islice(pages, wanted))
            return found[offset:]
        found = self._scan_records(collection, where)  # in (seq, id) order, as the embedded store's default
        if order_by == "_seq":
            found.sort(key=lambda d: (d.get("_seq", 0), d["_id"]), reverse=descending)
        elif order_by == "_id":
            found.sort(key=lambda d: d["_id"], reverse=descending)
        elif order_by is not None:
            found.sort(key=lambda d: (_sort_key(d.get(order_by)), d["_id"]), reverse=descending)
        end = None if limit is None else offset + limit
        return found[offset:end]

    def _cluster_sort(
        self, collection: str, where: dict[str, Any] | None, order_by: str | None, descending: bool
    ) -> list[dict[str, Any]] | None:
        """``R.record_sort``, once one count shows no matching record holds a value there
        that is not a number (strings, lists and objects sort after numbers in Python)."""
        sort = R.record_sort(order_by, descending)
        if sort is None or order_by is None or order_by.startswith("_"):
            return sort
        kind = self._record_alias(collection)[len(self.prefix) + 1 :]
        prefilter = R.record_prefilter(collection, where)
        query = {"bool": {"filter": [prefilter, {"term": {"others": {"value": order_by}}}]}}
        mixed = self.t.request("POST", f"/{self.alias(kind)}/_count", body={"query": query})
        return sort if int(mixed["count"]) == 0 else None

    def count_records(self, collection: str, where: dict[str, Any] | None = None) -> int:
        return len(self._scan_records(collection, where))

    def append_record(self, collection: str, doc: dict[str, Any]) -> int:
        alias = self._record_alias(collection)
        response = self.t.request(
            "POST",
            f"/{self.alias('state')}/_update/counter-{collection}",
            params={"retry_on_conflict": "5", "_source": "true", "refresh": "wait_for"},
            body={"script": {"source": "ctx._source.n += 1", "lang": "painless"}, "upsert": {"n": 1}},
        )
        position = int(response["get"]["_source"]["n"])
        clean = {k: v for k, v in doc.items() if k not in ("_id", "_seq")}
        self.t.request(
            "PUT",
            f"/{alias}/_doc/{_doc_id(collection, str(position))}",
            params={"refresh": "wait_for"},
            body=R.record_document(collection, str(position), clean, seq=position),
        )
        return position

    # --- overview ----------------------------------------------------------------------------------
    def stats(self, *, scope: Scope) -> dict[str, Any]:
        everything = MessageFilter()
        by_type = self.aggregate(everything, {"t": {"terms": {"field": "msgtype", "size": 1000}}}, scope=scope)
        violations = self.t.request(
            "POST", f"/{self.alias('violations')}/_count", body={"query": R.filtered_query(None, [], scope)}
        )
        deadletters = self.t.request("POST", f"/{self.alias('deadletters')}/_count", body={"query": {"match_all": {}}})
        return {
            "messages": self.count(everything, scope=scope),
            "violations": int(violations["count"]),
            "deadletter": int(deadletters["count"]),
            "last_seq": self.checkpoint(),
            "by_msgtype": {b["key"]: b["doc_count"] for b in by_type["t"]["buckets"]},
        }


class MigrationFailed(ChatArchiveError):
    """The reindex task completed with failures: nothing was switched, nothing is running."""


@dataclasses.dataclass
class BulkOutcome:
    """The items of a bulk that were not stored: ``rejected`` for their own fault (permanent,
    e.g. a mapping error), ``unwritten`` because the cluster kept refusing them (429/5xx)."""

    rejected: list[tuple[int, dict[str, Any]]] = dataclasses.field(default_factory=list)
    unwritten: list[tuple[int, dict[str, Any]]] = dataclasses.field(default_factory=list)


def _item_done(action: str, status: int) -> bool:
    """Stored, or nothing to do: a create of an existing id, a delete of a missing one."""
    return status < 300 or (action == "create" and status == 409) or (action == "delete" and status == 404)


def _cluster_fault(status: int, error_type: str = "") -> bool:
    """A refusal that says nothing about the document: full queues (429), unavailable
    shards of a red index (503), any other server error, or an index block (a migration
    in progress, or the disk flood stage making indices read-only)."""
    return status in RETRY_STATUSES or status >= 500 or error_type == "cluster_block_exception"


def _store_dead_letter(message: Message, reason: str) -> DeadLetter:
    try:
        record = json.loads(message.raw) if message.raw else {"msgid": message.msgid}
    except ValueError:
        record = {"raw": message.raw}
    return DeadLetter(
        seq=message.seq,
        msgid=message.msgid,
        reason=reason,
        stage="store",
        record=record,
        key_version=message.key_version,
        time_ms=clock.now_ms(),
    )


def _secret_file(path: str, setting: str) -> str:
    """The secret a ``*_file`` setting names (one line), or "" when the setting is empty."""
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise BadInput(f"{setting} {path}: {e.strerror}") from e


def _revoke_id(msgid: str) -> str:
    return f"revoke:{msgid}"


def _record_key(collection: str, record_id: str) -> str:
    """The document id of a record (as a bulk item names it)."""
    return f"{collection}:{record_id}"


def _doc_id(collection: str, record_id: str) -> str:
    """The document id of a record in a URL path (record ids may contain '/' or '@');
    the cluster decodes it back to ``_record_key``."""
    return quote(_record_key(collection, record_id), safe="")


def _record_body(doc: dict[str, Any]) -> dict[str, Any]:
    """A record as stored: without the ``_id``/``_seq`` the reads add."""
    return {k: v for k, v in doc.items() if k not in ("_id", "_seq")}


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
