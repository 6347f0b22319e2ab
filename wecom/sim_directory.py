"""The simulator's organisation, read the production way: over HTTP from an in-process ``wecom-sim``.

``SimulatorSource.directory()`` uses this, so a ``sim:`` pull gets its directory through the same client
and API calls as a real deployment (no side channel). The simulator stands in for the decrypted
messages when it names the rooms and robots to look up (internal groups cannot be listed by API).
"""

from __future__ import annotations

from pathlib import Path

from core import clock
from wecom.client import JsonDict, WeComClient
from wecom.directory_fetch import fetch_directory
from wecom.directory_history import merge_directory
from wecom.sim_org import simulated_secrets
from wecom.sim_server import SimServer


def directory_over_http(archive_dir: Path) -> JsonDict:
    server = SimServer(archive_dir, host="127.0.0.1", port=0)
    server.start_in_thread()
    try:
        client = WeComClient(server.corpid, simulated_secrets(archive_dir), server.url)
        org = server.state.org
        fetched = fetch_directory(
            client, roomids=[str(g["roomid"]) for g in org.groups], robot_ids=[str(r["id"]) for r in org.robots]
        )
    finally:
        server.shutdown()
        server.server_close()
    return merge_directory(None, fetched, clock.now_ms())
