"""One lock per protected key, kept only while someone holds or waits for it."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from types import TracebackType


class KeyLocks:
    """Serialises work per key (a person, a group chat) without remembering every key ever seen.

    An entry lives exactly as long as some thread holds or waits for its lock, so memory follows
    the buyers active right now, not everyone the process has met.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, _Held] = {}

    def __call__(self, key: Hashable) -> _Held:
        """``with locks(key):`` holds the key's lock for the block."""
        with self._guard:
            held = self._locks.get(key)
            if held is None:
                held = self._locks[key] = _Held(self, key)
            held.users += 1
        return held

    def _done(self, held: _Held) -> None:
        with self._guard:
            held.users -= 1
            if held.users <= 0:
                del self._locks[held.key]

    def __len__(self) -> int:
        return len(self._locks)


class _Held:
    """A key's lock and the number of threads holding or waiting for it; a plain class rather
    than a generator-based context manager, since every read and save of a buyer passes here."""

    __slots__ = ("key", "lock", "owner", "users")

    def __init__(self, owner: KeyLocks, key: Hashable) -> None:
        self.owner = owner
        self.key = key
        self.lock = threading.Lock()
        self.users = 0

    def __enter__(self) -> None:
        try:
            self.lock.acquire()
        except BaseException:
            self.owner._done(self)
            raise

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.lock.release()
        self.owner._done(self)
