"""``chatarchive run``'s scheduler (chatarchive/scheduler.py) on the real APScheduler: the jobs
it registers, that a pull never overlaps another, and that the health and retention jobs do
their work. Nothing sleeps on the wall clock: jobs are called directly or awaited by events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from chatarchive.archive import Archive
from chatarchive.scheduler import IndexerService
from compliance import retention
from core import clock
from core.errors import SourceError
from core.models import ALL, Batch, MessageFilter
from indexer import health
from indexer.pipeline import PullResult
from tests.helpers import cli, make_message

DAY = 86_400_000
WAIT_S = 60  # only a failing test waits this long: the events below arrive at once otherwise


@pytest.fixture(scope="module")
def sim_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "archive"
    cli("simulate", "--out", str(out), "--messages", "60", "--seed", "3", "--fault-rate", "0")
    return out


@pytest.fixture
def service(sim_archive: Path, data_dir: Path) -> Iterator[IndexerService]:
    archive = Archive.open(data=str(data_dir), pull_interval=120)
    yield IndexerService(archive, f"sim:{sim_archive}")
    archive.close()


@pytest.fixture
def scheduler(service: IndexerService) -> Iterator[BackgroundScheduler]:
    scheduler = BackgroundScheduler(timezone=service.archive.settings.timezone)
    service.schedule(scheduler)
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


def test_the_five_jobs_are_registered_with_their_triggers(
    service: IndexerService, scheduler: BackgroundScheduler
) -> None:
    """GIVEN the indexer service (WeCom's APIs not configured) WHEN scheduled THEN pull (every
    pull_interval), media (every minute), health (every 5 minutes), retention (02:30 local) and
    the evidence anchor (03:00 local) are the jobs, each calling its service method."""
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"pull", "media", "health", "retention", "anchor"}
    intervals = {name: jobs[name].trigger.interval.total_seconds() for name in ("pull", "media", "health")}
    assert all(isinstance(jobs[name].trigger, IntervalTrigger) for name in intervals)
    assert intervals == {"pull": 120, "media": 60, "health": 300}
    cron = jobs["retention"].trigger
    assert isinstance(cron, CronTrigger)
    assert {f.name: str(f) for f in cron.fields if f.name in ("hour", "minute")} == {"hour": "2", "minute": "30"}
    assert str(cron.timezone) == service.archive.settings.timezone
    assert jobs["pull"].func == service.pull and jobs["retention"].func == service.purge
    assert jobs["health"].func == service.check and jobs["media"].func == service.media
    anchor = jobs["anchor"].trigger
    assert isinstance(anchor, CronTrigger) and jobs["anchor"].func == service.anchor
    assert {f.name: str(f) for f in anchor.fields if f.name in ("hour", "minute")} == {"hour": "3", "minute": "0"}


def test_no_job_can_run_twice_at_once_and_missed_runs_coalesce(scheduler: BackgroundScheduler) -> None:
    """GIVEN the scheduled jobs WHEN their options are read THEN each allows one instance and
    coalesces missed runs into one."""
    for job in scheduler.get_jobs():
        assert (job.max_instances, job.coalesce) == (1, True), job.id


def test_a_pull_due_while_one_runs_is_skipped_not_stacked(
    service: IndexerService, scheduler: BackgroundScheduler
) -> None:
    """GIVEN a pull that is still running WHEN the next pull falls due THEN APScheduler skips it
    (max instances reached) and only one pull ever runs at a time."""
    started, release, skipped = threading.Event(), threading.Event(), threading.Event()
    running = []
    most = 0

    def slow_run(**_: object) -> PullResult:
        nonlocal most
        running.append(1)
        most = max(most, len(running))
        started.set()
        release.wait(WAIT_S)
        running.pop()
        return PullResult()

    def on_max_instances(event: JobEvent) -> None:
        if event.job_id == "pull":
            skipped.set()

    service.pipeline.run = slow_run  # type: ignore[method-assign]
    scheduler.add_listener(on_max_instances, EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    assert started.wait(WAIT_S), "the first pull did not start"
    scheduler.get_job("pull").modify(next_run_time=datetime.now(ZoneInfo(service.archive.settings.timezone)))
    assert skipped.wait(WAIT_S), "the overlapping pull was not skipped"
    release.set()
    scheduler.shutdown(wait=True)
    assert most == 1


def test_the_pull_job_pulls_and_a_failed_pull_is_counted_for_the_health_check(
    service: IndexerService, scheduler: BackgroundScheduler
) -> None:
    """GIVEN the scheduled pull job WHEN it runs THEN the archive is pulled; WHEN the source then
    fails THEN the failure is recorded for the health check instead of stopping the service."""
    scheduler.get_job("pull").func()
    store = service.archive.store
    assert store.count(MessageFilter(), scope=ALL) > 0
    assert health.counters(store)["last_pull_ms"] > 0

    def broken(**_: object) -> PullResult:
        raise SourceError("GetChatData failed: 10001")

    service.pipeline.run = broken  # type: ignore[method-assign]
    scheduler.get_job("pull").func()
    assert health.counters(store)["failed_pulls"] == 1


def test_the_health_job_saves_the_alerts_in_force(service: IndexerService, scheduler: BackgroundScheduler) -> None:
    """GIVEN a pull that failed and none that succeeded WHEN the health job runs THEN the saved
    alerts say no pull has ever succeeded."""
    health.pull_failed(service.archive.store, "GetChatData failed: 10001")
    scheduler.get_job("health").func()
    saved = service.archive.store.get_record("meta", health.ALERTS)
    assert saved is not None
    assert [a["kind"] for a in saved["alerts"]] == ["stall"]


def test_the_retention_job_purges_what_the_policy_expired(
    service: IndexerService, scheduler: BackgroundScheduler
) -> None:
    """GIVEN messages 400 and 10 days old and a 365-day policy WHEN the retention job runs THEN
    exactly the old message is deleted."""
    store = service.archive.store
    now = clock.now_ms()
    old = make_message("旧", msgid="old", seq=1, time_ms=now - 400 * DAY)
    recent = make_message("新", msgid="recent", seq=2, time_ms=now - 10 * DAY)
    store.write_batch(Batch(messages=[old, recent]))
    store.refresh()
    retention.set_policy(store, 365, settings=service.archive.settings)
    scheduler.get_job("retention").func()
    assert [m.msgid for m in store.iter_messages(MessageFilter(), scope=ALL)] == ["recent"]
