"""The rule record: every field of the contract's rule file, validated, plus bookkeeping.

``Rule.from_dict`` is the only way in: it rejects unknown fields, bad values, invalid or
dangerous regular expressions and rules that cannot match anything, with a ``RuleError``
naming the field. Keywords become ``Keyword`` objects whose normalized forms (the
evasion normalization of ``analyzers.rules.normalize``) are what the engine matches; the
Elasticsearch percolator reads them through ``normalized_keywords()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from analyzers.rules.normalize import normalize_fast
from analyzers.rules.regex import RulePattern, compile_rule_regex
from core.directory import Directory
from core.errors import RuleError

SEVERITIES = ("low", "medium", "high")
MATCH_MODES = ("substring", "word")
DIRECTIONS = ("any", "employee", "customer")
CHAT_KINDS = ("internal", "external", "group")
MSGTYPE_BEHAVIOURS = ("redpacket", "external_redpacket", "file", "card", "weapp", "revoke")
PII_BEHAVIOURS = ("phone", "idcard", "bankcard", "email", "url")
BEHAVIOURS = MSGTYPE_BEHAVIOURS + PII_BEHAVIOURS

MAX_TERM_LENGTH = 100
MAX_NEAR_WITHIN = 500

# The fields a rule file may hold (the contract) and those the store adds.
FILE_FIELDS = frozenset(
    {
        "name",
        "category",
        "severity",
        "keywords",
        "require",
        "match",
        "exclude",
        "allow",
        "near",
        "regex",
        "behaviours",
        "msgtypes",
        "direction",
        "chat_kinds",
        "scope",
        "pinyin",
        "enabled",
        "description",
    }
)
STORE_FIELDS = frozenset({"id", "version", "created_by", "created_ms", "updated_by", "updated_ms"})


@dataclass(frozen=True)
class Keyword:
    term: str  # as the rule author wrote it
    match: str = "substring"  # substring | word (the hit must start and end on jieba word boundaries)
    pinyin: bool = False  # also match the term's toneless pinyin (huikou, hui kou)

    @property
    def normalized(self) -> str:
        return normalize_fast(self.term)

    def forms(self) -> list[str]:
        """The normalized strings that count as this keyword (itself, and its pinyin if asked)."""
        out = [self.normalized]
        if self.pinyin:
            p = pinyin_form(self.term)
            if p and p not in out:
                out.append(p)
        return out

    def to_data(self, default_match: str = "substring", default_pinyin: bool = False) -> str | dict[str, Any]:
        """A plain string when the keyword follows the rule's defaults, else an object."""
        if self.match == default_match and self.pinyin == default_pinyin:
            return self.term
        d: dict[str, Any] = {"term": self.term}
        if self.match != default_match:
            d["match"] = self.match
        if self.pinyin != default_pinyin:
            d["pinyin"] = self.pinyin
        return d


def pinyin_form(term: str) -> str:
    """The toneless pinyin of a term's Chinese characters, normalized (回扣 → huikou)."""
    from pypinyin import lazy_pinyin

    if not any("\u4e00" <= c <= "\u9fff" for c in term):
        return ""
    return normalize_fast("".join(lazy_pinyin(term)))


@dataclass(frozen=True)
class Near:
    terms: tuple[str, ...]
    within: int  # at most this many other normalized characters inside the window holding all terms


@dataclass
class Rule:
    name: str
    id: str = ""
    version: int = 0
    category: str = ""
    description: str = ""
    severity: str = "medium"
    keywords: list[Keyword] = field(default_factory=list)
    require: str | int = "any"
    match: str = "substring"
    exclude: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    near: list[Near] = field(default_factory=list)
    regex: list[str] = field(default_factory=list)
    behaviours: list[str] = field(default_factory=list)
    msgtypes: list[str] = field(default_factory=list)
    direction: str = "any"
    chat_kinds: list[str] = field(default_factory=list)
    scope_departments: list[int] = field(default_factory=list)
    scope_users: list[str] = field(default_factory=list)
    pinyin: bool = False
    enabled: bool = True
    created_by: str = ""
    created_ms: int = 0
    updated_by: str = ""
    updated_ms: int = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Any, *, directory: Directory | None = None) -> Rule:
        """Validates a rule object from a file or the store. ``directory`` (an
        ``core.directory.Directory``), when given, checks the scope's departments/users."""
        if not isinstance(data, dict):
            raise RuleError(f"a rule must be an object, not {type(data).__name__}")
        unknown = sorted(set(data) - FILE_FIELDS - STORE_FIELDS)
        if unknown:
            raise RuleError(f"unknown field (allowed: {', '.join(sorted(FILE_FIELDS))})", unknown[0])
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RuleError("required, a non-empty string", "name")
        rule = cls(name=name.strip())
        rule.id = _opt_str(data, "id")
        rule.version = _opt_int(data, "version", 0)
        rule.category = _opt_str(data, "category")
        rule.description = _opt_str(data, "description")
        rule.severity = _choice(data, "severity", SEVERITIES, "medium")
        rule.match = _choice(data, "match", MATCH_MODES, "substring")
        rule.pinyin = _opt_bool(data, "pinyin", False)
        rule.enabled = _opt_bool(data, "enabled", True)
        rule.keywords = _keywords(data.get("keywords"), rule.match, rule.pinyin)
        rule.require = _require(data.get("require", "any"), len(rule.keywords))
        rule.exclude = _phrases(data, "exclude")
        rule.allow = _phrases(data, "allow")
        rule.near = _near(data.get("near"))
        rule.regex = _regexes(data.get("regex"))
        rule.behaviours = _str_list(data, "behaviours", BEHAVIOURS)
        rule.msgtypes = _str_list(data, "msgtypes")
        rule.direction = _choice(data, "direction", DIRECTIONS, "any")
        rule.chat_kinds = _str_list(data, "chat_kinds", CHAT_KINDS)
        rule.scope_departments, rule.scope_users = _scope(data.get("scope"), directory)
        for k in ("created_by", "updated_by"):
            setattr(rule, k, _opt_str(data, k))
        for k in ("created_ms", "updated_ms"):
            setattr(rule, k, _opt_int(data, k, 0))
        if not (rule.keywords or rule.near or rule.regex or rule.behaviours):
            raise RuleError("nothing to match: give keywords, near, regex or behaviours", "keywords")
        if not rule.id:
            rule.id = default_rule_id(rule.name)
        return rule

    def to_dict(self) -> dict[str, Any]:
        """The rule as data (a rule file entry plus bookkeeping); ``from_dict`` reads it back."""
        d: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "category": self.category,
            "severity": self.severity,
            "keywords": [k.to_data(self.match, self.pinyin) for k in self.keywords],
            "require": self.require,
            "match": self.match,
            "exclude": list(self.exclude),
            "allow": list(self.allow),
            "near": [{"terms": list(n.terms), "within": n.within} for n in self.near],
            "regex": list(self.regex),
            "behaviours": list(self.behaviours),
            "msgtypes": list(self.msgtypes),
            "direction": self.direction,
            "chat_kinds": list(self.chat_kinds),
            "scope": {"departments": list(self.scope_departments), "users": list(self.scope_users)},
            "pinyin": self.pinyin,
            "enabled": self.enabled,
            "created_by": self.created_by,
            "created_ms": self.created_ms,
            "updated_by": self.updated_by,
            "updated_ms": self.updated_ms,
        }
        if self.description:
            d["description"] = self.description
        return d

    def to_file_dict(self) -> dict[str, Any]:
        """The rule as a rule file entry (export): the contract's fields only, no bookkeeping."""
        d = self.to_dict()
        for k in STORE_FIELDS - {"id"}:
            d.pop(k, None)
        return d

    # ------------------------------------------------------------------ derived
    def normalized_keywords(self) -> list[dict[str, Any]]:
        """Each keyword's normalized forms (the percolator indexes these):
        ``[{"term": 回扣, "forms": ["回扣", "huikou"], "match": "substring"}]``."""
        return [{"term": k.term, "forms": k.forms(), "match": k.match} for k in self.keywords]

    @property
    def required_count(self) -> int:
        """How many distinct keywords must hit (``require`` as a number)."""
        if self.require == "any":
            return 1
        if self.require == "all":
            return len(self.keywords)
        return int(self.require)

    @property
    def has_text_conditions(self) -> bool:
        return bool(self.keywords or self.near or self.regex)


def default_rule_id(name: str) -> str:
    """A stable id from the name, so adding the same rule file twice edits, not duplicates."""
    return "r" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


# ---------------------------------------------------------------------- field parsers
def _opt_str(data: dict[str, Any], key: str) -> str:
    v = data.get(key, "")
    if v is None:
        return ""
    if not isinstance(v, str):
        raise RuleError("must be a string", key)
    return v.strip()


def _opt_int(data: dict[str, Any], key: str, default: int) -> int:
    v = data.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise RuleError("must be an integer", key)
    return v


def _opt_bool(data: dict[str, Any], key: str, default: bool) -> bool:
    v = data.get(key, default)
    if not isinstance(v, bool):
        raise RuleError("must be true or false", key)
    return v


def _choice(data: dict[str, Any], key: str, allowed: Iterable[str], default: str) -> str:
    v = data.get(key, default)
    allowed = tuple(allowed)
    if v not in allowed:
        raise RuleError(f"must be one of {', '.join(allowed)}, not {v!r}", key)
    return v


def _check_term(term: Any, key: str) -> str:
    if not isinstance(term, str) or not term.strip():
        raise RuleError("entries must be non-empty strings", key)
    term = term.strip()
    if len(term) > MAX_TERM_LENGTH:
        raise RuleError(f"{term[:20]!r}… is longer than {MAX_TERM_LENGTH} characters", key)
    if not normalize_fast(term):
        raise RuleError(f"{term!r} has no letters or digits, so it can never match", key)
    return term


def _phrases(data: dict[str, Any], key: str) -> list[str]:
    v = data.get(key) or []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise RuleError("must be a list of strings", key)
    out: list[str] = []
    for t in v:
        t = _check_term(t, key)
        if t not in out:
            out.append(t)
    return out


def _keywords(v: Any, default_match: str, default_pinyin: bool) -> list[Keyword]:
    if v is None:
        return []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise RuleError("must be a list of strings or {term, match, pinyin} objects", "keywords")
    out: list[Keyword] = []
    seen: set[str] = set()
    for item in v:
        if isinstance(item, dict):
            unknown = set(item) - {"term", "match", "pinyin"}
            if unknown:
                raise RuleError(
                    f"unknown keyword field {sorted(unknown)[0]!r} (allowed: term, match, pinyin)", "keywords"
                )
            term = _check_term(item.get("term"), "keywords")
            match = item.get("match", default_match)
            if match not in MATCH_MODES:
                raise RuleError(f"match must be substring or word, not {match!r}", "keywords")
            py = item.get("pinyin", default_pinyin)
            if not isinstance(py, bool):
                raise RuleError("pinyin must be true or false", "keywords")
            kw = Keyword(term, match, py)
        else:
            kw = Keyword(_check_term(item, "keywords"), default_match, default_pinyin)
        if kw.term not in seen:
            seen.add(kw.term)
            out.append(kw)
    return out


def _require(v: Any, n_keywords: int) -> str | int:
    if v in ("any", "all"):
        return v
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise RuleError(f"must be any, all or a number, not {v!r}", "require")
    if v < 1 or (n_keywords and v > n_keywords):
        raise RuleError(f"must be between 1 and the number of keywords ({n_keywords}), not {v}", "require")
    return v


def _near(v: Any) -> list[Near]:
    if not v:
        return []
    if not isinstance(v, list):
        raise RuleError("must be a list of {terms: [...], within: N}", "near")
    out: list[Near] = []
    for item in v:
        if not isinstance(item, dict) or set(item) - {"terms", "within"}:
            raise RuleError("each entry must be {terms: [...], within: N}", "near")
        terms = item.get("terms")
        if not isinstance(terms, list) or len(terms) < 2:
            raise RuleError("terms must list at least two terms", "near")
        terms = tuple(_check_term(t, "near") for t in terms)
        within = item.get("within", 10)
        if isinstance(within, bool) or not isinstance(within, int) or not 0 <= within <= MAX_NEAR_WITHIN:
            raise RuleError(f"within must be an integer between 0 and {MAX_NEAR_WITHIN}", "near")
        out.append(Near(terms, within))
    return out


def _regexes(v: Any) -> list[str]:
    if not v:
        return []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise RuleError("must be a list of regular expressions", "regex")
    out: list[str] = []
    for pattern in v:
        check_regex(pattern)
        out.append(pattern)
    return out


def check_regex(pattern: Any) -> RulePattern:
    """Compiles a rule's regular expression on RE2 (linear time), refusing what RE2 lacks."""
    return compile_rule_regex(pattern)


def _str_list(data: dict[str, Any], key: str, allowed: Iterable[str] | None = None) -> list[str]:
    v = data.get(key) or []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise RuleError("must be a list of strings", key)
    if allowed is not None:
        allowed = tuple(allowed)
        for x in v:
            if x not in allowed:
                raise RuleError(f"unknown value {x!r} (allowed: {', '.join(allowed)})", key)
    return list(dict.fromkeys(v))


def _scope(v: Any, directory: Directory | None) -> tuple[list[int], list[str]]:
    if not v:
        return [], []
    if not isinstance(v, dict) or set(v) - {"departments", "users"}:
        raise RuleError("must be {departments: [ids], users: [userids]}", "scope")
    depts_raw = v.get("departments") or []
    users = v.get("users") or []
    if not isinstance(depts_raw, list) or not isinstance(users, list):
        raise RuleError("departments and users must be lists", "scope")
    depts: list[int] = []
    for d in depts_raw:
        try:
            depts.append(int(d))
        except (TypeError, ValueError):
            raise RuleError(f"department ids are numbers, not {d!r}", "scope.departments") from None
    if not all(isinstance(u, str) and u for u in users):
        raise RuleError("user ids are non-empty strings", "scope.users")
    if directory is not None and getattr(directory, "departments", None):
        known = {int(d["id"]) for d in directory.departments}
        for d in depts:
            if d not in known:
                raise RuleError(f"department {d} is not in the directory", "scope.departments")
    if directory is not None and getattr(directory, "employees", None):
        for u in users:
            if u not in directory.employee_ids:
                raise RuleError(f"user {u!r} is not in the directory", "scope.users")
    return depts, list(users)
