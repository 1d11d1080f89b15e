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
from collections import deque
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


_TAME_PATH = re.compile(r"[A-Za-z0-9_./-]*")


def encode(op: str, path: str, body: bytes | None = None) -> bytes:
    """A journal line; ``body`` is already-encoded JSON, embedded without decoding it again.

    The store's paths are made of safe keys (``storage.keys``) and need no JSON escaping: they are
    quoted as they are, without a trip through the encoder on every answer."""
    quoted = b'"%s"' % path.encode() if _TAME_PATH.fullmatch(path) else json.dumps(path).encode()
    payload = b'{"op":"%s","path":%s' % (op.encode(), quoted)
    payload += b',"body":%s}' % body if body is not None else b"}"
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


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


class _Waiter:
    """One writer waiting for its line: woken exactly once, when the line is durable (``error``
    says if it failed) or when it is its turn to lead the next flush."""

    __slots__ = ("_lock", "error", "lead", "ticket")

    def __init__(self, ticket: int) -> None:
        self.ticket = ticket
        self.lead = False
        self.error: OSError | None = None
        self._lock = threading.Lock()
        self._lock.acquire()

    def wait(self) -> None:
        self._lock.acquire()

    def wake(self) -> None:
        self._lock.release()


class Journal:
    """Group-committed appends to ``<root>/journal.<gen>.log`` (see the module docstring).

    Waiting writers queue in ticket order. A leader flushes everything queued when it starts,
    then wakes exactly the writers that flush covered and hands the lead to the oldest writer
    still waiting, if any. A condition variable woke every waiter after every flush instead:
    with a hundred buyers answering at once that was several wake-ups per answer, each a thread
    switch, and those switches cost more CPU than the save itself."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # rotation and flushes wait for each other
        self._buf: list[bytes] = []
        self._queued = 0
        self._durable = 0
        self._leading = False  # a writer leads: it flushes, then hands over or clears this
        self._io = False  # a flush is writing or syncing the file right now
        self._swapping = False  # a rotation waits for the file: no new flush may start
        self._waiting: deque[_Waiter] = deque()
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

    def append(self, line: bytes, *, gen: int | None = None) -> int | None:
        """Block until ``line`` is durable; the generation it was queued in.

        With ``gen``, only if that is still the current generation; else ``None`` at once and
        nothing is written (the caller's patch lines need a put in the generation they join).
        Raises :class:`SaveFailed` if the write or sync failed (the line is then blanked)."""
        with self._lock:
            if gen is not None and gen != self.gen:
                return None
            self._buf.append(line)
            self._queued += 1
            gen = self.gen
            waiter = None
            if self._leading:
                waiter = _Waiter(self._queued)
                self._waiting.append(waiter)
            else:
                self._leading = True
        if waiter is not None:
            waiter.wait()
            error = self._lead() if waiter.lead else waiter.error
        else:
            error = self._lead()
        if error is not None:
            raise SaveFailed(str(self.root / "journal"), error) from error
        return gen

    def _lead(self) -> OSError | None:
        """Write and sync every queued line (the leader's own among them), wake the writers it
        covered and pass the lead on; the leader's own outcome."""
        with self._lock:
            while self._swapping:
                self._cond.wait()
            batch, self._buf = self._buf, []
            last = self._queued
            fd, good_end = self._fd, self.size
            self._io = True
        error: OSError | None = None
        data = b"".join(batch)
        try:
            written = 0
            while written < len(data):
                written += os.pwrite(fd, data[written:], good_end + written)
            os.fdatasync(fd)
        except OSError as exc:
            error = exc
            with contextlib.suppress(OSError):  # blank it, so replay can never pick it up
                os.pwrite(fd, bytes(len(data)), good_end)
                os.fdatasync(fd)
        finally:
            with self._lock:
                self._io = False
                if error is None:
                    self.size = good_end + len(data)
                self._durable = last
                covered: list[_Waiter] = []
                while self._waiting and self._waiting[0].ticket <= last:
                    covered.append(self._waiting.popleft())
                successor = self._waiting.popleft() if self._waiting else None
                self._leading = successor is not None
                if self._swapping:
                    self._cond.notify_all()
            for waiter in covered:
                waiter.error = error
                waiter.wake()
            if successor is not None:
                successor.lead = True
                successor.wake()
        return error

    def rotate(self) -> tuple[int, int]:
        """Start a new generation; returns the old one and its size in bytes.

        The file is swapped between two flushes, so the old one holds only lines already written.
        Lines still queued land in the new file although they were queued in the old generation.
        The callers record what a line does before queueing it and keep the owner's lock until it
        is durable, so a checkpoint that goes on to write the files it finds recorded cannot miss
        a line of the old file, nor write one that is not durable yet."""
        with self._lock:
            upcoming = self.gen + 1
        new_fd = self._open(upcoming)  # the slow part, while writers go on
        with self._lock:
            self._swapping = True
            try:
                while self._io:
                    self._cond.wait()
                old, size = self.gen, self.size + sum(map(len, self._buf))
                os.close(self._fd)
                self._fd, self.gen, self.size = new_fd, upcoming, 0
            finally:
                self._swapping = False
                self._cond.notify_all()
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
        with self._lock:
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
