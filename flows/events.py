"""What a channel hands to the conversation, and what it gets back.

Both sides are plain frozen data so that a channel can render a reply however suits it (inline
buttons in Telegram, numbered lines in a terminal) and tests can compare replies directly. Message
text is HTML-safe rich text: user input is always escaped by the templates, and only the inline tags
`<b>`, `<i>` and `<code>` appear, never spanning a line, so a channel can split or strip it safely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

EventKind = Literal["text", "pick", "done", "action", "command", "media", "edited"]


@dataclass(frozen=True)
class Event:
    """One thing the person did.

    `seq` ties a button press to the prompt it was shown on, so an old button can never record an
    answer for a different question. Typed text has no seq: it always answers the current prompt.
    `update_id` is the channel's own number for the delivery (Telegram's `update_id`): a channel
    that may deliver the same update twice after a crash passes it, and the conversation handles
    each number at most once per person.
    """

    kind: EventKind
    text: str = ""
    index: int = -1
    seq: int | None = None
    command: str = ""
    update_id: int | None = None

    @classmethod
    def typed(cls, text: str) -> Event:
        return cls("text", text=text)

    @classmethod
    def pick(cls, index: int, seq: int | None = None) -> Event:
        return cls("pick", index=index, seq=seq)

    @classmethod
    def done(cls, seq: int | None = None) -> Event:
        return cls("done", seq=seq)

    @classmethod
    def action(cls, command: str, seq: int | None = None) -> Event:
        return cls("action", command=command, seq=seq)

    @classmethod
    def cmd(cls, command: str, arg: str = "") -> Event:
        return cls("command", command=command, text=arg)

    @classmethod
    def media(cls, what: str) -> Event:
        return cls("media", text=what)


@dataclass(frozen=True)
class Option:
    label: str
    key: str
    selected: bool = False


@dataclass(frozen=True)
class Action:
    """A command offered as a button under a prompt (for example "Overslaan")."""

    label: str
    command: str


@dataclass(frozen=True)
class Message:
    text: str
    options: tuple[Option, ...] = ()
    multi: bool = False
    done_label: str | None = None
    actions: tuple[Action, ...] = ()
    seq: int | None = None
    edit: bool = False
    columns: int = 1
    placeholder: str | None = None
    """For a question answered by typing: what the input field may show before the person types."""


@dataclass(frozen=True)
class DocumentRequest:
    """A snapshot of one tender for the report, so documents can be made off the event loop."""

    tender_id: str
    name: str
    answers: dict[str, Any]
    skipped: tuple[str, ...] = ()
    formats: tuple[str, ...] = ("docx", "md", "png")


@dataclass(frozen=True)
class Reply:
    messages: tuple[Message, ...] = ()
    documents: DocumentRequest | None = None
    toast: str | None = None
    answered: str | None = None
    """How the answer just recorded reads, so a channel can show it on the question's message."""
    forgotten: bool = False
    """The person deleted all their data: a channel removes what it keeps of them too."""

    @property
    def prompt(self) -> Message | None:
        """The message that carries the current question, if any (the last one with a seq)."""
        for m in reversed(self.messages):
            if m.seq is not None:
                return m
        return None
