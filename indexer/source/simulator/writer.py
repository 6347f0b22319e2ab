"""Streaming writer of the simulated archive directory (the layout of briefs/simformat.md).

Files are appended one record at a time and never read back, so memory does not depend
on the number of messages. ``chatdata.idx`` holds, per line of ``chatdata.jsonl``, two
little-endian uint64: the seq and the byte offset of the line.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from indexer.source.simulator.media import MediaBlob

IDX_ENTRY = struct.Struct("<QQ")


def _line(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def media_file_name(sdkfileid: str) -> str:
    """``media/<sha1 hex of sdkfileid>.bin``: ids are too long and contain ``/`` to be file names."""
    return f"media/{hashlib.sha1(sdkfileid.encode('utf-8')).hexdigest()}.bin"


class ArchiveWriter:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        for sub in ("keys", "withheld-keys", "media"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        self._chatdata = open(directory / "chatdata.jsonl", "wb")
        self._idx = open(directory / "chatdata.idx", "wb")
        self._truth = open(directory / "truth.jsonl", "wb")
        self._labels = open(directory / "labels.jsonl", "wb")
        self._faults = open(directory / "faults.jsonl", "wb")
        self._near = open(directory / "nearmiss.jsonl", "wb")
        self._media_index = open(directory / "media" / "index.jsonl", "wb")
        self._offset = 0
        self.last_seq = 0
        self.faults = 0
        self.media_bytes = 0

    def write_org(self, org: dict[str, Any]) -> None:
        (self.dir / "org.json").write_text(json.dumps(org, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def write_key(self, version: int, key: RSAPrivateKey, *, withheld: bool, pkcs8: bool) -> Path:
        fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        path = self.dir / ("withheld-keys" if withheld else "keys") / f"v{version}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.chmod(path, 0o600)
        return path

    def write_record(
        self, seq: int, msgid: str, publickey_ver: int, encrypt_random_key: str, encrypt_chat_msg: str
    ) -> None:
        if seq <= self.last_seq:
            raise ValueError(f"seq must increase strictly: {seq} after {self.last_seq}")
        line = _line(
            {
                "seq": seq,
                "msgid": msgid,
                "publickey_ver": publickey_ver,
                "encrypt_random_key": encrypt_random_key,
                "encrypt_chat_msg": encrypt_chat_msg,
            }
        )
        self._chatdata.write(line)
        self._idx.write(IDX_ENTRY.pack(seq, self._offset))
        self._offset += len(line)
        self.last_seq = seq

    def write_truth(self, plaintext: str) -> None:
        self._truth.write(plaintext.encode("utf-8") + b"\n")

    def write_label(self, msgid: str, labels: list[str], terms: list[str]) -> None:
        self._labels.write(_line({"msgid": msgid, "labels": labels, "terms": terms}))

    def write_near_miss(self, msgid: str, terms: list[str]) -> None:
        self._near.write(_line({"msgid": msgid, "terms": terms}))

    def write_fault(self, seq: int, msgid: str, fault: str) -> None:
        self._faults.write(_line({"seq": seq, "msgid": msgid, "fault": fault}))
        self.faults += 1

    def write_media(self, blob: MediaBlob) -> None:
        name = media_file_name(blob.sdkfileid)
        with open(self.dir / name, "wb") as f:
            f.write(blob.data)
        self.media_bytes += blob.size
        self._media_index.write(
            _line(
                {
                    "sdkfileid": blob.sdkfileid,
                    "file": name,
                    "md5sum": blob.md5sum,
                    "size": blob.size,
                    "bad_md5": blob.bad_md5,
                }
            )
        )

    def close(self, sim: dict[str, Any]) -> None:
        for f in (self._chatdata, self._idx, self._truth, self._labels, self._faults, self._near, self._media_index):
            f.close()
        (self.dir / "sim.json").write_text(json.dumps(sim, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def abort(self) -> None:
        for f in (self._chatdata, self._idx, self._truth, self._labels, self._faults, self._near, self._media_index):
            f.close()
