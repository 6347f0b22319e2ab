"""Failures from the operating system and the storage libraries as one-line messages.

The CLI contract promises a one-line error and exit status 1 for a failed operation; a
full disk, a read-only data directory or a database held by another process must read
as that, not as a Python traceback (which ``-v`` still shows).
"""

from __future__ import annotations

import errno
import sqlite3

# errno → what the operator should understand and do.
_OS_ERRORS: dict[int, str] = {
    errno.ENOSPC: "no space left on the device: free space (or grow the volume) and run the command again",
    errno.EDQUOT: "disk quota exceeded: free space or raise the quota and run the command again",
    errno.EROFS: "the file system is read-only: mount the data directory read-write",
    errno.EACCES: "permission denied: check the owner and mode of the data directory",
    errno.EPERM: "operation not permitted: check the owner and mode of the data directory",
    errno.EIO: "input/output error from the disk: check the device",
    errno.ENOENT: "no such file or directory",
    errno.EMFILE: "too many open files: raise the process's file limit (ulimit -n)",
}

# SQLite reports these as OperationalError with a fixed text.
_SQLITE_ERRORS: tuple[tuple[str, str], ...] = (
    ("database is locked", "the database is locked by another process: wait for it to finish and retry"),
    ("database or disk is full", _OS_ERRORS[errno.ENOSPC]),
    ("readonly database", "the database is read-only: check the data directory's mode and mount"),
    (
        "unable to open database file",
        "unable to open the database: check that the data directory exists and is writable",
    ),
    ("disk i/o error", _OS_ERRORS[errno.EIO]),
)

# tantivy raises ValueError with the OS error text inside.
_TANTIVY_MARKERS: tuple[tuple[str, int], ...] = (
    ("No space left on device", errno.ENOSPC),
    ("Read-only file system", errno.EROFS),
    ("Permission denied", errno.EACCES),
    ("Disk quota exceeded", errno.EDQUOT),
)


def describe_failure(error: BaseException) -> str | None:
    """A one-line explanation of an environment failure, or None for a program error."""
    if isinstance(error, OSError) and error.errno in _OS_ERRORS:
        where = f" ({error.filename})" if error.filename else ""
        return _OS_ERRORS[error.errno] + where
    if isinstance(error, sqlite3.Error):
        text = str(error).lower()
        for marker, message in _SQLITE_ERRORS:
            if marker in text:
                return message
        return f"database error: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    if isinstance(error, ValueError):
        text = str(error)
        for marker, code in _TANTIVY_MARKERS:
            if marker in text:
                return _OS_ERRORS[code]
    if isinstance(error, OSError):
        return f"{error.strerror or type(error).__name__}" + (f" ({error.filename})" if error.filename else "")
    return None


def unexpected(error: BaseException) -> str:
    """The one line for a program error: what it was, and how to see the traceback."""
    first = str(error).splitlines()[0] if str(error) else ""
    return f"unexpected {type(error).__name__}{': ' + first if first else ''} (run with -v for the traceback)"
