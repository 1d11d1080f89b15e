"""The store: where each person's, tender's and group chat's file lives, and how it is changed.

Layout under ``root``::

    users/<safe user key>/user.json                 one per person
    users/<safe user key>/tenders/<tender id>.json  one per tender
    users/<safe user key>/index.json                the person's tender metas (derived, rebuilt
                                                    from the tender files when missing; only
                                                    for a person with 20 tenders or more)
    groups/<safe chat key>.json                     one per group chat
    journal.<n>.log                                 saves not yet checkpointed into the files
    quarantine/...                                  files found unreadable, moved aside
    .lock                                           the owning process's pid

All files are plain JSON (the journal is JSON lines), so a backup is a copy of the directory.

Concurrency model: one process owns a data directory (enforced by ``.lock``); inside it any thread
may call any method. Operations on one person (their ``user.json`` and all their tenders) are
serialised by one lock, operations on one group chat by another; different people never wait for
each other except to share a journal sync. A save returns only once it is durable.

Every record is checked on load (``storage.records``): a file that fails is moved to
``quarantine/`` with one log line naming it, and the person carries on without it: one bad tender
never blocks their others, nor deleting everything.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from storage.atomic import is_temp_name, read_tables_bytes, temp_owner
from storage.codec import GROUP_TABLE, USER_TABLE, single_doc, tender_from_tables
from storage.content import (
    Content,
    Raw,
    Single,
    TenderContent,
    dumps,
    patched,
    plain,
    same,
    stamped,
    tender_file,
    thaw,
)
from storage.core import Core, Write, attach, detach
from storage.errors import CorruptFileError, SchemaVersionError, StorageError
from storage.keys import check_tender_id, safe_key
from storage.records import Rules
from storage.schema import SCHEMA_KEY, SCHEMA_VERSION, unstamp
from storage.tender import Tender

log = logging.getLogger("inkoopkompas.storage")
_C = TypeVar("_C", bound=Content)
_ABSENT = object()

CHECK_DELAY = 1.0
CHECK_PAUSE = 0.001  # per person: a background check must not starve the buyers of the GIL
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

    def __init__(
        self,
        root: Path,
        *,
        clock: Callable[[], datetime] = _utc_now,
        rules: Rules | None = None,
    ) -> None:
        """Open (and create if missing) the data directory at ``root``, taking its lock.

        Raises :class:`~storage.errors.DataDirInUse` when another process owns it. Stores on the
        same directory in one process share everything. ``clock`` exists so tests can control
        ``"updated"`` without sleeping; ``rules`` adds checks that depend on the questions.
        """
        self.root = Path(root)
        self._root = str(self.root)
        self._core: Core = attach(self.root)
        self._close = weakref.finalize(self, detach, self._core)
        self._clock = clock
        self.rules = rules or Rules()
        self._stamp_lock = threading.Lock()
        self._last_stamp: datetime | None = None

    def close(self) -> None:
        """Checkpoint and release the directory once the last ``Store`` on it closes."""
        self._close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def flush(self) -> None:
        """Bring every JSON file up to date now (saves are durable without this)."""
        self._core.checkpoint()

    def forget_quiet(self) -> None:
        """Drop what memory holds for people who went quiet; a long-running bot calls this
        now and then, so a process nobody talks to any more keeps nothing of anyone either."""
        self._core.forget_quiet()

    def forget(self, user_key: str) -> None:
        """Drop what memory holds of a person, for a tool that has just replaced their files
        (a restore), after :meth:`flush` so that no pending save of theirs overwrites them."""
        user = _user_rel(user_key)
        with self._core.locks(user):
            self._core.forget(user)

    def user_dir(self, user_key: str) -> Path:
        """The directory holding everything stored for one person."""
        return self.root / _user_rel(user_key)

    def user_file(self, user_key: str) -> Path:
        return self.root / _user_rel(user_key) / USER_FILE

    def tender_file(self, user_key: str, tender_id: str) -> Path:
        return self.root / _tender_rel(user_key, tender_id)

    def group_file(self, chat_key: str) -> Path:
        return self.root / _group_rel(chat_key)

    # people

    def get_user(self, user_key: str) -> dict[str, Any] | None:
        """The person's document; ``None`` if there is none or it was unreadable (set aside)."""
        user = _user_rel(user_key)
        rel = f"{user}/{USER_FILE}"
        with self._core.locks(user):
            content = self._load(rel, lambda held: self._open_single(rel, USER_TABLE, held))
            return None if content is None else thaw(content.doc)

    def save_user(self, user_key: str, doc: dict[str, Any]) -> None:
        with self._core.locks(_user_rel(user_key)):
            self._write_many(user_key, doc, [])

    def delete_user(self, user_key: str) -> None:
        """Remove everything stored for the person: files, set-aside files, journal lines.

        The journal is checkpointed and dropped afterwards, so no line naming them stays behind.
        """
        user = _user_rel(user_key)
        with self._core.locks(user):
            self._core.rmtree(user)
        self._core.checkpoint()

    # tenders

    def new_tender_id(self) -> str:
        """Eight hex characters: short enough to read out, safe in file names and URLs."""
        return secrets.token_hex(4)

    def list_tenders(self, user_key: str) -> list[dict[str, Any]]:
        """Meta documents of the person's tenders, most recently saved first (from the index)."""
        return self.tender_page(user_key, 0, None)[0]

    def tender_page(
        self, user_key: str, offset: int, limit: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of :meth:`list_tenders` and the total count, without reading tender files."""
        user = _user_rel(user_key)
        with self._core.locks(user):
            index = self._core.index(user)
            order = self._core.order(user)
            chosen = order[offset:] if limit is None else order[offset : offset + limit]
            metas = [self._meta(user, tid, index[tid]) for tid in chosen]
        return [m for m in metas if m is not None], len(order)

    def count_tenders(self, user_key: str) -> int:
        user = _user_rel(user_key)
        with self._core.locks(user):
            return len(self._core.index(user))

    def tender_meta(self, user_key: str, tender_id: str) -> dict[str, Any] | None:
        """The meta document of one tender, from the index."""
        user = _user_rel(user_key)
        with self._core.locks(user):
            record = self._core.index(user).get(tender_id)
            return None if record is None else self._meta(user, tender_id, record)

    def get_tender(self, user_key: str, tender_id: str) -> Tender | None:
        """The tender; ``None`` if there is none or it was unreadable (then set aside).

        A copy the caller may change freely: nothing is stored until it is saved."""
        rel = _tender_rel(user_key, tender_id)
        with self._core.locks(_user_rel(user_key)):
            content = self._load(rel, lambda held: self._open_tender(rel, tender_id, held))
            if content is None:
                return None
            return Tender(
                id=tender_id,
                meta=thaw(content.meta),
                state=thaw(content.state),
                answers=thaw(content.answers),
            )

    def create_tender(self, user_key: str, meta: dict[str, Any]) -> Tender:
        """A new, empty tender for this person with an id none of their tenders has, saved."""
        return self.create_tenders(user_key, [meta])[0]

    def create_tenders(self, user_key: str, metas: list[dict[str, Any]]) -> list[Tender]:
        """Several new tenders for one person with one journal sync (an import, a benchmark)."""
        user = _user_rel(user_key)
        tenders: list[Tender] = []
        with self._core.locks(user):
            taken = set(self._core.index(user))
            for meta in metas:
                while True:
                    tender = Tender(id=self.new_tender_id(), meta=dict(meta))
                    rel = _tender_rel(user_key, tender.id)
                    if tender.id not in taken and not os.path.lexists(f"{self._root}/{rel}"):
                        break
                taken.add(tender.id)
                tenders.append(tender)
            self._write_many(user_key, None, tenders, new=True)
        return tenders

    def save_session(
        self, user_key: str, user_doc: dict[str, Any] | None, tender: Tender | None
    ) -> None:
        """``save_tender`` and ``save_user`` as one durable step: one journal sync, not two,
        before the answer may be acknowledged; either may be ``None``."""
        with self._core.locks(_user_rel(user_key)):
            self._write_many(user_key, user_doc, [tender] if tender is not None else [])

    def save_tender(self, user_key: str, tender: Tender) -> None:
        """Write meta, state and all answers of ``tender`` as one durable journal line.

        The caller always hands over the whole tender, so the new file is a pure function of it.
        On success ``tender.meta`` gets the ``"id"`` and ``"updated"`` that were stored.
        """
        with self._core.locks(_user_rel(user_key)):
            self._write_many(user_key, None, [tender])

    def delete_tender(self, user_key: str, tender_id: str) -> None:
        rel = _tender_rel(user_key, tender_id)
        with self._core.locks(_user_rel(user_key)):
            self._core.delete(rel)

    # group chats

    def get_group(self, chat_key: str) -> dict[str, Any] | None:
        rel = _group_rel(chat_key)
        with self._core.locks(rel):
            content = self._load(rel, lambda held: self._open_single(rel, GROUP_TABLE, held))
            return None if content is None else thaw(content.doc)

    def save_group(self, chat_key: str, doc: dict[str, Any]) -> None:
        rel = _group_rel(chat_key)
        with self._core.locks(rel):
            content = self._single(rel, GROUP_TABLE, doc, what=f"group {chat_key!r}")
            self._held(rel, lambda held: self._open_single(rel, GROUP_TABLE, held))
            self._core.write_many([Write(rel, content)])

    def list_groups(self) -> list[str]:
        """The stored group chats' file keys; for tame keys (``tg--100123``) the chat key itself."""
        names = self._core.names(GROUPS_DIR)
        return sorted(n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX) and "." not in n[:-5])

    def delete_group(self, chat_key: str) -> None:
        rel = _group_rel(chat_key)
        with self._core.locks(rel):
            self._core.delete(rel)

    # checking the whole directory

    def check(self, pause: float = 0.0) -> list[Path]:
        """Every file that cannot be used, each moved aside and logged; also removes temporary
        files that processes other than this one left behind. Reads every file: run it in the
        background (:meth:`check_in_background`), never before serving."""
        bad: list[Path] = []
        users = self.root / USERS_DIR
        for name in _listdir(users):
            time.sleep(pause)
            user = f"{USERS_DIR}/{name}"
            if not (self.root / user).is_dir():
                continue
            with self._core.locks(user):
                rel = f"{user}/{USER_FILE}"
                bad += self._check_file(rel, _single_opener(self, rel, USER_TABLE))
                tenders = f"{user}/{TENDERS_DIR}"
                for tender_name in _listdir(self.root / tenders):
                    tender_id = _tender_id_from_name(tender_name)
                    if tender_id is not None:
                        rel = f"{tenders}/{tender_name}"
                        bad += self._check_file(rel, _tender_opener(self, rel, tender_id))
                _clean_temps(self.root / tenders)
                _clean_temps(self.root / user)
        for name in _listdir(self.root / GROUPS_DIR):
            rel = f"{GROUPS_DIR}/{name}"
            if name.endswith(SUFFIX) and not name.startswith("."):
                with self._core.locks(rel):
                    bad += self._check_file(rel, _single_opener(self, rel, GROUP_TABLE))
        _clean_temps(self.root / GROUPS_DIR)
        return sorted(bad)

    def check_in_background(self, report: Callable[[list[Path]], None]) -> threading.Thread:
        """Run :meth:`check` on a thread; ``report`` gets the unusable files' paths."""

        def run() -> None:
            try:
                time.sleep(CHECK_DELAY)  # let the first buyers in before the disk gets busy
                report(self.check(pause=CHECK_PAUSE))
            except (OSError, StorageError) as exc:
                log.error("background check of %s stopped: %s", self.root, exc)

        thread = threading.Thread(target=run, name="storage-check", daemon=True)
        thread.start()
        return thread

    def _check_file(self, rel: str, open_: Callable[[Content], object]) -> list[Path]:
        try:
            content = self._core.read(rel)
            if content is not None:
                open_(content)
        except SchemaVersionError:
            self._core.cache.drop(rel)
            return [self.root / rel]
        except CorruptFileError as exc:
            self._core.quarantine(rel, exc.reason)
            return [self.root / rel]
        return []

    # helpers; callers hold the owner's lock

    def _load(self, rel: str, open_: Callable[[Content], _C]) -> _C | None:
        """The checked content of ``rel``; an unusable file is set aside (``None``)."""
        content = self._core.read(rel)
        if content is None:
            return None
        try:
            return open_(content)
        except SchemaVersionError:
            self._core.cache.drop(rel)
            raise
        except CorruptFileError as exc:
            self._core.quarantine(rel, exc.reason)
            self._core.forget_tender(rel)
            return None

    def _held(self, rel: str, open_: Callable[[Content], _C]) -> Content | None:
        """What a save is about to replace. A file this process has not read yet is checked
        first and the save refused if it cannot be understood (it is never replaced); content
        already held is taken as it is."""
        content = self._core.read(rel)
        if content is None or not _unchecked(content):
            return content
        return open_(content)

    def _open_single(self, rel: str, table: str, content: Content) -> Single:
        """Decode and check a person's or group chat's file (once; then it is held decoded)."""
        if isinstance(content, Single) and content.table == table:
            if content.rules is not self.rules:
                self._check_single(rel, table, content.doc)
                content.rules = self.rules
            return content
        path = self.root / rel
        doc = single_doc(read_tables_bytes(path, content.data()), table, path=path)
        self._check_single(rel, table, doc)
        opened = Single(table, doc, data=content.data(), rules=self.rules)
        self._core.keep(rel, opened)
        return opened

    def _check_single(self, rel: str, table: str, doc: dict[str, Any]) -> None:
        problem = self.rules.user_problem(doc) if table == USER_TABLE else None
        if problem is not None:
            raise CorruptFileError(self.root / rel, problem)

    def _open_tender(self, rel: str, tender_id: str, content: Content) -> TenderContent:
        """Decode and check a tender file (once; then it is held decoded)."""
        if isinstance(content, TenderContent):
            if content.rules is not self.rules:
                self._check_tender(rel, content.meta, content.state, content.answers)
                content.rules = self.rules
            return content
        path = self.root / rel
        tender = tender_from_tables(
            read_tables_bytes(path, content.data()), path=path, tender_id=tender_id
        )
        self._check_tender(rel, tender.meta, tender.state, tender.answers)
        opened = TenderContent(
            tender.meta, tender.state, tender.answers, data=content.data(), rules=self.rules
        )
        self._core.keep(rel, opened)
        return opened

    def _check_tender(
        self,
        rel: str,
        meta: Mapping[str, Any],
        state: Mapping[str, Any],
        answers: Mapping[str, Any],
    ) -> None:
        problem = self.rules.tender_problem(meta, state, answers)
        if problem is not None:
            raise CorruptFileError(self.root / rel, problem)

    def _single(self, rel: str, table: str, doc: Mapping[str, Any], *, what: str) -> Single:
        """The content a save of a one-document file makes; refused before anything is written
        if it is not a dict of JSON data or uses the reserved key."""
        if type(doc) is not dict and not isinstance(doc, Mapping):
            raise TypeError(f"{what}: expected a dict, got {type(doc).__name__}")
        _no_schema_key(doc, what)
        copy = self._plain(rel, doc if type(doc) is dict else dict(doc))
        checked = table != USER_TABLE or self.rules.user_problem(copy) is None
        data = self._encode(rel, {table: {"1": stamped(copy)}})
        return Single(table, copy, data=data, rules=self.rules if checked else None)

    def _write_many(
        self,
        user_key: str,
        user_doc: dict[str, Any] | None,
        tenders: list[Tender],
        *,
        new: bool = False,
    ) -> None:
        """One journal sync for a person's document and tenders; the caller holds their lock.

        Every record is copied and checked before anything is written (``new``: the tenders'
        files do not exist, as ``create_tenders`` made sure)."""
        items: list[Write] = []
        user = _user_rel(user_key)
        if user_doc is not None:
            rel = f"{user}/{USER_FILE}"
            doc = self._single(rel, USER_TABLE, user_doc, what=f"user {user_key!r}")
            self._held(rel, lambda held: self._open_single(rel, USER_TABLE, held))
            items.append(Write(rel, doc))
        stamps: list[tuple[Tender, str]] = []
        for tender in tenders:
            rel = _tender_rel(user_key, tender.id)
            held = None if new else self._held(rel, _tender_opener(self, rel, tender.id))
            updated = self._timestamp()
            if held is not None and not isinstance(held, TenderContent):
                raise CorruptFileError(self.root / rel, "not a tender file")
            content, patch = self._next_tender(rel, tender, held, updated)
            items.append(Write(rel, content, patch, content.index_record()))
            stamps.append((tender, updated))
        if items:
            self._core.write_many(items)
        for tender, updated in stamps:
            tender.meta["id"] = tender.id
            tender.meta["updated"] = updated

    def _next_tender(
        self, rel: str, tender: Tender, held: TenderContent | None, updated: str
    ) -> tuple[TenderContent, bytes | None]:
        """The tender's new content, and the patch that turns ``held`` into it.

        Only the answers that differ from the held ones are copied, checked against the rules
        and journaled (with the list of answered questions when that changed); meta and state
        are small and always go whole. Answers the held content has were checked when they were
        read or saved, by these rules (``held.rules``) or else they are checked again."""
        what = f"tender {tender.id}"
        for part, record in (("meta", tender.meta), ("state", tender.state)):
            if type(record) is not dict and not isinstance(record, Mapping):
                raise TypeError(f"{what} {part}: expected a dict, got {type(record).__name__}")
            if SCHEMA_KEY in record:
                _no_schema_key(record, f"{what} {part}")
        meta = self._plain(rel, {**tender.meta, "id": tender.id, "updated": updated})
        state_in = tender.state
        state = self._plain(rel, state_in if type(state_in) is dict else dict(state_in))
        before = held.answers if held is not None else {}
        changed: dict[str, Any] = {}
        for qid, value in tender.answers.items():
            if not isinstance(qid, str):
                raise TypeError(f"{what}: answer keys must be str, got {qid!r}")
            old = before.get(qid, _ABSENT)
            if old is not value and (old is _ABSENT or not same(old, value)):
                changed[qid] = value
        changed = self._plain(rel, changed)
        order = list(tender.answers)
        reordered = len(order) != len(before) or order != list(before)
        answers = patched(before, changed, order if reordered else None)
        trusted = held is not None and held.rules is self.rules
        problem = self.rules.tender_problem(meta, state, changed if trusted else answers)
        if problem is not None:
            raise ValueError(f"tender {tender.id}: refusing to store it: {problem}")
        if held is None:
            data = self._encode(rel, tender_file(meta, state, answers))
            return TenderContent(meta, state, answers, data=data, rules=self.rules), None
        body: dict[str, Any] = {"meta": meta, "state": state, "set": changed}
        if reordered:
            body["order"] = order
        patch = self._encode(rel, body)
        return TenderContent(meta, state, answers, rules=self.rules), patch

    def _meta(self, user: str, tender_id: str, record: dict[str, Any]) -> dict[str, Any] | None:
        if record.get(SCHEMA_KEY) == SCHEMA_VERSION:  # the common case, without building a path
            return {**{k: v for k, v in record.items() if k != SCHEMA_KEY}, "id": tender_id}
        path = self.root / user / TENDERS_DIR / f"{tender_id}{SUFFIX}"
        try:
            meta = unstamp(record, path=path, kind="meta")
        except StorageError:
            return None
        meta["id"] = tender_id
        return meta

    def _timestamp(self) -> str:
        """ISO-8601 UTC, strictly increasing within this store, so "newest first" in
        ``list_tenders`` follows the order of saves even when the wall clock steps back."""
        with self._stamp_lock:
            now = self._clock()
            if now.tzinfo is not UTC:
                now = now.astimezone(UTC)
            if self._last_stamp is not None and now <= self._last_stamp:
                now = self._last_stamp + timedelta(microseconds=1)
            self._last_stamp = now
        return now.isoformat(timespec="microseconds")

    def _plain(self, rel: str, value: Any) -> Any:
        try:
            return plain(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise _not_json(self.root / rel, exc) from exc

    def _encode(self, rel: str, value: Any) -> bytes:
        """Encoded before anything is written, so what cannot be stored is refused up front (a
        string with a lone surrogate is plain but cannot be UTF-8). Everything a later
        checkpoint encodes has passed here once, in this save or an earlier one."""
        try:
            return dumps(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise _not_json(self.root / rel, exc) from exc


def _user_rel(user_key: str) -> str:
    return f"{USERS_DIR}/{safe_key(user_key)}"


def _tender_rel(user_key: str, tender_id: str) -> str:
    return f"{_user_rel(user_key)}/{TENDERS_DIR}/{check_tender_id(tender_id)}{SUFFIX}"


def _group_rel(chat_key: str) -> str:
    return f"{GROUPS_DIR}/{safe_key(chat_key)}{SUFFIX}"


def _tender_opener(store: Store, rel: str, tender_id: str) -> Callable[[Content], TenderContent]:
    return lambda content: store._open_tender(rel, tender_id, content)


def _single_opener(store: Store, rel: str, table: str) -> Callable[[Content], Single]:
    return lambda content: store._open_single(rel, table, content)


def _unchecked(content: Content) -> bool:
    return isinstance(content, Raw)


def _not_json(path: Path, exc: Exception) -> StorageError:
    return StorageError(f"{path}: refusing to store data that is not JSON ({exc})")


def _no_schema_key(record: Mapping[str, Any], what: str) -> None:
    """A caller field called ``schema`` is refused instead of overwritten: it would be silently
    lost on the next read, which is worse than a loud error while the engine is being written."""
    if SCHEMA_KEY in record:
        raise ValueError(f"{what}: the key {SCHEMA_KEY!r} is reserved by the storage layer")


def _tender_id_from_name(name: str) -> str | None:
    if not name.endswith(SUFFIX) or name.startswith("."):
        return None
    try:
        return check_tender_id(name[: -len(SUFFIX)])
    except ValueError:
        return None


def _clean_temps(directory: Path) -> None:
    """Remove temporary files of processes other than this one (which hold no lock any more)."""
    for name in _listdir(directory):
        if is_temp_name(name) and temp_owner(name) != os.getpid():
            try:
                os.unlink(directory / name)
            except FileNotFoundError:
                continue


def _listdir(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"{directory}: cannot be listed ({exc.strerror or exc})") from exc
