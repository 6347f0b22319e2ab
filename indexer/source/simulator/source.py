"""``SimulatorSource``: serves a simulated archive directory through the ``Source`` interface.

It behaves like the vendor SDK (protocol doc §2, §3, §6, §7): GetChatData returns records
with seq > the given seq, at most ``limit`` (1..1000, else 10000), oldest first, only inside
the retention window when ``window_days`` is set; it fails with 10001 at
``transient_fault_rate`` (a seeded PRNG); GetMediaData serves 512 KiB chunks addressed by
``Range:bytes=a-b``; an unknown sdkfileid is 10005. Records are found through
``chatdata.idx`` (binary search on a memory map) and read with one seek, so opening a
million-message archive costs no memory.
"""

from __future__ import annotations

import json
import mmap
import random
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from core.errors import BadInput, SourceError
from indexer.source import simcrypto
from indexer.source.base import SDK_ERRORS, EncryptedRecord, MediaChunk
from indexer.source.simulator.writer import IDX_ENTRY, media_file_name
from wecom.sim_directory import directory_over_http

CHUNK_SIZE = 524_288
DAY_MS = 86_400_000
_RANGE = re.compile(r"Range:bytes=(\d+)-(\d+)")


def sdk_error(code: int, call: str, detail: str = "") -> SourceError:
    meaning, advice, retryable = SDK_ERRORS.get(code, ("error", "", False))
    text = (
        f"{call} failed with {code} ({meaning})"
        + (f": {detail}" if detail else "")
        + (f" — {advice}" if advice else "")
    )
    return SourceError(text, code=code, retryable=retryable)


def msgid_time_ms(msgid: str) -> int | None:
    """The send time embedded in a ``<uint64>_<unix s|ms>[_external]`` msgid, if any."""
    parts = msgid.split("_")
    if len(parts) >= 2 and parts[1].isdigit():
        value = int(parts[1])
        return value * 1000 if len(parts[1]) <= 10 else value
    return None


class SimulatorSource:
    """The simulated archive at ``directory`` (written by ``chatarchive simulate``)."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.name = f"sim:{self.dir}"
        sim_file = self.dir / "sim.json"
        if not sim_file.is_file():
            raise BadInput(
                f"{self.dir} is not a simulated archive (no sim.json); create one with `chatarchive simulate`"
            )
        try:
            self.info: dict[str, Any] = json.loads(sim_file.read_text(encoding="utf-8"))
        except ValueError as e:
            raise BadInput(f"{sim_file}: not valid JSON ({e})") from e
        self._lock = threading.Lock()
        self._data = open(self.dir / "chatdata.jsonl", "rb")
        idx_path = self.dir / "chatdata.idx"
        self._count = idx_path.stat().st_size // IDX_ENTRY.size
        self._idx_file = open(idx_path, "rb")
        self._idx = mmap.mmap(self._idx_file.fileno(), 0, access=mmap.ACCESS_READ) if self._count else None
        self._data_size = (self.dir / "chatdata.jsonl").stat().st_size
        self._transient_rate = float(self.info.get("transient_fault_rate") or 0.0)
        self._transient_rng = random.Random(f"{self.info.get('seed', 0)}:transient")
        self._window_start: int | None = None

    # ------------------------------------------------------------------ index access
    def _entry(self, i: int) -> tuple[int, int]:
        assert self._idx is not None
        return IDX_ENTRY.unpack_from(self._idx, i * IDX_ENTRY.size)

    def _offset(self, i: int) -> int:
        return self._entry(i)[1] if i < self._count else self._data_size

    def _lines(self, start: int, stop: int) -> list[bytes]:
        with self._lock:
            self._data.seek(self._offset(start))
            blob = self._data.read(self._offset(stop) - self._offset(start))
        return blob.splitlines()

    def _first_after(self, seq: int) -> int:
        lo, hi = 0, self._count
        while lo < hi:
            mid = (lo + hi) // 2
            if self._entry(mid)[0] <= seq:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _time_at(self, i: int) -> int:
        """Send time of record i (switch records carry none: the next record's time stands in)."""
        for k in range(i, self._count):
            t = msgid_time_ms(json.loads(self._lines(k, k + 1)[0])["msgid"])
            if t is not None:
                return t
        return 1 << 62

    def window_start_index(self) -> int:
        """Index of the first record inside the retention window (0 without a window)."""
        if self._window_start is None:
            days = int(self.info.get("window_days") or 0)
            if days <= 0 or not self._count:
                self._window_start = 0
            else:
                cutoff = int(self.info["now_ms"]) - days * DAY_MS
                lo, hi = 0, self._count
                while lo < hi:
                    mid = (lo + hi) // 2
                    if self._time_at(mid) < cutoff:
                        lo = mid + 1
                    else:
                        hi = mid
                self._window_start = lo
        return self._window_start

    # ------------------------------------------------------------------ the SDK calls
    def _check_call(self, limit: int) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise sdk_error(10000, "GetChatData", f"limit {limit!r} is outside 1..1000")
        if self._transient_rate > 0:
            with self._lock:
                fail = self._transient_rng.random() < self._transient_rate
            if fail:
                raise sdk_error(10001, "GetChatData", "simulated network failure")

    def _slice(self, seq: int, limit: int) -> list[bytes]:
        self._check_call(limit)
        if seq < 0:
            raise sdk_error(10000, "GetChatData", f"seq {seq} is negative")
        if not self._count:
            return []
        start = max(self._first_after(seq), self.window_start_index())
        stop = min(self._count, start + limit)
        return self._lines(start, stop) if start < stop else []

    def get_chat_data(self, seq: int, limit: int) -> list[EncryptedRecord]:
        return [EncryptedRecord.from_dict(orjson.loads(line)) for line in self._slice(seq, limit)]

    def get_chat_data_json(self, seq: int, limit: int) -> str:
        """The raw GetChatData response, byte for byte as the SDK returns it (compact JSON)."""
        lines = self._slice(seq, limit)
        return '{"errcode":0,"errmsg":"ok","chatdata":[' + ",".join(x.decode("utf-8") for x in lines) + "]}"

    def decrypt_data(self, encrypt_key: str, encrypt_msg: str) -> bytes:
        return simcrypto.decrypt_data(encrypt_key, encrypt_msg)

    def body_decrypter(self) -> Callable[[str, str], bytes]:
        """DecryptData for worker processes: the simulator's is a pure function."""
        return simcrypto.decrypt_data

    def get_media_data(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        path = self.dir / media_file_name(sdkfileid) if sdkfileid else None
        if path is None or not path.is_file():
            raise sdk_error(10005, "GetMediaData", "unknown sdkfileid")
        size = path.stat().st_size
        if indexbuf:
            m = _RANGE.fullmatch(indexbuf.strip())
            if not m or int(m.group(1)) > int(m.group(2)) or int(m.group(1)) >= max(size, 1):
                raise sdk_error(10000, "GetMediaData", f"bad indexbuf {indexbuf!r}")
            start = int(m.group(1))
        else:
            start = 0
        stop = min(start + CHUNK_SIZE, size)
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(stop - start)
        finished = stop >= size
        out = "" if finished else f"Range:bytes={stop}-{min(stop + CHUNK_SIZE, size) - 1}"
        return MediaChunk(data=data, outindexbuf=out, is_finish=finished)

    def directory(self) -> dict[str, Any] | None:
        """The organisation through WeCom's server APIs, served by ``wecom-sim`` (no side channel)."""
        return directory_over_http(self.dir)

    # ------------------------------------------------------------------ simulator extras
    def seq_max(self) -> int | None:
        return int(self.info["seq_max"]) if self.info.get("seq_max") else None

    def private_key_files(self) -> dict[int, Path]:
        """``{publickey_ver: PEM path}`` of the keys the admin still has (``keys/`` only)."""
        out: dict[int, Path] = {}
        for p in sorted((self.dir / "keys").glob("v*.pem")):
            if p.stem[1:].isdigit():
                out[int(p.stem[1:])] = p
        return out

    def fault_records(self) -> list[dict[str, Any]]:
        """Every deliberately broken record (faults.jsonl)."""
        path = self.dir / "faults.jsonl"
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def close(self) -> None:
        if self._idx is not None:
            self._idx.close()
            self._idx = None
        self._idx_file.close()
        self._data.close()

    def __enter__(self) -> SimulatorSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
