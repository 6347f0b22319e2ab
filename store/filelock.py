"""Cross-process locks on files in the data directory (``fcntl.flock``).

Appending to a hash chain reads the head and writes the next entry; two processes (the
dashboard, the scheduler, a CLI command) doing that at once would both take the same
``seq``. ``chain_lock`` makes the read-and-append one step across processes. The pull
lock keeps a second ``pull``/``run`` off a data directory that one is already pulling.
A lock is released by the kernel when its process dies, so a crash never leaves one held.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from core.errors import ChatArchiveError

LOCK_DIR = "locks"
PULL_LOCK = "pull"

_thread_locks: dict[str, threading.RLock] = {}
_thread_locks_guard = threading.Lock()


class DataDirectoryBusy(ChatArchiveError):
    """Another process holds the lock (e.g. a second pull on the same data directory)."""


def _thread_lock(name: str) -> threading.RLock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(name, threading.RLock())


def lock_file(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / LOCK_DIR / f"{name}.lock"


def _open_lock_file(path: Path) -> int:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextmanager
def held(data_dir: Path | None, name: str) -> Iterator[None]:
    """Waits for and holds lock ``name`` of ``data_dir``; threads of this process queue first.
    Without a data directory (in-memory or remote stores) only the thread lock applies."""
    with _thread_lock(name):
        if data_dir is None:
            yield
            return
        fd = _open_lock_file(lock_file(data_dir, name))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def chain_lock(store: object, name: str) -> AbstractContextManager[None]:
    """The lock that serialises appends to one hash chain of ``store`` across processes."""
    return held(_store_dir(store), name)


def _store_dir(store: object) -> Path | None:
    """Where a store's lock files live: ``lock_dir`` if the backend names one (a remote store
    can point it at the shared data directory), else the embedded store's ``path``."""
    if getattr(store, "read_only", False):
        return None
    path = getattr(store, "lock_dir", None) or getattr(store, "path", None)
    return Path(path) if path is not None else None


@contextmanager
def exclusive(data_dir: Path, name: str, what: str) -> Iterator[None]:
    """Holds lock ``name`` for the whole block or refuses at once with a one-line message
    naming the holder (its pid and start time are written into the lock file)."""
    path = lock_file(data_dir, name)
    fd = _open_lock_file(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise DataDirectoryBusy(
                f"{what} refused: {holder} is already pulling into {data_dir}; wait for it to finish or stop it"
            ) from None
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
        os.pwrite(fd, f"pid {os.getpid()} (since {stamp})".encode(), 0)
        yield
    finally:
        os.close(fd)
