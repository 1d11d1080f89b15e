"""One lock per protected path, created on first use."""

from __future__ import annotations

import threading
from pathlib import Path


class PathLocks:
    """Hands out the same ``threading.Lock`` for the same path.

    Entries are never dropped: a lock costs well under a hundred bytes, and removing one while
    another thread may be about to take it would need more locking than it saves. Locks only
    serialise threads of this process; the data directory is assumed to have a single owning
    process.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Path, threading.Lock] = {}

    def __call__(self, path: Path) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(path)
            if lock is None:
                lock = self._locks[path] = threading.Lock()
            return lock
