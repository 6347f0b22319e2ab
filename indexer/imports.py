"""Where an imported line came from, and the dead letter of a line that cannot be imported.

A dead letter from ``chatarchive import`` is keyed by the file's content hash and the line
number (``import:<sha256 prefix>:<line>``), so importing another file never overwrites an
earlier file's dead letters, and importing the same file again finds the same ones. The line
is kept exactly: as text, or as base64 when it is not valid UTF-8 (the text would lose bytes).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import clock
from core.models import DeadLetter


@dataclass(frozen=True)
class LineOrigin:
    """The imported file: its name (for people) and its sha256 (for unique dead-letter ids)."""

    name: str
    sha256: str

    @classmethod
    def of_file(cls, path: Path) -> LineOrigin:
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return cls(name=path.name, sha256=digest)

    @classmethod
    def of_stream(cls) -> LineOrigin:
        """Lines without a file: a random id keeps their dead letters apart from every other import's."""
        return cls(name="<stream>", sha256=uuid.uuid4().hex + uuid.uuid4().hex)

    def deadletter_id(self, line_no: int) -> str:
        return f"import:{self.sha256[:16]}:{line_no}"


def line_record(origin: LineOrigin, line_no: int, line: bytes | str) -> dict[str, Any]:
    """The dead letter's ``record``: the line exactly as read, and its position."""
    record: dict[str, Any] = {"file": origin.name, "file_sha256": origin.sha256, "line": line_no}
    if isinstance(line, bytes):
        try:
            record["plaintext"] = line.decode("utf-8")
        except UnicodeDecodeError:
            record["plaintext_base64"] = base64.b64encode(line).decode("ascii")
            record["plaintext"] = line.decode("utf-8", "replace")  # for reading only; replay uses the bytes
    else:
        record["plaintext"] = line
    return record


def line_deadletter(origin: LineOrigin, line_no: int, line: bytes | str, reason: str) -> DeadLetter:
    return DeadLetter(
        seq=0,
        msgid=origin.deadletter_id(line_no),
        reason=f"{origin.name} line {line_no}: {reason}",
        stage="parse",
        record=line_record(origin, line_no, line),
        time_ms=clock.now_ms(),
    )


def replay_plaintext(record: dict[str, Any]) -> bytes | str:
    """What an import dead letter's line was: the exact bytes when they were not UTF-8."""
    if "plaintext_base64" in record:
        return base64.b64decode(record["plaintext_base64"])
    return str(record.get("plaintext", ""))
