"""Private file modes: the data directory is 0700 and every file in it 0600.

The store holds password hashes, every message and every violation; exports, media and
private keys are as sensitive. Modes are set explicitly (not left to the umask), and the
process umask is narrowed when a store opens so that files created by libraries we do not
control (tantivy's segments, SQLite's -wal/-shm) are private too.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Narrows this process's umask so that files it creates from now on are private."""
    os.umask(PRIVATE_UMASK)


def _chmod(path: Path, mode: int) -> None:
    """chmod, tolerating a file another user owns (e.g. a shared volume): warn, do not fail."""
    try:
        os.chmod(path, mode)
    except PermissionError:
        log.warning("cannot make %s private (mode %04o): it belongs to another user", path, mode)


def make_private_dir(path: Path) -> Path:
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _chmod(path, PRIVATE_DIR)
    return path


def make_private_file(path: Path) -> Path:
    _chmod(path, PRIVATE_FILE)
    return path


def restrict_tree(root: Path, *, skip: frozenset[str] = frozenset()) -> None:
    """Directories 0700 and files 0600 under ``root`` (symlinks left alone); ``skip``
    names top-level entries not to descend into (e.g. a large media tree fixed as written)."""
    if not root.is_dir():
        return
    _chmod(root, PRIVATE_DIR)
    for entry in root.iterdir():
        if entry.name in skip or entry.is_symlink():
            continue
        if entry.is_dir():
            restrict_tree(entry)
        elif entry.is_file() and stat.S_IMODE(entry.stat().st_mode) != PRIVATE_FILE:
            _chmod(entry, PRIVATE_FILE)


def readable_by_others(path: Path) -> bool:
    """True if users other than the owner may read ``path`` (group or world bits)."""
    return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
