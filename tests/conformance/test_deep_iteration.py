"""Iteration, export and schema migration past Elasticsearch's 10,000-result window.

One store of 10,250 messages per backend (module scope: writing it is the slow part).
Each answer is compared with a brute-force computation over the messages written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import ALL, Message, MessageFilter, Scope
from store.base import Store
from tests.conformance.conftest import BACKENDS, opened_store
from tests.conformance.corpus import BASE_MS, Factory

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("deep-iteration")]  # one worker builds the big store

N = 10_250  # past index.max_result_window (10,000)
KEYWORD = "回扣"


def corpus() -> list[Message]:
    """Every 3rd message says the keyword; senders alternate so a scope selects about half."""
    f = Factory()
    out = []
    for seq in range(1, N + 1):
        text = f"第{seq}条 {KEYWORD}" if seq % 3 == 0 else f"第{seq}条 你好"
        sender = "zhangsan" if seq % 2 else "wangwu"
        out.append(
            f.message(text, msgid=f"d{seq:06d}", seq=seq, time_ms=BASE_MS + seq * 1000, sender=sender, to=["lisi"])
        )
    return out


MESSAGES = corpus()


@pytest.fixture(scope="module", params=BACKENDS)
def big_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with opened_store(request.param, tmp_path_factory.mktemp("deep"), MESSAGES) as s:
        yield s


def test_iteration_returns_every_message_past_ten_thousand_once_in_order(big_store: Store) -> None:
    """GIVEN 10,250 messages WHEN iterated in pages of 1,000 THEN every one comes exactly once, in (seq, msgid)
    order."""
    got = [m.msgid for m in big_store.iter_messages(MessageFilter(), scope=ALL, batch_size=1000)]
    assert got == [m.msgid for m in sorted(MESSAGES, key=lambda m: (m.seq, m.msgid))]


def test_iteration_with_a_query_filters_and_scope_equals_brute_force(big_store: Store) -> None:
    """GIVEN a text query, a seq filter and a scope WHEN iterated THEN the result is exactly the brute-force
    selection."""
    scope = Scope.of(users=["zhangsan"])
    got = [
        m.msgid
        for m in big_store.iter_messages(MessageFilter(seq_from=100), scope=scope, query=f'"{KEYWORD}"', batch_size=700)
    ]
    expected = [m.msgid for m in MESSAGES if KEYWORD in m.text and m.seq >= 100 and "zhangsan" in m.employees]
    assert len(expected) > 1000 and got == expected


def test_export_writes_every_message_past_ten_thousand(big_store: Store, tmp_path: Path) -> None:
    """GIVEN 10,250 messages WHEN exported as jsonl THEN the file and the manifest list all of them, once."""
    from chatarchive.archive import Archive
    from compliance.export import export_messages
    from core.settings import Settings

    out = tmp_path / "all.jsonl"
    archive = Archive(
        Settings(data=str(tmp_path / "unused")), actor="auditor1", _store=big_store
    )  # role super, scope all
    summary = export_messages(archive, "", "jsonl", out, "full export for the regulator")
    exported = [json.loads(line)["msgid"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert summary["count"] == N and exported == [m.msgid for m in MESSAGES]
    manifest = json.loads(Path(summary["manifest"]).read_text(encoding="utf-8"))
    assert [h["msgid"] for h in manifest["messages"]] == exported


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_schema_migration_keeps_every_message_past_ten_thousand(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN 10,250 messages stored under an older schema WHEN init runs THEN it migrates, reports progress,
    and afterwards every message is there once, searchable, and a second init has nothing to do."""
    with opened_store(backend, tmp_path) as store:
        _store_under_an_older_schema(store, monkeypatch)
        reported: list[tuple[str, int, int]] = []
        assert store.init(progress=lambda *a: reported.append(a))["migrated"] is True
        store.refresh()
        assert reported and reported[-1][1] == reported[-1][2] >= N
        got = [m.msgid for m in store.iter_messages(MessageFilter(), scope=ALL, batch_size=2000)]
        assert got == [m.msgid for m in MESSAGES]
        assert store.count(MessageFilter(), scope=ALL, query=f'"{KEYWORD}"') == sum(KEYWORD in m.text for m in MESSAGES)
        assert store.init()["migrated"] is False


def _store_under_an_older_schema(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes the corpus as a store of the previous schema version would hold it."""
    from core.models import Batch

    if store.backend_name == "embedded":
        store.write_batch(Batch(messages=MESSAGES, checkpoint=N))
        store._state.set_meta("schema_fingerprint", "an older schema")  # what an older release left behind
        store.close()  # the next init opens it again and sees the old fingerprint
        return
    from store.elasticsearch import requests as R

    current = R.schema_versions()
    store.drop_all()
    with monkeypatch.context() as m:
        m.setattr(R, "schema_versions", lambda: {**current, "messages": current["messages"] - 1})
        store.init()
        store.write_batch(Batch(messages=MESSAGES, checkpoint=N))
    store.refresh()
