"""Full-range rule backtests as background jobs of the dashboard process.

A job is a thread the rules page starts; its progress and result live in one process-wide
``Registry`` (not in a browser session), so they survive reruns, navigating away and a new
browser tab of the same account. One job per rule draft and account: starting the same
draft again returns the running (or finished) job, unless the page asks to rerun it.

Matching is Python work that holds the GIL, so jobs run one at a time (``max_running``)
and the rest wait in a queue: on a 2-core server two threads would not finish sooner, they
would only slow every page more. An account may hold at most ``max_per_account`` unfinished
jobs; finished ones are kept ``keep_s`` seconds (at most ``keep`` of them) and then dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core import clock
from core.errors import BadInput
from dashboard._backtest_runner import Cancelled, JsonObject

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"
ACTIVE = (QUEUED, RUNNING)

# What a job does: given a progress callback and a cancellation check, the backtest and the diff.
Work = Callable[[Callable[[float, str], object], Callable[[], bool]], tuple[JsonObject, JsonObject | None]]


def draft_key(account: str, role: str, scope: dict[str, Any], rule: dict[str, Any], **extra: Any) -> str:
    """The identity of a job: who (account, role, scope: what they may see) and what (the rule
    draft, the saved version it is compared with, the range, the reason)."""
    blob = json.dumps(
        {"account": account, "role": role, "scope": scope, "rule": rule, **extra},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


@dataclass
class Job:
    key: str
    account: str
    title: str  # the rule's name and the range, for the job list
    state: str = QUEUED
    progress: float = 0.0
    label: str = ""
    result: JsonObject | None = None
    diff: JsonObject | None = None
    error: str = ""
    created_ms: int = 0
    started_ms: int = 0
    finished_ms: int = 0
    context: dict[str, Any] = field(default_factory=dict)  # what the page needs to show the result
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def elapsed_s(self) -> float:
        if not self.started_ms:
            return 0.0
        return ((self.finished_ms or clock.now_ms()) - self.started_ms) / 1000


class Registry:
    def __init__(self, *, max_running: int = 1, max_per_account: int = 2, keep: int = 50, keep_s: int = 3600):
        self.max_per_account = max_per_account
        self.keep = keep
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_running)
        self._jobs: dict[str, Job] = {}

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def jobs_of(self, account: str) -> list[Job]:
        """The account's jobs, newest first."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.account == account), key=lambda j: -j.created_ms)

    def start(
        self,
        key: str,
        account: str,
        title: str,
        work: Work,
        *,
        rerun: bool = False,
        context: dict[str, Any] | None = None,
    ) -> Job:
        """The job of ``key``: the existing one (running or finished) unless ``rerun``, else a new
        one (an unfinished old one is cancelled first). Raises ``BadInput`` when the account
        already has ``max_per_account`` unfinished jobs."""
        with self._lock:
            self._prune()
            old = self._jobs.get(key)
            if old is not None and not rerun and old.state in (QUEUED, RUNNING, DONE):
                return old
            if old is not None:
                old.cancel_event.set()
            busy = [j for j in self._jobs.values() if j.account == account and j.active and j.key != key]
            if len(busy) >= self.max_per_account:
                raise BadInput(f"已有 {len(busy)} 个后台回测在运行或排队，请等它们完成或先取消一个")
            job = Job(key=key, account=account, title=title, created_ms=clock.now_ms(), context=context or {})
            job.thread = threading.Thread(target=self._run, args=(job, work), name=f"backtest-{key}", daemon=True)
            self._jobs[key] = job
        job.thread.start()
        return job

    def cancel(self, key: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(key)
        if job is not None and job.active:
            job.cancel_event.set()
            if job.state == QUEUED:  # it leaves the queue at once; the thread ends when it wakes
                self._finish(job, CANCELLED)
        return job

    def _run(self, job: Job, work: Work) -> None:
        while not self._slots.acquire(timeout=0.2):  # queued: wait for a slot, or for cancellation
            if job.cancel_event.is_set():
                self._finish(job, CANCELLED)
                return
        try:
            if job.cancel_event.is_set():
                self._finish(job, CANCELLED)
                return
            with self._lock:
                job.state, job.started_ms = RUNNING, clock.now_ms()

            def progress(done: float, label: str) -> None:
                job.progress, job.label = done, label

            result, diff = work(progress, job.cancel_event.is_set)
            with self._lock:
                job.result, job.diff = result, diff
            self._finish(job, DONE)
        except Cancelled:
            self._finish(job, CANCELLED)
        except BadInput as e:
            self._finish(job, FAILED, str(e))
        except Exception as e:  # noqa: BLE001 - a job's failure is shown on the page; the log has the traceback
            log.exception("backtest job %s failed", job.key)
            self._finish(job, FAILED, f"{type(e).__name__}")
        finally:
            self._slots.release()

    def _finish(self, job: Job, state: str, error: str = "") -> None:
        with self._lock:
            if job.state in ACTIVE:
                job.state, job.error, job.finished_ms = state, error, clock.now_ms()

    def _prune(self) -> None:
        """Drops finished jobs older than ``keep_s``, then the oldest finished beyond ``keep`` (lock held)."""
        now = clock.now_ms()
        for key, job in list(self._jobs.items()):
            if not job.active and now - job.finished_ms > self.keep_s * 1000:
                del self._jobs[key]
        finished = sorted((j for j in self._jobs.values() if not j.active), key=lambda j: j.finished_ms)
        for job in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[job.key]

    def wait(self, key: str, timeout: float = 30.0) -> Job | None:
        """Blocks until the job is finished or ``timeout`` passes (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        job = self.get(key)
        while job is not None and job.active and time.monotonic() < deadline:
            time.sleep(0.02)
        return job


REGISTRY = Registry()
