"""The team check's rules and their bookkeeping, behind a storage port like the tender flow.

Who may do what: anybody in the chat votes and may change their vote; the starter or an
administrator closes; only the starter chooses the themes, and only in a private message, so
their tender names never reach the group; only an administrator of a group wipes it. Every
change is a load-change-save of the chat's one record under that chat's lock, so thirty people
pressing at once all keep their vote, and the saved record is the only copy: a restart between
two votes keeps both.

The methods are synchronous (the store fsyncs); a channel runs them in a worker thread. The
Telegram adapter (`bot/telegram/group.py`) only parses buttons, asks Telegram whether someone is
an administrator, throttles board edits and sends.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from flows.ports import TenderData
from flows.prompting import shorten
from flows.teamcheck.model import (
    KEEP_CHECKS,
    SUBJECT_MAX,
    ChatChecks,
    Closing,
    SourceChoice,
    TeamCheck,
    Vote,
    base_themes,
    new_id,
    tender_themes,
)

log = logging.getLogger(__name__)
CHOICE_TENDERS = 5
NAME_MAX = 40
LOCK_STRIPES = 64


class GroupStore(Protocol):
    """Where each chat's checks are kept, one JSON document per chat key."""

    def get_group(self, chat_key: str) -> dict[str, Any] | None: ...

    def save_group(self, chat_key: str, doc: dict[str, Any]) -> None: ...

    def delete_group(self, chat_key: str) -> None: ...

    def list_groups(self) -> list[str]: ...


class TenderShelf(Protocol):
    """The starter's own tenders, read for their themes (a part of `flows.ports.Repository`)."""

    def list_tenders(self, user_key: str) -> list[dict[str, Any]]: ...

    def get_tender(self, user_key: str, tender_id: str) -> TenderData | None: ...


@dataclass(frozen=True)
class Place:
    """Where a check lives: its chat's storage key, and the chat and forum topic to post to."""

    chat_key: str
    chat_id: int
    thread_id: int | None = None
    private: bool = False


@dataclass(frozen=True)
class TenderOption:
    tender_id: str
    name: str


@dataclass(frozen=True)
class Started:
    status: Literal["open", "choose", "board"]
    check: TeamCheck | None = None
    choice: SourceChoice | None = None


@dataclass(frozen=True)
class Chosen:
    status: Literal["board", "stale", "denied", "unknown"]
    check: TeamCheck | None = None
    choice: SourceChoice | None = None


@dataclass(frozen=True)
class Forgotten:
    """What deleting a person changed: open boards to redraw, and boards whose check is gone."""

    redraw: list[str]
    dropped: list[tuple[int, int]]


class StripedLocks:
    """A fixed set of re-entrant locks shared out by key: one chat's changes never interleave,
    and the set never grows with the number of chats."""

    def __init__(self, size: int = LOCK_STRIPES) -> None:
        self._locks = [threading.RLock() for _ in range(size)]

    def _index(self, key: str) -> int:
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % len(self._locks)

    @contextmanager
    def hold(self, *keys: str) -> Iterator[None]:
        """Hold the locks of all `keys`, always taken in one order so two callers never wait
        for each other."""
        indexes = sorted({self._index(key) for key in keys})
        for index in indexes:
            self._locks[index].acquire()
        try:
            yield
        finally:
            for index in reversed(indexes):
                self._locks[index].release()


class TeamChecks:
    def __init__(
        self,
        groups: GroupStore,
        tenders: TenderShelf,
        user_key: Callable[[int], str],
        read_errors: tuple[type[Exception], ...] = (OSError, ValueError, KeyError),
    ) -> None:
        """`read_errors`: what reading a person's tenders may raise; the check then offers the
        base themes only, which always work."""
        self.groups = groups
        self.tenders = tenders
        self.user_key = user_key
        self.read_errors = read_errors
        self.locks = StripedLocks()

    # -- reading and writing one chat ----------------------------------------------------------

    def load(self, key: str) -> ChatChecks:
        return ChatChecks.from_dict(self.groups.get_group(key))

    def _save(self, key: str, record: ChatChecks) -> None:
        if record.checks or record.choice is not None:
            self.groups.save_group(key, record.to_dict())
        else:
            self.groups.delete_group(key)

    def current(self, key: str) -> TeamCheck | None:
        return self.load(key).current

    def open_check(self, key: str) -> TeamCheck | None:
        return self.load(key).open_check

    def last_closed(self, key: str) -> TeamCheck | None:
        return self.load(key).last_closed

    # -- starting ------------------------------------------------------------------------------

    def start(self, place: Place, starter: int, subject: str) -> Started:
        """Point to the open check if there is one; else let a starter with own tenders choose
        the themes (privately), else put the six base themes on a board at once."""
        subject = shorten(subject, SUBJECT_MAX)
        has_tenders = bool(self.options(starter))
        with self.locks.hold(place.chat_key):
            record = self.load(place.chat_key)
            if record.open_check is not None:
                return Started("open", check=record.open_check)
            if has_tenders:
                choice = SourceChoice(new_id(), starter, subject, place.chat_id, place.thread_id)
                record.choice = choice
                self._save(place.chat_key, record)
                return Started("choose", choice=choice)
            check = record.start(self._new(place, starter, subject, base_themes()))
            self._save(place.chat_key, record)
            return Started("board", check=check)

    def _new(
        self, place: Place, starter: int, subject: str, themes: list[tuple[str, str]]
    ) -> TeamCheck:
        return TeamCheck(
            id=new_id(),
            chat_key=place.chat_key,
            starter_id=starter,
            subject=subject,
            themes=themes,
            chat_id=place.chat_id,
            thread_id=place.thread_id,
            private=place.private,
        )

    def options(self, person: int) -> list[TenderOption]:
        """The person's own tenders that have themes, newest first. Read only for them, in
        private; never stored with a group."""
        user_key = self.user_key(person)
        found: list[TenderOption] = []
        try:
            for meta in self.tenders.list_tenders(user_key)[: CHOICE_TENDERS * 2]:
                tender = self.tenders.get_tender(user_key, str(meta["id"]))
                if tender is not None and tender_themes(tender.answers):
                    name = shorten(str(meta.get("name") or tender.id), NAME_MAX)
                    found.append(TenderOption(tender.id, name))
                if len(found) >= CHOICE_TENDERS:
                    break
        except self.read_errors:
            log.warning("aanbestedingen lezen voor de ambitiecheck mislukte", exc_info=True)
            return []
        return found

    def pending_choice(self, key: str, choice_id: str, person: int) -> Chosen:
        """The open choice a private message is about, if it is still this person's to make."""
        record = self.load(key)
        choice = record.choice
        if choice is None or choice.id != choice_id or record.open_check is not None:
            return Chosen("stale")
        if choice.starter_id != person:
            return Chosen("denied")
        return Chosen("board", choice=choice)

    def choose(
        self, key: str, choice_id: str, person: int, tender_id: str | None, private: bool
    ) -> Chosen:
        """Start the check with the base themes (`tender_id` None) or a tender's themes."""
        with self.locks.hold(key):
            pending = self.pending_choice(key, choice_id, person)
            choice = pending.choice
            if choice is None:
                return pending
            themes, source = base_themes(), ""
            if tender_id is not None:
                try:
                    tender = self.tenders.get_tender(self.user_key(person), tender_id)
                except self.read_errors:
                    return Chosen("unknown")
                themes = tender_themes(tender.answers) if tender is not None else []
                if tender is None or not themes:
                    return Chosen("unknown")
                source = str(tender.meta.get("name") or "") if private else ""
            place = Place(key, choice.chat_id or 0, choice.thread_id, private)
            check = self._new(place, person, choice.subject, themes)
            check.source, check.from_tender = source, tender_id is not None
            record = self.load(key)
            record.start(check)
            self._save(key, record)
            return Chosen("board", check=check, choice=choice)

    def set_board(self, key: str, check_id: str, message_id: int) -> None:
        with self.locks.hold(key):
            record = self.load(key)
            check = record.current
            if check is not None and check.id == check_id:
                check.board_message_id = message_id
                self._save(key, record)

    def set_choice_message(self, key: str, choice_id: str, message_id: int) -> None:
        with self.locks.hold(key):
            record = self.load(key)
            if record.choice is not None and record.choice.id == choice_id:
                record.choice.message_id = message_id
                self._save(key, record)

    # -- voting and closing --------------------------------------------------------------------

    def vote(self, key: str, check_id: str, person: int, index: int, level: int) -> Vote:
        with self.locks.hold(key):
            record = self.load(key)
            check = record.current
            if check is None or check.id != check_id:
                return Vote("closed")
            outcome = check.vote(person, index, level)
            if outcome.status in ("new", "changed"):
                self._save(key, record)
            return outcome

    def close(self, key: str, check_id: str | None, person: int, is_admin: bool) -> Closing:
        """Close the open check (the one named, if any). A private scan is then deleted: there
        is nothing to do with it later, so nothing about the person is kept longer."""
        with self.locks.hold(key):
            record = self.load(key)
            check = record.open_check
            if check is None or (check_id is not None and check.id != check_id):
                return Closing("already")
            closing = check.close(person, is_admin)
            if closing.status == "closed":
                if check.private:
                    self.groups.delete_group(key)
                else:
                    self._save(key, record)
            return closing

    # -- wiping, forgetting, moving ------------------------------------------------------------

    @staticmethod
    def may_wipe(is_admin: bool, private: bool) -> bool:
        return is_admin and not private

    def wipe(self, key: str) -> TeamCheck | None:
        """Delete everything of one chat; the open check, if any, so its board can be retired."""
        with self.locks.hold(key):
            check = self.load(key).open_check
            self.groups.delete_group(key)
            return check

    def forget_person(self, person: int, own_keys: Iterable[str] = ()) -> Forgotten:
        """Remove every record about `person`: their private scans (`own_keys`), their votes in
        every group, pending choices they started, checks built on their own tender's themes,
        and their id as starter or closer."""
        for key in own_keys:
            with self.locks.hold(key):
                self.groups.delete_group(key)
        redraw: list[str] = []
        dropped: list[tuple[int, int]] = []
        for key in self.groups.list_groups():
            with self.locks.hold(key):
                record = self.load(key)
                before = record.open_check
                if not record.forget(person):
                    continue
                self._save(key, record)
                after = record.open_check
                if after is not None:
                    redraw.append(key)
                elif before is not None and before.board_message_id and before.chat_id:
                    dropped.append((before.chat_id, before.board_message_id))
        return Forgotten(redraw, dropped)

    def migrate(self, old_key: str, new_key: str, new_chat_id: int) -> TeamCheck | None:
        """Move a chat's checks to its new id (a group that became a supergroup). Safe to call
        twice (Telegram tells both the old and the new chat); returns the open check, whose
        board has to be posted again in the new chat."""
        with self.locks.hold(old_key, new_key):
            old = self.load(old_key)
            if not old.checks and old.choice is None:
                return None
            new = self.load(new_key)
            merged = ChatChecks(
                checks=[*new.checks, *old.checks][-KEEP_CHECKS:], choice=old.choice or new.choice
            )
            merged.move_to(new_key, new_chat_id)
            self._save(new_key, merged)
            self.groups.delete_group(old_key)
            return merged.open_check
