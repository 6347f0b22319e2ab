"""Filters, sorting, paging and aggregations as properties against brute force.

A corpus of 400 messages with random participants (employees in a department tree,
customers), chats, message types, flags and times (clustered, with exact ties) is stored
once per backend. Random MessageFilters with random sorts and pages must return exactly
the brute-force filter + (time, seq) sort + slice, and terms / date-histogram aggregations
must equal brute-force counts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import ALL, Message, MessageFilter, SearchRequest
from store.base import Store
from tests.conformance.conftest import BACKENDS, opened_store
from tests.conformance.corpus import BASE_MS, CUSTOMERS, EMPLOYEES, Factory
from tests.helpers import examples

DAY = 86_400_000
MSGTYPES = ["text", "image", "voice", "file"]


def build_corpus(n: int = 400) -> list[Message]:
    rng = random.Random(3)
    f = Factory(seed=3)
    people = list(EMPLOYEES)
    out = []
    for seq in range(1, n + 1):
        sender = rng.choice(people + CUSTOMERS[:2])
        others = [p for p in people + CUSTOMERS if p != sender]
        to = rng.sample(others, rng.choice([1, 1, 2]))
        roomid = "wrGROUP01" if len(to) > 1 and rng.random() < 0.5 else ""
        t = BASE_MS + rng.choice([0, 1, 2, 9]) * DAY + rng.choice([0, 3_600_000, rng.randrange(DAY)])
        out.append(
            f.message(
                f"消息{seq}",
                seq=seq,
                msgid=f"f{seq:04d}",
                time_ms=t,
                sender=sender,
                to=to,
                roomid=roomid,
                msgtype=rng.choice(MSGTYPES),
                flagged=rng.random() < 0.2,
                revoked=rng.random() < 0.1,
            )
        )
    return out


CORPUS = build_corpus()


@pytest.fixture(scope="module", params=BACKENDS)
def corpus_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with opened_store(request.param, Path(tmp_path_factory.mktemp("filters")), CORPUS) as s:
        yield s


def matches(m: Message, f: MessageFilter) -> bool:
    """The reference semantics of MessageFilter."""
    return (
        (f.time_from is None or m.time_ms >= f.time_from)
        and (f.time_to is None or m.time_ms < f.time_to)
        and (not f.senders or m.sender in f.senders)
        and (not f.chats or m.chat_id in f.chats)
        and (not f.msgtypes or m.msgtype in f.msgtypes)
        and (not f.employees or bool(set(f.employees) & set(m.employees)))
        and (not f.externals or bool(set(f.externals) & set(m.externals)))
        and (not f.departments or bool(set(f.departments) & set(m.departments)))
        and (not f.chat_kinds or m.chat_kind in f.chat_kinds)
        and (not f.sender_kinds or m.sender_kind in f.sender_kinds)
        and (f.flagged is None or m.flagged == f.flagged)
        and (f.revoked is None or m.revoked == f.revoked)
        and (not f.msgids or m.msgid in f.msgids)
        and (f.seq_from is None or m.seq >= f.seq_from)
        and (f.seq_to is None or m.seq < f.seq_to)
    )


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly absent, so that combined filters still leave something to compare."""
    return st.one_of(st.none(), st.none(), st.none(), st.none(), strategy)


def some(values: list) -> st.SearchStrategy:
    return st.one_of(
        st.just([]),
        st.just([]),
        st.just([]),
        st.just([]),
        st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True),
    )


CHATS = sorted({m.chat_id for m in CORPUS})
TIMES = sorted({m.time_ms for m in CORPUS})

filters = st.builds(
    MessageFilter,
    time_from=maybe(st.sampled_from(TIMES)),
    time_to=maybe(st.sampled_from(TIMES)),
    senders=some(list(EMPLOYEES) + CUSTOMERS),
    chats=some(CHATS),
    msgtypes=some(MSGTYPES),
    employees=some(list(EMPLOYEES)),
    externals=some(CUSTOMERS),
    departments=some([1, 2, 3, 4, 5, 6]),
    chat_kinds=some(["internal", "external", "group"]),
    sender_kinds=some(["employee", "external"]),
    flagged=maybe(st.booleans()),
    revoked=maybe(st.booleans()),
    msgids=st.one_of(
        st.just([]),
        st.just([]),
        st.just([]),
        st.just([]),
        st.lists(st.sampled_from([m.msgid for m in CORPUS]), min_size=1, max_size=40),
    ),
    seq_from=maybe(st.integers(1, 400)),
    seq_to=maybe(st.integers(1, 400)),
)

PROPERTY = settings(max_examples=examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(f=filters, sort=st.sampled_from(["time_desc", "time_asc"]), offset=st.integers(0, 60), limit=st.integers(0, 50))
def test_filtered_sorted_pages_equal_brute_force(
    corpus_store: Store, f: MessageFilter, sort: str, offset: int, limit: int
) -> None:
    """GIVEN the corpus WHEN any filter, sort and page is asked THEN total and page equal the brute-force ones."""
    expected = sorted(
        (m for m in CORPUS if matches(m, f)), key=lambda m: (m.time_ms, m.seq), reverse=sort == "time_desc"
    )
    result = corpus_store.search(
        SearchRequest(query="", filters=f, sort=sort, limit=limit, offset=offset, highlight=False), scope=ALL
    )  # type: ignore[arg-type]
    assert result.total == len(expected)
    assert [h.msgid for h in result.hits] == [m.msgid for m in expected[offset : offset + limit]]
    total, page = corpus_store.list_messages(f, scope=ALL, sort=sort, limit=limit, offset=offset)
    assert total == len(expected) and [m.msgid for m in page] == [m.msgid for m in expected[offset : offset + limit]]


def local_day_start(ms: int) -> int:
    day = datetime.fromtimestamp(ms / 1000, ZoneInfo("Asia/Shanghai")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return int(day.timestamp() * 1000)


@PROPERTY
@given(f=filters, field=st.sampled_from(["sender", "msgtype", "chat_kind", "employees", "departments", "flagged"]))
def test_aggregations_equal_brute_force_counts(corpus_store: Store, f: MessageFilter, field: str) -> None:
    """GIVEN the corpus WHEN terms (all buckets) and a daily date histogram run under any filter THEN the counts are
    the brute-force ones."""
    selected = [m for m in CORPUS if matches(m, f)]
    result = corpus_store.aggregate(
        f,
        {
            "t": {"terms": {"field": field, "size": 100}},
            "d": {"date_histogram": {"field": "time", "fixed_interval": "1d"}},
        },
        scope=ALL,
    )
    counts: Counter = Counter()
    for m in selected:
        value = getattr(m, field)
        for v in value if isinstance(value, list) else [value]:
            counts[int(v) if isinstance(v, bool) else v] += 1
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(b["key"], b["doc_count"]) for b in result["t"]["buckets"]] == expected
    days = Counter(local_day_start(m.time_ms) for m in selected)
    assert [(b["key"], b["doc_count"]) for b in result["d"]["buckets"]] == sorted(days.items())
