"""Rule testing on the stored history: what a rule would have flagged, what an edit gains
and loses, and applying a new rule retroactively.

Messages are streamed with ``store.iter_messages`` (memory does not grow with history)
and matched by the same ``RuleEngine`` the pipeline uses, so a backtest shows exactly
what the live rule will do.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from analyzers.rules.engine import RuleEngine
from analyzers.rules.model import Rule
from compliance.integrity import iter_violations, record_violations
from core.models import Message, MessageFilter, Scope, Violation, ViolationFilter
from store.base import Store
from store.highlight import mark_ranges

logger = logging.getLogger(__name__)

# How a sample's text is shown: (text, hit spans) → HTML. Callers without the right to read
# messages pass a masking renderer (compliance.masking.masked_hits).
Render = Callable[[str, Iterable[Iterable[int]]], str]


def _messages(store: Store, scope: Scope, time_from: int | None, time_to: int | None) -> Iterator[Message]:
    return store.iter_messages(MessageFilter(time_from=time_from, time_to=time_to), scope=scope)


def _hits(
    store: Store, rule: Rule, scope: Scope, time_from: int | None, time_to: int | None
) -> Iterator[tuple[Message, Violation]]:
    """Every (message, violation) of ``rule`` in the history. No pre-filter through the
    search index: its phrase search does not see evasive spellings (回-扣, huikou), so it
    would silently drop exactly the hits a compliance officer cares most about."""
    engine = RuleEngine([Rule.from_dict({**rule.to_dict(), "enabled": True})])  # disabled rules can be tested
    for m in _messages(store, scope, time_from, time_to):
        for v in engine.match(m):
            yield m, v


def backtest(
    store: Store,
    rule: Rule,
    scope: Scope,
    time_from: int | None = None,
    time_to: int | None = None,
    sample: int = 20,
    timezone: str = "Asia/Shanghai",
    render: Render = mark_ranges,
) -> dict[str, Any]:
    """``{"total", "by_day": {"YYYY-MM-DD": n}, "sample": [{msgid, time, text, terms}]}``:
    what ``rule`` would have flagged among the messages ``scope`` allows. ``text`` is the
    message with ``<mark>`` around the hits (HTML-escaped)."""
    tz = ZoneInfo(timezone)
    total = 0
    by_day: Counter[str] = Counter()
    samples: list[dict[str, Any]] = []
    for m, v in _hits(store, rule, scope, time_from, time_to):
        total += 1
        by_day[datetime.fromtimestamp(v.time_ms / 1000, tz).strftime("%Y-%m-%d")] += 1
        if len(samples) < sample:
            samples.append(
                {
                    "msgid": v.msgid,
                    "time": v.time_ms,
                    "text": render(m.text, v.spans),
                    "terms": v.terms,
                    "spans": v.spans,
                    "explanation": v.explanation,
                }
            )
    return {"total": total, "by_day": dict(sorted(by_day.items())), "sample": samples}


def diff_versions(
    store: Store,
    rule_old: Rule,
    rule_new: Rule,
    scope: Scope,
    time_from: int | None = None,
    time_to: int | None = None,
    limit: int = 100,
    render: Render = mark_ranges,
) -> dict[str, Any]:
    """What an edit changes on the history: ``{"gained": [...], "lost": [...],
    "gained_total": n, "lost_total": n}`` (messages flagged only by the new / only by the
    old version; at most ``limit`` of each listed, with the terms that matched)."""
    # Ids tell the versions apart; the names stay, so each hit's explanation names the rule.
    old_rule = Rule.from_dict({**rule_old.to_dict(), "id": "old", "enabled": True})
    new_rule = Rule.from_dict({**rule_new.to_dict(), "id": "new", "enabled": True})
    engine = RuleEngine([old_rule, new_rule])
    gained: list[dict[str, Any]] = []
    lost: list[dict[str, Any]] = []
    counts = {"gained": 0, "lost": 0}
    for m in _messages(store, scope, time_from, time_to):
        found = {v.rule_id: v for v in engine.match(m)}
        if ("old" in found) == ("new" in found):
            continue
        key, v = ("gained", found["new"]) if "new" in found else ("lost", found["old"])
        counts[key] += 1
        target = gained if key == "gained" else lost
        if len(target) < limit:
            target.append(
                {
                    "msgid": m.msgid,
                    "time": m.time_ms,
                    "text": render(m.text, v.spans),
                    "terms": v.terms,
                    "spans": v.spans,
                    "explanation": v.explanation,
                }
            )
    return {"gained": gained, "lost": lost, "gained_total": counts["gained"], "lost_total": counts["lost"]}


def apply_retroactively(
    store: Store,
    rule: Rule,
    scope: Scope,
    time_from: int | None = None,
    time_to: int | None = None,
    batch_size: int = 500,
) -> int:
    """Stores the violations ``rule`` finds in the history (upserts: running it twice
    stores each once) and returns how many."""
    stored = 0
    pending: list[Violation] = []
    for _m, v in _hits(store, rule, scope, time_from, time_to):
        pending.append(v)
        if len(pending) >= batch_size:
            _store_keeping_reviews(store, pending)
            stored += len(pending)
            pending = []
    if pending:
        _store_keeping_reviews(store, pending)
        stored += len(pending)
    logger.info("rule %s v%d applied retroactively: %d violations", rule.id, rule.version, stored)
    return stored


REVIEW_FIELDS = ("status", "assignee", "reviewer", "reviewed_ms", "comment")


def _store_keeping_reviews(store: Any, violations: list[Violation]) -> None:
    """Upserts the violations without undoing a review: a violation that exists keeps its
    review fields (a decision changes only through the audited review workflow), and enters
    them in the evidence ledger."""
    msgids = sorted({v.msgid for v in violations})
    existing = {v.id: v for v in iter_violations(store, ViolationFilter(msgids=msgids))}
    for v in violations:
        old = existing.get(v.id)
        for name in REVIEW_FIELDS if old is not None else ():
            setattr(v, name, getattr(old, name))
    store.put_violations(violations)
    record_violations(store, violations)


# ---------------------------------------------------------------------- evaluation
# Which starter rule is meant to catch which planted label (the simulator's labels.jsonl).
STARTER_RULE_LABELS: dict[str, str] = {
    "承诺收益": "promised_return",
    "私下交易": "private_transaction",
    "回扣返点": "kickback",
    "手机号": "phone",
    "身份证号": "idcard",
    "银行卡号": "bankcard",
    "红包": "redpacket",
    "文件外发": "file",
    "辱骂与不当言论": "abuse",
}


def label_recall(
    truth_dir: str | Path, violations: list[Violation] | list[dict[str, Any]], rule_labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """Recall per planted label: a labelled message counts as caught for a label when a
    violation of a rule meant for that label (by rule name, ``STARTER_RULE_LABELS``) is on
    it; ``evasion`` is caught when any of the message's other labels is. Also counts
    flagged messages without any label (``unlabelled_flagged``: false hits, or personal
    data the simulator wrote without planting it)."""
    rule_labels = rule_labels or STARTER_RULE_LABELS
    labels: dict[str, list[str]] = {}
    with open(Path(truth_dir) / "labels.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                labels[d["msgid"]] = list(d["labels"])
    caught_by: dict[str, set[str]] = {}
    for v in violations:
        d = v if isinstance(v, dict) else v.to_dict()
        label = rule_labels.get(d.get("rule_name", ""))
        caught_by.setdefault(d["msgid"], set())
        if label:
            caught_by[d["msgid"]].add(label)
    out: dict[str, dict[str, Any]] = {}
    for msgid, ls in labels.items():
        hit = caught_by.get(msgid, set())
        main = [x for x in ls if x != "evasion"]
        for label in ls:
            caught = bool(hit.intersection(main)) if label == "evasion" else label in hit
            row = out.setdefault(label, {"planted": 0, "caught": 0})
            row["planted"] += 1
            row["caught"] += int(caught)
    for row in out.values():
        row["recall"] = round(row["caught"] / row["planted"], 4) if row["planted"] else None
    unlabelled = sum(1 for msgid in caught_by if msgid not in labels)
    return {"labels": dict(sorted(out.items())), "unlabelled_flagged": unlabelled}


def evaluate_labelled_set(rows: list[dict[str, Any]], rules: list[Rule]) -> dict[str, Any]:
    """Scores rules on a labelled set (``tests/data/evasion_set.jsonl``): a positive row is
    caught when its ``rule`` fires with its ``term`` among the matched terms; a negative
    row is a false hit when any rule fires on it. Returns recall, false-hit rate, per-kind
    counts and the rows that went wrong."""
    engine = RuleEngine([Rule.from_dict({**r.to_dict(), "enabled": True}) for r in rules])
    by_kind: dict[str, dict[str, int]] = {}
    failures: list[dict[str, Any]] = []
    caught = positives = false_hits = negatives = 0
    for i, row in enumerate(rows):
        message = Message(
            msgid=f"row{i}",
            seq=i,
            action="send",
            msgtype=row.get("msgtype", "text"),
            time_ms=0,
            sender="tester",
            sender_kind="employee",
            receivers=[],
            roomid="",
            chat_id=f"row{i}",
            chat_kind="external",
            text=row["text"],
            raw="",
        )
        found = engine.match(message)
        if row["expect"]:
            ok = any(v.rule_name == row["rule"] and row["term"] in v.terms for v in found)
            positives += 1
            caught += ok
        else:
            ok = not found
            negatives += 1
            false_hits += not ok
        counts = by_kind.setdefault(row["kind"], {"total": 0, "correct": 0})
        counts["total"] += 1
        counts["correct"] += ok
        if not ok:
            failures.append({**row, "fired": [(v.rule_name, v.terms) for v in found]})
    return {
        "positives": positives,
        "recall": round(caught / positives, 4) if positives else None,
        "negatives": negatives,
        "false_hit_rate": round(false_hits / negatives, 4) if negatives else None,
        "by_kind": by_kind,
        "failures": failures,
    }
