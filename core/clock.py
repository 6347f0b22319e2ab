"""The one clock: epoch milliseconds, the unit of every timestamp we store."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Milliseconds since the epoch (UTC)."""
    return int(time.time() * 1000)
