"""Client-side rate limits: a sliding window of call times per key (an API path, a robot, a receiver)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most ``limit`` calls per ``window`` seconds for each key; ``acquire`` waits for a free slot."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_time(self, key: str) -> float:
        """Seconds until ``key`` may be called again (0 if now)."""
        with self._lock:
            calls = self._prune(key)
            if len(calls) < self.limit:
                return 0.0
            return max(0.0, calls[0] + self.window - self._clock())

    def try_acquire(self, key: str) -> bool:
        with self._lock:
            calls = self._prune(key)
            if len(calls) >= self.limit:
                return False
            calls.append(self._clock())
            return True

    def acquire(self, key: str) -> None:
        while not self.try_acquire(key):
            self._sleep(max(self.wait_time(key), 0.01))

    def _prune(self, key: str) -> deque[float]:
        calls = self._calls.setdefault(key, deque())
        horizon = self._clock() - self.window
        while calls and calls[0] <= horizon:
            calls.popleft()
        return calls
