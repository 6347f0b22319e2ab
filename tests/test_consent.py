"""Consent of external contacts (agree/disagree events) and the consent policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compliance import consent
from compliance.masking import MASK
from core.errors import BadInput
from core.models import Message
from core.settings import Settings
from tests.helpers import make_message, open_test_store

T0 = 1_763_600_000_000
ALICE = "wmALICE00000000000000000000000001"
BOB = "wmBOB0000000000000000000000000002"


def _event(kind: str, external: str, employee: str, time_ms: int, msgid: str) -> Message:
    raw = json.dumps(
        {
            "msgid": msgid,
            "action": "send",
            "from": external,
            "tolist": [employee],
            "roomid": "",
            "msgtime": time_ms,
            "msgtype": kind,
            kind: {"userid": external, f"{kind}_time": time_ms},
        }
    )
    return Message(
        msgid=msgid,
        seq=1,
        action="send",
        msgtype=kind,
        time_ms=time_ms,
        sender=external,
        sender_kind="external",
        receivers=[employee],
        roomid="",
        chat_id="|".join(sorted((employee, external))),
        chat_kind="external",
        text="",
        raw=raw,
        has_external=True,
        employees=[employee],
        externals=[external],
        departments=[1],
    )


def _text(msgid: str, employee: str, external: str, text: str) -> Message:
    return make_message(text, msgid=msgid, seq=2, sender=employee, to=(external,), time_ms=T0 + 10_000, departments=[1])


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_test_store(tmp_path)
    yield s
    s.close()


def test_events_are_stored_per_employee_and_contact_and_the_newest_wins(store: Any) -> None:
    """GIVEN Alice agreed with zhangwei, then disagreed, and an old agree arrives late
    THEN her state with zhangwei is disagree (the newest event), unknown contacts are unknown."""
    consent.record_events(
        store, [_event("agree", ALICE, "zhangwei", T0, "e1"), _event("disagree", ALICE, "zhangwei", T0 + 5, "e2")]
    )
    consent.record_events(store, [_event("agree", ALICE, "zhangwei", T0 + 1, "e0-late")])
    consent.record_events(store, [_event("agree", ALICE, "lina", T0 + 2, "e3")])
    state = consent.consent_status(store, ALICE)
    assert state["status"] == "disagree" and state["time_ms"] == T0 + 5
    assert state["by_employee"] == {
        "zhangwei": {"status": "disagree", "time_ms": T0 + 5},
        "lina": {"status": "agree", "time_ms": T0 + 2},
    }
    assert consent.consent_status(store, BOB)["status"] == "unknown"
    assert [r["external"] for r in consent.list_consent(store, "disagree")] == [ALICE]


POLICIES = [
    ("keep", {"a", "b", "c", "event"}, False),
    ("mask", {"a", "b", "c", "event"}, True),
    ("exclude", {"b", "c", "event"}, False),
]


@pytest.mark.parametrize("policy,kept,masked", POLICIES, ids=[p[0] for p in POLICIES])
def test_policy_applies_to_messages_with_contacts_who_disagreed(
    store: Any, tmp_path: Path, policy: str, kept: set[str], masked: bool
) -> None:
    """GIVEN Alice disagreed with zhangwei (in the same batch) WHEN the policy is applied
    THEN zhangwei's messages with Alice are kept, masked or dropped; lina's with Alice
    (who agreed) and anything with Bob are untouched; the event itself is always kept."""
    consent.record_events(store, [_event("agree", ALICE, "lina", T0 - 5, "e0")])
    batch = [
        _event("disagree", ALICE, "zhangwei", T0, "event"),
        _text("a", "zhangwei", ALICE, "王女士您好，电话13812345678"),
        _text("b", "lina", ALICE, "电话13812345678"),
        _text("c", "zhangwei", BOB, "电话13812345678"),
    ]
    settings = Settings(data=str(tmp_path / "cfg"), consent_policy=policy)
    out = consent.apply_consent_policy(store, batch, settings=settings)
    assert {m.msgid for m in out} == kept
    by_id = {m.msgid: m for m in out}
    if "a" in by_id:
        assert by_id["a"].masked is masked
        assert ("13812345678" in by_id["a"].text) is not masked
    assert not by_id["b"].masked and "13812345678" in by_id["b"].text
    assert not by_id["c"].masked


def test_policy_argument_overrides_and_bad_policy_is_refused(store: Any) -> None:
    batch = [_event("disagree", ALICE, "zhangwei", T0, "event"), _text("a", "zhangwei", ALICE, "13812345678")]
    with pytest.raises(BadInput, match="consent_policy"):
        consent.apply_consent_policy(store, batch, policy="forget")
    assert consent.list_consent(store) == []  # nothing recorded when the policy is refused
    out = consent.apply_consent_policy(store, batch, policy="mask")
    assert out[1].text == MASK * 11
