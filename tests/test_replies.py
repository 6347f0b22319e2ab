"""First-response times: working hours, and the state rebuilt from the store after a restart."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.models import Batch, Message
from indexer.replies import ReplyTracker, WorkingHours
from store.embedded import EmbeddedStore
from tests.helpers import make_message

TZ = ZoneInfo("Asia/Shanghai")


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp() * 1000)


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        pytest.param("2026-11-18 10:00", "2026-11-18 10:07", 7, id="inside-hours"),
        pytest.param("2026-11-18 23:00", "2026-11-19 09:05", 5, id="overnight"),
        pytest.param("2026-11-20 17:50", "2026-11-23 09:10", 20, id="over-the-weekend"),
        pytest.param("2026-11-21 11:00", "2026-11-21 15:00", 0, id="all-on-saturday"),
    ],
)
def test_business_time_counts_only_working_hours(start: str, end: str, minutes: int) -> None:
    hours = WorkingHours("09:00-18:00", "1,2,3,4,5", "Asia/Shanghai")
    assert hours.business_ms(ms(start), ms(end)) == minutes * 60_000


def message(msgid: str, seq: int, sender: str, when: str, msgtype: str = "text", action: str = "send") -> Message:
    return make_message(
        "…",
        msgid=msgid,
        seq=seq,
        sender=sender,
        to=(),
        time_ms=ms(when),
        msgtype=msgtype,
        action=action,
        chat_id="c1",
        chat_kind="external",
        has_external=True,
        employees=["zhangwei"],
        externals=["wmCUSTOMER0000000000000000000001"],
    )


def test_after_a_restart_the_wait_is_rebuilt_past_consent_records(tmp_path: Path) -> None:
    """GIVEN a customer's question followed by a consent event, both already stored
    WHEN a fresh tracker (a restarted indexer) sees the employee's answer
    THEN the answer's reply time counts from the question, not from the consent event."""
    store = EmbeddedStore(tmp_path / "store")
    store.init()
    customer = "wmCUSTOMER0000000000000000000001"
    store.write_batch(
        Batch(
            messages=[
                message("q", 1, customer, "2026-11-18 10:00"),
                message("agree", 2, customer, "2026-11-18 10:01", msgtype="agree"),
            ],
            checkpoint=2,
        )
    )
    store.refresh()
    answer = message("a", 3, "zhangwei", "2026-11-18 10:30")
    ReplyTracker(store, WorkingHours()).apply([answer])
    assert answer.reply_ms == 30 * 60_000
    assert answer.reply_business_ms == 30 * 60_000
    store.close()
