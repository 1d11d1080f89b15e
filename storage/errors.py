"""Errors raised by the storage package.

All of them derive from :class:`StorageError`, so a channel can catch one class and turn it into a
polite message, while start-up code can tell a damaged file apart from a file written by a newer
program and say which one it is.
"""

from __future__ import annotations

import errno
from pathlib import Path


class StorageError(Exception):
    """Base class: something about the data directory prevents a read or write."""


class CorruptFileError(StorageError):
    """A file exists but cannot be understood.

    The path is part of ``str()`` because this error usually ends up in a log or a start-up message
    and the operator's next step is to look at (or restore) exactly that file.
    """

    path: Path
    reason: str

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type[CorruptFileError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


class SchemaVersionError(StorageError):
    """A file was written by a newer version of the program.

    Kept separate from :class:`CorruptFileError`: the file is fine, this program is too old, and the
    fix is an upgrade rather than a restore. The store refuses to overwrite such a file, because
    writing it back in the old format would silently drop whatever the newer version stored.
    """

    path: Path
    found: int
    supported: int

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = Path(path)
        self.found = found
        self.supported = supported
        super().__init__(
            f"{self.path}: written with data schema {found}, but this version of Inkoopkompas "
            f"understands schema {supported} at most; upgrade the program instead of editing "
            "the file"
        )

    def __reduce__(self) -> tuple[type[SchemaVersionError], tuple[Path, int, int]]:
        return (type(self), (self.path, self.found, self.supported))


class SaveFailed(StorageError):
    """A write could not be made durable, so the caller must not acknowledge it.

    ``kind`` names the cause a person can act on (``"full"``, ``"read-only"``, ``"denied"`` or
    ``"other"``) so a channel can pick its wording without parsing ``strerror``. Nothing stored
    before the failed write is touched by it.
    """

    kind: str

    def __init__(self, what: str, exc: OSError) -> None:
        self.kind = _KINDS.get(exc.errno or 0, "other")
        super().__init__(f"{what}: could not be saved ({exc.strerror or exc})")


class DataDirInUse(StorageError):
    """Another live process owns the data directory; two owners would corrupt it."""

    pid: int | None

    def __init__(self, root: Path, pid: int | None) -> None:
        self.pid = pid
        owner = f"process {pid}" if pid else "another process"
        super().__init__(f"{root}: in use by {owner}")


_KINDS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EROFS: "read-only",
    errno.EACCES: "denied",
    errno.EPERM: "denied",
}
