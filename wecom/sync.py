"""``chatarchive directory sync`` / ``directory import``: the organisation into the store, with history.

The directory is one document in the store's ``directory`` record collection (so both backends keep it);
pulls and imports read it to give messages their participants' departments. ``sync`` reads WeCom's
APIs (``wecom.directory_fetch``), merges with history (``wecom.directory_history``), then checks consent
for every customer and customer group the directory and the archive know (``wecom.consent_sync``).
``import`` takes the same document from a JSON file (docs/wecom.md documents its shape).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from compliance.secrets import archive_secret
from core import clock
from core.errors import BadInput, ChatArchiveError
from core.models import MessageFilter, Scope
from core.settings import Settings
from store.base import Store
from store.context import ArchiveContext
from wecom.client import DEFAULT_BASE_URL, JsonDict, WeComClient
from wecom.consent_sync import sync_consent
from wecom.directory_fetch import FetchedDirectory, Known, fetch_directory
from wecom.directory_history import merge_directory

COLLECTION = "directory"
DIRECTORY_ID = "org"  # the id indexer.pipeline reads
MAX_SEEN = 65_000


@dataclass
class SyncCounts:
    departments: int = 0
    employees: int = 0
    customers: int = 0
    groups: int = 0
    permit_users: int = 0
    consent: int = 0

    def to_contract(self) -> dict[str, int]:
        return asdict(self)


def client_from_settings(settings: Settings, api_url: str | None = None) -> WeComClient:
    """A client with every secret the settings hold; the archive Secret is the SDK's own."""
    secrets = {
        "archive": archive_secret(settings),
        "contacts": settings.wecom_contacts_secret,
        "customer": settings.wecom_customer_secret,
        "app": settings.wecom_app_secret,
    }
    if not settings.corpid:
        raise BadInput("directory sync needs the corp id: set corpid (CHATARCHIVE_CORPID)")
    return WeComClient(
        settings.corpid, {k: v for k, v in secrets.items() if v}, api_url or settings.wecom_api_url or DEFAULT_BASE_URL
    )


def stored_directory(store: Store) -> JsonDict | None:
    return store.get_record(COLLECTION, DIRECTORY_ID)


def sync_directory(
    archive: ArchiveContext, client: WeComClient, *, now_ms: int | None = None, full: bool = False
) -> SyncCounts:
    """Reads WeCom into the stored directory; ``full`` re-reads every member's details (else only what
    changed or is older than ``directory_full_sync_hours``)."""
    store = archive.store
    now_ms = now_ms if now_ms is not None else clock.now_ms()
    previous = stored_directory(store)
    known = _known(previous, now_ms, 0 if full else archive.settings.directory_full_sync_hours)
    rooms_seen, robots_seen, pairs_seen = _seen_in_archive(store)
    known_rooms = {str(g["roomid"]) for g in _items(previous, "groups")}
    try:
        fetched = fetch_directory(
            client, roomids=sorted(rooms_seen | known_rooms), robot_ids=sorted(robots_seen), known=known
        )
    except (KeyError, TypeError, ValueError) as e:  # a response without the documented fields
        raise ChatArchiveError(
            f"WeCom returned an unexpected response ({type(e).__name__}: {e}); nothing was changed"
        ) from None
    merged = merge_directory(previous, fetched, now_ms)
    store.put_record(COLLECTION, DIRECTORY_ID, merged)
    pairs = pairs_seen | {(str(f), str(x["id"])) for x in fetched.externals for f in x.get("followers") or []}
    customer_rooms = [str(g["roomid"]) for g in fetched.groups if g.get("kind") == "external"]
    consent = sync_consent(store, client, pairs, customer_rooms)
    return _counts(fetched, consent)


def import_directory(archive: ArchiveContext, path: Path, *, now_ms: int | None = None) -> SyncCounts:
    """A directory document from a file (docs/wecom.md): checked first, then merged like a sync."""
    fetched = parse_directory_file(path)
    now_ms = now_ms if now_ms is not None else clock.now_ms()
    merged = merge_directory(stored_directory(archive.store), fetched, now_ms)
    archive.store.put_record(COLLECTION, DIRECTORY_ID, merged)
    return _counts(fetched, 0)


def parse_directory_file(path: Path) -> FetchedDirectory:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BadInput(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise BadInput(f"{path}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a JSON object with departments, employees, externals, groups")
    corp = data.get("corp")
    out = FetchedDirectory(corp=dict(corp) if isinstance(corp, dict) else {})
    for key, required in (
        ("departments", ("id", "name")),
        ("employees", ("userid", "departments")),
        ("externals", ("id",)),
        ("groups", ("roomid",)),
        ("robots", ("id",)),
    ):
        rows = data.get(key, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BadInput(f"{path}: {key} must be a list of objects")
        for i, row in enumerate(rows):
            missing = [f for f in required if f not in row]
            if missing:
                raise BadInput(f"{path}: {key}[{i}] lacks {', '.join(missing)}")
        setattr(out, key, [dict(r) for r in rows])
    for person in out.employees:
        person.setdefault("status", "active")
        if person["status"] not in ("active", "left"):
            raise BadInput(f"{path}: employee {person['userid']}: status must be active or left")
    permit = data.get("permit_users")
    out.permit_users = (
        [str(u) for u in permit]
        if isinstance(permit, list)
        else [str(e["userid"]) for e in out.employees if e["status"] == "active"]
    )
    return out


def _counts(fetched: FetchedDirectory, consent: int) -> SyncCounts:
    return SyncCounts(
        departments=len(fetched.departments),
        employees=len(fetched.employees),
        customers=len(fetched.externals),
        groups=len(fetched.groups),
        permit_users=len(fetched.permit_users),
        consent=consent,
    )


def _known(previous: JsonDict | None, now_ms: int, fresh_hours: float) -> Known:
    fresh_since = int(now_ms - fresh_hours * 3_600_000) if fresh_hours > 0 else 0
    return Known(
        employees={str(e["userid"]): e for e in _items(previous, "employees")},
        internal_groups={str(g["roomid"]): g for g in _items(previous, "groups") if g.get("kind") == "internal"},
        robots={str(r["id"]): r for r in _items(previous, "robots")},
        fresh_since_ms=fresh_since,
        now_ms=now_ms,
    )


def _items(doc: JsonDict | None, key: str) -> list[JsonDict]:
    value = (doc or {}).get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _seen_in_archive(store: Store) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """Rooms, robots and (employee, customer) chats the archive holds: internal groups and robots can
    only be looked up by id, and consent is asked for every customer seen."""
    everything = Scope.everything()
    result = store.aggregate(
        MessageFilter(),
        {
            "rooms": {"terms": {"field": "chat_id", "size": MAX_SEEN}},
            "senders": {"terms": {"field": "sender", "size": MAX_SEEN}},
        },
        scope=everything,
    )
    chats = [str(b["key"]) for b in result.get("rooms", {}).get("buckets", [])]
    rooms = {c for c in chats if c.startswith("wr")}
    robots = {str(b["key"]) for b in result.get("senders", {}).get("buckets", []) if str(b["key"]).startswith("wb")}
    pairs_result = store.aggregate(
        MessageFilter(chat_kinds=["external"]),
        {"chats": {"terms": {"field": "chat_id", "size": MAX_SEEN}}},
        scope=everything,
    )
    pairs: set[tuple[str, str]] = set()
    for bucket in pairs_result.get("chats", {}).get("buckets", []):
        a, _, b = str(bucket["key"]).partition("|")
        external, employee = (a, b) if a.startswith(("wm", "wo")) else (b, a)
        if external.startswith(("wm", "wo")) and employee:
            pairs.add((employee, external))
    return rooms, robots, pairs
