"""Compliance actions: the operations that show evidence or change supervision, each writing
exactly one audit entry. The dashboard pages and the CLI commands call these and never write
audit entries themselves.

- Who acts is an ``Archive`` (its actor, role, scope and, under ``--as``, the operator who runs
  the command on the account's behalf; every entry then records ``details.operator``).
- A refused attempt (the role lacks the permission, or the conversation or message is outside
  the account's scope) is audited too, with ``details.denied`` saying why, then refused.
- Viewing is audited once per (visit, account, conversation or message, reason): a page passes
  a ``visit`` token (the dashboard session's), so Streamlit's reruns of the same view write
  nothing new. Without a visit (one CLI command) every call is one view.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from analyzers.rules.model import Rule
from chatarchive.archive import Archive
from compliance import access, audit
from compliance import rulestore as rules_store
from compliance.accounts import get_account
from compliance.export import export_messages
from compliance.masking import masked_hits
from core.errors import BadInput, PermissionDenied
from core.models import Message, MessageFilter, Scope, SearchRequest, SearchResult, Violation, ViolationFilter
from reports import backtest as rule_backtest
from reports import review as review_store
from store.highlight import mark_ranges

MAX_REMEMBERED_VIEWS = 50_000  # per process; the oldest are forgotten first (then a view is audited again)

_views_lock = threading.Lock()
_audited_views: OrderedDict[str, None] = OrderedDict()


# --- the one place that writes -------------------------------------------------------------------


def record(
    archive: Archive, action: str, target: str, details: dict[str, Any] | None = None, reason: str = ""
) -> dict[str, Any]:
    """Appends one audit entry as ``archive``'s actor, with the operator when there is one."""
    body = dict(details or {})
    if archive.operator:
        body["operator"] = archive.operator
    return audit.record(archive.store, archive.actor, action, target, body, reason)


def deny(
    archive: Archive, action: str, target: str, why: str, message: str | None = None, reason: str = ""
) -> PermissionDenied:
    """Audits a refused attempt and returns the error to raise."""
    record(archive, action, target, {"denied": why}, reason)
    return PermissionDenied(message or f"{archive.actor} ({why})")


def require(archive: Archive, permission: str, action: str, target: str) -> None:
    """Raises ``PermissionDenied`` (audited) unless the archive's role grants ``permission``."""
    if not access.allowed(archive, permission):
        raise deny(archive, action, target, f"role {archive.role} may not {permission}")


# The audit action a refused use of a permission is recorded under (reads of the trail and of
# statistics are reads, like a search).
ATTEMPTED_ACTION = {
    access.VIEW: "view_conversation",
    access.SEARCH: "search",
    access.EXPORT: "export",
    access.REVIEW: "review",
    access.RULES: "rule_change",
    access.BACKTEST: "rule_change",
    access.ACCOUNTS: "account_change",
    access.SETTINGS: "settings_change",
    access.RETENTION: "settings_change",
    access.HOLDS: "hold_change",
    access.AUDIT: "search",
    access.STATS: "search",
}


def refuse_page(archive: Archive, permission: str, visit: str | None) -> None:
    """Audits an account opening a page its role does not allow (once per visit, not per rerun)."""
    why = f"role {archive.role} may not {permission}"
    _record_view_once(archive, visit, f"page:{permission}", {"denied": why}, "", action=ATTEMPTED_ACTION[permission])


def act_as(archive: Archive, name: str, action: str) -> Archive:
    """The archive as account ``name`` sees it, run by ``archive``'s actor (``--as NAME``).
    An unknown or disabled account is a refused (audited) attempt of ``action``."""
    account = get_account(archive.store, name)
    if account is None or account.get("disabled"):
        why = "no such account" if account is None else "the account is disabled"
        record(archive, action, f"as:{name}", {"denied": why, "as": name})
        raise BadInput(f"account {name!r} does not exist or is disabled")
    return archive.as_account(account["name"], account["role"], access.scope_for(account), operator=archive.actor)


def _view_key(
    visit: str, archive: Archive, action: str, target: str, details: dict[str, Any], reason: str, same_as: str
) -> str:
    """What makes a view the same view: the visit, who, what, why, and whether it was refused."""
    parts = [visit, archive.actor, archive.operator, action, target, reason, "denied" in details, same_as]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _record_view_once(
    archive: Archive,
    visit: str | None,
    target: str,
    details: dict[str, Any],
    reason: str,
    action: str = "view_conversation",
    same_as: str = "",
) -> None:
    """Writes the entry unless this visit already wrote the same view (always without a visit);
    ``same_as`` adds what else tells two views apart (a search's filters)."""
    if visit is None:
        record(archive, action, target, details, reason)
        return
    key = _view_key(visit, archive, action, target, details, reason, same_as)
    with _views_lock:
        if key in _audited_views:
            _audited_views.move_to_end(key)
            return
        _audited_views[key] = None
        if len(_audited_views) > MAX_REMEMBERED_VIEWS:
            _audited_views.popitem(last=False)
    try:
        record(archive, action, target, details, reason)
    except BaseException:
        with _views_lock:  # not written: the next run must try again
            _audited_views.pop(key, None)
        raise


# --- reading messages ------------------------------------------------------------------------


def search(archive: Archive, request: SearchRequest, *, visit: str | None = None) -> SearchResult:
    """A full-text search within the account's scope, audited with its query, filters and total:
    once per visit for the same query, filters and order (paging through it is the same search)."""
    require(archive, access.SEARCH, "search", request.query)
    result = archive.store.search(request, scope=archive.scope)
    filters = {k: v for k, v in vars(request.filters).items() if v}
    same_as = json.dumps([filters, request.sort], sort_keys=True, default=str)
    _record_view_once(
        archive, visit, request.query, {"total": result.total, "filters": filters}, "", action="search", same_as=same_as
    )
    return result


def _outside_scope(archive: Archive, filters: MessageFilter) -> bool:
    """Whether messages exist that the account's scope hides (a count, nothing is read)."""
    return not archive.scope.all and archive.store.count(filters, scope=Scope.everything()) > 0


def view_conversation(
    archive: Archive,
    chat_id: str,
    reason: str,
    *,
    visit: str | None = None,
    time_from: int | None = None,
    time_to: int | None = None,
    sort: str = "time_asc",
    limit: int = 100,
    offset: int = 0,
    details: dict[str, Any] | None = None,
) -> list[Message]:
    """The messages of one conversation the account may see (``limit`` from ``offset`` in
    ``sort`` order), after a reason; the view is audited once per visit."""
    require(archive, access.VIEW, "view_conversation", chat_id)
    reason = audit.require_reason(reason)
    filters = MessageFilter(chats=[chat_id], time_from=time_from, time_to=time_to)
    _, messages = archive.store.list_messages(filters, scope=archive.scope, sort=sort, limit=limit, offset=offset)
    if not messages and offset == 0 and _outside_scope(archive, filters):
        _record_view_once(archive, visit, chat_id, {"denied": "outside the account's scope"}, reason)
        raise PermissionDenied(f"conversation {chat_id} is outside your scope")
    _record_view_once(archive, visit, chat_id, {**(details or {}), "messages": len(messages)}, reason)
    return messages


def view_context(
    archive: Archive,
    msgid: str,
    reason: str,
    *,
    before: int = 10,
    after: int = 10,
    visit: str | None = None,
    reason_required: bool = True,
) -> list[Message]:
    """The conversation around one message, after a reason; audited once per visit. An unknown
    message and one outside the scope get the same answer (the audit trail tells them apart).
    ``reason_required=False`` only for ``chatarchive context``, whose contract has no reason."""
    require(archive, access.VIEW, "view_conversation", msgid)
    reason = audit.require_reason(reason) if reason_required or reason.strip() else ""
    messages = archive.store.context(msgid, before=before, after=after, scope=archive.scope)
    if not messages:
        if not archive.scope.all and archive.store.get_messages([msgid], scope=Scope.everything()):
            _record_view_once(archive, visit, msgid, {"denied": "outside the account's scope"}, reason)
        raise BadInput(f"no message {msgid!r} (or it is outside the scope)")
    _record_view_once(
        archive,
        visit,
        msgid,
        {"chat_id": messages[0].chat_id, "messages": len(messages), "before": before, "after": after},
        reason,
    )
    return messages


def export(
    archive: Archive,
    query: str,
    fmt: str,
    out: Path | str,
    reason: str,
    *,
    filters: MessageFilter | None = None,
    headers: str | Sequence[str] = "zh",
) -> dict[str, Any]:
    """Exports search results with a manifest; the export module writes its one audit entry.
    ``headers``: the heading row's language ("zh", "en") or the headings (``compliance.export.HEADERS``)."""
    require(archive, access.EXPORT, "export", str(out))
    reason = audit.require_reason(reason)
    return export_messages(
        archive, query, fmt, out, reason, operator=archive.operator, filters=filters, headers=headers
    )


# --- review decisions ------------------------------------------------------------------------


def _violation_in_scope(archive: Archive, violation_id: str, action: str) -> None:
    """Refuses (audited) a decision on a violation the account's scope does not show; an unknown
    violation is a ``BadInput``. Ids are ``msgid:rule_id`` (WeCom msgids hold no colon)."""
    filters = ViolationFilter(msgids=[violation_id.split(":", 1)[0]])

    def exists(scope: Scope) -> bool:
        _, found = archive.store.list_violations(filters, scope=scope, limit=1000)
        return any(v.id == violation_id for v in found)

    if exists(archive.scope):
        return
    if not exists(Scope.everything()):
        raise BadInput(f"no violation {violation_id!r}")
    raise deny(
        archive, action, violation_id, "outside the account's scope", f"violation {violation_id} is outside your scope"
    )


def review_violation(
    archive: Archive, violation_id: str, status: str, comment: str, *, assignee: str | None = None
) -> Violation:
    """A reviewer's decision on one violation (the review module writes the one audit entry)."""
    require(archive, access.REVIEW, "review", violation_id)
    _violation_in_scope(archive, violation_id, "review")
    return review_store.review_violation(
        archive.store, violation_id, status, comment, reviewer=archive.actor, assignee=assignee
    )


def assign_violation(archive: Archive, violation_id: str, assignee: str) -> Violation:
    require(archive, access.REVIEW, "review", violation_id)
    _violation_in_scope(archive, violation_id, "review")
    return review_store.assign_violation(archive.store, violation_id, assignee, actor=archive.actor)


def review_sample_item(archive: Archive, sample_id: str, chat_id: str, status: str, comment: str) -> dict[str, Any]:
    require(archive, access.REVIEW, "review", f"sample:{sample_id}:{chat_id}")
    return review_store.review_sample_item(archive.store, sample_id, chat_id, status, comment, reviewer=archive.actor)


# --- rule changes ----------------------------------------------------------------------------


def _record_rule_change(archive: Archive, rule: Rule, change: str, extra: dict[str, Any] | None = None) -> None:
    record(
        archive,
        "rule_change",
        rule.id,
        {"name": rule.name, "version": rule.version, "enabled": rule.enabled, "change": change, **(extra or {})},
    )


def save_rule(archive: Archive, rule_data: dict[str, Any] | Rule, *, directory: Any = None) -> Rule:
    """Creates or edits a rule (a new version). Saving unchanged content writes nothing."""
    name = rule_data.name if isinstance(rule_data, Rule) else str(rule_data.get("name") or rule_data.get("id") or "")
    require(archive, access.RULES, "rule_change", name)
    rule, changed = rules_store.save_rule_changed(archive.store, rule_data, archive.actor, directory=directory)
    if changed:
        _record_rule_change(archive, rule, "created" if rule.version == 1 else "edited", {"rule": rule.to_file_dict()})
    return rule


def save_rules(archive: Archive, items: Iterable[dict[str, Any] | Rule], *, directory: Any = None) -> list[Rule]:
    return [save_rule(archive, item, directory=directory) for item in items]


def set_rule_enabled(archive: Archive, rule_id: str, enabled: bool) -> Rule:
    require(archive, access.RULES, "rule_change", rule_id)
    data = rules_store.get_rule(archive.store, rule_id).to_dict()
    rule, changed = rules_store.save_rule_changed(archive.store, {**data, "enabled": enabled}, archive.actor)
    if changed:
        _record_rule_change(archive, rule, "enabled" if enabled else "disabled")
    return rule


def add_rule_exception(archive: Archive, rule_id: str, phrase: str, *, violation_id: str = "") -> Rule:
    """A false positive's context as an allow-list phrase of the rule (a new version): one
    ``rule_change`` entry naming the phrase and the violation it came from. Reviewers (from
    the violations page) and rule editors may do it."""
    if not (access.allowed(archive, access.RULES) or access.allowed(archive, access.REVIEW)):
        raise deny(archive, "rule_change", rule_id, f"role {archive.role} may not change rules")
    text = (phrase or "").strip()
    if not text:
        raise BadInput("the exception phrase is empty")
    current = rules_store.get_rule(archive.store, rule_id)
    if text in current.allow:
        return current
    rule, changed = rules_store.save_rule_changed(
        archive.store, {**current.to_dict(), "allow": [*current.allow, text]}, archive.actor
    )
    if changed:
        _record_rule_change(
            archive, rule, "exception", {"phrase": text, **({"violation": violation_id} if violation_id else {})}
        )
    return rule


def apply_rule_retroactively(
    archive: Archive, rule_id: str, time_from: int | None = None, time_to: int | None = None
) -> int:
    """Stores what a rule finds in the history within the account's scope; one entry with the count."""
    require(archive, access.RULES, "rule_change", rule_id)
    rule = rules_store.get_rule(archive.store, rule_id)
    stored = rule_backtest.apply_retroactively(archive.store, rule, archive.scope, time_from, time_to)
    _record_rule_change(
        archive, rule, "retroactive", {"violations": stored, "time_from": time_from, "time_to": time_to}
    )
    return stored


# --- backtests --------------------------------------------------------------------------------


def _may_show_texts(archive: Archive, target: str, reason: str) -> bool:
    """Whether sample texts may be shown: only with a reason (else masked, nothing audited),
    only to a role that may view messages (else refused and audited)."""
    if not reason.strip():
        return False
    if not access.allowed(archive, access.VIEW):
        raise deny(
            archive,
            "view_conversation",
            target,
            f"role {archive.role} may not view messages",
            f"your role ({archive.role}) may not view message texts; the samples stay masked",
            reason,
        )
    audit.require_reason(reason)
    return True


def backtest_rule(
    archive: Archive,
    rule: Rule,
    time_from: int | None = None,
    time_to: int | None = None,
    *,
    sample: int = 20,
    reason: str = "",
    visit: str | None = None,
    previous: Rule | None = None,
) -> dict[str, Any]:
    """What ``rule`` would have flagged in the account's scope: counts per day and samples with
    the rule's explanation, masked (only the matched words readable); with ``previous``, also
    ``diff``: the hits the edit gains and loses. With a reason, a role that may view messages
    sees the texts; showing them is one audit entry (once per visit) naming every message shown."""
    render, shown = backtest_render(archive, rule, reason)
    result = rule_backtest.backtest(
        archive.store,
        rule,
        archive.scope,
        time_from,
        time_to,
        sample=sample,
        timezone=archive.settings.timezone,
        render=render,
    )
    if previous is not None:
        result["diff"] = rule_backtest.diff_versions(
            archive.store, previous, rule, archive.scope, time_from, time_to, render=render
        )
    if shown:
        diff = result.get("diff") or {"gained": [], "lost": []}
        record_backtest_texts(archive, rule, result["sample"] + diff["gained"] + diff["lost"], reason, visit)
    return {**result, "texts_shown": shown}


def backtest_render(archive: Archive, rule: Rule, reason: str) -> tuple[Callable[[str, Any], str], bool]:
    """How this account's backtest samples are drawn: (renderer, texts shown). Masked (only the
    matched words readable) unless a role that may view messages gives a reason; a role that
    may not is refused, audited."""
    require(archive, access.BACKTEST, "rule_change", rule.id)
    shown = _may_show_texts(archive, f"backtest:{rule.id}", reason)
    return (mark_ranges if shown else masked_hits), shown


def record_backtest_texts(
    archive: Archive, rule: Rule, rows: list[dict[str, Any]], reason: str, visit: str | None
) -> None:
    """The one audit entry (once per visit) naming every message whose text a backtest showed."""
    msgids = sorted({str(h["msgid"]) for h in rows})
    _record_view_once(archive, visit, f"backtest:{rule.id}", {"msgids": msgids}, reason.strip())
