"""The statistics and figures the pages show, checked against a brute-force count over
every stored message; the HTML helpers checked as properties."""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.directory import Directory
from core.models import MessageFilter, Scope
from dashboard import _ui
from reports import people, review, service, stats
from tests.dashboard.conftest import ORG
from tests.helpers import examples

ALL = Scope.everything()
TZ = "Asia/Shanghai"
SCOPES = [
    pytest.param(ALL, id="everything"),
    pytest.param(Scope.of(departments=[3]), id="客服部"),
    pytest.param(Scope.of(users=["wangqiang"]), id="one-user"),
    pytest.param(Scope.of(), id="empty"),
]


@pytest.fixture(scope="module")
def store(dash_archive):
    arch = dash_archive.archive()
    yield arch.store
    arch.close()


def everything(store, scope):
    return list(store.iter_messages(MessageFilter(), scope=scope))


@pytest.mark.parametrize("scope", SCOPES)
def test_per_day_and_hour_of_week_equal_a_brute_force_count(store, scope) -> None:
    msgs = everything(store, scope)
    zone = ZoneInfo(TZ)
    days = Counter(datetime.fromtimestamp(m.time_ms / 1000, zone).strftime("%Y-%m-%d") for m in msgs)
    got = {_ui.fmt_day(d, TZ): n for d, n in stats.per_day(store, MessageFilter(), scope=scope)}
    assert got == dict(days)
    grid = [[0] * 24 for _ in range(7)]
    for m in msgs:
        t = datetime.fromtimestamp(m.time_ms / 1000, zone)
        grid[t.weekday()][t.hour] += 1
    assert stats.hour_of_week(store, MessageFilter(), scope=scope, tz=TZ) == grid


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("field", ["msgtype", "chat_kind", "sender"])
def test_breakdowns_equal_a_brute_force_count(store, scope, field: str) -> None:
    expected = Counter(getattr(m, field) for m in everything(store, scope))
    assert dict(stats.by_field(store, MessageFilter(), field, scope=scope)) == dict(expected)


@pytest.mark.parametrize("scope", SCOPES)
def test_top_employees_and_departments_equal_a_brute_force_count(store, scope) -> None:
    msgs = everything(store, scope)
    assert dict(stats.top_employees(store, MessageFilter(), scope=scope)) == dict(
        Counter(m.sender for m in msgs if m.sender_kind == "employee")
    )
    assert dict(stats.by_department(store, MessageFilter(), scope=scope)) == dict(
        Counter(d for m in msgs for d in m.departments)
    )


@pytest.mark.parametrize("userid", ["zhangwei", "lina", "wangqiang"])
@pytest.mark.parametrize("scope", SCOPES)
def test_employee_figures_and_chats_equal_a_brute_force_count(store, scope, userid: str) -> None:
    directory = Directory.from_dict(ORG)
    mine = [m for m in everything(store, scope) if userid in m.employees]
    figures = people.employee_figures(store, userid, scope=scope, directory=directory)
    assert figures["总会话消息数"] == len(mine)
    assert figures["客户群总数"] == len({m.chat_id for m in mine if m.chat_kind == "group"})
    assert figures["客户私聊会话数"] == len({m.chat_id for m in mine if m.chat_kind == "external"})
    assert figures["客户总数"] == sum(1 for x in ORG["externals"] if userid in x["followers"])
    chats = people.employee_chats(store, userid, scope=scope)
    assert {c.chat_id: c.messages for c in chats} == dict(Counter(m.chat_id for m in mine))
    assert all(c.last_ms == max(m.time_ms for m in mine if m.chat_id == c.chat_id) for c in chats)


def customer_conversations(msgs):
    """The brute-force side of "conversations with customers": single chats with a customer and
    every message of a group in which an external participant took part."""
    groups = {m.chat_id for m in msgs if m.chat_kind == "group" and m.has_external}
    return [m for m in msgs if m.chat_kind == "external" or m.chat_id in groups]


@pytest.mark.parametrize("scope", SCOPES)
def test_service_quality_equals_a_brute_force_computation(store, scope) -> None:
    """GIVEN the archive (a customer group among the chats) WHEN service quality is read THEN every
    employee taking part in a conversation with a customer has a row, and each figure equals a
    brute-force computation over the stored messages."""
    msgs = customer_conversations(everything(store, scope))
    rows = {
        r.employee: r
        for r in service.service_quality(
            store, MessageFilter(), scope=scope, now_ms=2_000_000_000_000, unanswered_minutes=120
        )
    }
    assert set(rows) == {e for m in msgs for e in m.employees}
    for emp, row in rows.items():
        sent = [m for m in msgs if m.sender == emp]
        replies = sorted(m.reply_ms for m in sent if m.reply_ms >= 0)
        assert row.sent == len(sent) and row.replies == len(replies)
        assert row.chats == len({m.chat_id for m in msgs if emp in m.employees})
        assert row.customer_messages == sum(
            1
            for m in msgs
            if emp in m.employees
            and m.sender_kind == "external"
            and m.action == "send"
            and m.msgtype not in service.NOT_WRITTEN
        )
        if replies:
            n = len(replies)
            for p, got in ((50, row.reply_p50_ms), (90, row.reply_p90_ms)):
                rank = p / 100 * (n - 1)
                low, high = replies[math.floor(rank)], replies[min(n - 1, math.ceil(rank) + 1)]
                # Backends estimate percentiles (tantivy: DDSketch, ES: t-digest): allow 2 % relative error.
                assert low * 0.98 <= got <= high * 1.02, (emp, p, got, replies)
        last = {}
        for m in sorted(msgs, key=lambda m: m.time_ms):
            last[m.chat_id] = m
        members = {}
        for m in msgs:
            members.setdefault(m.chat_id, set()).update(m.employees)
        unanswered = sum(1 for c, m in last.items() if emp in members[c] and m.sender_kind == "external")
        assert row.unanswered_chats == unanswered


def test_the_customer_group_counts_for_its_employees(store) -> None:
    """GIVEN the VIP customer group, where 赵鑫 wrote last WHEN service quality is read THEN it is an
    unanswered conversation of both employees in it, beside their single chats."""
    rows = {
        r.employee: r
        for r in service.service_quality(
            store, MessageFilter(), scope=ALL, now_ms=2_000_000_000_000, unanswered_minutes=120
        )
    }
    only_single = {
        r.employee: r
        for r in service.service_quality(
            store, MessageFilter(chat_kinds=["external"]), scope=ALL, now_ms=2_000_000_000_000, unanswered_minutes=120
        )
    }
    for emp in ("zhangwei", "lina"):
        assert rows[emp].chats == only_single[emp].chats + 1
        assert rows[emp].unanswered_chats == only_single[emp].unanswered_chats + 1


def rank_grid(values: list[int]) -> dict[str, float]:
    """A percentile grid as the backends report it: the value at percent q is the element of rank q·(n-1)."""
    ordered = sorted(values)
    return {str(q): float(ordered[math.floor(q / 100 * (len(ordered) - 1) + 1e-9)]) for q in service.GRID}


@settings(max_examples=examples(150))
@given(
    st.lists(st.lists(st.one_of(st.just(-1), st.integers(0, 10_000)), min_size=1, max_size=40), min_size=1, max_size=3),
    st.sampled_from([0, 10, 50, 90, 100]),
)
def test_merged_percentile_equals_the_percentile_of_the_pooled_replies(parts: list[list[int]], p: int) -> None:
    """GIVEN reply times in several parts (each with -1 for messages that answer nothing), each
    known only by its percentile grid WHEN merged THEN the result is the nearest-rank percentile
    of all the replies pooled (up to the grid's 0.5-point resolution of each part)."""
    grids = [(rank_grid(values), sum(1 for v in values if v < 0), len(values)) for values in parts]
    pooled = sorted(v for values in parts for v in values if v >= 0)
    got = service.merged_percentile_among_replies(grids, p)
    if not pooled:
        assert got is None
        return
    expected = pooled[max(0, math.ceil(p / 100 * len(pooled)) - 1)]
    assert got == expected, (pooled, got)


def test_percentile_among_replies_skips_the_unanswered_marker() -> None:
    values = [-1] * 3 + [10, 20, 30, 40]  # three messages answered nothing
    grid = {
        str(p): sorted(values)[min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1 if p else 0)]
        for p in service.GRID
    }
    assert service.percentile_among_replies(grid, 3, 7, 50) in (20, 30)
    assert service.percentile_among_replies(grid, 3, 7, 0) == 10
    assert service.percentile_among_replies(grid, 7, 7, 50) is None


@pytest.mark.parametrize("scope", SCOPES)
def test_unflagged_chats_equal_a_brute_force_set(store, scope) -> None:
    msgs = everything(store, scope)
    flagged = {m.chat_id for m in msgs if m.flagged}
    assert review.unflagged_chats(store, MessageFilter(), scope=scope) == sorted({m.chat_id for m in msgs} - flagged)


def test_a_sample_is_reproducible_from_its_seed_and_sized_by_the_percentage(store) -> None:
    """GIVEN the same seed, period and targets WHEN drawn twice THEN the same conversations;
    a different seed may differ, and each target gets ceil(percent × population)."""
    kwargs = dict(
        scope=ALL, time_from=0, time_to=2_000_000_000_000, by="employee", targets=["lina", "zhangwei"], actor="test"
    )
    a = review.draw_sample(store, percent=50, seed=7, **kwargs)
    b = review.draw_sample(store, percent=50, seed=7, **kwargs)
    assert [i["chat_id"] for i in a["items"]] == [i["chat_id"] for i in b["items"]]
    for target in ("lina", "zhangwei"):
        population = review.unflagged_chats(store, MessageFilter(employees=[target]), scope=ALL)
        chosen = [i["chat_id"] for i in a["items"] if i["target"] == target]
        assert set(chosen) <= set(population)
        assert len(chosen) == min(len(population), max(1, math.ceil(len(population) * 0.5)))


@pytest.mark.parametrize(
    "bad",
    [dict(percent=0), dict(percent=101), dict(targets=[]), dict(time_to=0)],
    ids=["zero-percent", "over-100", "no-target", "empty-period"],
)
def test_a_bad_sample_request_is_refused(store, bad) -> None:
    from core.errors import BadInput

    kwargs = dict(
        scope=ALL,
        time_from=0,
        time_to=2_000_000_000_000,
        by="employee",
        targets=["lina"],
        actor="t",
        percent=10,
        seed=1,
    )
    kwargs.update(bad)
    with pytest.raises(BadInput):
        review.draw_sample(store, **kwargs)


TAG = re.compile(r"</?mark>")


@settings(max_examples=examples(200))
@given(
    st.lists(st.sampled_from(list("ab<>&\"'回扣/ ") + ["<mark>", "</mark>", "<script>", "&lt;"]), max_size=20).map(
        "".join
    )
)
def test_safe_highlight_keeps_only_balanced_mark_tags(raw: str) -> None:
    out = _ui.safe_highlight(raw)
    stripped = TAG.sub("", out)
    assert "<" not in stripped and ">" not in stripped  # nothing but <mark> can open a tag
    assert out.count("<mark>") == out.count("</mark>")
    assert html.unescape(stripped) == html.unescape(TAG.sub("", raw))  # the text itself is kept


@settings(max_examples=examples(200))
@given(
    st.text(alphabet=st.sampled_from(list("ab<&回扣 ")), max_size=30),
    st.lists(st.tuples(st.integers(-3, 33), st.integers(-3, 33)), max_size=4),
)
def test_mark_spans_marks_exactly_the_union_of_the_spans(text: str, spans: list[tuple[int, int]]) -> None:
    out = _ui.mark_spans(text, spans)
    assert html.unescape(TAG.sub("", out)) == text
    marked: set[int] = set()
    pos = 0
    for part in re.split(r"(<mark>.*?</mark>)", out):
        plain = html.unescape(TAG.sub("", part))
        if part.startswith("<mark>"):
            marked.update(range(pos, pos + len(plain)))
        pos += len(plain)
    expected = {i for s, e in spans for i in range(max(0, s), min(len(text), e))}
    assert marked == expected
