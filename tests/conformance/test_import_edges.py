"""Import at the edges, on every backend: bad lines become dead letters, good lines are stored,
re-delivered msgids are counted and changed ones kept as versions, never silently replaced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatarchive.archive import Archive
from core.models import MessageFilter, Scope
from core.settings import Settings
from indexer.imports import LineOrigin
from indexer.pipeline import Pipeline
from indexer.redelivery import VERSIONS, list_versions
from store.base import Store
from tests.conformance.conftest import opened_store

MAX_CHARS = 2000
T0 = 1_700_000_000_000


def good(i: int, text: str = "") -> dict[str, Any]:
    return {
        "msgid": f"g{i:04d}",
        "action": "send",
        "from": "zhangsan",
        "tolist": ["lisi"],
        "roomid": "",
        "msgtime": T0 + i * 1000,
        "msgtype": "text",
        "text": {"content": text or f"第{i}条消息"},
    }


def line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


def bad_line(kind: str, i: int) -> bytes:
    """One line that must not be stored, of the kind real archives contain."""
    base = good(i)
    if kind == "msgtime_word":
        return line({**base, "msgtime": "yesterday"})
    if kind == "msgtime_huge":
        return line(base).replace(str(base["msgtime"]).encode(), b"1e20")
    if kind == "not_utf8":
        return line(base).replace("消息".encode(), b"\xff\xfe")
    if kind == "oversize":
        return line({**base, "text": {"content": "长" * (MAX_CHARS + 1)}})
    if kind == "missing_msgid":
        return line({k: v for k, v in base.items() if k != "msgid"})
    if kind == "tolist_type":
        return line({**base, "tolist": "lisi"})
    if kind == "not_json":
        return b'{"msgid": "g%04d", "msgtype": "text",\n' % i
    raise ValueError(kind)


BAD_KINDS = ["msgtime_word", "msgtime_huge", "not_utf8", "oversize", "missing_msgid", "tolist_type", "not_json"]


def archive_over(store: Store, tmp_path: Path) -> Archive:
    return Archive(settings=Settings(data=str(tmp_path / "settings"), max_message_chars=MAX_CHARS), _store=store)


def import_file(store: Store, tmp_path: Path, name: str, lines: list[bytes]) -> dict[str, int]:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    pipeline = Pipeline.for_import(archive_over(store, tmp_path))
    with path.open("rb") as f:
        return pipeline.import_lines(f, origin=LineOrigin.of_file(path))


def stored_ids(store: Store) -> set[str]:
    return {m.msgid for m in store.iter_messages(MessageFilter(), scope=Scope.everything())}


def test_each_bad_line_is_a_dead_letter_with_its_reason_and_line_and_the_rest_is_stored(
    store: Store, tmp_path: Path
) -> None:
    """GIVEN 24 lines of which 7 are bad (a word for msgtime, 1e20, invalid UTF-8, oversize,
    no msgid, tolist not a list, broken JSON)
    WHEN the file is imported
    THEN the 17 good lines are stored, each bad one is a dead letter naming the file, its line
    and the reason, and read = stored + duplicates + deadletter"""
    bad_at = {3 + 3 * k: kind for k, kind in enumerate(BAD_KINDS)}
    lines = [bad_line(bad_at[n], n) if n in bad_at else line(good(n)) for n in range(1, 25)]
    counts = import_file(store, tmp_path, "day1.jsonl", lines)
    assert counts == {"read": 24, "stored": 17, "skipped": 0, "duplicates": 0, "versions": 0, "deadletter": 7}
    assert stored_ids(store) == {f"g{n:04d}" for n in range(1, 25) if n not in bad_at}
    total, dead = store.list_deadletters(limit=100)
    assert total == 7
    by_line = {d.record["line"]: d for d in dead}
    assert set(by_line) == set(bad_at)
    for n in bad_at:
        assert by_line[n].reason.startswith(f"day1.jsonl line {n}: ")
    assert "msgtime" in by_line[3].reason and "msgtime" in by_line[6].reason
    assert "not UTF-8" in by_line[9].reason and "max_message_chars" in by_line[12].reason
    assert by_line[9].record["plaintext_base64"]  # the exact bytes are kept as evidence
    assert store.stats(scope=Scope.everything())["messages"] == counts["stored"]


def test_half_an_emoji_is_stored_with_a_replacement_character_and_raw_kept(store: Store, tmp_path: Path) -> None:
    """GIVEN a line whose text holds a lone UTF-16 surrogate escape (a client cut an emoji in
    two: "\\ud83d" without its pair) between two good lines WHEN the file is imported
    THEN all three are stored: the text shows U+FFFD where the half was and stays searchable,
    raw keeps the line exactly as received (evidence), and nothing fails the batch."""
    half = line(good(2)).replace("第2条消息".encode(), b"\\ud83d broken emoji")
    counts = import_file(store, tmp_path, "emoji.jsonl", [line(good(1)), half, line(good(3))])
    assert counts["stored"] == 3 and counts["deadletter"] == 0
    [m] = store.get_messages(["g0002"], scope=Scope.everything())
    assert m.text == "\ufffd broken emoji"
    assert m.raw.encode("utf-8") == half.rstrip(b"\n")
    assert [x.msgid for x in store.iter_messages(MessageFilter(), scope=Scope.everything(), query='"broken"')] == [
        "g0002"
    ]


def test_dead_letter_ids_are_unique_across_imports_and_stable_for_the_same_file(store: Store, tmp_path: Path) -> None:
    """GIVEN two different files, each with a bad line 2
    WHEN both are imported, and the first one again
    THEN there are two dead letters (no overwrite), and re-importing the first adds none"""
    import_file(store, tmp_path, "a.jsonl", [line(good(1)), bad_line("msgtime_word", 2)])
    import_file(store, tmp_path, "b.jsonl", [line(good(3)), bad_line("msgtime_word", 4)])
    again = import_file(store, tmp_path, "a.jsonl", [line(good(1)), bad_line("msgtime_word", 2)])
    total, dead = store.list_deadletters(limit=100)
    assert total == 2 and len({d.msgid for d in dead}) == 2
    assert again == {"read": 2, "stored": 0, "skipped": 1, "duplicates": 1, "versions": 0, "deadletter": 1}


def test_a_changed_redelivery_is_kept_as_a_version_and_never_replaces_the_stored_message(
    store: Store, tmp_path: Path
) -> None:
    """GIVEN a stored message
    WHEN the same msgid arrives again with different content (and once more identical)
    THEN the stored message keeps its first content, the other content is a version record,
    and both re-deliveries are counted as duplicates, one of them as a version"""
    import_file(store, tmp_path, "first.jsonl", [line(good(1, "原始内容"))])
    counts = import_file(store, tmp_path, "second.jsonl", [line(good(1, "被改过的内容")), line(good(1, "原始内容"))])
    assert counts["stored"] == 0 and counts["duplicates"] == 2 and counts["versions"] == 1
    [kept] = store.get_messages(["g0001"], scope=Scope.everything())
    assert kept.text == "原始内容"
    [version] = list_versions(store, "g0001")
    assert "被改过的内容" in version["raw"] and version["raw_sha256"] != kept.raw_sha256
    assert store.count_records(VERSIONS) == 1
    import_file(store, tmp_path, "third.jsonl", [line(good(1, "被改过的内容"))])
    assert store.count_records(VERSIONS) == 1  # the same version twice is one version


@pytest.fixture
def backend(store: Store) -> Iterator[str]:
    yield "embedded" if type(store).__name__ == "EmbeddedStore" else "elasticsearch"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(st.one_of(st.integers(min_value=1, max_value=8), st.sampled_from(BAD_KINDS)), min_size=1, max_size=20)
)
def test_stored_and_dead_lettered_lines_equal_a_brute_force_classification(
    backend: str, tmp_path_factory: pytest.TempPathFactory, plan: list[int | str]
) -> None:
    """GIVEN any mix of good lines (msgids may repeat, with the same or other content) and bad lines
    WHEN the file is imported into an empty store
    THEN stored msgids, dead-lettered line numbers and every count equal a brute-force classification"""
    lines: list[bytes] = []
    expected_dead: set[int] = set()
    first_text: dict[str, str] = {}
    duplicates = versions = 0
    seen_versions: set[tuple[str, str]] = set()
    for n, step in enumerate(plan, 1):
        if isinstance(step, str):
            lines.append(bad_line(step, 100 + n))
            expected_dead.add(n)
            continue
        text = f"内容{n % 3}"  # the same msgid comes back with the same or another text
        msgid = f"g{step:04d}"
        lines.append(line(good(step, text)))
        if msgid in first_text:
            duplicates += 1
            if text != first_text[msgid] and (msgid, text) not in seen_versions:
                seen_versions.add((msgid, text))
            versions += text != first_text[msgid]
        else:
            first_text[msgid] = text
    tmp_path = tmp_path_factory.mktemp("import")
    with opened_store(backend, tmp_path) as store:
        counts = import_file(store, tmp_path, "mix.jsonl", lines)
        assert counts["read"] == len(plan) == counts["stored"] + counts["duplicates"] + counts["deadletter"]
        assert (counts["stored"], counts["duplicates"], counts["versions"]) == (len(first_text), duplicates, versions)
        assert {m.msgid: m.text for m in store.get_messages(list(first_text), scope=Scope.everything())} == first_text
        assert {d.record["line"] for d in store.list_deadletters(limit=100)[1]} == expected_dead
        assert store.count_records(VERSIONS) == len(seen_versions)
