"""The shared data model: what flows from the source through the pipeline into the store.

Every stage speaks these types (packages also share their own Protocols: ``store.base.Store``,
``indexer.source.base.Source``, ``store.context.ArchiveContext``). Times are
UTC epoch milliseconds (WeCom's ``msgtime``); display code converts to the archive's
time zone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ChatKind = Literal["internal", "external", "group"]
SenderKind = Literal["employee", "external", "robot", "system"]
ReviewStatus = Literal["unreviewed", "confirmed", "false_positive", "escalated"]

CHAT_KINDS: tuple[str, ...] = ("internal", "external", "group")
REVIEW_STATUSES: tuple[str, ...] = ("unreviewed", "confirmed", "false_positive", "escalated")


def sha256_hex(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


@dataclass
class MediaRef:
    """A media object to fetch with GetMediaData (top-level or nested in mixed/chatrecord)."""

    sdkfileid: str
    md5sum: str = ""
    size: int = 0
    ext: str = ""
    name: str = ""


@dataclass
class Message:
    """One archived message, normalized from WeCom's decrypted JSON.

    ``raw`` is the decrypted JSON exactly as the source returned it (evidence);
    ``raw_sha256`` is its hash (record integrity). ``text`` is what search and the
    rules see for this message type. ``employees``/``departments`` are the internal
    participants and their departments with all ancestors: the scope filter uses them.
    """

    msgid: str
    seq: int
    action: str  # send | recall | switch
    msgtype: str  # WeCom msgtype, "switch" for switch records, or the unknown type's name
    time_ms: int
    sender: str
    sender_kind: SenderKind
    receivers: list[str]
    roomid: str
    chat_id: str  # roomid, or "a|b" for a single chat (sorted pair)
    chat_kind: ChatKind
    text: str
    raw: str
    raw_sha256: str = ""
    has_external: bool = False
    employees: list[str] = field(default_factory=list)
    externals: list[str] = field(default_factory=list)
    departments: list[int] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # jieba words of the folded text (analyzer)
    media: list[MediaRef] = field(default_factory=list)
    pre_msgid: str = ""  # revoke: the withdrawn message
    revoked: bool = False  # set when a later revoke names this message
    flagged: bool = False  # at least one violation
    known_type: bool = True  # False: an msgtype this version does not know (kept raw)
    key_version: int = 0
    reply_ms: int = -1  # employee reply: ms since the customer's first unanswered message (-1: n/a)
    reply_business_ms: int = -1  # the same, counted within working hours only
    masked: bool = False  # retention/consent masking replaced personal data
    sentiment: str = ""  # customer messages: positive | neutral | negative (analyzers.insights.sentiment)
    sentiment_score: float = 0.0  # in [-1, 1]

    def __post_init__(self) -> None:
        if not self.raw_sha256 and self.raw:
            self.raw_sha256 = sha256_hex(self.raw)

    @property
    def customer_wrote(self) -> bool:
        """Sent by the customer with text to judge: not a revoke, not a consent record."""
        return (
            self.sender_kind == "external"
            and self.action == "send"
            and self.msgtype not in ("revoke", "agree", "disagree")
            and bool(self.text)
        )

    @property
    def direction(self) -> str:
        """employee | customer | other: who sent it, as the rules' ``direction`` sees it."""
        if self.sender_kind == "employee":
            return "employee"
        if self.sender_kind == "external":
            return "customer"
        return "other"

    def to_dict(self) -> dict[str, Any]:
        # Hand-written rather than dataclasses.asdict: this runs for every stored message and
        # asdict's recursive deep copy cost ~0.8 ms per message (profile in docs/benchmarks.md).
        d = dict(self.__dict__)
        d["receivers"] = list(self.receivers)
        d["employees"] = list(self.employees)
        d["externals"] = list(self.externals)
        d["departments"] = list(self.departments)
        d["words"] = list(self.words)
        d["media"] = [dict(m.__dict__) for m in self.media]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        """The inverse of ``to_dict``; keys that are not fields (an older or newer stored shape)
        are ignored. Runs for every message read, so the field names are computed once."""
        known = _MESSAGE_FIELDS
        kwargs = d.copy() if known.issuperset(d) else {k: v for k, v in d.items() if k in known}
        kwargs["media"] = [m if isinstance(m, MediaRef) else MediaRef(**m) for m in d.get("media") or []]
        return cls(**kwargs)


_MESSAGE_FIELDS: frozenset[str] = frozenset(Message.__dataclass_fields__)


@dataclass(frozen=True)
class Scope:
    """What an account may see: everything, or messages with at least one participating
    employee who is listed in ``users`` or belongs to one of ``departments`` (a department
    includes its sub-departments, because messages carry every ancestor department)."""

    all: bool = False
    departments: frozenset[int] = frozenset()
    users: frozenset[str] = frozenset()

    @classmethod
    def everything(cls) -> Scope:
        return cls(all=True)

    @classmethod
    def of(cls, departments: Iterable[int] = (), users: Iterable[str] = ()) -> Scope:
        return cls(all=False, departments=frozenset(int(d) for d in departments), users=frozenset(users))

    @property
    def is_empty(self) -> bool:
        return not self.all and not self.departments and not self.users

    def allows(self, message: Message) -> bool:
        """Reference semantics (the brute-force check the property tests compare with)."""
        if self.all:
            return True
        return bool(self.users.intersection(message.employees)) or bool(
            self.departments.intersection(message.departments)
        )

    def allows_employee(self, userid: str, departments: Iterable[int]) -> bool:
        """Whether this scope sees an employee (``departments``: theirs, ancestors included)."""
        return self.all or userid in self.users or bool(self.departments.intersection(departments))

    def to_dict(self) -> dict[str, Any]:
        return {"all": self.all, "departments": sorted(self.departments), "users": sorted(self.users)}


ALL = Scope.everything()


@dataclass
class MessageFilter:
    """Structured filters, ANDed. Empty lists mean "no restriction"."""

    time_from: int | None = None  # ms, inclusive
    time_to: int | None = None  # ms, exclusive
    senders: list[str] = field(default_factory=list)
    chats: list[str] = field(default_factory=list)
    msgtypes: list[str] = field(default_factory=list)
    employees: list[str] = field(default_factory=list)  # any internal participant
    externals: list[str] = field(default_factory=list)  # any external participant (customer)
    departments: list[int] = field(default_factory=list)  # department incl. sub-departments
    chat_kinds: list[str] = field(default_factory=list)
    sender_kinds: list[str] = field(default_factory=list)  # employee | external | robot | system
    flagged: bool | None = None
    revoked: bool | None = None
    msgids: list[str] = field(default_factory=list)
    seq_from: int | None = None  # inclusive
    seq_to: int | None = None  # exclusive

    def terms(self) -> list[tuple[str, list[Any]]]:
        """``(stored field, wanted values)`` of every list filter that restricts (both backends)."""
        return [(stored, list(getattr(self, name))) for name, stored in MESSAGE_FILTER_FIELDS if getattr(self, name)]


# The stored field each list filter of a record kind restricts: one table per kind.
MESSAGE_FILTER_FIELDS: tuple[tuple[str, str], ...] = (
    ("senders", "sender"),
    ("chats", "chat_id"),
    ("msgtypes", "msgtype"),
    ("employees", "employees"),
    ("externals", "externals"),
    ("departments", "departments"),
    ("chat_kinds", "chat_kind"),
    ("sender_kinds", "sender_kind"),
    ("msgids", "msgid"),
)
VIOLATION_FILTER_FIELDS: tuple[tuple[str, str], ...] = (
    ("rule_ids", "rule_id"),
    ("categories", "category"),
    ("severities", "severity"),
    ("statuses", "status"),
    ("employees", "employees"),
    ("departments", "departments"),
    ("senders", "sender"),
    ("chats", "chat_id"),
    ("msgids", "msgid"),
)


@dataclass
class SearchRequest:
    query: str = ""  # the contract's syntax; empty means "all messages matching the filters"
    filters: MessageFilter = field(default_factory=MessageFilter)
    sort: Literal["time_desc", "time_asc", "relevance"] = "time_desc"
    limit: int = 20
    offset: int = 0
    highlight: bool = True


@dataclass
class SearchHit:
    msgid: str
    seq: int
    time_ms: int
    sender: str
    chat_id: str
    msgtype: str
    highlight: str  # the text with <mark>…</mark> around exactly the matched characters (HTML-escaped)
    score: float = 0.0
    message: Message | None = None

    def to_contract(self) -> dict[str, Any]:
        """The shape of ``chatarchive search --json`` hits."""
        return {
            "msgid": self.msgid,
            "seq": self.seq,
            "time": self.time_ms,
            "sender": self.sender,
            "chat": self.chat_id,
            "msgtype": self.msgtype,
            "highlight": self.highlight,
        }


@dataclass
class SearchResult:
    total: int
    took_ms: float
    hits: list[SearchHit]


@dataclass
class Violation:
    """One rule hit on one message. ``id`` is ``msgid:rule_id`` so re-indexing is idempotent."""

    msgid: str
    rule_id: str
    rule_version: int
    rule_name: str
    category: str
    severity: str
    terms: list[str]
    spans: list[list[int]]  # [start, end) character offsets into the message's original text
    time_ms: int
    sender: str
    chat_id: str
    chat_kind: str = ""
    employees: list[str] = field(default_factory=list)
    departments: list[int] = field(default_factory=list)
    group_key: str = ""  # repeated hits of one rule in one conversation within a window share it
    status: str = "unreviewed"
    assignee: str = ""
    reviewer: str = ""
    reviewed_ms: int = 0
    comment: str = ""
    explanation: str = ""  # a human sentence: why this rule fired
    source: str = "rule"  # rule | sample (supervisor sampling)

    @property
    def id(self) -> str:
        return f"{self.msgid}:{self.rule_id}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["id"] = self.id
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Violation:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class ViolationFilter:
    rule_ids: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    employees: list[str] = field(default_factory=list)
    departments: list[int] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    chats: list[str] = field(default_factory=list)
    msgids: list[str] = field(default_factory=list)
    assignee: str | None = None
    time_from: int | None = None
    time_to: int | None = None

    def terms(self) -> list[tuple[str, list[Any]]]:
        """``(stored field, wanted values)`` of every list filter that restricts (both backends)."""
        return [(stored, list(getattr(self, name))) for name, stored in VIOLATION_FILTER_FIELDS if getattr(self, name)]


@dataclass
class DeadLetter:
    """A record that could not be processed, kept with everything needed to replay it."""

    seq: int
    msgid: str
    reason: str
    stage: str  # decrypt | parse | normalize | store
    record: dict[str, Any]  # the encrypted record as pulled (or the plaintext for import)
    key_version: int = 0
    time_ms: int = 0  # when it was dead-lettered

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Batch:
    """What one pipeline step writes. A backend makes it visible atomically together with
    ``checkpoint`` (or, where it cannot, writes idempotently and the checkpoint last)."""

    messages: list[Message] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    deadletters: list[DeadLetter] = field(default_factory=list)
    resolved_deadletters: list[str] = field(default_factory=list)  # msgids replayed successfully
    revoked_msgids: list[str] = field(default_factory=list)  # originals withdrawn by revokes
    # (collection, id, doc) records created only if absent, in the same write (the media
    # download queue: a replayed batch must not reset an item that was already fetched).
    new_records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    checkpoint: int | None = None
