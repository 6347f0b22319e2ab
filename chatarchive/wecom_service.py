"""WeCom in the running indexer: the scheduled directory sync and the callback receiver.

``attach(service, scheduler)`` is called by ``chatarchive.scheduler`` (``chatarchive run``): a directory sync
every ``directory_sync_minutes`` when WeCom API secrets are configured, the alert digest (and new
pipeline-health alerts) every ``alert_digest_minutes`` when a channel is, and the callback server when
``callback_token`` is set; ``msgaudit_notify`` then moves the pull job to now.
``serve_callbacks`` is ``chatarchive callbacks serve`` on its own, pulling from ``--source`` on notify.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.triggers.interval import IntervalTrigger

from chatarchive.archive import Archive
from core.errors import ChatArchiveError
from core.settings import Settings
from indexer.pipeline import Pipeline
from indexer.source import open_source
from store.directory import load_or_empty
from wecom.alerts import Alerter
from wecom.callbacks import COLLECTION, CallbackConfig, CallbackServer, CallbackVerifier, EventDispatcher
from wecom.consent_sync import record_approved_event
from wecom.sync import client_from_settings, sync_directory

log = logging.getLogger(__name__)

SYNC_DEBOUNCE_S = 5.0  # change_* events come in bursts: one sync for a burst


class _Scheduler(Protocol):
    def add_job(self, func: Callable[[], None], trigger: object, **kwargs: object) -> object: ...

    def modify_job(self, job_id: str, **changes: object) -> object: ...


class _Service(Protocol):
    archive: Archive
    pipeline: Pipeline
    _lock: threading.Lock


def wecom_configured(settings: Settings) -> bool:
    return bool(settings.corpid and settings.wecom_contacts_secret and settings.wecom_customer_secret)


def run_directory_sync(archive: Archive, lock: threading.Lock, *, full: bool = False) -> None:
    with lock:
        try:
            counts = sync_directory(archive, client_from_settings(archive.settings), full=full)
            log.warning("directory synced: %s", counts.to_contract())
        except ChatArchiveError as e:
            log.error("directory sync failed: %s", e)


def pull_once(archive: Archive, source_spec: str, lock: threading.Lock) -> None:
    """One pull until caught up (``callbacks serve`` on msgaudit_notify); never two at once."""
    if not lock.acquire(blocking=False):
        return  # a pull is running and will see the new messages
    try:
        source = open_source(source_spec, archive.settings)
        try:
            result = Pipeline(archive, source).run()
            log.warning("notify pull: pulled %d, stored %d", result.pulled, result.stored)
        finally:
            source.close()
    except ChatArchiveError as e:
        log.error("notify pull failed: %s", e)
    finally:
        lock.release()


class ArchiveEventSink:
    """What accepted callbacks do to the archive."""

    def __init__(
        self,
        archive: Archive,
        pull_now: Callable[[], None],
        sync: Callable[[], None],
        *,
        debounce_s: float = SYNC_DEBOUNCE_S,
    ) -> None:
        self.archive = archive
        self.debounce_s = debounce_s
        self._pull_now = pull_now
        self._sync = sync
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def pull_now(self) -> None:
        self._pull_now()

    def sync_directory_soon(self) -> None:
        with self._lock:
            if self._timer is not None and self._timer.is_alive():
                return
            self._timer = threading.Timer(self.debounce_s, self._sync)
            self._timer.daemon = True
            self._timer.start()

    def consent_approved(self, userid: str, external: str, when_ms: int) -> None:
        record_approved_event(self.archive.store, userid, external, when_ms)

    def record(self, doc: dict[str, object]) -> None:
        self.archive.store.append_record(COLLECTION, {"kind": "callback", **doc})


def callback_server(
    archive: Archive, sink: ArchiveEventSink, *, host: str = "0.0.0.0", port: int | None = None
) -> CallbackServer:
    settings = archive.settings
    config = CallbackConfig(
        token=settings.callback_token,
        encoding_aes_key=settings.callback_aes_key,
        corpid=settings.corpid,
        window_s=settings.callback_window_s,
    )
    return CallbackServer(
        CallbackVerifier(config),
        EventDispatcher(sink),
        host=host,
        port=settings.callback_port if port is None else port,
    )


def _alert_jobs(alerter: Alerter) -> None:
    try:
        alerter.send_digest()
        alerter.send_new_health_alerts()
    except ChatArchiveError as e:
        log.error("alert digest failed: %s", e)


def attach(service: _Service, scheduler: _Scheduler) -> None:
    """Adds the WeCom jobs to ``chatarchive run`` (nothing when WeCom is not configured)."""
    archive = service.archive
    settings = archive.settings

    def scheduled_sync() -> None:
        run_directory_sync(archive, service._lock)
        service.pipeline.directory = load_or_empty(archive.store)  # the next pull scopes with the new directory

    def changed_sync() -> None:  # a change_* callback: the change may be in details an incremental sync reuses
        run_directory_sync(archive, service._lock, full=True)
        service.pipeline.directory = load_or_empty(archive.store)

    def pull_now() -> None:
        scheduler.modify_job("pull", next_run_time=datetime.now(UTC))

    if wecom_configured(settings) and settings.directory_sync_minutes > 0:
        scheduler.add_job(
            scheduled_sync,
            IntervalTrigger(minutes=settings.directory_sync_minutes),
            id="directory",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    alerter = Alerter.from_settings(archive)
    if alerter.channels:
        scheduler.add_job(
            lambda: _alert_jobs(alerter),
            IntervalTrigger(minutes=max(1, settings.alert_digest_minutes)),
            id="alerts",
            max_instances=1,
            coalesce=True,
        )
    if settings.callback_token:
        server = callback_server(archive, ArchiveEventSink(archive, pull_now, changed_sync))
        server.start_in_thread()
        log.warning("WeCom callbacks on %s", server.url)
