"""``chatarchive run``: the long-running indexer on APScheduler.

Jobs: pull (every ``pull_interval`` seconds), media (after each pull and every minute),
health check (every 5 minutes), the retention purge (daily at 02:30 in the
archive's time zone), the signed anchor of the evidence (daily at 03:00) and, when WeCom
is configured, the directory sync and the callback receiver (``chatarchive.wecom_service``).
``max_instances=1`` and ``coalesce`` mean never two pulls at once: a run that is still
going when the next is due is skipped, not stacked.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from chatarchive import wecom_service
from chatarchive.archive import Archive
from compliance.anchor import write_daily_anchor
from compliance.retention import scheduled_purge
from core.errors import ChatArchiveError, StoreUnavailable
from indexer import health
from indexer.media import MediaFetcher
from indexer.pipeline import Pipeline
from indexer.source import open_source

logger = logging.getLogger(__name__)


class IndexerService:
    """The jobs, over one archive and one source. The pipeline is built once and reused."""

    def __init__(self, archive: Archive, source_spec: str) -> None:
        self.archive = archive
        self.source = open_source(source_spec, archive.settings)
        self.pipeline = Pipeline(archive, self.source)
        self._lock = threading.Lock()  # pull and media share the store's writer

    def pull(self) -> None:
        with self._lock:
            try:
                result = self.pipeline.run()
                if result.pulled:
                    logger.warning(
                        "pulled %d, stored %d, dead letters %d, violations %d, last seq %d",
                        result.pulled,
                        result.stored,
                        result.deadletter,
                        result.violations,
                        result.last_seq,
                    )
            except ChatArchiveError as e:
                logger.error("pull failed: %s", e)
                self._record_failure(e)

    def _record_failure(self, error: ChatArchiveError) -> None:
        """For the health check's alert; a store that refuses writes may refuse this one too."""
        try:
            health.pull_failed(self.archive.store, str(error), store_unavailable=isinstance(error, StoreUnavailable))
        except ChatArchiveError as e:
            logger.error("ALERT store: the pull failure could not be recorded either (%s); the next pull retries", e)

    def media(self) -> None:
        if not self.archive.settings.media:
            return
        with self._lock:
            fetcher = MediaFetcher(self.archive.store, self.source, self.archive.settings.data_dir / "media")
            fetcher.fetch_pending(limit=500, deadline_s=50)

    def check(self) -> None:
        health.check(self.archive.store, self.archive.settings)

    def purge(self) -> None:
        with self._lock:
            try:
                scheduled_purge(self.archive)
            except ChatArchiveError as e:
                logger.error("retention purge failed: %s", e)

    def anchor(self) -> None:
        """The daily signed anchor of both chains, into ``anchor_dir`` (skipped, with a warning,
        when no directory or key is configured)."""
        settings = self.archive.settings
        if not settings.anchor_dir:
            logger.warning("daily anchor skipped: set anchor_dir (and anchor_key_file) to anchor the evidence")
            return
        with self._lock:
            try:
                write_daily_anchor(self.archive.store, settings)
            except ChatArchiveError as e:
                logger.error("daily anchor failed: %s", e)

    def schedule(self, scheduler: Any) -> None:
        interval = self.archive.settings.pull_interval
        tz = self.archive.settings.timezone
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": max(30, interval)}
        scheduler.add_job(self.pull, IntervalTrigger(seconds=interval), id="pull", next_run_time=_now(tz), **common)
        scheduler.add_job(self.media, IntervalTrigger(seconds=60), id="media", **common)
        scheduler.add_job(self.check, IntervalTrigger(seconds=300), id="health", **common)
        scheduler.add_job(self.purge, CronTrigger(hour=2, minute=30, timezone=tz), id="retention", **common)
        scheduler.add_job(self.anchor, CronTrigger(hour=3, minute=0, timezone=tz), id="anchor", **common)
        wecom_service.attach(self, scheduler)  # directory sync job and callback receiver, when configured


def _now(tz: str) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(tz))


def run_forever(archive: Archive, source_spec: str) -> None:
    service = IndexerService(archive, source_spec)
    scheduler = BlockingScheduler(timezone=archive.settings.timezone)
    service.schedule(scheduler)
    logger.warning(
        "indexer running: pulling %s every %d s (Ctrl-C to stop)", source_spec, archive.settings.pull_interval
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)


def start_background(archive: Archive, source_spec: str) -> BackgroundScheduler:
    """The same jobs in a background thread (the demo and tests)."""
    service = IndexerService(archive, source_spec)
    scheduler = BackgroundScheduler(timezone=archive.settings.timezone)
    service.schedule(scheduler)
    scheduler.start()
    return scheduler
