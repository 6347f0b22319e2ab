"""Statistics on a small hand-built archive whose right answers are known.

One week of chats (Monday 2026-03-02 to the next Monday, Asia/Shanghai) written into a
real store — every backend the conformance suite runs (the embedded engine always,
Elasticsearch when ES_URL is set) — through the pipeline's response-time step
(``indexer.replies``) in two batches with a restart in between. Each statistic of
``reports`` is checked against figures worked out by hand below and,
where it is a plain count, against a brute-force count over the same messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.directory import Directory
from core.models import Batch, Message, MessageFilter, Scope, Violation, ViolationFilter
from indexer.replies import ReplyTracker, WorkingHours
from reports import people, service, stats
from store.base import Store
from tests.conformance.conftest import BACKENDS, make_store
from tests.conformance.corpus import Factory

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
MINUTE = 60_000
HOUR = 60 * MINUTE
ALL = Scope.everything()

E1 = "wmCUST0001|zhangsan"  # zhangsan with a customer: a night, two unanswered messages, a weekend
E2 = "lisi|wmCUST0002"  # lisi with a customer: a revoked message, a Saturday, left unanswered on Sunday
GROUP = "wrGROUP0001"  # a customer group: lisi answers, zhangsan chimes in
INTERNAL = "lisi|zhangsan"
E5 = "wangwu|woCUST0004"  # wangwu sends an image; the customer's thanks is the last word


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> int:
    """Epoch ms of 2026-03-(day) hh:mm:ss in Shanghai (2 = Monday)."""
    return int(datetime(2026, 3, day, hh, mm, ss, tzinfo=ZONE).timestamp() * 1000)


def day_start(day: int) -> int:
    return at(day, 0)


def build() -> tuple[list[Message], str, str]:
    """The archive in time order, the revoked message's id and the revoke record's id."""
    f = Factory(seed=21)
    seq = iter(range(1, 1000))

    def msg(time_ms: int, sender: str, to: list[str], text: str, **kw) -> Message:
        return f.message(text, sender=sender, to=to, seq=next(seq), time_ms=time_ms, **kw)

    c1, c2, c3, c4 = "wmCUST0001", "wmCUST0002", "wmCUST0003", "woCUST0004"
    revoked = msg(at(4, 10, 0), c2, ["lisi"], "我要投诉你们")
    revoke = msg(at(4, 10, 1), c2, ["lisi"], "", msgtype="revoke", action="recall", pre_msgid=revoked.msgid)
    messages = [
        msg(at(2, 9, 0), c1, ["zhangsan"], "请问赎回几天到账？"),
        msg(at(2, 9, 4), "zhangsan", [c1], "一般三个工作日"),  # reply: 4 min, 4 min in hours
        msg(at(2, 23, 59, 59), c1, ["zhangsan"], "还没到账"),  # the night: waiting starts
        msg(at(3, 0, 0, 0), c1, ["zhangsan"], "在吗"),  # still waiting since 23:59:59
        msg(at(3, 9, 5), "zhangsan", [c1], "我查一下"),  # reply: 9 h 5 min 1 s, 5 min in hours
        revoked,
        revoke,
        msg(at(4, 10, 20), "lisi", [c2], "您好，请讲"),  # reply: 20 min from the (later revoked) message
        msg(at(4, 14, 0), "wangwu", [c4], "[图片]", msgtype="image"),
        msg(at(4, 14, 10), c4, ["wangwu"], "谢谢"),  # last word: unanswered conversation
        msg(at(5, 11, 0), c3, ["lisi", "zhangsan"], "群里问一下，产品什么时候开放申购？", roomid=GROUP),
        msg(at(5, 11, 3), "lisi", [c3, "zhangsan"], "下周一开放", roomid=GROUP),  # reply: 3 min
        msg(at(5, 11, 4), "zhangsan", [c3, "lisi"], "对的", roomid=GROUP),  # no reply: already answered
        msg(at(5, 15, 0), "zhangsan", ["lisi"], "明天开会"),  # internal: never a reply
        msg(at(5, 15, 1), "lisi", ["zhangsan"], "好的"),
        msg(at(6, 17, 50), c1, ["zhangsan"], "周末能到账吗"),  # Friday 17:50: waiting over the weekend
        # --- the second batch (after a restart) starts here: Saturday 2026-03-07 ---------------
        msg(at(7, 10, 0), c2, ["lisi"], "周六有人吗"),
        msg(at(7, 10, 30), "lisi", [c2], "在的"),  # reply: 30 min, 0 in hours (Saturday)
        msg(at(8, 20, 0), c2, ["lisi"], "那我下周再问"),  # Sunday evening: left unanswered
        msg(at(9, 9, 10), "zhangsan", [c1], "已经到账了"),  # reply: 2 d 15 h 20 min, 20 min in hours
    ]
    return messages, revoked.msgid, revoke.msgid


SECOND_BATCH_FROM = at(7, 0)
NOW = at(9, 12, 0)  # Monday noon, when the statistics are read

# Hand-worked response times: (chat, sender, time) -> (reply_ms, reply_business_ms)
EXPECTED_REPLIES = {
    (E1, at(2, 9, 4)): (4 * MINUTE, 4 * MINUTE),
    (E1, at(3, 9, 5)): (9 * HOUR + 5 * MINUTE + 1000, 5 * MINUTE),
    (E2, at(4, 10, 20)): (20 * MINUTE, 20 * MINUTE),
    (GROUP, at(5, 11, 3)): (3 * MINUTE, 3 * MINUTE),
    (E2, at(7, 10, 30)): (30 * MINUTE, 0),
    (E1, at(9, 9, 10)): (2 * 24 * HOUR + 15 * HOUR + 20 * MINUTE, 20 * MINUTE),
}


def violation(m: Message, category: str) -> Violation:
    return Violation(
        msgid=m.msgid,
        rule_id=f"r-{category}",
        rule_version=1,
        rule_name=category,
        category=category,
        severity="high",
        terms=["x"],
        spans=[[0, 1]],
        time_ms=m.time_ms,
        sender=m.sender,
        chat_id=m.chat_id,
        chat_kind=m.chat_kind,
        employees=m.employees,
        departments=m.departments,
    )


@pytest.fixture(scope="module", params=BACKENDS)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, list[Message]]]:
    """The week written in two batches, each through a fresh ReplyTracker (a restart between them)."""
    store = make_store(request.param, Path(tmp_path_factory.mktemp(request.param)))
    store.init()
    messages, revoked_id, revoke_id = build()
    hours = WorkingHours("09:00-18:00", "1,2,3,4,5", TZ)
    first = [m for m in messages if m.time_ms < SECOND_BATCH_FROM]
    second = [m for m in messages if m.time_ms >= SECOND_BATCH_FROM]
    ReplyTracker(store, hours).apply(first)
    by_time = {m.time_ms: m for m in messages}
    store.write_batch(
        Batch(
            messages=first,
            revoked_msgids=[revoked_id],
            checkpoint=max(m.seq for m in first),
            violations=[violation(by_time[at(2, 23, 59, 59)], "承诺收益"), violation(by_time[at(3, 0, 0, 0)], "辱骂")],
        )
    )
    store.refresh()
    ReplyTracker(store, hours).apply(second)  # restarted: must rebuild each chat's state from the store
    store.write_batch(Batch(messages=second, checkpoint=max(m.seq for m in second)))
    store.refresh()
    for m in messages:  # the brute-force side sees what the store holds
        m.revoked = m.msgid == revoked_id
    try:
        yield store, messages
    finally:
        drop = getattr(store, "drop_all", None)
        if request.param == "elasticsearch" and drop is not None:
            drop()
        store.close()


# --- response times ------------------------------------------------------------------------------


def test_response_times_across_a_night_a_weekend_a_revoke_and_a_group(archive):
    """GIVEN the week WHEN the pipeline's response-time step has run (with a restart) THEN exactly
    the six replies carry the hand-worked wall-clock and working-hours times, and no other message does."""
    store, messages = archive
    stored = {m.msgid: m for m in store.iter_messages(MessageFilter(), scope=ALL)}
    assert len(stored) == len(messages)
    got = {(m.chat_id, m.time_ms): (m.reply_ms, m.reply_business_ms) for m in stored.values() if m.reply_ms >= 0}
    assert got == EXPECTED_REPLIES
    assert all(m.reply_business_ms == -1 for m in stored.values() if m.reply_ms < 0)


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (at(2, 23, 0), at(3, 9, 5), 5 * MINUTE),
        (at(6, 17, 50), at(9, 9, 10), 20 * MINUTE),
        (at(7, 10, 0), at(7, 18, 0), 0),
        (at(2, 8, 0), at(2, 19, 0), 9 * HOUR),
        (at(2, 10, 0), at(9, 10, 0), 5 * 9 * HOUR),
        (at(3, 12, 0), at(3, 12, 0), 0),
        (at(3, 12, 0), at(3, 11, 0), 0),
    ],
    ids=["overnight", "over-a-weekend", "saturday", "clipped-to-the-day", "a-whole-week", "empty", "reversed"],
)
def test_business_ms(start, end, expected):
    assert WorkingHours("09:00-18:00", "1,2,3,4,5", TZ).business_ms(start, end) == expected


def test_business_ms_matches_minute_by_minute_count():
    """GIVEN random intervals over two weeks THEN business_ms equals counting working minutes one by one."""
    import random

    hours = WorkingHours("09:30-17:45", "1,2,3,4,6", TZ)
    rng = random.Random(4)
    for _ in range(40):
        start = at(2, 0) + rng.randrange(0, 14 * 24 * 60) * MINUTE
        end = start + rng.randrange(0, 5 * 24 * 60) * MINUTE
        brute = 0
        for t in range(start, end, MINUTE):
            local = datetime.fromtimestamp(t / 1000, ZONE)
            minutes = local.hour * 60 + local.minute
            if local.isoweekday() in (1, 2, 3, 4, 6) and 9 * 60 + 30 <= minutes < 17 * 60 + 45:
                brute += MINUTE
        assert hours.business_ms(start, end) == brute


# --- volumes ----------------------------------------------------------------------------------------


def local_day(ms: int) -> int:
    d = datetime.fromtimestamp(ms / 1000, ZONE)
    return int(datetime(d.year, d.month, d.day, tzinfo=ZONE).timestamp() * 1000)


def test_messages_per_day_split_at_local_midnight(archive):
    """GIVEN messages at 23:59:59 and 00:00:00 Shanghai time WHEN counted per day THEN they fall on
    Monday and Tuesday (not on one UTC day), and every day equals a brute-force count."""
    store, messages = archive
    got = stats.per_day(store, MessageFilter(), scope=ALL)
    assert got == sorted(Counter(local_day(m.time_ms) for m in messages).items())
    assert dict(got)[day_start(2)] == 3 and dict(got)[day_start(3)] == 2
    assert dict(got)[day_start(4)] == 5  # the revoked message and its revoke record both count


def test_hour_of_week(archive):
    """GIVEN the week WHEN counted by local weekday and hour THEN Monday 23h and Tuesday 0h hold the
    midnight pair, Sunday 20h the last customer message, and each cell equals a brute-force count."""
    store, messages = archive
    grid = stats.hour_of_week(store, MessageFilter(), scope=ALL, tz=TZ)
    brute = [[0] * 24 for _ in range(7)]
    for m in messages:
        local = datetime.fromtimestamp(m.time_ms / 1000, ZONE)
        brute[local.weekday()][local.hour] += 1
    assert grid == brute
    assert grid[0][23] == 1 and grid[1][0] == 1 and grid[6][20] == 1
    assert grid[0][9] == 3  # Monday 09:00, 09:04 and next Monday's 09:10


@pytest.mark.parametrize(
    "field, expected",
    [
        ("msgtype", [("text", 18), ("image", 1), ("revoke", 1)]),
        ("chat_kind", [("external", 15), ("group", 3), ("internal", 2)]),
        ("sender_kind", [("employee", 10), ("external", 10)]),
    ],
    ids=["type", "chat-kind", "sender-kind"],
)
def test_by_field(archive, field, expected):
    store, messages = archive
    assert stats.by_field(store, MessageFilter(), field, scope=ALL) == expected
    assert expected == sorted(Counter(getattr(m, field) for m in messages).items(), key=lambda kv: (-kv[1], kv[0]))


def test_by_department_counts_each_message_for_its_departments_and_their_parents(archive):
    """GIVEN a group chat with two employees of sibling departments WHEN counted by department THEN
    the group's messages count once for each department and once for their common parent."""
    store, messages = archive
    got = dict(stats.by_department(store, MessageFilter(), scope=ALL))
    brute = Counter(d for m in messages for d in set(m.departments))
    assert got == dict(brute)
    assert got[1] == 20  # the company: every message
    assert got[2] == 18  # zhangsan (4) and lisi (5): all but wangwu's two
    assert got[6] == 2  # wangwu
    assert dict(stats.by_department(store, MessageFilter(), scope=ALL, departments=[4, 5])) == {4: 12, 5: 11}


def test_top_employees_count_only_what_employees_sent(archive):
    store, _ = archive
    assert stats.top_employees(store, MessageFilter(), scope=ALL) == [("zhangsan", 5), ("lisi", 4), ("wangwu", 1)]


def test_revoked_message_is_marked_and_counted_once(archive):
    """GIVEN a customer message withdrawn by a revoke record THEN the original is revoked, the
    revoke record is a message of type revoke, and nothing else is revoked."""
    store, _ = archive
    assert store.count(MessageFilter(revoked=True), scope=ALL) == 1
    (original,) = store.list_messages(MessageFilter(revoked=True), scope=ALL)[1]
    assert original.text == "我要投诉你们"
    assert store.count(MessageFilter(msgtypes=["revoke"]), scope=ALL) == 1


def test_scope_limits_every_figure(archive):
    """GIVEN an account that may see only wangwu WHEN it reads the statistics THEN only wangwu's chat counts."""
    store, _ = archive
    scope = Scope.of(users=["wangwu"])
    assert sum(n for _, n in stats.per_day(store, MessageFilter(), scope=scope)) == 2
    assert stats.by_field(store, MessageFilter(), "chat_id", scope=scope) == [(E5, 2)]
    assert sum(map(sum, stats.hour_of_week(store, MessageFilter(), scope=scope, tz=TZ))) == 2
    assert stats.violations_per_day(store, ViolationFilter(), scope=scope) == []


def test_violations_per_day_split_at_local_midnight(archive):
    store, _ = archive
    assert stats.violations_per_day(store, ViolationFilter(), scope=ALL) == [
        (day_start(2), "承诺收益", 1),
        (day_start(3), "辱骂", 1),
    ]
    assert stats.violations_by(store, ViolationFilter(), "sender", scope=ALL) == [("wmCUST0001", 2)]


def test_new_customers_per_day_by_local_day_and_scope():
    """GIVEN customers added at 23:59 and 00:01 local time, followed by different employees WHEN
    counted per day THEN they fall on two days, and a scoped account sees only its own follower's."""
    directory = Directory.from_dict(
        {
            "departments": [{"id": 1, "parentid": 0}, {"id": 4, "parentid": 1}, {"id": 6, "parentid": 1}],
            "employees": [{"userid": "zhangsan", "departments": [4]}, {"userid": "wangwu", "departments": [6]}],
            "externals": [
                {"id": "wmA", "added_ms": at(2, 23, 59), "followers": ["zhangsan"]},
                {"id": "wmB", "added_ms": at(3, 0, 1), "followers": ["wangwu"]},
                {"id": "wmC", "added_ms": at(3, 9, 0), "followers": ["wangwu", "zhangsan"]},
                {"id": "wmD", "added_ms": at(9, 9, 0), "followers": ["zhangsan"]},
            ],
        }
    )
    got = stats.new_customers_per_day(directory, tz=TZ, time_from=at(2, 0), time_to=at(9, 0), scope=ALL)
    assert got == [("2026-03-02", 1), ("2026-03-03", 2)]
    mine = stats.new_customers_per_day(directory, tz=TZ, time_from=None, time_to=None, scope=Scope.of(departments=[6]))
    assert mine == [("2026-03-03", 2)]


# --- one employee's figures ---------------------------------------------------------------------------


def test_employee_chats_and_figures(archive):
    """GIVEN zhangsan's week (a customer chat, a customer group, an internal chat) THEN his chat list
    is newest first with the right kinds and counts, and his five figures are right."""
    store, _ = archive
    chats = people.employee_chats(store, "zhangsan", scope=ALL)
    assert [(c.chat_id, c.kind, c.messages, c.last_ms, c.peer) for c in chats] == [
        (E1, "external", 7, at(9, 9, 10), "wmCUST0001"),
        (INTERNAL, "internal", 2, at(5, 15, 1), "lisi"),
        (GROUP, "group", 3, at(5, 11, 4), GROUP),
    ]
    figures = people.employee_figures(store, "zhangsan", scope=ALL)
    assert figures == {"客户总数": 0, "总会话消息数": 12, "客户群总数": 1, "客户私聊会话数": 1, "违规次数": 2}


# --- service quality ---------------------------------------------------------------------------------


def test_service_quality_per_employee(archive):
    """GIVEN the week's conversations with customers (single chats and the customer group) THEN per
    employee: messages sent, replies, conversations taken part in, customer messages (the revoke
    record is no message), conversations left unanswered (the customer's last word, older than an
    hour at Monday noon) and median response times among real replies (not the -1 of non-replies)."""
    store, _ = archive
    rows = {
        r.employee: r
        for r in service.service_quality(store, MessageFilter(), scope=ALL, now_ms=NOW, unanswered_minutes=60)
    }
    assert set(rows) == {"zhangsan", "lisi", "wangwu"}
    z, li, w = rows["zhangsan"], rows["lisi"], rows["wangwu"]
    # zhangsan: E1 (3 sent, 3 replies, 4 customer messages) + the group (对的: no reply; the customer asked once)
    assert (z.sent, z.replies, z.chats, z.customer_messages, z.unanswered_chats) == (4, 3, 2, 5, 0)
    # lisi: E2 (2 sent, 2 replies, 3 customer messages, unanswered) + the group (下周一开放: a 3-minute reply)
    assert (li.sent, li.replies, li.chats, li.customer_messages, li.unanswered_chats) == (3, 3, 2, 4, 1)
    assert (w.sent, w.replies, w.chats, w.customer_messages, w.unanswered_chats) == (1, 0, 1, 1, 1)
    # zhangsan's replies: 4 min, 9 h 5 min 1 s, 2 d 15 h 20 min -> median 9 h 5 min 1 s; in hours 4, 5, 20 min -> 5 min
    assert z.reply_p50_ms == pytest.approx(9 * HOUR + 5 * MINUTE + 1000, rel=0.02)
    assert z.business_p50_ms == pytest.approx(5 * MINUTE, rel=0.02)
    assert z.reply_p90_ms is not None and 9 * HOUR < z.reply_p90_ms <= 2 * 24 * HOUR + 15 * HOUR + 20 * MINUTE * 1.02
    # lisi's: 3 min (group), 20 and 30 min -> median 20 min; in hours 3 min, 20 min and 0 (Saturday) -> 3 min
    assert li.reply_p50_ms == pytest.approx(20 * MINUTE, rel=0.02)
    assert li.business_p50_ms == pytest.approx(3 * MINUTE, rel=0.02)
    assert li.reply_p90_ms == pytest.approx(30 * MINUTE, rel=0.02)
    assert w.reply_p50_ms is None and w.answered_share == 0.0
    assert z.answered_share == 1.0 and li.answered_share == pytest.approx(3 / 4)


def test_service_quality_of_single_chats_only(archive):
    """GIVEN the filter asks for single chats with customers only THEN the customer group is left out:
    lisi's figures are those of E2 alone, with its 20 and 30 minute replies."""
    store, _ = archive
    rows = {
        r.employee: r
        for r in service.service_quality(
            store, MessageFilter(chat_kinds=["external"]), scope=ALL, now_ms=NOW, unanswered_minutes=60
        )
    }
    li = rows["lisi"]
    assert (li.sent, li.replies, li.chats, li.unanswered_chats) == (2, 2, 1, 1)
    assert 20 * MINUTE * 0.98 <= li.reply_p50_ms <= 30 * MINUTE * 1.02


def test_a_revoke_record_is_not_a_customer_message(archive):
    """GIVEN lisi's customer sent three messages (one later withdrawn) and one revoke record
    THEN lisi's customer messages are three: the withdrawn one was sent, the record was not written by anyone."""
    store, _ = archive
    rows = {
        r.employee: r
        for r in service.service_quality(
            store, MessageFilter(chat_kinds=["external"]), scope=ALL, now_ms=NOW, unanswered_minutes=60
        )
    }
    assert rows["lisi"].customer_messages == 3


def test_unanswered_threshold(archive):
    """GIVEN lisi's customer wrote last on Sunday 20:00 WHEN read at 20:30 with a one-hour threshold
    THEN that conversation is not yet unanswered; wangwu's (Wednesday) is."""
    store, _ = archive
    rows = {
        r.employee: r
        for r in service.service_quality(store, MessageFilter(), scope=ALL, now_ms=at(8, 20, 30), unanswered_minutes=60)
    }
    assert rows["lisi"].unanswered_chats == 0 and rows["wangwu"].unanswered_chats == 1


def test_an_employee_who_never_answers_still_has_a_row(tmp_path: Path):
    """GIVEN a customer who wrote to zhaoliu on Monday morning and zhaoliu never answered
    WHEN service quality is read at noon THEN zhaoliu's row shows one unanswered conversation."""
    from store.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path / "store", timezone=TZ)
    store.init()
    try:
        f = Factory(seed=2)
        msgs = [
            f.message("在吗，想咨询一下", sender="wmCUST0003", to=["zhaoliu"], time_ms=at(2, 10)),
            f.message("您好", sender="zhangsan", to=["wmCUST0001"], time_ms=at(2, 10, 5)),
        ]
        store.write_batch(Batch(messages=msgs, checkpoint=max(m.seq for m in msgs)))
        store.refresh()
        rows = {
            r.employee: r
            for r in service.service_quality(store, MessageFilter(), scope=ALL, now_ms=at(2, 12), unanswered_minutes=60)
        }
        assert "zhaoliu" in rows
        z = rows["zhaoliu"]
        assert (z.chats, z.sent, z.customer_messages, z.unanswered_chats, z.answered_share) == (1, 0, 1, 1, 0.0)
    finally:
        store.close()


def test_groups_with_customers_count_and_internal_groups_do_not(tmp_path: Path):
    """GIVEN a customer group where zhaoliu answers in 5 minutes, and an internal group where he
    answers a colleague WHEN service quality is read THEN the customer group counts (one conversation,
    one reply of 5 minutes) and the internal group is left out (its message is not counted as sent)."""
    from store.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path / "store", timezone=TZ)
    store.init()
    try:
        f = Factory(seed=3)
        customer_group = [
            f.message(
                "请问怎么开户", sender="wmCUST0003", to=["zhaoliu", "sunqi"], roomid="wrCUSTOMERS", time_ms=at(2, 10)
            ),
            f.message(
                "我发您流程",
                sender="zhaoliu",
                to=["wmCUST0003", "sunqi"],
                roomid="wrCUSTOMERS",
                time_ms=at(2, 10, 5),
                reply_ms=5 * MINUTE,
                reply_business_ms=5 * MINUTE,
            ),
        ]
        internal_group = [
            f.message("周会几点", sender="sunqi", to=["zhaoliu", "lisi"], roomid="wrSTAFF", time_ms=at(2, 11)),
            f.message("三点", sender="zhaoliu", to=["sunqi", "lisi"], roomid="wrSTAFF", time_ms=at(2, 11, 1)),
        ]
        msgs = customer_group + internal_group
        store.write_batch(Batch(messages=msgs, checkpoint=max(m.seq for m in msgs)))
        store.refresh()
        rows = {
            r.employee: r
            for r in service.service_quality(store, MessageFilter(), scope=ALL, now_ms=at(2, 12), unanswered_minutes=60)
        }
        assert set(rows) == {"zhaoliu", "sunqi"}  # lisi is only in the internal group
        z, s = rows["zhaoliu"], rows["sunqi"]
        assert (z.chats, z.sent, z.replies, z.customer_messages, z.unanswered_chats) == (1, 1, 1, 1, 0)
        assert z.reply_p50_ms == pytest.approx(5 * MINUTE, rel=0.02)
        assert (s.chats, s.sent, s.customer_messages) == (1, 0, 1)
    finally:
        store.close()
