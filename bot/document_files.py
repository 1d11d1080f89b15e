"""Documents written to disk for a person: private, complete, and theirs alone.

A summary holds a buyer's plans before they are public, so the files are readable only by their
owner (0600), like the data files. Each file is written to a temporary name and renamed over the
old one, so a full disk or a crash leaves the previous good document, never a truncated one. In the
terminal several people may share a machine: each gets their own folder, so two tenders with the
same name never overwrite each other, and "delete all my data" can remove that folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from flows.events import DocumentRequest
from flows.report.files import filename
from storage import StorageError
from storage.atomic import atomic_write_bytes

_DIR_MODE = 0o700
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, readable by its owner only; `OSError` if not."""
    try:
        atomic_write_bytes(path, data)
    except StorageError as exc:
        raise OSError(failure_reason(exc)) from exc


def user_folder(out_dir: Path, user_key: str) -> Path:
    """The person's own folder under `out_dir`; a name that had to be changed to be safe as a
    folder name gets a short hash, so two different names never share a folder."""
    name = user_key.removeprefix("cli-")
    safe = _UNSAFE.sub("_", name).strip("_")[:40]
    if safe != name or not safe:
        digest = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:8]
        safe = f"{safe or 'gebruiker'}-{digest}"
    return out_dir / safe


def write_documents(files: dict[str, bytes], request: DocumentRequest, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, _DIR_MODE)
    paths = []
    for fmt, data in files.items():
        path = folder / filename(request, fmt)
        write_private(path, data)
        paths.append(path)
    return paths


def forget(folder: Path) -> None:
    """Remove everything written for one person; nothing there is fine."""
    shutil.rmtree(folder, ignore_errors=True)


def failure_reason(exc: BaseException) -> str:
    """The operating system's short reason (for example "No space left on device")."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        current = current.__cause__
    return type(exc).__name__
