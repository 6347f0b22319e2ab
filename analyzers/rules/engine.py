"""The rule engine: which enabled rules a message violates, and where.

A message is normalized once (``normalize_fast``) and scanned once by one automaton
holding every rule's keywords, allow-list phrases, exclusions and proximity terms. Only
the rules whose patterns occurred (plus the few with regular expressions or behaviours)
are then verified, so the cost barely grows with the number of rules.

Semantics of one rule on one message (``tests/test_rules_engine.py`` checks them against
a brute-force reference):

- preconditions: ``msgtypes``, ``direction``, ``chat_kinds`` and ``scope`` (departments,
  sub-departments included through ``message.departments``, or users through
  ``message.employees``) must all allow the message, else the rule is silent;
- ``exclude``: if the normalized text contains an exclusion, the rule is silent;
- a keyword occurrence inside an occurrence of an ``allow`` phrase does not count;
  ``word`` keywords count only when they start and end on jieba word boundaries of the
  normalized text (大麻 is not in 大麻烦, 口交 not in 路口交通); latin forms (pinyin,
  English) only when not glued to other latin letters or digits in the original; an
  occurrence with dropped characters inside (回-扣) only when it starts or ends on a jieba
  word boundary of the original text (not 返回，扣款: inside words at both ends);
- the rule fires when any of these holds: at least ``require`` distinct keywords occur
  (any = 1, all = every keyword), a ``near`` clause holds (all its terms within a window
  holding at most ``within`` other characters), a ``regex`` matches the original text,
  or one of its ``behaviours`` is present (a message type, or a personal-data detector).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from analyzers.chinese import get_analyzer
from analyzers.rules.detectors import PII_KINDS, Detection, detect
from analyzers.rules.matcher import PatternMatcher
from analyzers.rules.model import MSGTYPE_BEHAVIOURS, Rule, check_regex
from analyzers.rules.normalize import normalize_fast, normalize_for_rules, original_span, pinyin_text, pinyin_view
from analyzers.rules.regex import RulePattern, prefilter
from analyzers.textfold import fold
from core.directory import Directory
from core.models import Message, Violation

logger = logging.getLogger(__name__)

DEFAULT_GROUP_WINDOW_MS = 30 * 60 * 1000


class Role(IntEnum):
    """What a pattern is to its rule."""

    KEYWORD = 0
    ALLOW = 1  # an allow-list phrase: keyword occurrences inside it do not count
    EXCLUDE = 2  # an exclusion: its presence silences the rule
    NEAR = 3  # a term of a proximity clause


class PatternRole(NamedTuple):
    """One use of an automaton pattern: rule ``rule``'s ``item``-th keyword/phrase/near clause
    (``sub``: the term within a near clause)."""

    rule: int
    role: Role
    item: int
    sub: int


class Hit(NamedTuple):
    """An occurrence of a pattern in the normalized text, in the role it plays for one rule."""

    role: Role
    item: int
    sub: int
    start: int
    end: int
    pattern: int


@dataclass
class _Evidence:
    """What a rule found in a message: its terms, their spans in the original and notes on
    evasions (``回扣→回-扣``)."""

    terms: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_term(self, term: str) -> None:
        if term not in self.terms:
            self.terms.append(term)


_LATIN = re.compile(r"[a-z0-9]")
_HAS_LATIN = re.compile(r"[a-z]")


@dataclass
class _Compiled:
    rule: Rule
    regexes: list[RulePattern]
    msgtype_behaviours: frozenset[str]
    pii_behaviours: frozenset[str]
    scope_departments: frozenset[int]
    scope_users: frozenset[str]
    msgtypes: frozenset[str]
    chat_kinds: frozenset[str]

    def allows(self, m: Message) -> bool:
        r = self.rule
        if self.msgtypes and m.msgtype not in self.msgtypes:
            return False
        if r.direction != "any" and m.direction != r.direction:
            return False
        if self.chat_kinds and m.chat_kind not in self.chat_kinds:
            return False
        if self.scope_departments or self.scope_users:
            if not (self.scope_departments.intersection(m.departments) or self.scope_users.intersection(m.employees)):
                return False
        return True


@dataclass
class _Occurrence:
    start: int  # normalized offsets
    end: int
    form: str


@dataclass
class _MessageView:
    """What the verification of several rules on one message shares (computed lazily)."""

    message: Message
    normalized: str
    _offsets: list[int] | None = None
    _folded: str | None = None
    _boundaries: set[int] | None = None
    _original_boundaries: set[int] | None = None
    _detections: list[Detection] | None = None

    @property
    def offsets(self) -> list[int]:
        if self._offsets is None:
            self._offsets = normalize_for_rules(self.message.text or "")[1]
        return self._offsets

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded = fold(self.message.text or "")
        return self._folded

    @property
    def boundaries(self) -> set[int]:
        if self._boundaries is None:
            b = {0, len(self.normalized)}
            for _w, s, e in get_analyzer().spans(self.normalized):
                b.add(s)
                b.add(e)
            self._boundaries = b
        return self._boundaries

    @property
    def original_boundaries(self) -> set[int]:
        if self._original_boundaries is None:
            text = self.message.text or ""
            b = {0, len(text)}
            for _w, s, e in get_analyzer().spans(text):
                b.add(s)
                b.add(e)
            self._original_boundaries = b
        return self._original_boundaries

    def split_ok(self, start: int, end: int) -> bool:
        """A hit written with characters dropped inside it (回-扣, 回。扣) must not both start
        and end inside words of the original text: 返回，扣款 holds 回扣 only across a comma,
        from inside 返回 to inside 扣款, and is no evasion. (One edge inside a word is
        allowed: jieba often glues an evasively spelled keyword's last character to the next
        word, as in 转/我/个/人/账/户聊.)"""
        s, e = self.span(start, end)
        if e - s == end - start:
            return True
        return s in self.original_boundaries or e in self.original_boundaries

    def detections(self, kinds: frozenset[str]) -> list[Detection]:
        if self._detections is None:
            self._detections = detect(self.message.text or "", PII_KINDS)
        return [d for d in self._detections if d.kind in kinds]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return original_span(self.offsets, start, end)

    def latin_ok(self, start: int, end: int) -> bool:
        """A hit whose edge is written in latin letters must not be glued to other latin
        letters or digits in the original (sb is not in "usb", huikou not in "chuikoul")."""
        s, e = self.span(start, end)
        text = self.folded
        if _is_latin(text[s]) and s > 0 and _is_latin(text[s - 1]):
            return False
        if _is_latin(text[e - 1]) and e < len(text) and _is_latin(text[e]):
            return False
        return True


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass
class RuleEngine:
    """Compiled rules. ``match(message)`` / ``match_batch(messages)`` return violations."""

    rules: list[Rule]
    directory: Directory | None = None
    group_window_ms: int = DEFAULT_GROUP_WINDOW_MS
    groups: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # open groups, see _assign_groups
    _compiled: list[_Compiled] = field(init=False, default_factory=list)
    _roles: list[list[PatternRole]] = field(init=False, default_factory=list)
    _always: list[int] = field(init=False, default_factory=list)  # rules with regexes
    _by_msgtype: dict[str, list[int]] = field(init=False, default_factory=dict)
    _pii_rules: list[int] = field(init=False, default_factory=list)
    _pii_kinds: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        self.rules = [r for r in self.rules if r.enabled]
        self._warn_unknown_scope()
        patterns: dict[str, list[PatternRole]] = {}
        pinyin_patterns: dict[str, list[PatternRole]] = {}

        def add(form: str, ri: int, role: Role, item: int, sub: int = 0) -> None:
            patterns.setdefault(form, []).append(PatternRole(ri, role, item, sub))

        for ri, rule in enumerate(self.rules):
            for ki, kw in enumerate(rule.keywords):
                add(kw.normalized, ri, Role.KEYWORD, ki)
                for form in kw.forms()[1:]:  # pinyin: matched on the pinyin view, see _match_one
                    pinyin_patterns.setdefault(form, []).append(PatternRole(ri, Role.KEYWORD, ki, 0))
            for ai, phrase in enumerate(rule.allow):
                add(normalize_fast(phrase), ri, Role.ALLOW, ai)
            for ei, phrase in enumerate(rule.exclude):
                add(normalize_fast(phrase), ri, Role.EXCLUDE, ei)
            for ni, near in enumerate(rule.near):
                for ti, term in enumerate(near.terms):
                    add(normalize_fast(term), ri, Role.NEAR, ni, ti)
            pii = frozenset(b for b in rule.behaviours if b in PII_KINDS)
            compiled = _Compiled(
                rule=rule,
                regexes=[check_regex(p) for p in rule.regex],
                msgtype_behaviours=frozenset(b for b in rule.behaviours if b in MSGTYPE_BEHAVIOURS),
                pii_behaviours=pii,
                scope_departments=frozenset(rule.scope_departments),
                scope_users=frozenset(rule.scope_users),
                msgtypes=frozenset(rule.msgtypes),
                chat_kinds=frozenset(rule.chat_kinds),
            )
            self._compiled.append(compiled)
            # Rules that do not depend on the automaton, indexed by what can make them fire.
            if rule.regex:
                self._always.append(ri)
            for b in compiled.msgtype_behaviours:
                self._by_msgtype.setdefault(b, []).append(ri)
            if compiled.pii_behaviours:
                self._pii_rules.append(ri)
                self._pii_kinds |= compiled.pii_behaviours
        prefilter([p for c in self._compiled for p in c.regexes])  # one RE2 scan per message for all regexes
        self.matcher = PatternMatcher(patterns)
        self.pinyin_matcher = PatternMatcher(pinyin_patterns)
        # One id space for both automata: pinyin pattern ids follow the plain ones.
        self._forms = self.matcher.patterns + self.pinyin_matcher.patterns
        self._roles = [patterns[p] for p in self.matcher.patterns] + [
            pinyin_patterns[p] for p in self.pinyin_matcher.patterns
        ]
        self._has_pinyin = len(self.pinyin_matcher) > 0
        self._find = self.matcher.find
        logger.info("rule engine: %d rules, %d patterns", len(self.rules), len(self.matcher))

    def _warn_unknown_scope(self) -> None:
        if self.directory is None or not getattr(self.directory, "departments", None):
            return
        known = {int(d["id"]) for d in self.directory.departments}
        for r in self.rules:
            missing = [d for d in r.scope_departments if d not in known]
            if missing:
                logger.warning("rule %s (%s) names departments no longer in the directory: %s", r.id, r.name, missing)

    # ------------------------------------------------------------------ matching
    def match(self, message: Message) -> list[Violation]:
        """The violations of one message (group keys assigned against earlier calls)."""
        found = self._match_one(message)
        self._assign_groups(found)
        return found

    def match_batch(self, messages: Iterable[Message]) -> list[Violation]:
        """The violations of many messages; group keys assigned in time order."""
        found: list[Violation] = []
        for m in messages:
            found.extend(self._match_one(m))
        found.sort(key=lambda v: v.time_ms)
        self._assign_groups(found)
        return found

    def _match_one(self, message: Message) -> list[Violation]:
        text = message.text or ""
        normalized = normalize_fast(text)
        hits = self._find(normalized) if normalized else []
        if self._has_pinyin and _HAS_LATIN.search(normalized):
            hits = hits + self._pinyin_hits(normalized)
        candidates: set[int] = set(self._always)
        by_type = self._by_msgtype.get(message.msgtype)
        if by_type:
            candidates.update(by_type)
        if self._pii_rules and _may_hold_pii(text, self._pii_kinds):
            candidates.update(self._pii_rules)
        if not hits and not candidates:
            return []  # the common case: nothing to verify
        by_rule: dict[int, list[Hit]] = {}
        roles = self._roles
        for start, end, pid in hits:
            for ri, role, item, sub in roles[pid]:
                by_rule.setdefault(ri, []).append(Hit(role, item, sub, start, end, pid))
        candidates.update(ri for ri, hs in by_rule.items() if any(h.role in (Role.KEYWORD, Role.NEAR) for h in hs))
        if not candidates:
            return []
        view = _MessageView(message, normalized)
        out: list[Violation] = []
        for ri in sorted(candidates):
            compiled = self._compiled[ri]
            if not compiled.allows(message):
                continue
            v = self._verify(compiled, view, by_rule.get(ri, []))
            if v is not None:
                out.append(v)
        return out

    def _pinyin_hits(self, normalized: str) -> list[tuple[int, int, int]]:
        """Pinyin keyword hits on the pinyin view, as normalized offsets. A hit must cover
        at least one character written in latin letters: homophones written in Chinese
        characters (报本 for 保本) are not evasions."""
        found = self.pinyin_matcher.find(pinyin_text(normalized))
        if not found:
            return []
        view, offsets = pinyin_view(normalized)
        base = len(self.matcher)
        out = []
        for start, end, pid in found:
            s, e = offsets[start], offsets[end - 1] + 1
            if start > 0 and offsets[start] == offsets[start - 1]:
                continue  # starts inside one character's pinyin
            if end < len(view) and offsets[end] == offsets[end - 1]:
                continue  # ends inside one character's pinyin
            if _HAS_LATIN.search(normalized, s, e):
                out.append((s, e, base + pid))
        return out

    def _verify(self, c: _Compiled, view: _MessageView, hits: list[Hit]) -> Violation | None:
        """The rule's violation in this message, if any: silenced by an exclusion, else the
        evidence of its four kinds of trigger (keywords, proximity, regexes, behaviours)."""
        if any(h.role == Role.EXCLUDE for h in hits):
            return None
        allowed = [(h.start, h.end) for h in hits if h.role == Role.ALLOW]
        evidence = _Evidence()
        self._keywords(c, view, hits, allowed, evidence)
        self._proximity(c, view, hits, allowed, evidence)
        _regexes(c, view, evidence)
        _behaviours(c, view, evidence)
        return _violation(c.rule, view.message, evidence) if evidence.terms else None

    def _counts(self, view: _MessageView, allowed: list[tuple[int, int]], hit: Hit, word_mode: bool) -> bool:
        """Whether an occurrence counts: outside allow-listed phrases, on word boundaries in
        word mode, not split inside words, latin edges not glued to other latin letters."""
        start, end, form = hit.start, hit.end, self._forms[hit.pattern]
        if any(a <= start and end <= b for a, b in allowed):
            return False
        if word_mode and not (start in view.boundaries and end in view.boundaries):
            return False
        if not view.split_ok(start, end):
            return False
        return not ((_LATIN.match(form[0]) or _LATIN.match(form[-1])) and not view.latin_ok(start, end))

    def _keywords(
        self, c: _Compiled, view: _MessageView, hits: list[Hit], allowed: list[tuple[int, int]], evidence: _Evidence
    ) -> None:
        """Step 1: at least ``require`` distinct keywords occur."""
        rule = c.rule
        occurrences: dict[int, list[_Occurrence]] = {}
        for hit in hits:
            if hit.role == Role.KEYWORD and self._counts(view, allowed, hit, rule.keywords[hit.item].match == "word"):
                occurrences.setdefault(hit.item, []).append(_Occurrence(hit.start, hit.end, self._forms[hit.pattern]))
        if not rule.keywords or len(occurrences) < rule.required_count:
            return
        for item in sorted(occurrences):
            kw = rule.keywords[item]
            evidence.terms.append(kw.term)
            for occ in occurrences[item]:
                s, e = view.span(occ.start, occ.end)
                evidence.spans.append((s, e))
                written = (view.message.text or "")[s:e]
                if written != kw.term and f"{kw.term}→{written}" not in evidence.notes:
                    evidence.notes.append(f"{kw.term}→{written}")

    def _proximity(
        self, c: _Compiled, view: _MessageView, hits: list[Hit], allowed: list[tuple[int, int]], evidence: _Evidence
    ) -> None:
        """Step 2: every term of a near clause within its window."""
        for ni, near in enumerate(c.rule.near):
            per_term: list[list[tuple[int, int]]] = [[] for _ in near.terms]
            for hit in hits:
                if hit.role == Role.NEAR and hit.item == ni and self._counts(view, allowed, hit, False):
                    per_term[hit.sub].append((hit.start, hit.end))
            best = _near_window(per_term, near.within)
            if best is not None:
                for t, (s, e) in zip(near.terms, best):
                    evidence.add_term(t)
                    evidence.spans.append(view.span(s, e))

    # ------------------------------------------------------------------ grouping
    def _assign_groups(self, violations: list[Violation]) -> None:
        """Hits of one rule in one conversation less than the window apart share a group."""
        for v in violations:
            key = (v.rule_id, v.chat_id)
            start, last = self.groups.get(key, (None, None))
            if start is None or abs(v.time_ms - last) > self.group_window_ms:
                start = v.time_ms
            self.groups[key] = (start, max(v.time_ms, last or v.time_ms))
            v.group_key = f"{v.rule_id}|{v.chat_id}|{start}"
        if len(self.groups) > 100_000:  # keep memory bounded on a long-running pipeline
            newest = max(last for _s, last in self.groups.values())
            self.groups = {k: g for k, g in self.groups.items() if newest - g[1] <= self.group_window_ms}


_NOT_DIGITS = re.compile(r"[^0-9\uff10-\uff19]+")
_CHINESE_DIGIT_RUN = re.compile(r"[〇零一幺二两三四五六七八九0-9]{7}")


def _regexes(c: _Compiled, view: _MessageView, evidence: _Evidence) -> None:
    """Step 3: regular expressions, on the width/case-folded original (so offsets are original offsets)."""
    for pattern, compiled in zip(c.rule.regex, c.regexes):
        found = compiled.spans(view.folded)
        if found:
            evidence.terms.append(f"regex:{pattern}")
            evidence.spans.extend(found)


def _behaviours(c: _Compiled, view: _MessageView, evidence: _Evidence) -> None:
    """Step 4: behaviours: a message type, or personal data a detector finds."""
    msgtype = view.message.msgtype
    if msgtype in c.msgtype_behaviours:
        evidence.terms.append(f"msgtype:{msgtype}")
    if c.pii_behaviours:
        for d in view.detections(c.pii_behaviours):
            evidence.add_term(d.kind)
            evidence.spans.append((d.start, d.end))


def _violation(rule: Rule, m: Message, evidence: _Evidence) -> Violation:
    return Violation(
        msgid=m.msgid,
        rule_id=rule.id,
        rule_version=rule.version,
        rule_name=rule.name,
        category=rule.category,
        severity=rule.severity,
        terms=evidence.terms,
        spans=[[s, e] for s, e in sorted(set(evidence.spans))],
        time_ms=m.time_ms,
        sender=m.sender,
        chat_id=m.chat_id,
        chat_kind=m.chat_kind,
        employees=list(m.employees),
        departments=list(m.departments),
        explanation=_explain(rule, evidence.terms, evidence.notes),
    )


def _may_hold_pii(text: str, kinds: frozenset[str]) -> bool:
    """A cheap pre-check before the detectors: numbers need at least 11 digits, e-mail an
    @, URLs a dot (full-width forms included)."""
    if kinds & {"phone", "idcard", "bankcard"}:
        if len(_NOT_DIGITS.sub("", text)) >= 11:
            return True
        if _CHINESE_DIGIT_RUN.search(text):
            return True
    if "email" in kinds and ("@" in text or "\uff20" in text):
        return True
    return "url" in kinds and ("." in text or "\uff0e" in text)


def _near_window(per_term: list[list[tuple[int, int]]], within: int) -> tuple[tuple[int, int], ...] | None:
    """Occurrences of every term lying in a window with at most ``within`` other characters."""
    if any(not occ for occ in per_term):
        return None
    best = None
    for combo in itertools.islice(itertools.product(*per_term), 10_000):
        window = max(e for _s, e in combo) - min(s for s, _e in combo)
        other = window - sum(e - s for s, e in combo)
        if other <= within and (best is None or window < best[0]):
            best = (window, combo)
    return best[1] if best else None


def _explain(rule: Rule, terms: list[str], notes: list[str]) -> str:
    text = f"Rule “{rule.name}” (v{rule.version}, {rule.severity}) matched {', '.join(terms)}"
    if notes:
        text += f"; written evasively as {', '.join(notes)}"
    return text + "."
