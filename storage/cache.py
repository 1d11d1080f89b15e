"""A small map that forgets: file contents and person indexes here, board states in the team check.

Everything the process keeps per person or chat lives in one of these (or in a structure swept
with them), so memory follows the people active in the last minutes, not everyone it has met.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    """Keeps at most ``limit`` entries, none older than ``max_age`` seconds.

    An entry's age runs from its last use (``touch``: a read counts) or from its last put. Every
    put drops what has expired, oldest first, and :meth:`trim` does the same for a process that
    nobody talks to any more (a timer calls it), so a buyer gone quiet costs nothing an hour later.
    """

    def __init__(
        self,
        limit: int | None,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        touch: bool = True,
    ) -> None:
        self.limit = limit
        self.max_age = max_age
        self._clock = clock
        self._touch = touch
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            now = self._clock()
            if now - item[0] > self.max_age:
                del self._items[key]
                return None
            if self._touch:
                self._items[key] = (now, item[1])
                self._items.move_to_end(key)
            return item[1]

    def peek(self, key: Hashable) -> V | None:
        """The value if held, without counting as a use."""
        with self._lock:
            item = self._items.get(key)
            return None if item is None else item[1]

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            now = self._clock()
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            self._prune(now)

    def trim(self) -> None:
        """Drop what has expired, without waiting for the next put."""
        with self._lock:
            self._prune(self._clock())

    def _prune(self, now: float) -> None:
        items = self._items
        limit = len(items) if self.limit is None else self.limit
        while items:
            oldest_key, (used, _) = next(iter(items.items()))
            if len(items) <= limit and now - used <= self.max_age:
                break
            del items[oldest_key]

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def drop_where(self, test: Callable[[Hashable], bool]) -> None:
        with self._lock:
            for key in [k for k in self._items if test(k)]:
                del self._items[key]

    def __len__(self) -> int:
        return len(self._items)
