"""``chatarchive demo`` with WeCom's server APIs: the simulator served over HTTP, the product pointed at it.

The demo then runs the production code for the directory (sync with history), consent and reviewer
alerts; what the simulated WeCom received is at ``URL/_sim/sent``.
"""

from __future__ import annotations

from pathlib import Path

from store.context import ArchiveContext
from wecom.alerts import AlertRoute, routes, set_route
from wecom.sim_org import sim_settings
from wecom.sim_server import SimServer
from wecom.sync import SyncCounts, client_from_settings, stored_directory, sync_directory

COMPLIANCE_DEPARTMENT = 13  # 合规部 in the simulated organisation


def start_simulated_wecom(archive: ArchiveContext, archive_dir: Path) -> SimServer:
    """``wecom-sim serve`` on a free loopback port for the demo's lifetime; the settings point at it."""
    server = SimServer(archive_dir, host="127.0.0.1", port=0)
    server.start_in_thread()
    archive.settings.save(sim_settings(archive_dir, server.url))
    return server


def sync_and_route_alerts(archive: ArchiveContext) -> SyncCounts:
    """A directory sync through the API, and (once) an alert route for every rule to a compliance officer."""
    counts = sync_directory(archive, client_from_settings(archive.settings))
    if not routes(archive):
        reviewer = _compliance_officer(archive)
        if reviewer:
            set_route(archive, "*", AlertRoute(mode="immediate", channels=["app", "webhook"], reviewers=[reviewer]))
    return counts


def _compliance_officer(archive: ArchiveContext) -> str:
    doc = stored_directory(archive.store) or {}
    active = [e for e in doc.get("employees") or [] if e.get("status") == "active"]
    officers = [e for e in active if COMPLIANCE_DEPARTMENT in (e.get("departments") or [])]
    chosen = (officers or active or [{}])[0]
    return str(chosen.get("userid") or "")
