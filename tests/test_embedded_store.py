"""What only the embedded store has: files on disk, reopening, schema migration, crash
safety under SIGKILL, and two processes writing the same store."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.models import ALL, Batch, MessageFilter, SearchRequest, ViolationFilter
from store.embedded import EmbeddedStore
from store.embedded.schema import SCHEMA_VERSION
from tests.conformance.corpus import BASE_MS, Factory

REPO = Path(__file__).resolve().parent.parent


def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    """GIVEN a store with messages, records and a checkpoint WHEN closed and opened again THEN all is there and init
    does not migrate."""
    f = Factory()
    store = EmbeddedStore(tmp_path)
    assert store.init() == {"backend": "embedded", "schema_version": SCHEMA_VERSION, "migrated": False}
    store.write_batch(Batch(messages=[f.message("持久化的消息")], checkpoint=1))
    store.put_record("meta", "k", {"v": 1})
    store.close()
    assert (tmp_path / "state.sqlite3").exists() and (tmp_path / "index" / "meta.json").exists()

    again = EmbeddedStore(tmp_path)
    assert again.init()["migrated"] is False
    assert again.checkpoint() == 1
    assert again.search(SearchRequest(query='"持久化"'), scope=ALL).total == 1
    assert again.get_record("meta", "k")["v"] == 1
    again.close()


def test_changed_schema_or_dictionary_rebuilds_the_index(tmp_path: Path) -> None:
    """GIVEN a store written under another schema/dictionary fingerprint WHEN init runs THEN it rebuilds
    the index from the stored messages (migrated: true), keeping messages and checkpoint, and recomputing words."""
    f = Factory()
    store = EmbeddedStore(tmp_path)
    store.init()
    stale = f.message("我们需要验证一下", words=["旧词"])  # words from an older dictionary
    store.write_batch(Batch(messages=[stale, f.message("第二条")], checkpoint=7))
    store._state.set_meta("schema_fingerprint", "older")  # what an upgrade looks like to init
    store.close()

    again = EmbeddedStore(tmp_path)
    assert again.init() == {"backend": "embedded", "schema_version": SCHEMA_VERSION, "migrated": True}
    assert again.checkpoint() == 7
    assert again.count(MessageFilter(), scope=ALL) == 2
    assert again.search(SearchRequest(query="验证"), scope=ALL).total == 1
    assert again.search(SearchRequest(query="旧词"), scope=ALL).total == 0
    assert again.init()["migrated"] is False
    assert not (tmp_path / "index.new").exists() and not (tmp_path / "index.old").exists()
    again.close()


def test_in_memory_store_for_quick_use() -> None:
    store = EmbeddedStore(None)
    store.init()
    store.write_batch(Batch(messages=[Factory().message("内存里的消息")], checkpoint=1))
    assert store.search(SearchRequest(query='"内存"'), scope=ALL).total == 1
    store.close()


def test_a_revoke_survives_another_writer_rewriting_its_original(tmp_path, monkeypatch) -> None:
    """GIVEN two writers on one store (two indexer processes), one storing the revoke of c1 while
    the other re-writes c1 (a replayed batch) WHEN the re-write lands just after the revoke's
    index commit THEN c1 stays revoked (the revoke was recorded before that commit; recorded
    after it, the re-write stored c1 un-revoked: seen once in the full suite's two-process test)."""
    first, second = EmbeddedStore(tmp_path), EmbeddedStore(tmp_path)
    first.init()
    second.init()
    original = Factory().message("第1条消息", seq=1, msgid="c1")
    first.write_batch(Batch(messages=[original], checkpoint=1))
    commit = EmbeddedStore._commit

    def commit_then_replay(self, prepare, *, large=False):
        commit(self, prepare, large=large)
        if self is first:  # between the revoke's index commit and the rest of its batch
            second.write_batch(Batch(messages=[original], checkpoint=1))

    monkeypatch.setattr(EmbeddedStore, "_commit", commit_then_replay)
    first.write_batch(Batch(revoked_msgids=["c1"], checkpoint=2))
    monkeypatch.undo()
    first.refresh()
    assert [m.msgid for m in first.iter_messages(MessageFilter(revoked=True), scope=ALL)] == ["c1"]
    first.close()
    second.close()


# --- crash safety ------------------------------------------------------------------------------

N_SEQ = 400  # the "source": seqs 1..N_SEQ, a batch of up to 25 from the checkpoint on

PIPELINE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from core.models import Batch, DeadLetter
    from store.embedded import EmbeddedStore
    from tests.conformance.corpus import Factory
    from tests.conformance.test_store_basics import violation

    N, STEP = int(sys.argv[2]), int(sys.argv[3])
    store = EmbeddedStore(Path(sys.argv[1]))
    store.init()
    f = Factory()
    print("ready", flush=True)
    while (start := store.checkpoint() + 1) <= N:          # replay from the last checkpoint
        end = min(N, start + STEP - 1)
        batch = Batch(checkpoint=end)
        for seq in range(start, end + 1):
            if seq % 11 == 0:                               # undecryptable: a dead letter
                letter = DeadLetter(seq=seq, msgid=f"c{seq}", reason="bad", stage="decrypt", record={"seq": seq})
                batch.deadletters.append(letter)
                continue
            m = f.message(f"第{seq}条消息 回扣" if seq % 7 == 0 else f"第{seq}条消息", seq=seq, msgid=f"c{seq}")
            batch.messages.append(m)
            if seq % 7 == 0:
                batch.violations.append(violation(m))
            if seq % 13 == 0:                               # a revoke of the previous message
                batch.revoked_msgids.append(f"c{seq - 1}")
        store.write_batch(batch)
        print("committed", flush=True)
    store.close()
    """
)


def run_pipeline(path: Path, step: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", PIPELINE, str(path), str(N_SEQ), str(step)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def check_complete(path: Path) -> None:
    store = EmbeddedStore(path)
    store.init()
    assert store.checkpoint() == N_SEQ
    expected = [f"c{s}" for s in range(1, N_SEQ + 1) if s % 11]
    got = [m.msgid for m in store.iter_messages(MessageFilter(), scope=ALL)]
    assert got == expected  # nothing lost, nothing twice
    assert store.count(MessageFilter(), scope=ALL) == len(expected)
    flagged = {m.msgid for m in store.iter_messages(MessageFilter(flagged=True), scope=ALL)}
    assert flagged == {f"c{s}" for s in range(1, N_SEQ + 1) if s % 7 == 0 and s % 11}
    revoked = {m.msgid for m in store.iter_messages(MessageFilter(revoked=True), scope=ALL)}
    assert revoked == {f"c{s - 1}" for s in range(1, N_SEQ + 1) if s % 13 == 0 and s % 11 and (s - 1) % 11}
    assert store.list_violations(ViolationFilter(), scope=ALL)[0] == len(flagged)
    total, dead = store.list_deadletters()
    assert total == N_SEQ // 11 and len({d.msgid for d in dead}) == total
    assert store.search(SearchRequest(query="回扣", limit=0), scope=ALL).total == len(flagged)
    store.close()


def _checkpoint(path: Path) -> int:
    probe = EmbeddedStore(path)
    try:
        return probe.checkpoint()
    finally:
        probe.close()


def check_nothing_refers_to_an_uncommitted_message(store: EmbeddedStore) -> None:
    """Violations and dead letters are committed with or after what they refer to."""
    stored = {m.msgid for m in store.iter_messages(MessageFilter(), scope=ALL)}
    _, violations = store.list_violations(ViolationFilter(), scope=ALL, limit=10_000)
    assert {v.msgid for v in violations} <= stored
    _, dead = store.list_deadletters(limit=10_000)
    assert all(d.seq <= store.checkpoint() for d in dead)


@pytest.mark.slow
def test_sigkill_at_any_instant_neither_loses_nor_duplicates(tmp_path: Path) -> None:
    """GIVEN a pipeline that replays from the last checkpoint WHEN it is SIGKILLed at random instants,
    again and again, and finally runs to the end THEN after each kill no violation or dead letter
    exists for a message not yet committed, and in the end every message is stored exactly once,
    with its flags, violations and dead letters."""
    rng = random.Random(42)
    partial: list[int] = []  # the checkpoint each kill left behind
    for _ in range(8):
        left = -(-(N_SEQ - _checkpoint(tmp_path)) // 20)  # batches still to write
        if left < 2:
            break
        proc = run_pipeline(tmp_path, step=20)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        # Killed while writing a random batch: counted in commits, not seconds, so a loaded
        # machine cannot turn the kills into kills before the first or after the last batch.
        for _ in range(rng.randint(1, left - 1)):
            assert proc.stdout.readline().strip() == b"committed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        probe = EmbeddedStore(tmp_path)
        partial.append(probe.checkpoint())
        check_nothing_refers_to_an_uncommitted_message(probe)
        probe.close()
    proc = run_pipeline(tmp_path, step=20)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert len([c for c in partial if 0 < c < N_SEQ]) >= 3, partial  # the kills did land mid-run
    check_complete(tmp_path)


@pytest.mark.slow
def test_two_processes_writing_the_same_store(tmp_path: Path) -> None:
    """GIVEN two pipeline processes on one store (e.g. a manual pull while the scheduler runs)
    WHEN both write THEN the writer lock serialises them and the result is still complete and unique."""
    EmbeddedStore(tmp_path).init()
    procs = [run_pipeline(tmp_path, step=10), run_pipeline(tmp_path, step=15)]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err.decode()[-2000:]
    check_complete(tmp_path)


# --- ordering by time through windows ----------------------------------------------------------


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    """600 messages over a year with clustered times and many exact ties (the window search's worst case)."""
    rng = random.Random(5)
    f = Factory(seed=5)
    messages = []
    for seq in range(1, 601):
        cluster = rng.choice([0, 1, 2, 300, 301, 364])
        t = BASE_MS + cluster * 86_400_000 + rng.choice([0, 0, 1000, rng.randrange(86_400_000)])
        messages.append(
            f.message(
                rng.choice(["回扣的事", "好的", "明天开会", "收到"]),
                seq=seq,
                msgid=f"w{seq:04d}",
                time_ms=t,
                sender=rng.choice(["zhangsan", "wangwu", "lisi"]),
                to=["sunqi"],
            )
        )
    store = EmbeddedStore(tmp_path_factory.mktemp("crowded"))
    store.init()
    store.write_batch(Batch(messages=messages[:300], checkpoint=300))
    store.write_batch(Batch(messages=messages[300:], checkpoint=600))
    store.expected = messages  # type: ignore[attr-defined]
    return store


@pytest.mark.parametrize(
    "query, filters",
    [("", MessageFilter()), ("好的", MessageFilter()), ("", MessageFilter(senders=["wangwu"]))],
    ids=["all", "word", "filter"],
)
@pytest.mark.parametrize("sort", ["time_desc", "time_asc"])
def test_time_order_through_windows_equals_a_full_sort(
    crowded: EmbeddedStore, monkeypatch: pytest.MonkeyPatch, query: str, filters: MessageFilter, sort: str
) -> None:
    """GIVEN many matches (window search on) WHEN paged by time at many offsets THEN every page equals the brute-force
    (time, seq) sort."""
    import store.embedded.store as module

    monkeypatch.setattr(module, "WINDOW_MIN_MATCHES", 10)
    from analyzers.textfold import fold

    matches = [
        m
        for m in crowded.expected
        if (not filters.senders or m.sender in filters.senders)  # type: ignore[attr-defined]
        and (not query or fold(query) in fold(m.text))
    ]  # a bare word matches wherever it occurs
    assert len(matches) > 50
    expected = [m.msgid for m in sorted(matches, key=lambda m: (m.time_ms, m.seq), reverse=sort == "time_desc")]
    for offset, limit in [(0, 1), (0, 20), (7, 13), (45, 30), (max(0, len(expected) - 5), 20), (0, len(expected) + 3)]:
        result = crowded.search(
            SearchRequest(query=query, filters=filters, sort=sort, limit=limit, offset=offset, highlight=False),
            scope=ALL,
        )
        assert result.total == len(expected)
        assert [h.msgid for h in result.hits] == expected[offset : offset + limit], (offset, limit)


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
@pytest.mark.parametrize(
    "filters",
    [MessageFilter(), MessageFilter(senders=["lisi"]), MessageFilter(seq_from=100, seq_to=350)],
    ids=["all", "sender", "seq-range"],
)
def test_iteration_through_seq_windows_equals_the_seq_order(
    crowded: EmbeddedStore, batch_size: int, filters: MessageFilter
) -> None:
    """GIVEN 600 messages WHEN iterated with any batch size and filter THEN exactly the matches, in seq order, once
    each."""
    expected = [
        m.msgid
        for m in crowded.expected  # type: ignore[attr-defined]
        if (not filters.senders or m.sender in filters.senders)
        and (filters.seq_from is None or m.seq >= filters.seq_from)
        and (filters.seq_to is None or m.seq < filters.seq_to)
    ]
    assert [m.msgid for m in crowded.iter_messages(filters, scope=ALL, batch_size=batch_size)] == expected
