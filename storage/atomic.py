"""Crash-safe file replacement, and the TinyDB storage class built on it.

TinyDB's own ``JSONStorage`` rewrites the file in place: a crash halfway leaves a truncated or
half-old file. Here every write goes to a temporary file next to the target, is flushed and
fsynced, and then ``os.replace`` swaps it in; after a crash at any instant the target is either
the complete old file or the complete new one. The directory is fsynced afterwards because the
rename lives in the directory, not in the file.

The temporary name is fixed per target (``.<name>.tmp``) rather than random. That is safe because
one process owns a data directory and serialises writes per file, and it lets a reader find and
remove a leftover with one ``unlink`` instead of scanning the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from storage.errors import CorruptFileError, StorageError

Tables = dict[str, dict[str, dict[str, Any]]]

TMP_SUFFIX = ".tmp"
_FILE_MODE = 0o600
_DIR_MODE = 0o700


def temp_path(path: Path) -> Path:
    """Where the next version of ``path`` is written before it replaces ``path``."""
    return path.with_name(f".{path.name}{TMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    """Whether a directory entry is a (possibly leftover) temporary file of ours."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def fsync_dir(directory: Path) -> None:
    """Make a rename, creation or removal inside ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents durably.

    ``Path.mkdir(parents=True)`` does not fsync the parents, so after a power cut a freshly
    written file could sit in a directory whose own entry never reached the disk.
    """
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for new_dir in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(new_dir, _DIR_MODE)
        fsync_dir(new_dir.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    Exactly one ``os.replace`` per call; callers rely on that to make one save one write.
    """
    tmp = temp_path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    try:
        try:
            fd = os.open(tmp, flags, _FILE_MODE)
        except FileNotFoundError:
            make_dirs(path.parent)
            fd = os.open(tmp, flags, _FILE_MODE)
        try:
            with open(fd, "wb", closefd=True) as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_dir(path.parent)
    except OSError as exc:
        raise StorageError(f"{path}: could not be saved ({exc.strerror or exc})") from exc


def remove_file(path: Path) -> None:
    """Remove ``path`` and any leftover temporary file for it, durably; missing is fine."""
    removed = False
    for victim in (path, temp_path(path)):
        try:
            os.unlink(victim)
        except FileNotFoundError:
            continue
        removed = True
    if removed:
        fsync_dir(path.parent)


def discard_leftover(path: Path) -> None:
    """Delete the temporary file a crash may have left next to ``path``.

    Only call this while holding the lock that serialises writes to ``path``: otherwise it could
    pull the temporary file from under a write in progress.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp_path(path))


def encode_tables(path: Path, tables: Tables) -> bytes:
    """Serialise TinyDB tables; refuse anything that is not plain JSON before touching disk."""
    try:
        text = json.dumps(tables, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise StorageError(f"{path}: refusing to store data that is not JSON ({exc})") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_tables(path: Path) -> Tables | None:
    """Read and shape-check a TinyDB file; ``None`` if it does not exist.

    An empty file is corrupt rather than "an empty database" as TinyDB would treat it: our writes
    never produce one, so an empty file means something else truncated it, and pretending it is
    empty would let the next save wipe whatever was there.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CorruptFileError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise CorruptFileError(path, "file is empty")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise CorruptFileError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise CorruptFileError(path, "not a TinyDB database (top level is not an object)")
    for table_name, table in data.items():
        if not isinstance(table, dict):
            raise CorruptFileError(path, f"table {table_name!r} is not an object")
        for doc_id, doc in table.items():
            if not isinstance(doc, dict):
                raise CorruptFileError(path, f"document {doc_id} of {table_name!r} is no object")
    return data


class AtomicJSONStorage(Storage):
    """TinyDB storage whose every ``write`` is one atomic, durable file replacement.

    The files it writes are ordinary TinyDB JSON, so ``TinyDB(path, storage=AtomicJSONStorage)``
    opens any file of the data directory for inspection with the usual query API.
    """

    def __init__(self, path: str | os.PathLike[str], **_ignored: Any) -> None:
        super().__init__()
        self.path = Path(path)

    def read(self) -> Tables | None:
        return read_tables(self.path)

    def write(self, data: Tables) -> None:
        atomic_write_bytes(self.path, encode_tables(self.path, data))
