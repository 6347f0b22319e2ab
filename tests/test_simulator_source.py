"""SimulatorSource behaves like the vendor SDK: GetChatData paging, limits, the retention window,
transient errors, and GetMediaData chunks — each checked against a brute-force reading of the files."""

from __future__ import annotations

import hashlib
import json
import random
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from core.errors import BadInput, SourceError
from indexer.source.base import Source
from indexer.source.simulator import SimulatorSource, simulate
from indexer.source.simulator.source import CHUNK_SIZE, msgid_time_ms


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("simsrc") / "a"
    simulate(out, 2500, seed=21, days=10, fault_rate=0.04, transient_fault_rate=0.0)
    return out


def reference(directory: Path) -> list[dict[str, Any]]:
    with open(directory / "chatdata.jsonl", "rb") as f:
        return [json.loads(line) for line in f]


def test_is_a_source(archive: Path) -> None:
    with SimulatorSource(archive) as src:
        assert isinstance(src, Source) and src.name == f"sim:{archive}"


def test_get_chat_data_matches_a_brute_force_reference(archive: Path) -> None:
    """GIVEN random (seq, limit) pairs WHEN GetChatData is called THEN it returns exactly the records
    with seq > the given seq, oldest first, at most limit — as filtering the file would."""
    records = reference(archive)
    seq_max = records[-1]["seq"]
    rng = random.Random(1)
    with SimulatorSource(archive) as src:
        cases = [(0, 1), (0, 1000), (seq_max, 10), (seq_max + 50, 1000), (seq_max - 1, 1000)]
        cases += [(rng.randrange(-0, seq_max + 3), rng.randint(1, 1000)) for _ in range(150)]
        for seq, limit in cases:
            got = [r.to_dict() for r in src.get_chat_data(seq, limit)]
            assert got == [r for r in records if r["seq"] > seq][:limit], (seq, limit)


def test_paging_from_zero_reaches_every_record_once(archive: Path) -> None:
    records = reference(archive)
    with SimulatorSource(archive) as src:
        seq, pulled = 0, []
        while batch := src.get_chat_data(seq, 333):
            pulled.extend(batch)
            seq = batch[-1].seq
    assert [r.seq for r in pulled] == [r["seq"] for r in records]


@pytest.mark.parametrize("limit", [0, -1, 1001, 10**6], ids=["zero", "negative", "1001", "huge"])
def test_limit_outside_1_to_1000_is_10000(archive: Path, limit: int) -> None:
    with SimulatorSource(archive) as src, pytest.raises(SourceError) as e:
        src.get_chat_data(0, limit)
    assert e.value.code == 10000 and not e.value.retryable


def test_raw_response_is_compact_json_in_sdk_key_order(archive: Path) -> None:
    with SimulatorSource(archive) as src:
        raw = src.get_chat_data_json(0, 3)
        empty = src.get_chat_data_json(10**9, 3)
    assert raw.startswith('{"errcode":0,"errmsg":"ok","chatdata":[{"seq":') and ": " not in raw
    assert len(json.loads(raw)["chatdata"]) == 3
    assert empty == '{"errcode":0,"errmsg":"ok","chatdata":[]}'


def test_retention_window(tmp_path: Path) -> None:
    """GIVEN window_days=3 WHEN pulling from seq 0 (or any seq older than the window) THEN the first
    record served is the first one inside now_ms - 3 days, and older ones are never served."""
    out = tmp_path / "w"
    simulate(out, 800, seed=3, days=10, window_days=3)
    sim = json.loads((out / "sim.json").read_text())
    cutoff = sim["now_ms"] - 3 * 86_400_000
    records = reference(out)
    times = [msgid_time_ms(r["msgid"]) for r in records]
    inside = [r for r, t in zip(records, times) if t is None or t >= cutoff]
    first_inside = next(r for r, t in zip(records, times) if t is not None and t >= cutoff)
    assert 0 < len(inside) < len(records)
    with SimulatorSource(out) as src:
        assert src.get_chat_data(0, 1)[0].seq == first_inside["seq"]
        assert src.get_chat_data(records[5]["seq"], 1)[0].seq == first_inside["seq"]
        seq, served = 0, []
        while batch := src.get_chat_data(seq, 1000):
            served.extend(b.seq for b in batch)
            seq = batch[-1].seq
    assert served == [r["seq"] for r in records if r["seq"] >= first_inside["seq"]]
    assert all(
        msgid_time_ms(r["msgid"]) is None or msgid_time_ms(r["msgid"]) >= cutoff
        for r in records
        if r["seq"] in set(served)
    )


def test_transient_failures_are_retryable_and_seeded(tmp_path: Path) -> None:
    """GIVEN transient_fault_rate 0.3 THEN about that share of calls fail with retryable 10001, the
    same calls fail for a fresh source (seeded), and retrying loses nothing."""
    out = tmp_path / "t"
    simulate(out, 300, seed=9, transient_fault_rate=0.3)

    def pull() -> tuple[list[int], list[int]]:
        failures, seqs, seq, call = [], [], 0, 0
        with SimulatorSource(out) as src:
            while True:
                call += 1
                try:
                    batch = src.get_chat_data(seq, 7)
                except SourceError as e:
                    assert e.code == 10001 and e.retryable
                    failures.append(call)
                    continue
                if not batch:
                    return failures, seqs
                seqs.extend(r.seq for r in batch)
                seq = batch[-1].seq

    failures, seqs = pull()
    assert pull() == (failures, seqs)
    assert 0.15 < len(failures) / (len(failures) + len(seqs) / 7) < 0.45
    assert seqs == [r["seq"] for r in reference(out)]


def media_references(directory: Path) -> list[dict[str, Any]]:
    """Every media object in truth.jsonl, nested mixed/chatrecord items included."""
    found = []
    with open(directory / "truth.jsonl", "rb") as f:
        for line in f:
            m = json.loads(line, strict=False)
            obj = m.get(m.get("msgtype", ""))
            if not isinstance(obj, dict):
                continue
            if "sdkfileid" in obj:
                found.append(obj)
            for item in obj.get("item", []) if m["msgtype"] in ("mixed", "chatrecord") else []:
                inner = json.loads(item["content"])
                if "sdkfileid" in inner:
                    found.append(inner)
    return found


def download(src: SimulatorSource, sdkfileid: str) -> tuple[bytes, list[int]]:
    data, sizes, indexbuf = b"", [], ""
    while True:
        chunk = src.get_media_data(sdkfileid, indexbuf)
        data += chunk.data
        sizes.append(len(chunk.data))
        if chunk.is_finish:
            return data, sizes
        assert re.fullmatch(r"Range:bytes=(\d+)-(\d+)", chunk.outindexbuf)
        start, end = map(int, chunk.outindexbuf[12:].split("-"))
        assert start == len(data) and end - start + 1 <= CHUNK_SIZE
        indexbuf = chunk.outindexbuf


def test_media_chunks_reassemble_to_the_declared_size_and_md5(archive: Path) -> None:
    """GIVEN every media object referenced by a message WHEN downloaded chunk by chunk THEN chunks are
    512 KiB but the last, the bytes have the declared size and md5 (except entries flagged bad_md5
    in media/index.jsonl), and they start with their format's magic header."""
    index = {e["sdkfileid"]: e for e in map(json.loads, (archive / "media" / "index.jsonl").read_text().splitlines())}
    refs = media_references(archive)
    assert len(refs) == len(index)
    large = bad = 0
    with SimulatorSource(archive) as src:
        for obj in refs:
            data, sizes = download(src, obj["sdkfileid"])
            size = obj.get("filesize", obj.get("voice_size", obj.get("imagesize", len(data))))
            assert len(data) == size == index[obj["sdkfileid"]]["size"]
            assert all(s == CHUNK_SIZE for s in sizes[:-1]) and 0 < sizes[-1] <= CHUNK_SIZE
            if "md5sum" in obj:
                matches = hashlib.md5(data).hexdigest() == obj["md5sum"]
                assert matches != index[obj["sdkfileid"]]["bad_md5"]
                bad += not matches
            large += len(data) > 1024 * 1024
    assert large >= 1 and bad >= 1
    jpgs = [
        o for o in refs if "voice_size" not in o and "filename" not in o and "type" not in o and "play_length" not in o
    ]
    with SimulatorSource(archive) as src:
        assert src.get_media_data(jpgs[0]["sdkfileid"], "").data[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    "sdkfileid, indexbuf, code",
    [("CpsBunknown", "", 10005), ("", "", 10005), (None, "Range:bytes=oops", 10000)],
    ids=["unknown-id", "empty-id", "bad-indexbuf"],
)
def test_media_errors(archive: Path, sdkfileid: str | None, indexbuf: str, code: int) -> None:
    with SimulatorSource(archive) as src:
        if sdkfileid is None:
            sdkfileid = media_references(archive)[0]["sdkfileid"]
        with pytest.raises(SourceError) as e:
            src.get_media_data(sdkfileid, indexbuf)
    assert e.value.code == code


def test_not_an_archive_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="sim.json"):
        SimulatorSource(tmp_path)


@pytest.mark.slow  # over a second: make test, not make test-fast
def test_memory_does_not_grow_with_the_number_of_messages(tmp_path: Path) -> None:
    """GIVEN one run of 2,400 messages WHEN live Python allocations are sampled (their minimum over
    100 messages, so a media file in flight does not count) after ~400 and after ~2,400 messages THEN
    they grew by less than 60 bytes per message: nothing per message is kept (streaming)."""
    lows: dict[int, int] = {}

    def sample(done: int) -> None:
        if 300 < done <= 400 or 2300 < done <= 2400:
            window = 400 if done <= 400 else 2400
            lows[window] = min(lows.get(window, 1 << 62), tracemalloc.get_traced_memory()[0])

    tracemalloc.start()
    try:
        simulate(tmp_path / "m", 2400, seed=1, days=7, progress=sample)
    finally:
        tracemalloc.stop()
    assert lows[2400] - lows[400] < 60 * 2000, lows
