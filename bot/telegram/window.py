"""What each private chat shows now: one live message, and the lines it has collected.

A buyer's chat has at most one live message: the current question (or menu) with its buttons.
Answering by button edits it in place: the answer becomes a one-line record at its top ("✓ Keten:
Complex") and the next question takes the rest, so a run of button answers costs one edit each and
leaves one bubble. When the person types, the question has to move below their message: the old
live message keeps only its records and the question is sent anew.

This per-chat memory is small and bounded: it is dropped for chats idle longer than `IDLE_SECONDS`
(their lock too), and the live message id, the one thing that must survive a restart, is also kept
in the person's own document so an old keyboard can be retired after a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IDLE_SECONDS = 3600.0
SWEEP_EVERY = 256
MAX_RECORDS = 12
RECORDS_ROOM = 3000


@dataclass(slots=True)
class Window:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    live: int | None = None
    """The message that carries the current question or menu, if we know it."""
    shown: int | None = None
    """A digest of what the live message shows now (`shows`), so an edit that changes nothing is
    skipped without keeping the text itself (it is most of what a chat would cost)."""
    inline: bool = False
    """Whether the live message has inline buttons (a typed question has a reply field instead)."""
    typed: bool = False
    """Whether the live question is answered by typing: the person's reply is its record."""
    records: list[str] = field(default_factory=list)
    newest: int = 0
    """The newest message id seen in the chat, theirs or ours: is the live message at the bottom?"""
    loaded: bool = False
    """Whether the live id was read back from storage (once per chat after a restart)."""
    touched: float = field(default_factory=time.monotonic)

    def see(self, message_id: int | None) -> None:
        if message_id is not None:
            self.newest = max(self.newest, message_id)

    @property
    def at_bottom(self) -> bool:
        return self.live is not None and self.live >= self.newest

    def room_for(self, record: str) -> bool:
        size = sum(len(r) + 1 for r in self.records) + len(record)
        return len(self.records) < MAX_RECORDS and size < RECORDS_ROOM

    def folded(self) -> str:
        return "\n".join(self.records)

    def show(self, text: str, markup: object = None) -> None:
        self.shown = shows(text, markup)

    def is_showing(self, text: str, markup: object = None) -> bool:
        return self.shown is not None and self.shown == shows(text, markup)

    def forget_live(self) -> None:
        self.live, self.shown, self.records = None, None, []
        self.inline = self.typed = False


def shows(text: str, markup: object = None) -> int:
    """What a message shows, as one number: its HTML and its buttons (a reply field counts by its
    placeholder), to skip an edit that would change nothing (chat windows, team boards). Python's
    own hash is enough: these numbers live and die with the process."""
    return hash((text, _buttons(markup)))


def _buttons(markup: object) -> tuple[object, ...]:
    rows = getattr(markup, "inline_keyboard", None)
    if rows is not None:
        return tuple((b.text, b.callback_data, b.url) for row in rows for b in row)
    if markup is None:
        return ()
    return (type(markup).__name__, getattr(markup, "input_field_placeholder", None))


class Windows:
    """Windows by chat id, pruned of chats gone quiet (nothing kept for them)."""

    def __init__(
        self, idle: float = IDLE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle = idle
        self.clock = clock
        self._windows: dict[int, Window] = {}
        self._uses = 0

    def __len__(self) -> int:
        return len(self._windows)

    def get(self, chat_id: int) -> Window:
        self._uses += 1
        if self._uses % SWEEP_EVERY == 0:
            self.sweep()
        window = self._windows.get(chat_id)
        if window is None:
            window = self._windows[chat_id] = Window()
        window.touched = self.clock()
        return window

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self.get(chat_id).lock

    def drop(self, chat_id: int) -> None:
        self._windows.pop(chat_id, None)

    def sweep(self) -> None:
        """Drop the chats idle for `idle` seconds. The map is built anew rather than deleted
        from, because a dict never gives back the room of what was deleted from it."""
        cutoff = self.clock() - self.idle
        windows = self._windows
        if any(w.touched < cutoff and not w.lock.locked() for w in windows.values()):
            self._windows = {
                chat_id: w
                for chat_id, w in windows.items()
                if w.touched >= cutoff or w.lock.locked()
            }
