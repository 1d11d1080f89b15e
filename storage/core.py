"""The owner of one data directory inside this process: lock, journal, recent files, checkpoints.

Every ``Store`` on the same directory in one process shares one ``Core`` (see :func:`attach`), so
what one of them wrote is what the others read, and the directory lock is taken once.

A write is durable when its journal line is (group commit, see ``storage.journal``). The file is
then replaced at once (so the directory always shows current JSON) but not synced; the next
checkpoint flushes every file written since the last one with one ``os.sync`` and only then drops
the journal that recorded them. A crash at any point leaves the journal (replayed when the
directory is next opened) for whatever the files may lack. A file write that fails after the
journal line was synced keeps its content in ``dirty``, served to readers and retried.

Paths are strings relative to the root with ``/``; the lock that guards a path is its owner: the
person's directory for everything of a person, the file itself for a group chat.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage.atomic import atomic_write_bytes, fsync_dir, make_dirs, remove_durably
from storage.cache import Recent
from storage.dirlock import DirectoryLock
from storage.errors import SaveFailed, StorageError
from storage.journal import Entry, Journal, encode
from storage.locks import KeyLocks

log = logging.getLogger("inkoopkompas.storage")

CHECKPOINT_BYTES = 1 << 20
CHECKPOINT_SECONDS = 5.0
CACHE_FILES = 1024
WRITE_THROUGH = "groups/"
CACHE_INDEXES = 64
CACHE_SECONDS = 900.0  # a buyer quiet for a quarter of an hour is read from disk again
QUARANTINE = "quarantine"
INDEX_FILE = "index.json"
INDEX_TABLE = "tenders"

Index = dict[str, dict[str, Any]]


def owner(rel: str) -> str:
    """The lock key of a path: ``users/<key>`` for a person's files, the path itself otherwise."""
    parts = rel.split("/")
    return "/".join(parts[:2]) if parts[0] == "users" else rel


def dumps(obj: Any) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


class Core:
    """Shared state of one data directory in this process (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        make_dirs(root)
        self.root = root
        self.dirlock = DirectoryLock(root)
        try:
            self.journal = Journal(root)
            self.locks = KeyLocks()
            self.dirty: dict[str, bytes] = {}
            self.cache: Recent[bytes] = Recent(CACHE_FILES, CACHE_SECONDS)
            self.indexes: Recent[Index] = Recent(CACHE_INDEXES, CACHE_SECONDS)
            self.dirty_indexes: dict[str, Index] = {}
            self.orders: Recent[list[str]] = Recent(CACHE_INDEXES, CACHE_SECONDS)
            self.meta_of: Callable[[bytes], dict[str, Any] | None] = _meta_of
            self.holders = 0
            self._checkpointing = threading.Lock()
            self._timer: threading.Timer | None = None
            self._timer_lock = threading.Lock()
            self._running = False
            self._recover()
        except BaseException:
            self.dirlock.release()
            raise

    # reading and writing; callers hold ``self.locks(owner(rel))``

    def read(self, rel: str) -> bytes | None:
        data = self.dirty.get(rel)
        if data is None:
            data = self.cache.get(rel)
        if data is None:
            try:
                data = (self.root / rel).read_bytes()
            except FileNotFoundError:
                return None
            self.cache.put(rel, data)
        return data

    def known(self, rel: str) -> bool:
        """Whether this process has read or written ``rel`` (so its content was checked)."""
        return rel in self.dirty or self.cache.get(rel) is not None

    def write(self, rel: str, data: bytes, meta: dict[str, Any] | None = None) -> None:
        self.write_many([(rel, data, meta)])

    def write_many(self, items: list[tuple[str, bytes, dict[str, Any] | None]]) -> None:
        """Durable once their journal lines are (one sync for all). The files follow at the next
        checkpoint (group chats' at once, unsynced: they are few and other tools look at them);
        until then readers get the content from ``dirty``. ``meta`` updates the person's index
        for a tender file."""
        gen = self.journal.append(b"".join(encode("put", rel, data) for rel, data, _ in items))
        try:
            for rel, data, meta in items:
                self.dirty[rel] = data
                self.cache.drop(rel)
                if rel.startswith(WRITE_THROUGH):
                    try:
                        self._write_file(rel, data)
                        del self.dirty[rel]
                        self.cache.put(rel, data)
                    except SaveFailed as exc:
                        log.error("saved in the journal, but %s (retried later)", exc)
                if meta is not None:
                    user, tender_id = _tender_parts(rel)
                    self.index(user)[tender_id] = meta
                    self._index_changed(user)
        finally:
            self.journal.release(gen)
        self._maybe_checkpoint()

    def delete(self, rel: str) -> None:
        """Remove a file now; the journal line keeps a replay from bringing it back."""
        self.journal.release(self.journal.append(encode("del", rel)))
        self.dirty.pop(rel, None)
        self.cache.drop(rel)
        remove_durably(self.root / rel)
        self.forget_tender(rel)

    def forget_tender(self, rel: str) -> None:
        """Drop a tender from its person's index (after it was set aside)."""
        if rel.startswith("users/") and "/tenders/" in rel:
            user, tender_id = _tender_parts(rel)
            if self.index(user).pop(tender_id, None) is not None:
                self._index_changed(user)

    def forget(self, rel: str) -> None:
        """Drop cached contents and index under a directory (nothing pending may be there)."""
        prefix = rel + "/"
        self.cache.drop_where(lambda key: str(key).startswith(prefix))
        self.dirty_indexes.pop(rel, None)
        self.indexes.drop(rel)
        self.orders.drop(rel)

    def rmtree(self, rel: str) -> None:
        """Remove a directory now, with everything pending or cached under it."""
        self.journal.release(self.journal.append(encode("rmtree", rel)))
        prefix = rel + "/"
        for key in [k for k in tuple(self.dirty) if k.startswith(prefix)]:
            del self.dirty[key]
        self.forget(rel)
        for victim in (self.root / rel, self.root / QUARANTINE / rel):
            remove_durably(victim, shutil.rmtree)

    def quarantine(self, rel: str, reason: str) -> Path:
        """Move a file this program cannot use out of the way, keeping it for the operator."""
        self.dirty.pop(rel, None)
        self.cache.drop(rel)
        target = self.root / QUARANTINE / f"{rel}.{time.strftime('%Y%m%dT%H%M%S')}"
        try:
            make_dirs(target.parent)
            os.replace(self.root / rel, target)
            fsync_dir(target.parent)
        except OSError as exc:
            log.warning("unreadable data file %s skipped (%s): %s", self.root / rel, exc, reason)
            return self.root / rel
        log.warning("unreadable data file %s moved to %s: %s", self.root / rel, target, reason)
        return target

    def names(self, rel_dir: str) -> set[str]:
        """File names in a directory, counting writes not yet checkpointed."""
        try:
            found = {name for name in os.listdir(self.root / rel_dir) if not name.startswith(".")}
        except FileNotFoundError:
            found = set()
        except OSError as exc:
            raise StorageError(f"{self.root / rel_dir}: cannot be listed ({exc})") from exc
        prefix = rel_dir + "/"
        found.update(key[len(prefix) :] for key in tuple(self.dirty) if key.startswith(prefix))
        return found

    # the per-person index of tender metas

    def index(self, user: str) -> Index:
        """The person's tender metas by id, from memory or ``index.json``, checked against the
        directory listing; tenders missing from it are read once and added."""
        index = self.dirty_indexes.get(user)
        if index is None:
            index = self.indexes.get(user)
        if index is not None:
            return index
        index, changed = {}, False
        raw = self.read(f"{user}/{INDEX_FILE}")
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            stored = json.loads(raw or b"{}").get(INDEX_TABLE, {})
            index = {k: v for k, v in stored.items() if isinstance(v, dict)}
        names = {n[:-5] for n in self.names(f"{user}/tenders") if n.endswith(".json")}
        for gone in set(index) - names:
            del index[gone]
            changed = True
        for tender_id in names - set(index):
            data = self.read(f"{user}/tenders/{tender_id}.json")
            meta = None if data is None else self.meta_of(data)
            if meta is not None:
                index[tender_id] = meta
                changed = True
        self.indexes.put(user, index)
        if changed:
            self.dirty_indexes[user] = index
        return index

    def order(self, user: str) -> list[str]:
        """The person's tender ids, most recently saved first; kept until the index changes."""
        order = self.orders.get(user)
        if order is None:
            index = self.index(user)
            order = sorted(index, key=lambda t: (str(index[t].get("updated", "")), t), reverse=True)
            self.orders.put(user, order)
        return order

    def _index_changed(self, user: str) -> None:
        self.dirty_indexes[user] = self.index(user)
        self.orders.drop(user)

    # checkpoints and recovery

    def checkpoint(self) -> None:
        """Bring every file up to date, then drop the journal generations that recorded it."""
        with self._checkpointing:
            old, journaled = self.journal.rotate()
            written = journaled
            for rel in tuple(self.dirty):
                with self.locks(owner(rel)):
                    data = self.dirty.get(rel)
                    if data is None:
                        continue
                    self._write_file(rel, data)
                    del self.dirty[rel]
                    self.cache.put(rel, data)
                written += 1
            for user in tuple(self.dirty_indexes):
                with self.locks(user):
                    index = self.dirty_indexes.pop(user, None)
                    if index is None:
                        continue
                    try:
                        self._write_file(f"{user}/{INDEX_FILE}", dumps({INDEX_TABLE: index}))
                    except BaseException:
                        self.dirty_indexes[user] = index
                        raise
                    self.indexes.put(user, index)
                written += 1
            if written:
                os.sync()  # every file written since the last checkpoint, in one call
            self.journal.drop_through(old)

    def _write_file(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        try:
            atomic_write_bytes(path, data, sync=False)
        except SaveFailed:
            if not path.parent.is_dir():
                make_dirs(path.parent)
                atomic_write_bytes(path, data, sync=False)
            else:
                raise

    def _maybe_checkpoint(self) -> None:
        """Checkpoint in the background when the journal is big, else a few seconds after the
        first save since the last one, so the files are never far behind even when it is quiet."""
        big = self.journal.size > CHECKPOINT_BYTES
        with self._timer_lock:
            if self._timer is not None:
                if not big or self._running:
                    return
                self._timer.cancel()
            self._timer = threading.Timer(0.0 if big else CHECKPOINT_SECONDS, self._in_background)
            self._timer.daemon = True
            self._timer.start()

    def _in_background(self) -> None:
        with self._timer_lock:
            self._running = True
        try:
            if self.holders > 0 and self.root.is_dir():
                self.checkpoint()
        except (OSError, StorageError) as exc:
            log.error("could not bring the data files up to date (the journal keeps all): %s", exc)
        finally:
            with self._timer_lock:
                self._running = False
                self._timer = None

    def _recover(self) -> None:
        """Apply what the journal of an earlier run holds, then drop it: start-up cost follows
        the journal's size (bounded by the checkpoint threshold), not the number of files."""
        entries = self.journal.replay()
        if not entries:
            self.journal.drop_through(self.journal.gen - 1)
            return
        pending: dict[str, Entry] = {}
        trees: list[str] = []
        for entry in entries:
            if entry.op == "rmtree":
                prefix = entry.path + "/"
                pending = {k: v for k, v in pending.items() if not k.startswith(prefix)}
                trees.append(entry.path)
            else:
                pending[entry.path] = entry
        for tree in trees:
            shutil.rmtree(self.root / tree, ignore_errors=True)
            shutil.rmtree(self.root / QUARANTINE / tree, ignore_errors=True)
            self.dirty_indexes.pop(tree, None)
        for rel, entry in pending.items():
            if entry.op == "del":
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.root / rel)
            else:
                self.dirty[rel] = dumps(entry.body)
            if "/tenders/" in rel and rel.startswith("users/"):
                user, tender_id = _tender_parts(rel)
                index = self.index(user)
                meta = None if entry.op == "del" else _meta_of(self.dirty[rel])
                if meta is None:
                    index.pop(tender_id, None)
                else:
                    index[tender_id] = meta
                self._index_changed(user)
        self.checkpoint()
        self.journal.drop_through(self.journal.gen - 1)


def _meta_of(data: bytes) -> dict[str, Any] | None:
    """The stored meta record of a tender file, or ``None`` if the file is not shaped like one."""
    try:
        meta = json.loads(data)["meta"]["1"]
    except (ValueError, KeyError, TypeError):
        return None
    return meta if isinstance(meta, dict) else None


def _tender_parts(rel: str) -> tuple[str, str]:
    user, _, name = rel.rpartition("/tenders/")
    return user, name.removesuffix(".json")


_registry: dict[str, Core] = {}
_registry_lock = threading.RLock()  # re-entered when garbage collection runs a finaliser inside


def attach(root: Path) -> Core:
    """The directory's ``Core`` in this process, opening (and locking) it on first use."""
    key = os.path.realpath(root)
    with _registry_lock:
        core = _registry.get(key)
        if core is None:
            core = _registry[key] = Core(root)
        core.holders += 1
        return core


def detach(core: Core) -> None:
    """One ``Store`` fewer; the last one checkpoints and releases the directory."""
    with _registry_lock:
        core.holders -= 1
        if core.holders > 0:
            return
        key = os.path.realpath(core.root)
        if _registry.get(key) is core:
            del _registry[key]
    with core._timer_lock:
        if core._timer is not None:
            core._timer.cancel()
    if not core.root.is_dir():  # removed under us (a test's temporary directory): nothing to keep
        core.journal.close()
        core.dirlock.release()
        return
    clean = False
    try:
        core.checkpoint()
        clean = True
    except (OSError, StorageError) as exc:
        log.error("could not bring the data files up to date at close (journal kept): %s", exc)
    finally:
        core.journal.close(discard=clean and core.journal.size == 0)
        core.dirlock.release()
