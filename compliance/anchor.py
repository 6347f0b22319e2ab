"""Anchors: the heads of the audit trail and of the evidence ledger, signed with a key kept
outside the data directory.

Both chains protect themselves against edits, but someone who can write the data directory
can cut a chain's tail and rewrite its head record. An anchor (``chatarchive audit anchor``,
and daily from the scheduler) records ``seq`` and ``hash`` of both heads with an
HMAC-SHA256 over its canonical JSON. ``verify --anchor FILE`` proves the archive still
*extends* the anchor: both chains verify from genesis and still hold the anchored entries
unchanged; a truncated trail, or one rewritten after the anchored point, fails.

Keys: ``anchor_key_file`` (one key per line, at least 32 characters, newest first) or the
``CHATARCHIVE_ANCHOR_KEY`` environment variable. The first key signs; every key verifies
(each anchor names its key by ``key_id``, the key's sha256 prefix). Rotation: put the new
key on the first line and keep the old lines while anchors signed with them must verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance import audit, ledger
from compliance.ledger import canonical_hash
from core import clock
from core.errors import BadInput, IntegrityError
from core.settings import Settings
from store.base import Store
from store.filemodes import make_private_file, readable_by_others

FORMAT = "chatarchive-anchor/1"
MIN_KEY_CHARS = 32


@dataclass(frozen=True)
class AnchorKey:
    secret: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.secret).hexdigest()[:16]

    def sign(self, body: dict[str, Any]) -> str:
        return hmac.new(self.secret, canonical_hash(body).encode("ascii"), hashlib.sha256).hexdigest()


def _parse_keys(text: str, where: str) -> list[AnchorKey]:
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not keys:
        raise BadInput(f"{where}: no anchor key in it")
    short = [i for i, k in enumerate(keys, 1) if len(k) < MIN_KEY_CHARS]
    if short:
        raise BadInput(f"{where}: key on line {short[0]} is shorter than {MIN_KEY_CHARS} characters")
    return [AnchorKey(k.encode("utf-8")) for k in keys]


def load_keys(settings: Settings) -> list[AnchorKey]:
    """The anchor keys, newest first. A key file inside the data directory is refused: the
    point of the key is that whoever can rewrite the archive does not hold it."""
    if settings.anchor_key:
        return _parse_keys(str(settings.anchor_key), "CHATARCHIVE_ANCHOR_KEY")
    if not settings.anchor_key_file:
        raise BadInput(
            "no anchor key: set anchor_key_file (a file outside the data directory) or CHATARCHIVE_ANCHOR_KEY"
        )
    path = Path(settings.anchor_key_file).expanduser().resolve()
    data_dir = settings.data_dir.expanduser().resolve()
    if path == data_dir or data_dir in path.parents:
        raise BadInput(f"anchor key file {path} is inside the data directory; keep it elsewhere")
    if not path.is_file():
        raise BadInput(f"anchor key file {path} does not exist")
    if readable_by_others(path):
        raise BadInput(f"anchor key file {path} is readable by other users; run chmod 600 {path}")
    return _parse_keys(path.read_text(encoding="utf-8"), str(path))


def current_heads(store: Store) -> dict[str, dict[str, int | str]]:
    """Both heads, after checking both chains (an anchor never blesses a broken chain)."""
    trail = audit.verify(store)
    if not trail.ok:
        raise IntegrityError(f"not anchoring: the audit trail does not verify: {trail.problem}")
    folded = ledger.read(store)
    if folded.problems:
        raise IntegrityError(f"not anchoring: the evidence ledger does not verify: {folded.problems[0]}")
    return {
        "audit": {"seq": trail.head_seq, "hash": trail.head_hash},
        "ledger": {"seq": folded.head_seq, "hash": folded.head_hash},
    }


def make_anchor(store: Store, key: AnchorKey, *, backend: str = "", now_ms: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "format": FORMAT,
        "created_ms": int(now_ms) if now_ms is not None else clock.now_ms(),
        "backend": backend,
        **current_heads(store),
        "key_id": key.key_id,
    }
    return {**body, "mac": key.sign(body)}


def write_anchor(anchor: dict[str, Any], out: Path) -> None:
    """Writes a new file only (write-once: an existing file is never replaced)."""
    try:
        with out.open("x", encoding="utf-8") as f:
            f.write(json.dumps(anchor, ensure_ascii=False, indent=1) + "\n")
    except FileExistsError:
        raise BadInput(f"{out} exists; anchors are write-once: choose a new file") from None
    except OSError as e:
        raise BadInput(f"cannot write {out}: {e.strerror or e}") from None
    make_private_file(out)


def read_anchor(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadInput(f"--anchor {path}: not a readable anchor file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadInput(f"--anchor {path}: not a {FORMAT} file")
    return doc


def check_signature(anchor: dict[str, Any], keys: list[AnchorKey]) -> str:
    """Empty if the anchor is signed by one of ``keys``, else the problem."""
    body = {k: v for k, v in anchor.items() if k != "mac"}
    key = next((k for k in keys if k.key_id == anchor.get("key_id")), None)
    if key is None:
        return f"anchor: signed with key {anchor.get('key_id')!r}, which is not among the configured anchor keys"
    if not hmac.compare_digest(key.sign(body), str(anchor.get("mac") or "")):
        return "anchor: the signature does not match (the anchor file was altered or forged)"
    return ""


def check_extends(anchor: dict[str, Any], store: Store) -> list[str]:
    """Problems if the archive does not extend the anchored heads (chains checked separately)."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(anchor.get("created_ms") or 0) / 1000))
    trail = [r for r in store.find_records(audit.COLLECTION) if "seq" in r]
    problems = _extends("audit trail", anchor.get("audit") or {}, trail, when)
    return problems + _extends("evidence ledger", anchor.get("ledger") or {}, ledger.entries(store), when)


def _extends(name: str, head: dict[str, Any], rows: list[dict[str, Any]], when: str) -> list[str]:
    seq, expected = int(head.get("seq") or 0), str(head.get("hash") or "")
    if seq == 0:
        return []
    stored = next((r for r in rows if r.get("seq") == seq), None)
    last = max((int(r.get("seq") or 0) for r in rows), default=0)
    if stored is None:
        return [f"{name}: the anchor of {when} covers seq {seq} but the archive ends at seq {last} (truncated)"]
    if stored.get("hash") != expected:
        return [f"{name}: entry seq {seq} differs from the one anchored on {when} (the chain was rewritten)"]
    return []


def verify_anchor(store: Store, anchor: dict[str, Any], keys: list[AnchorKey]) -> list[str]:
    problem = check_signature(anchor, keys)
    return [problem] if problem else check_extends(anchor, store)


def write_daily_anchor(store: Store, settings: Settings, *, now_ms: int | None = None) -> Path:
    """The scheduler's job: a new anchor file in ``anchor_dir``, recorded in the audit trail."""
    key = load_keys(settings)[0]
    anchor = make_anchor(store, key, backend=store.backend_name, now_ms=now_ms)
    created = int(anchor["created_ms"])
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(created / 1000)) + f".{created % 1000:03d}Z"
    out = Path(settings.anchor_dir) / f"anchor-{stamp}.json"
    write_anchor(anchor, out)
    audit.record(
        store,
        "system",
        "anchor",
        str(out),
        {"audit_seq": anchor["audit"]["seq"], "ledger_seq": anchor["ledger"]["seq"], "key_id": key.key_id},
    )
    return out
