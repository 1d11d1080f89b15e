"""The store: where each person's, tender's and group chat's file lives, and how it is changed.

Layout under ``root``::

    users/<safe user key>/user.json                 one per person
    users/<safe user key>/tenders/<tender id>.json  one per tender
    groups/<safe chat key>.json                     one per group chat

One file per tender is what keeps saving an answer cheap: a save touches only that tender's file,
never a directory listing or another person's data, so its cost does not grow with the number of
tenders stored.

Concurrency model: one process owns a data directory (run one bot per directory). Within that
process any thread may call any method; operations on one person (their ``user.json`` and all their
tenders) are serialised by one lock, operations on one group chat by another. The per-person lock
is coarser than per-file on purpose: it makes ``delete_user`` and a concurrent ``save_tender`` for
the same person impossible to interleave into a half-deleted directory. Nothing is cached between
calls: every read goes to the file, so a file restored by hand is seen at once, and there is no
second copy of the data to keep correct.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from storage.atomic import (
    TMP_SUFFIX,
    AtomicJSONStorage,
    Tables,
    discard_leftover,
    fsync_dir,
    is_temp_name,
    make_dirs,
    remove_file,
)
from storage.codec import (
    GROUP_TABLE,
    USER_TABLE,
    single_doc,
    single_doc_tables,
    tender_from_tables,
    tender_meta,
    tender_tables,
)
from storage.errors import StorageError
from storage.keys import check_tender_id, safe_key
from storage.locks import PathLocks
from storage.tender import Tender

_T = TypeVar("_T")

USERS_DIR = "users"
GROUPS_DIR = "groups"
TENDERS_DIR = "tenders"
USER_FILE = "user.json"
SUFFIX = ".json"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Durable storage for people, their tenders and group chats (see the module docstring)."""

    root: Path

    def __init__(self, root: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        """Open (and create if missing) the data directory at ``root``.

        ``clock`` exists so tests can control ``"updated"`` without sleeping.
        """
        self.root = Path(root).absolute()
        self._users = self.root / USERS_DIR
        self._groups = self.root / GROUPS_DIR
        make_dirs(self._users)
        make_dirs(self._groups)
        self._locks = PathLocks()
        self._clock = clock
        self._stamp_lock = threading.Lock()
        self._last_stamp: datetime | None = None
        self._ids_lock = threading.Lock()
        self._issued_ids: set[str] = set()

    def user_dir(self, user_key: str) -> Path:
        """The directory holding everything stored for one person."""
        return self._users / safe_key(user_key)

    def user_file(self, user_key: str) -> Path:
        return self.user_dir(user_key) / USER_FILE

    def tender_file(self, user_key: str, tender_id: str) -> Path:
        return self.user_dir(user_key) / TENDERS_DIR / f"{check_tender_id(tender_id)}{SUFFIX}"

    def group_file(self, chat_key: str) -> Path:
        return self._groups / f"{safe_key(chat_key)}{SUFFIX}"

    def check(self) -> list[Path]:
        """Every file under ``root`` that cannot be loaded, for one clear message at start-up.

        Files written by a newer version count as unreadable too: this program cannot use them.
        Also removes temporary files left behind by a crash, so they never pile up.
        """
        bad: list[Path] = []
        for user_dir in _subdirs(self._users):
            with self._locks(user_dir):
                bad.extend(self._check_user_dir(user_dir))
        for name in _listdir(self._groups):
            if is_temp_name(name):
                target = self._groups / name[1 : -len(TMP_SUFFIX)]
                with self._locks(target):
                    discard_leftover(target)
            elif name.endswith(SUFFIX):
                path = self._groups / name
                with self._locks(path):
                    bad.extend(_failures(path, partial(single_doc, table=GROUP_TABLE, path=path)))
        return sorted(bad)

    def _check_user_dir(self, user_dir: Path) -> list[Path]:
        bad: list[Path] = []
        user_path = user_dir / USER_FILE
        discard_leftover(user_path)
        bad.extend(_failures(user_path, partial(single_doc, table=USER_TABLE, path=user_path)))
        tenders_dir = user_dir / TENDERS_DIR
        for name in _listdir(tenders_dir):
            if is_temp_name(name):
                discard_leftover(tenders_dir / name[1 : -len(TMP_SUFFIX)])
                continue
            tender_id = _tender_id_from_name(name)
            if tender_id is None:
                continue
            path = tenders_dir / name
            decode = partial(tender_from_tables, path=path, tender_id=tender_id)
            bad.extend(_failures(path, decode))
        return bad

    # people

    def get_user(self, user_key: str) -> dict[str, Any] | None:
        path = self.user_file(user_key)
        with self._user_lock(user_key):
            tables = _load(path)
        return None if tables is None else single_doc(tables, USER_TABLE, path=path)

    def save_user(self, user_key: str, doc: dict[str, Any]) -> None:
        path = self.user_file(user_key)
        tables = single_doc_tables(USER_TABLE, doc, what=f"user {user_key!r}")
        with self._user_lock(user_key):
            _replace(path, tables, lambda t: single_doc(t, USER_TABLE, path=path))

    def delete_user(self, user_key: str) -> None:
        """Remove the person's file, all their tenders, and their directory, from disk."""
        user_dir = self.user_dir(user_key)
        with self._user_lock(user_key):
            try:
                shutil.rmtree(user_dir)
            except FileNotFoundError:
                return
            except OSError as exc:
                raise StorageError(f"{user_dir}: could not be deleted ({exc})") from exc
            fsync_dir(self._users)

    # tenders

    def new_tender_id(self) -> str:
        """Eight hex characters: short enough to read out, safe in file names and URLs.

        Unique among the ids this process issued. Across restarts a clash within one person's
        tenders has odds of about n in four billion for a person with n tenders; ``create_tender``
        rules even that out.
        """
        with self._ids_lock:
            while True:
                tender_id = secrets.token_hex(4)
                if tender_id not in self._issued_ids:
                    self._issued_ids.add(tender_id)
                    return tender_id

    def list_tenders(self, user_key: str) -> list[dict[str, Any]]:
        """Meta documents of the person's tenders, most recently saved first.

        This is the one place that lists a directory; it is a menu, not the save path.
        """
        tenders_dir = self.user_dir(user_key) / TENDERS_DIR
        metas: list[dict[str, Any]] = []
        with self._user_lock(user_key):
            for name in _listdir(tenders_dir):
                tender_id = _tender_id_from_name(name)
                if tender_id is None:
                    continue
                path = tenders_dir / name
                tables = _load(path)
                if tables is not None:
                    metas.append(tender_meta(tables, path=path, tender_id=tender_id))
        metas.sort(key=lambda meta: (str(meta.get("updated", "")), meta["id"]), reverse=True)
        return metas

    def get_tender(self, user_key: str, tender_id: str) -> Tender | None:
        path = self.tender_file(user_key, tender_id)
        with self._user_lock(user_key):
            tables = _load(path)
        if tables is None:
            return None
        return tender_from_tables(tables, path=path, tender_id=tender_id)

    def create_tender(self, user_key: str, meta: dict[str, Any]) -> Tender:
        """A new, empty tender for this person, saved at once.

        Prefer this over ``new_tender_id`` plus ``save_tender``: holding the person's lock, it
        picks an id that has no file yet (a ``stat``, not a listing), which closes the small
        chance of a fresh random id landing on an older tender of the same person and
        overwriting it. Saving immediately means the tender is in ``list_tenders`` from the start.
        """
        with self._user_lock(user_key):
            while True:
                tender = Tender(id=self.new_tender_id(), meta=dict(meta))
                path = self.tender_file(user_key, tender.id)
                if not os.path.lexists(path):
                    break
            self._write_tender(path, tender)
        return tender

    def save_tender(self, user_key: str, tender: Tender) -> None:
        """Write meta, state and all answers of ``tender`` with one atomic file replacement.

        Why not TinyDB's table API: every ``insert``/``update``/``remove`` is a full read-modify-
        write of the file, so saving three tables that way means several writes and crash windows
        in which meta, state and answers disagree. A write-buffering middleware would fix the
        count but has to be taught never to flush a half-done batch (TinyDB's ``close`` flushes
        unconditionally). The caller always hands over the whole tender, so the new file is a pure
        function of it: build all tables in memory, then one ``AtomicJSONStorage.write``. Answers
        the caller dropped vanish because they are simply not built.

        On success ``tender.meta`` gets the ``"id"`` and ``"updated"`` that were stored.
        """
        path = self.tender_file(user_key, tender.id)
        with self._user_lock(user_key):
            self._write_tender(path, tender)

    def delete_tender(self, user_key: str, tender_id: str) -> None:
        """Remove the tender's file; then its directories if nothing else is left in them."""
        path = self.tender_file(user_key, tender_id)
        with self._user_lock(user_key):
            remove_file(path)
            self._prune(path.parent)

    # group chats

    def get_group(self, chat_key: str) -> dict[str, Any] | None:
        path = self.group_file(chat_key)
        with self._locks(path):
            tables = _load(path)
        return None if tables is None else single_doc(tables, GROUP_TABLE, path=path)

    def save_group(self, chat_key: str, doc: dict[str, Any]) -> None:
        path = self.group_file(chat_key)
        tables = single_doc_tables(GROUP_TABLE, doc, what=f"group {chat_key!r}")
        with self._locks(path):
            _replace(path, tables, lambda t: single_doc(t, GROUP_TABLE, path=path))

    def delete_group(self, chat_key: str) -> None:
        path = self.group_file(chat_key)
        with self._locks(path):
            remove_file(path)

    # helpers

    def _user_lock(self, user_key: str) -> threading.Lock:
        return self._locks(self.user_dir(user_key))

    def _write_tender(self, path: Path, tender: Tender) -> None:
        """Save ``tender`` to ``path``; the caller holds the person's lock."""
        updated = self._timestamp()
        meta = {**tender.meta, "id": tender.id, "updated": updated}
        _replace(
            path,
            tender_tables(tender, meta),
            lambda t: tender_from_tables(t, path=path, tender_id=tender.id),
        )
        tender.meta["id"] = tender.id
        tender.meta["updated"] = updated

    def _timestamp(self) -> str:
        """ISO-8601 UTC, strictly increasing within this process.

        Strictly increasing so that "newest first" in ``list_tenders`` follows the order of saves
        even when two saves land in the same microsecond or the wall clock steps back.
        """
        with self._stamp_lock:
            now = self._clock().astimezone(UTC)
            if self._last_stamp is not None and now <= self._last_stamp:
                now = self._last_stamp + timedelta(microseconds=1)
            self._last_stamp = now
        return now.isoformat(timespec="microseconds")

    def _prune(self, directory: Path) -> None:
        """Remove empty directories upwards, stopping at ``users/`` (shared, never removed)."""
        while directory != self._users and self._users in directory.parents:
            try:
                os.rmdir(directory)
            except OSError:
                return
            fsync_dir(directory.parent)
            directory = directory.parent


def _load(path: Path) -> Tables | None:
    """Read a file, first dropping a temporary file an earlier crash may have left next to it.

    Callers hold the lock for ``path``, so the temporary file cannot belong to a live write.
    """
    discard_leftover(path)
    return AtomicJSONStorage(path).read()


def _replace(path: Path, tables: Tables, decode: Callable[[Tables], object]) -> None:
    """Write ``tables`` to ``path`` unless the current file is corrupt or from a newer version.

    The existing file is fully decoded first (a read of this one file, never a directory): a
    save must not silently replace data the program could not understand.
    """
    storage = AtomicJSONStorage(path)
    current = storage.read()
    if current is not None:
        decode(current)
    storage.write(tables)


def _failures(path: Path, decode: Callable[[Tables], _T]) -> list[Path]:
    try:
        tables = _load(path)
        if tables is not None:
            decode(tables)
    except StorageError:
        return [path]
    return []


def _tender_id_from_name(name: str) -> str | None:
    if not name.endswith(SUFFIX) or name.startswith("."):
        return None
    try:
        return check_tender_id(name[: -len(SUFFIX)])
    except ValueError:
        return None


def _listdir(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"{directory}: cannot be listed ({exc.strerror or exc})") from exc


def _subdirs(directory: Path) -> list[Path]:
    return [directory / name for name in _listdir(directory) if (directory / name).is_dir()]
