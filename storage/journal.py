"""The write-ahead journal: every save is one line appended here, made durable by group commit.

A save used to be a temporary file, an fsync, a rename and a directory fsync: four disk waits per
answer, one answer at a time per file. Here a writer appends one line and waits; whichever writer
finds no flush in progress becomes the leader, writes every waiting line with one ``write`` and
makes them all durable with one ``fdatasync``. A hundred buyers answering at once share a handful
of syncs instead of queueing for a hundred. The per-file JSON is brought up to date later by the
store's checkpoint, which then drops the journal files it has made redundant.

Each line is ``<crc32 hex> <json>\n``. Lines are only ever appended, and a writer is told its
line is durable only after the sync that covers it, so after a crash the file is a run of good
lines followed at most by a damaged tail that nobody was told about; replay stops at the first
line that fails its checksum. A failed write or sync is cut off again (``ftruncate`` to the last
good end) so that later lines are never stranded behind garbage.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.atomic import fsync_dir
from storage.errors import SaveFailed

_NAME = re.compile(r"journal\.(\d{1,18})\.log")
PREALLOCATE = 2 << 20  # more than the store's checkpoint threshold


@dataclass(frozen=True)
class Entry:
    """One replayed line: ``op`` is ``put`` (``body`` holds the file), ``del`` or ``rmtree``."""

    op: str
    path: str
    body: Any = None


def encode(op: str, path: str, body: bytes | None = None) -> bytes:
    """A journal line; ``body`` is already-encoded JSON, embedded without decoding it again."""
    head = b'{"op":"' + op.encode() + b'","path":' + json.dumps(path).encode()
    payload = head + (b',"body":' + body if body is not None else b"") + b"}"
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def _decode(line: bytes) -> Entry | None:
    crc, _, payload = line.partition(b" ")
    if len(crc) != 8 or not line.endswith(b"\n"):
        return None
    payload = payload[:-1]
    try:
        if int(crc, 16) != zlib.crc32(payload):
            return None
        raw = json.loads(payload)
        return Entry(str(raw["op"]), str(raw["path"]), raw.get("body"))
    except (ValueError, KeyError, TypeError):
        return None


class Journal:
    """Group-committed appends to ``<root>/journal.<gen>.log`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cond = threading.Condition()
        self._buf: list[bytes] = []
        self._queued = 0
        self._durable = 0
        self._failures: dict[int, OSError] = {}
        self._flushing = False
        self._inflight: Counter[int] = Counter()
        gens = self.generations()
        self.gen = (gens[-1] + 1) if gens else 1
        self._fd = self._open(self.gen, preallocate=False)  # start-up stays quick; rotation fills
        self.size = 0

    def generations(self) -> list[int]:
        names = (_NAME.fullmatch(name) for name in os.listdir(self.root))
        return sorted(int(match.group(1)) for match in names if match)

    def replay(self) -> list[Entry]:
        """Every durable line of the older generations, oldest first."""
        entries: list[Entry] = []
        for gen in self.generations():
            if gen >= self.gen:
                continue
            with open(self.root / f"journal.{gen}.log", "rb") as handle:
                data = handle.read()
            for line in data.splitlines(keepends=True):
                entry = _decode(line)
                if entry is None:
                    break
                entries.append(entry)
        return entries

    def append(self, line: bytes) -> int:
        """Block until ``line`` is durable; its generation, to be passed to :meth:`release`."""
        with self._cond:
            self._buf.append(line)
            self._queued += 1
            ticket = self._queued
            gen = self.gen
            self._inflight[gen] += 1
            try:
                while self._durable < ticket:
                    if self._flushing:
                        self._cond.wait()
                    else:
                        self._lead()
                error = self._failures.pop(ticket, None)
                if error is not None:
                    raise SaveFailed(str(self.root / "journal"), error) from error
            except BaseException:
                self._release(gen)
                raise
        return gen

    def release(self, gen: int) -> None:
        """The writer of a line of ``gen`` has recorded it where the checkpoint will find it."""
        with self._cond:
            self._release(gen)

    def _release(self, gen: int) -> None:
        self._inflight[gen] -= 1
        if self._inflight[gen] <= 0:
            del self._inflight[gen]
            self._cond.notify_all()

    def _lead(self) -> None:
        """Write and sync every waiting line; called holding the condition, returns holding it."""
        batch, self._buf = self._buf, []
        first, last = self._durable + 1, self._queued
        good_end = self.size
        self._flushing = True
        self._cond.release()
        error: OSError | None = None
        data = b"".join(batch)
        try:
            written = 0
            while written < len(data):
                written += os.pwrite(self._fd, data[written:], good_end + written)
            os.fdatasync(self._fd)
        except OSError as exc:
            error = exc
            with contextlib.suppress(OSError):  # blank it, so replay can never pick it up
                os.pwrite(self._fd, bytes(len(data)), good_end)
                os.fdatasync(self._fd)
        finally:
            self._cond.acquire()
            self._flushing = False
        if error is None:
            self.size = good_end + len(data)
        else:
            self._failures.update(dict.fromkeys(range(first, last + 1), error))
        self._durable = last
        self._cond.notify_all()

    def rotate(self) -> tuple[int, int]:
        """Start a new generation; returns the old one and its size in bytes, once all its
        writers have released it.

        Lines still queued were counted in the old generation but land in the new file; that only
        makes the new file repeat them, which replay tolerates (the last write of a path wins).
        """
        with self._cond:
            upcoming = self.gen + 1
        new_fd = self._open(upcoming)  # the slow part, while writers go on
        with self._cond:
            while self._flushing:
                self._cond.wait()
            old, size = self.gen, self.size + sum(map(len, self._buf))
            os.close(self._fd)
            self._fd, self.gen, self.size = new_fd, upcoming, 0
            while self._inflight.get(old):
                self._cond.wait()
        return old, size

    def drop_through(self, gen: int) -> None:
        """Delete the generations up to ``gen``: the files now hold everything they recorded."""
        for old in self.generations():
            if old <= gen:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.root / f"journal.{old}.log")
        fsync_dir(self.root)

    def close(self, *, discard: bool = False) -> None:
        """Close the file; ``discard`` also removes it (only when all it held is in the files)."""
        with self._cond:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
            if discard:
                with contextlib.suppress(OSError):
                    os.unlink(self.root / f"journal.{self.gen}.log")

    def _open(self, gen: int, *, preallocate: bool = True) -> int:
        """A new generation's file, filled with zeros and synced before the first line.

        Lines then overwrite blocks that already exist, so a commit's ``fdatasync`` flushes only
        data, not the file's growing size and block map: one disk write instead of a journal
        commit of the file system. Replay stops at the zeros like at any damaged tail."""
        path = self.root / f"journal.{gen}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                zeros = bytes(1 << 20)
                for _ in range(PREALLOCATE >> 20 if preallocate else 0):
                    os.write(fd, zeros)
            except OSError:  # (nearly) full: go on without, each commit then also syncs the size
                os.ftruncate(fd, 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        fsync_dir(self.root)
        return fd
