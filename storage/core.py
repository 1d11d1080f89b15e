"""The owner of one data directory inside this process: lock, journal, held files, checkpoints.

Every ``Store`` on the same directory in one process shares one ``Core`` (see :func:`attach`), so
what one of them wrote is what the others read, and the directory lock is taken once.

A write is durable when its journal line is (group commit, see ``storage.journal``). The file
follows at the next checkpoint: until then its content is held in ``dirty`` and served from there.
The checkpoint writes every file changed since the last one (each replaced atomically, unsynced),
makes them all durable with one ``os.sync`` and only then drops the journal that recorded them. A
crash at any point leaves the journal (replayed when the directory is next opened) for whatever
the files may lack. Group chats' files are also written at once (unsynced): they are few and other
tools look at them.

A tender's journal line is either the whole file (``put``) or, for a later save in the same journal
generation, only what changed (``patch``: meta, state, the answers set, their order if that
changed). A patch is only queued into the generation its tender's put was queued in (the journal
refuses it otherwise and the save goes whole), so replay does not need a tender file that a dying
checkpoint may have left half-flushed. The one exception: a rotation between two flushes can put
a patch at the head of the next file, right after its put went into the previous one. Then the
checkpoint that dropped that previous file had synced the tender's file with the patch in it, and
the tender's next save starts the new generation with a put; replaying patches over a file that
already holds them ends at the same answers (see ``storage.content.patched``).

Paths are strings relative to the root with ``/``; the lock that guards a path is its owner: the
person's directory for everything of a person, the file itself for a group chat.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from storage.atomic import (
    fsync_dir,
    make_dirs,
    read_tables_bytes,
    remove_durably,
    write_unsynced,
)
from storage.cache import Recent
from storage.codec import tender_from_tables
from storage.content import Content, Raw, TenderContent, dumps, loads, patched
from storage.dirlock import DirectoryLock
from storage.errors import SaveFailed, StorageError
from storage.journal import Journal, encode
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
# Fewer tenders than this and a person has no index.json: their first listing after a start
# reads the tender files (a handful of small reads), and a checkpoint after they answered
# writes one file for them instead of two. At 100,000 tenders of mostly small owners the index
# files were a tenth of the files a checkpoint creates, and creating a file is its main cost.
INDEX_FROM = 20

Index = dict[str, dict[str, Any]]


class Write(NamedTuple):
    """One file of a durable step: its new content, the patch line's body when a patch can say
    it (``None``: the whole file), and for a tender the meta record for the person's index."""

    rel: str
    content: Content
    patch: bytes | None = None
    meta: dict[str, Any] | None = None


def owner(rel: str) -> str:
    """The lock key of a path: ``users/<key>`` for a person's files, the path itself otherwise."""
    parts = rel.split("/")
    return "/".join(parts[:2]) if parts[0] == "users" else rel


class Core:
    """Shared state of one data directory in this process (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        make_dirs(root)
        self.root = root
        self._root = str(root)
        self.dirlock = DirectoryLock(root)
        try:
            self.journal = Journal(root)
            self.locks = KeyLocks()
            self.dirty: dict[str, Content] = {}
            self._pending: dict[str, set[str]] = {}  # the names in ``dirty``, by directory
            self.based: dict[str, int] = {}  # tender path -> generation of its last ``put``
            self.cache: Recent[Content] = Recent(CACHE_FILES, CACHE_SECONDS)
            self.indexes: Recent[Index] = Recent(CACHE_INDEXES, CACHE_SECONDS)
            self.dirty_indexes: dict[str, Index] = {}
            self.orders: Recent[list[str]] = Recent(CACHE_INDEXES, CACHE_SECONDS)
            self.meta_of: Callable[[Content], dict[str, Any] | None] = _meta_of
            self.holders = 0
            self._checkpointing = threading.Lock()
            self._timer: threading.Timer | None = None
            self._timer_lock = threading.Lock()
            self._running = False
            self._recover()
        except BaseException:
            self.dirlock.release()
            raise

    def forget_quiet(self) -> None:
        """Let go of what was read for people quiet longer than ``CACHE_SECONDS``."""
        for recent in (self.cache, self.indexes, self.orders):
            recent.trim()

    # reading and writing; callers hold ``self.locks(owner(rel))``

    def read(self, rel: str) -> Content | None:
        """What the file holds: pending content, held content, or its bytes read now (``Raw``)."""
        content = self.dirty.get(rel)
        if content is None:
            content = self.cache.get(rel)
        if content is None:
            try:
                content = Raw((self.root / rel).read_bytes())
            except FileNotFoundError:
                return None
            self.cache.put(rel, content)
        return content

    def keep(self, rel: str, content: Content) -> None:
        """Hold ``content`` (checked, decoded) in place of what :meth:`read` returned for it;
        its bytes are kept only while a checkpoint still has to write them."""
        if rel in self.dirty:
            self.dirty[rel] = content
        else:
            content.written()
            self.cache.put(rel, content)

    def write_many(self, items: list[Write]) -> None:
        """Durable once their journal lines are (one sync for all); readers get the new content
        from ``dirty`` until the checkpoint has written the files.

        What the lines do is recorded before they are queued and undone if they fail: nobody
        else can look meanwhile (the caller holds the owner's lock, and so must the checkpoint to
        write the file), and a writer woken by the sync has nothing left to do but return, which
        shortens the queue for the GIL that a hundred woken writers form."""
        undo = [self._record(item) for item in items]
        try:
            while True:
                gen = self.journal.gen
                lines: list[bytes] = []
                puts: list[bool] = []
                for item in items:
                    put = item.patch is None or self.based.get(item.rel) != gen
                    body = item.content.data() if put else item.patch
                    lines.append(encode("put" if put else "patch", item.rel, body))
                    puts.append(put)
                appended = self.journal.append(b"".join(lines), gen=None if all(puts) else gen)
                if appended is not None:
                    break  # else a rotation came in between: the put must go in the new generation
        except BaseException:
            for item, before in zip(items, undo, strict=True):
                self._unrecord(item, before)
            raise
        for item, put in zip(items, puts, strict=True):
            if put and item.meta is not None:
                self.based[item.rel] = appended
            if item.rel.startswith(WRITE_THROUGH):
                try:
                    self._write_file(item.rel, item.content.data())
                    self._clear_dirty(item.rel)
                    item.content.written()
                    self.cache.put(item.rel, item.content)
                except SaveFailed as exc:
                    log.error("saved in the journal, but %s (retried later)", exc)
        self._maybe_checkpoint()

    def _record(self, item: Write) -> tuple[Content | None, dict[str, Any] | None]:
        """Put a write's content and index meta in place; what was there, for :meth:`_unrecord`."""
        rel = item.rel
        before = self.dirty.get(rel)
        if before is None:
            self.cache.drop(rel)  # a dirty file is never in the cache
        self._set_dirty(rel, item.content)
        old_meta = None
        if item.meta is not None:
            user, tender_id = _tender_parts(rel)
            index = self.index(user)
            old_meta = index.get(tender_id)
            index[tender_id] = item.meta
            self._index_changed(user, saved=tender_id)
        return before, old_meta

    def _unrecord(self, item: Write, before: tuple[Content | None, dict[str, Any] | None]) -> None:
        content, old_meta = before
        if content is None:
            self._clear_dirty(item.rel)  # the held content was the file's: read again when asked
        else:
            self.dirty[item.rel] = content
        if item.meta is not None:
            user, tender_id = _tender_parts(item.rel)
            index = self.index(user)
            if old_meta is None:
                index.pop(tender_id, None)
            else:
                index[tender_id] = old_meta
            self._index_changed(user)

    def delete(self, rel: str) -> None:
        """Remove a file now; the journal line keeps a replay from bringing it back."""
        self._append(encode("del", rel))
        self._clear_dirty(rel)
        self.based.pop(rel, None)
        self.cache.drop(rel)
        remove_durably(self.root / rel)
        self.forget_tender(rel)

    def forget_tender(self, rel: str) -> None:
        """Drop a tender from its person's index (after it was set aside)."""
        if rel.startswith("users/") and "/tenders/" in rel:
            user, tender_id = _tender_parts(rel)
            if self.index(user).pop(tender_id, None) is not None:
                self._index_changed(user, removed=tender_id)

    def forget(self, rel: str) -> None:
        """Drop held contents and index under a directory (nothing pending may be there)."""
        prefix = rel + "/"
        self.cache.drop_where(lambda key: str(key).startswith(prefix))
        for key in [k for k in tuple(self.based) if k.startswith(prefix)]:
            self.based.pop(key, None)  # whatever replaced the files is no base for a patch
        self.dirty_indexes.pop(rel, None)
        self.indexes.drop(rel)
        self.orders.drop(rel)

    def rmtree(self, rel: str) -> None:
        """Remove a directory now, with everything pending or held under it."""
        self._append(encode("rmtree", rel))
        prefix = rel + "/"
        for key in [k for k in tuple(self.dirty) if k.startswith(prefix)]:
            self._clear_dirty(key)
        self.forget(rel)
        for victim in (self.root / rel, self.root / QUARANTINE / rel):
            remove_durably(victim, shutil.rmtree)

    def quarantine(self, rel: str, reason: str) -> Path:
        """Move a file this program cannot use out of the way, keeping it for the operator."""
        self._clear_dirty(rel)
        self.based.pop(rel, None)
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
        found.update(tuple(self._pending.get(rel_dir, ())))  # a snapshot: writers go on
        return found

    def _append(self, line: bytes) -> int:
        gen = self.journal.append(line)
        assert gen is not None  # unconditional appends always land
        return gen

    def _set_dirty(self, rel: str, content: Content) -> None:
        if rel not in self.dirty:
            folder, _, name = rel.rpartition("/")
            self._pending.setdefault(folder, set()).add(name)
        self.dirty[rel] = content

    def _clear_dirty(self, rel: str) -> None:
        if self.dirty.pop(rel, None) is not None:
            folder, _, name = rel.rpartition("/")
            names = self._pending.get(folder)
            if names is not None:
                names.discard(name)
                if not names:
                    del self._pending[folder]

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
            stored = loads(b"{}" if raw is None else raw.data()).get(INDEX_TABLE, {})
            index = {k: v for k, v in stored.items() if isinstance(v, dict)}
        self.cache.drop(f"{user}/{INDEX_FILE}")  # the index itself is what is kept
        names = {n[:-5] for n in self.names(f"{user}/tenders") if n.endswith(".json")}
        for gone in set(index) - names:
            del index[gone]
            changed = True
        for tender_id in names - set(index):
            content = self.read(f"{user}/tenders/{tender_id}.json")
            meta = None if content is None else self.meta_of(content)
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
            order = sorted(index, key=lambda t: _newest_key(index, t), reverse=True)
            self.orders.put(user, order)
        return order

    def _index_changed(self, user: str, *, saved: str = "", removed: str = "") -> None:
        """Mark the index for the checkpoint and keep the order up to date: a tender just saved
        moves to the front (its ``updated`` is the newest), a removed one leaves; anything else
        drops the order, to be sorted again. At 10,000 tenders a sort is milliseconds, and
        every answer or menu step of such a person saves their tender."""
        index = self.dirty_indexes[user] = self.index(user)
        order = self.orders.peek(user)
        if order is None:
            return
        if removed:
            with contextlib.suppress(ValueError):
                order.remove(removed)
            return
        if saved:
            with contextlib.suppress(ValueError):
                order.remove(saved)
            if not order or _newest_key(index, saved) > _newest_key(index, order[0]):
                order.insert(0, saved)
                return
        self.orders.drop(user)

    # checkpoints and recovery

    def checkpoint(self) -> None:
        """Bring every file up to date, then drop the journal generations that recorded it."""
        with self._checkpointing:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """:meth:`checkpoint`, holding ``self._checkpointing``."""
        old, journaled = self.journal.rotate()
        written = journaled
        for rel in tuple(self.dirty):
            with self.locks(owner(rel)):
                content = self.dirty.get(rel)
                if content is None:
                    continue
                self._write_file(rel, content.data())
                self._clear_dirty(rel)
                content.written()
                self.cache.put(rel, content)
            written += 1
        for user in tuple(self.dirty_indexes):
            with self.locks(user):
                index = self.dirty_indexes.pop(user, None)
                if index is None:
                    continue
                try:
                    self._write_index(user, index)
                except BaseException:
                    self.dirty_indexes[user] = index
                    raise
                self.indexes.put(user, index)
            written += 1
        if written:
            os.sync()  # every file and directory written since the last checkpoint, at once
        self.journal.drop_through(old)
        for rel, gen in tuple(self.based.items()):
            if gen <= old and self.based.get(rel) == gen:
                self.based.pop(rel, None)  # its next save starts the new generation with a put

    def _write_index(self, user: str, index: Index) -> None:
        """``index.json`` for a person with many tenders; none for a few (see ``INDEX_FROM``)."""
        rel = f"{user}/{INDEX_FILE}"
        if len(index) >= INDEX_FROM:
            self._write_file(rel, dumps({INDEX_TABLE: index}))
            return
        try:
            os.unlink(f"{self._root}/{rel}")  # it would go stale: the next load reads the tenders
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SaveFailed(rel, exc) from exc

    def _write_file(self, rel: str, data: bytes) -> None:
        """Replace the file atomically, unsynced: the checkpoint's ``os.sync`` (or, for a group
        chat written at once, the journal) covers it, missing directories included."""
        write_unsynced(f"{self._root}/{rel}", data)

    def _maybe_checkpoint(self) -> None:
        """Checkpoint in the background when the journal is big, else a few seconds after the
        first save since the last one, so the files are never far behind even when it is quiet."""
        big = self.journal.size > CHECKPOINT_BYTES
        if self._timer is not None and not big:
            return  # the common case, without the lock: a checkpoint is already planned
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
            # Decided holding the checkpoint lock: the last Store's close takes it too, so a
            # background checkpoint that started before the close but waited for the lock
            # never runs on the journal the close has just closed (and the directory lock
            # another process may already hold).
            with self._checkpointing:
                if self.holders > 0 and self.root.is_dir():
                    self._checkpoint()
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
        pending: dict[str, Content | None] = {}  # None: deleted
        unresolved: dict[str, str] = {}  # patches without a usable base, and why
        trees: list[str] = []
        for entry in entries:
            rel = entry.path
            if entry.op == "rmtree":
                prefix = rel + "/"
                pending = {k: v for k, v in pending.items() if not k.startswith(prefix)}
                unresolved = {k: v for k, v in unresolved.items() if not k.startswith(prefix)}
                trees.append(rel)
            elif entry.op == "patch":
                try:
                    pending[rel] = self._replay_patch(rel, pending, entry.body, trees)
                    unresolved.pop(rel, None)
                except (StorageError, ValueError, KeyError, TypeError) as exc:
                    unresolved[rel] = str(exc)
            else:
                pending[rel] = None if entry.op == "del" else Raw(dumps(entry.body))
                unresolved.pop(rel, None)
        for rel, why in unresolved.items():
            log.error("journal: the changes to %s could not be applied: %s", self.root / rel, why)
            pending.pop(rel, None)
        for tree in trees:
            shutil.rmtree(self.root / tree, ignore_errors=True)
            shutil.rmtree(self.root / QUARANTINE / tree, ignore_errors=True)
            self.dirty_indexes.pop(tree, None)
        for rel, content in pending.items():
            if content is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.root / rel)
            else:
                self._set_dirty(rel, content)
            if "/tenders/" in rel and rel.startswith("users/"):
                user, tender_id = _tender_parts(rel)
                index = self.index(user)
                meta = None if content is None else _meta_of(content)
                if meta is None:
                    index.pop(tender_id, None)
                else:
                    index[tender_id] = meta
                self._index_changed(user)
        self.checkpoint()
        self.journal.drop_through(self.journal.gen - 1)

    def _replay_patch(
        self, rel: str, pending: dict[str, Content | None], body: Any, trees: list[str]
    ) -> TenderContent:
        """A journaled patch applied to what the tender held before it: an earlier line of the
        replay, else the file (only when no earlier line is left: then the file was synced)."""
        if rel in pending:
            base = pending[rel]
        elif any(rel.startswith(tree + "/") for tree in trees):
            base = None
        else:
            try:
                base = Raw((self.root / rel).read_bytes())
            except FileNotFoundError:
                base = None
        if base is None:
            raise StorageError("the file it changes is missing")
        if not isinstance(base, TenderContent):
            path = self.root / rel
            tender = tender_from_tables(
                read_tables_bytes(path, base.data()), path=path, tender_id=_tender_parts(rel)[1]
            )
            base = TenderContent(tender.meta, tender.state, tender.answers)
        meta, state, changed = body["meta"], body["state"], body["set"]
        order = body.get("order")
        if not (isinstance(meta, dict) and isinstance(state, dict) and isinstance(changed, dict)):
            raise ValueError("damaged patch")
        if order is not None and not (
            isinstance(order, list) and all(isinstance(q, str) for q in order)
        ):
            raise ValueError("damaged patch order")
        return TenderContent(meta, state, patched(base.answers, changed, order))


def _meta_of(content: Content) -> dict[str, Any] | None:
    """The stored meta record of a tender file, or ``None`` if the file is not shaped like one."""
    if isinstance(content, TenderContent):
        return content.index_record()
    try:
        meta = loads(content.data())["meta"]["1"]
    except (ValueError, KeyError, TypeError):
        return None
    return meta if isinstance(meta, dict) else None


def _newest_key(index: Index, tender_id: str) -> tuple[str, str]:
    """Sort key of "most recently saved first" (reversed): the stored time, then the id."""
    return str(index[tender_id].get("updated", "")), tender_id


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
