"""One owning process per data directory, enforced with an advisory lock on ``<root>/.lock``.

The write path keeps state in memory (the journal's open file, caches of what was written) that
only stays true while no other process changes the files. ``flock`` is released by the kernel when
the owner dies, however it dies, so a lock left by a killed process is simply taken over; the pid
written into the file is only there to tell the operator who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from storage.errors import DataDirInUse

LOCK_NAME = ".lock"


class DirectoryLock:
    """Held from construction until :meth:`release`; raises :class:`DataDirInUse` if taken."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_NAME
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise DataDirInUse(root, pid) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isascii() and text.isdigit() else None
