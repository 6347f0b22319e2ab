"""Rules as data in the store: the ``rules`` collection holds each rule's current version,
``rule_versions`` every version ever saved (``<id>@<version>``), so an auditor can see
which version of a rule flagged a message and what it said at the time.

Every change (an edit, disabling, enabling, an exception from a review) is a new version;
nothing is overwritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from analyzers.rules.engine import RuleEngine
from analyzers.rules.model import Rule, default_rule_id
from compliance.integrity import record_rule_version
from core import clock
from core.directory import Directory
from core.errors import BadInput, RuleError
from store.base import Store

logger = logging.getLogger(__name__)

RULES = "rules"
VERSIONS = "rule_versions"


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def save_rule(
    store: Store, rule_data: dict[str, Any] | Rule, actor: str, *, directory: Directory | None = None
) -> Rule:
    """Validates and saves a rule (see ``save_rule_changed``). Not audited: people change rules
    through ``chatarchive.actions``, which writes the one audit entry."""
    return save_rule_changed(store, rule_data, actor, directory=directory)[0]


def save_rule_changed(
    store: Store, rule_data: dict[str, Any] | Rule, actor: str, *, directory: Directory | None = None
) -> tuple[Rule, bool]:
    """Validates and saves a rule: a new rule gets version 1, an existing one (same ``id``,
    or same ``name`` when no id is given) a new version if anything changed (saving the same
    content again is a no-op: ``changed`` is False); the previous versions are kept."""
    data = rule_data.to_dict() if isinstance(rule_data, Rule) else dict(rule_data)
    data.pop("version", None)
    for k in ("created_by", "created_ms", "updated_by", "updated_ms"):
        data.pop(k, None)
    rule = Rule.from_dict(data, directory=directory)
    existing = None
    if data.get("id"):
        existing = store.get_record(RULES, rule.id)
    else:
        by_name = store.find_records(RULES, {"name": rule.name})
        if by_name:
            existing = by_name[0]
            rule.id = existing["id"]
        else:
            rule.id = default_rule_id(rule.name)
            existing = store.get_record(RULES, rule.id)
    clash = [r for r in store.find_records(RULES, {"name": rule.name}) if r["id"] != rule.id]
    if clash:
        raise RuleError(f"another rule ({clash[0]['id']}) is already called {rule.name!r}", "name")
    if existing and _content(Rule.from_dict(_strip(existing))) == _content(rule):
        return Rule.from_dict(_strip(existing)), False  # nothing changed: no new version
    now = clock.now_ms()
    if existing:
        rule.version = int(existing["version"]) + 1
        rule.created_by = existing.get("created_by", "")
        rule.created_ms = int(existing.get("created_ms", 0))
    else:
        rule.version = 1
        rule.created_by, rule.created_ms = actor, now
    rule.updated_by, rule.updated_ms = actor, now
    doc = rule.to_dict()
    # The version first: a crash in between leaves a version that is not current yet, never a
    # current rule whose version is missing from the history.
    store.put_record(VERSIONS, f"{rule.id}@{rule.version}", doc)
    record_rule_version(store, f"{rule.id}@{rule.version}", doc, actor=actor)
    store.put_record(RULES, rule.id, doc)
    logger.info("rule %s (%s) saved as version %d by %s", rule.id, rule.name, rule.version, actor)
    return rule, True


def _content(rule: Rule) -> dict[str, Any]:
    """What a rule says (its file form without id), to tell an edit from a repeated save."""
    d = rule.to_file_dict()
    d.pop("id", None)
    return d


def get_rule(store: Store, rule_id: str, version: int | None = None) -> Rule:
    """The rule's current version, or the given one. Unknown id/version → BadInput."""
    doc = store.get_record(RULES, rule_id) if version is None else store.get_record(VERSIONS, f"{rule_id}@{version}")
    if doc is None:
        what = f"rule {rule_id!r}" + (f" version {version}" if version is not None else "")
        raise BadInput(f"{what} does not exist")
    return Rule.from_dict(_strip(doc))


def list_rules(store: Store, enabled_only: bool = False) -> list[Rule]:
    """Every rule's current version, by name."""
    docs = store.find_records(RULES, {"enabled": True} if enabled_only else None)
    rules = [Rule.from_dict(_strip(d)) for d in docs]
    return sorted(rules, key=lambda r: (r.name, r.id))


def rule_history(store: Store, rule_id: str) -> list[Rule]:
    """Every version of a rule, oldest first."""
    docs = store.find_records(VERSIONS, {"id": rule_id})
    if not docs:
        raise BadInput(f"rule {rule_id!r} does not exist")
    return sorted((Rule.from_dict(_strip(d)) for d in docs), key=lambda r: r.version)


def _edit(store: Store, rule_id: str, actor: str, **changes: Any) -> Rule:
    data = get_rule(store, rule_id).to_dict()
    data.update(changes)
    return save_rule(store, data, actor)


def disable_rule(store: Store, rule_id: str, actor: str) -> Rule:
    return _edit(store, rule_id, actor, enabled=False)


def enable_rule(store: Store, rule_id: str, actor: str) -> Rule:
    return _edit(store, rule_id, actor, enabled=True)


def add_exception(store: Store, rule_id: str, phrase: str, actor: str) -> Rule:
    """A reviewer's false-positive verdict as an allow-list phrase, in one step (a new
    version): e.g. the hit 保本 in 保本型存款 → allow 保本型存款."""
    if not isinstance(phrase, str) or not phrase.strip():
        raise RuleError("the exception phrase is empty", "allow")
    rule = get_rule(store, rule_id)
    if phrase.strip() in rule.allow:
        return rule
    return _edit(store, rule_id, actor, allow=[*rule.allow, phrase.strip()])


def rules_fingerprint(store: Store) -> str:
    """Changes whenever the set of enabled rules or any of their versions changes: the
    pipeline rebuilds its ``RuleEngine`` when it differs from the one it built with."""
    docs = store.find_records(RULES)
    key = sorted((d["id"], int(d["version"]), bool(d.get("enabled", True))) for d in docs)
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]


def engine_from_store(
    store: Store, directory: Directory | None = None, previous: RuleEngine | None = None
) -> RuleEngine:
    """A rule engine for the enabled rules' current versions. Pass the engine being replaced
    as ``previous`` so open violation groups continue across the rebuild."""
    groups = previous.groups if previous is not None else {}
    return RuleEngine(list_rules(store, enabled_only=True), directory, groups=groups)
