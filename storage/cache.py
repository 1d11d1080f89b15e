"""A small least-recently-used map with an age limit, for file contents and person indexes."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    """Keeps at most ``limit`` entries, none unused for longer than ``max_age`` seconds.

    Pruning happens on every insert, oldest first, so a buyer who went quiet costs nothing an
    hour later without any timer thread.
    """

    def __init__(
        self, limit: int, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items[key] = (self._clock(), item[1])
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
            while self._items:
                oldest_key, (used, _) = next(iter(self._items.items()))
                if len(self._items) <= self.limit and now - used <= self.max_age:
                    break
                del self._items[oldest_key]

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def drop_where(self, test: Callable[[Hashable], bool]) -> None:
        with self._lock:
            for key in [k for k in self._items if test(k)]:
                del self._items[key]

    def __len__(self) -> int:
        return len(self._items)
