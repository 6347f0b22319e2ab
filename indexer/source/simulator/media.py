"""Media files of the simulated archive: cheap, deterministic bytes behind real magic headers.

A file is its format's magic header followed by seeded pseudo-random bytes, so sizes,
md5 sums and chunking behave like real media without real images. ``sdkfileid`` values are
minted with the structure observed in public samples (protocol doc §3.2: base64 of a small
protobuf holding an opaque key, ``47_<corp number>_<random>_<seconds>`` and 32 hex chars).
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass

MAGIC: dict[str, bytes] = {
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "gif": b"GIF89a",
    "amr": b"#!AMR\n",
    "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "docx": b"PK\x03\x04\x14\x00\x06\x00",
    "xlsx": b"PK\x03\x04\x14\x00\x06\x00",
    "pptx": b"PK\x03\x04\x14\x00\x06\x00",
    "zip": b"PK\x03\x04\x14\x00\x00\x00",
    "doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    "txt": b"",
}
KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class MediaBlob:
    """One media file: what the message claims (``md5sum``) and the bytes the media API serves."""

    sdkfileid: str
    data: bytes
    md5sum: str  # as written in the message; "" or wrong when bad_md5
    bad_md5: bool

    @property
    def size(self) -> int:
        return len(self.data)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class MediaFactory:
    """Makes media blobs; ``md5_fault_rate`` of them carry an empty or wrong md5sum."""

    def __init__(self, rng: random.Random, corp_number: int, md5_fault_rate: float = 0.0) -> None:
        self.rng = rng
        self.corp_number = corp_number
        self.md5_fault_rate = md5_fault_rate
        self._large_done = False

    def sdkfileid(self, t_ms: int) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            opaque = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randrange(150, 260))).encode()
        else:
            opaque = b"*0*" + base64.b64encode(rng.randbytes(rng.randrange(110, 200)))
        label = base64.b64encode(f"47_{self.corp_number}_{rng.getrandbits(32)}_{t_ms // 1000}".encode())
        tail = "".join(rng.choice("0123456789abcdef") for _ in range(32)).encode()
        raw = (
            b"\x0a"
            + _varint(len(opaque))
            + opaque
            + b"\x12"
            + _varint(len(label))
            + label
            + b"\x1a"
            + _varint(len(tail))
            + tail
        )
        return base64.b64encode(raw).decode("ascii")

    def _size(self, kind: str) -> int:
        rng = self.rng
        can_be_large = kind in ("video", "file")
        if can_be_large and (not self._large_done or rng.random() < 0.03):
            self._large_done = True
            return rng.randrange(MIB + 1, int(2.6 * MIB))  # several 512 KiB chunks
        low, high = {
            "image": (5 * KIB, 120 * KIB),
            "emotion": (3 * KIB, 40 * KIB),
            "voice": (3 * KIB, 50 * KIB),
            "video": (100 * KIB, 600 * KIB),
            "file": (4 * KIB, 300 * KIB),
            "audio": (30 * KIB, 300 * KIB),
        }[kind]
        return int(min(high, max(low, rng.lognormvariate(0, 0.8) * (low + high) / 6)))

    def make(self, kind: str, ext: str, t_ms: int, size: int | None = None) -> MediaBlob:
        """A blob for a ``kind`` (image, emotion, voice, video, file, audio) in format ``ext``."""
        rng = self.rng
        n = size if size is not None else self._size(kind)
        magic = MAGIC.get(ext, b"")
        data = magic + random.Random(rng.getrandbits(64)).randbytes(max(0, n - len(magic)))
        true_md5 = hashlib.md5(data).hexdigest()
        bad = rng.random() < self.md5_fault_rate
        empty = rng.random() < 0.5  # drawn always, so the fault rate never shifts the content stream
        md5sum = ("" if empty else hashlib.md5(data[:-1]).hexdigest()) if bad else true_md5
        return MediaBlob(sdkfileid=self.sdkfileid(t_ms), data=data, md5sum=md5sum, bad_md5=bad)
