"""The source interface: the four things the pipeline needs from WeCom's archive.

It mirrors the vendor SDK (protocol doc §2): ``GetChatData`` (records with seq > the
given seq, at most 1000), ``DecryptData`` (the body, given the RSA-decrypted random key)
and ``GetMediaData`` (512 KiB chunks). RSA decryption of the random key is *not* the
source's job: our own code does it with the private key of the record's
``publickey_ver`` (``indexer.decrypt``), exactly as in production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class EncryptedRecord:
    """One item of ``chatdata`` as GetChatData returns it."""

    seq: int
    msgid: str
    publickey_ver: int
    encrypt_random_key: str
    encrypt_chat_msg: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "msgid": self.msgid,
            "publickey_ver": self.publickey_ver,
            "encrypt_random_key": self.encrypt_random_key,
            "encrypt_chat_msg": self.encrypt_chat_msg,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncryptedRecord:
        return cls(
            seq=int(d["seq"]),
            msgid=str(d.get("msgid", "")),
            publickey_ver=int(d.get("publickey_ver", 0)),
            encrypt_random_key=str(d.get("encrypt_random_key", "")),
            encrypt_chat_msg=str(d.get("encrypt_chat_msg", "")),
        )


@dataclass(frozen=True)
class MediaChunk:
    data: bytes
    outindexbuf: str  # pass as indexbuf on the next call
    is_finish: bool


# SDK return codes (protocol doc §2.3): meaning, what to do, retryable.
SDK_ERRORS: dict[int, tuple[str, str, bool]] = {
    10000: ("parameter error", "check corpid/secret and the request parameters (limit 1..1000)", False),
    10001: ("network error", "transient: retried with backoff; check the proxy and its password if it persists", True),
    10002: ("data parse failed", "transient: retried; report to WeCom if it persists", True),
    10003: ("system failure", "transient: retried", True),
    10004: ("key error", "deprecated code; check the private key versions", False),
    10005: ("fileid error", "the sdkfileid is wrong or expired", False),
    10006: (
        "decrypt failed",
        "the random key does not decrypt this message: check the private key of its publickey_ver",
        False,
    ),
    10007: (
        "no private key for that version",
        "add the private key of this publickey_ver (chatarchive keys add)",
        False,
    ),
    10008: ("error parsing encrypt_key", "the decrypted random key is malformed; retried, then dead-lettered", False),
    10009: ("ip illegal", "add this server's egress IP to the archive's trusted IPs in the WeCom admin console", False),
    10010: ("data expired", "the data is older than WeCom's 5-day window and is lost; pull more often", False),
    10011: ("certificate error", "SSL verification failed: check the system CA bundle", False),
}

# Server errcodes inside the GetChatData JSON (protocol doc §8.7).
SERVER_ERRORS: dict[int, tuple[str, str, bool]] = {
    301042: ("IP not whitelisted", "add this server's egress IP to the archive's trusted IPs", False),
    301048: ("sdkfileid missing or expired", "the media is no longer downloadable", False),
    301052: ("archive service expired", "renew the archive service in the WeCom admin console", False),
    301053: ("archive service not enabled", "enable 会话内容存档 in the WeCom admin console", False),
    301058: ("response too large", "the pull retries with a smaller limit", True),
    40001: ("invalid secret", "check the archive Secret (not an app secret) and the corpid", False),
    41001: ("access_token missing", "check the corpid and the archive Secret", False),
    -1: ("system busy", "transient: retried", True),
}


@runtime_checkable
class Source(Protocol):
    """An archive the pipeline can pull from."""

    name: str

    def get_chat_data(self, seq: int, limit: int) -> list[EncryptedRecord]:
        """Records with seq > ``seq``, oldest first, at most ``limit`` (1..1000).
        Raises ``SourceError`` (``retryable`` for 10001-10003 and transient errcodes)."""
        ...

    def decrypt_data(self, encrypt_key: str, encrypt_msg: str) -> bytes:
        """The plaintext message JSON bytes. Raises ``DecryptError`` (10006/10008)."""
        ...

    def get_media_data(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        """One chunk (≤ 512 KiB); ``indexbuf`` is ``""`` first, then the previous ``outindexbuf``."""
        ...

    def directory(self) -> dict[str, Any] | None:
        """The organisation: ``{"corp": {...}, "departments": [...], "employees": [...],
        "externals": [...], "groups": [...]}`` (see ``core.directory``), or None if the
        source cannot tell (the directory is then imported from a file)."""
        ...

    def private_key_files(self) -> dict[int, Path]:
        """``{publickey_ver: PEM path}`` of private keys the source ships (the simulator's);
        a real archive ships none: its administrator adds them (``chatarchive keys add``)."""
        ...

    def seq_max(self) -> int | None:
        """The highest seq, when the source knows it (the simulator); None for WeCom."""
        ...

    def close(self) -> None: ...


BodyDecrypter = Callable[[str, str], bytes]


def portable_body_decrypter(source: object) -> BodyDecrypter | None:
    """The source's DecryptData as a picklable callable that works in another process (a
    source offers it with ``body_decrypter()``), or None: then bodies are decrypted in this
    process (``indexer.workers`` needs it to decrypt in worker processes)."""
    offer = getattr(source, "body_decrypter", None)
    return offer() if callable(offer) else None
