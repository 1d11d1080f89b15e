"""Crash-safe file replacement, and the TinyDB storage class built on it.

TinyDB's own ``JSONStorage`` rewrites the file in place: a crash halfway leaves a truncated or
half-old file. Here every write goes to a temporary file next to the target, is flushed and
fsynced, and then ``os.replace`` swaps it in; after a crash at any instant the target is either
the complete old file or the complete new one. The directory is fsynced afterwards because the
rename lives in the directory, not in the file.

Temporary names are unique per write (``.<name>.<pid>.<random>.tmp``), never truncated in place,
and reads never touch them: a leftover of a killed process is removed by the owner's background
scan, which skips names carrying its own pid, so no reader or second process can pull a file from
under a write in progress.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from storage.content import loads
from storage.errors import CorruptFileError, SaveFailed, StorageError

Tables = dict[str, dict[str, dict[str, Any]]]

TMP_SUFFIX = ".tmp"
_FILE_MODE = 0o600
_DIR_MODE = 0o700


def _new_process() -> None:
    global _pid, _token
    _pid, _token = os.getpid(), os.urandom(3).hex()


_pid, _token = 0, ""
_new_process()
os.register_at_fork(after_in_child=_new_process)
_serial = itertools.count()
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _temp_name(name: str) -> str:
    """``.<name>.<pid>.<random per process><serial>.tmp``: unique per write without a system call
    (a checkpoint writes thousands), and no leftover of an earlier process with a recycled pid."""
    return f".{name}.{_pid}.{_token}{next(_serial):x}{TMP_SUFFIX}"


def temp_path(path: Path) -> Path:
    """A fresh name for the next version of ``path``, unique across processes and writes."""
    return path.with_name(_temp_name(path.name))


def is_temp_name(name: str) -> bool:
    """Whether a directory entry is a (possibly leftover) temporary file of ours."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def temp_owner(name: str) -> int | None:
    """The pid that wrote a temporary file, if its name says so."""
    parts = name[: -len(TMP_SUFFIX)].rsplit(".", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def fsync_dir(directory: Path) -> None:
    """Make a rename, creation or removal inside ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: Path, *, sync: bool = True) -> None:
    """Create ``directory`` and its missing parents durably (``sync=False``: for a batch that
    one ``os.sync`` covers).

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
        if sync:
            fsync_dir(new_dir.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` durably, so that a crash leaves either the old or the new
    file: exactly one ``os.replace`` per call."""
    _replace_with(str(path), data, sync=True)


def write_unsynced(path: str, data: bytes) -> None:
    """:func:`atomic_write_bytes` without syncing anything, missing directories included.

    For the checkpoint: the journal holds the data until one ``os.sync`` has flushed every file
    of the batch, so a sync per file or per new directory would only make it slower. A string
    path, because a checkpoint after the 100,000-tender import writes 120,000 files and ``Path``
    objects were a visible part of that."""
    _replace_with(path, data, sync=False)


def _replace_with(path: str, data: bytes, *, sync: bool) -> None:
    """A temporary file next to ``path``, written with bare system calls, then one rename."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, _temp_name(name))
    try:
        try:
            fd = os.open(tmp, _CREATE, _FILE_MODE)
        except FileNotFoundError:
            make_dirs(Path(folder), sync=sync)
            fd = os.open(tmp, _CREATE, _FILE_MODE)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if sync:
            fsync_dir(Path(folder))
    except OSError as exc:
        raise SaveFailed(path, exc) from exc


def remove_durably(path: Path, remove: Callable[[Path], object] = os.unlink) -> None:
    """Remove ``path`` durably (``remove=shutil.rmtree`` for a directory); missing is fine."""
    try:
        remove(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SaveFailed(str(path), exc) from exc
    fsync_dir(path.parent)


def encode_tables(path: Path, tables: Tables) -> bytes:
    """Serialise TinyDB tables; refuse anything that is not plain JSON before touching disk."""
    try:
        text = json.dumps(tables, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise StorageError(f"{path}: refusing to store data that is not JSON ({exc})") from exc


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
    return read_tables_bytes(path, raw)


def read_tables_bytes(path: Path, raw: bytes) -> Tables:
    """Shape-check the bytes of a TinyDB file (``path`` only names it in errors)."""
    if not raw.strip():
        raise CorruptFileError(path, "file is empty")
    try:
        data = loads(raw)
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
