"""The terminal channel: the same conversation as Telegram, with numbered options for buttons.

It reads one line per answer, from a person at a keyboard or from a pipe (a scripted session), and
stops cleanly at end of input or Ctrl-C. Every answer is already saved by the conversation before
the next prompt is printed, so stopping at any moment loses nothing. An answer that cannot be saved
(a full disk, a read-only folder) is not acknowledged: the person reads one line saying so and gets
the same question again, never a traceback.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from bot.document_files import failure_reason, forget, user_folder
from flows.engine import Conversation
from flows.events import DocumentRequest, Event, Message, Reply
from flows.inputs import clean_text
from flows.prompting import plain
from storage import StorageError

DocumentWriter = Callable[[DocumentRequest, Path], list[Path]]


def parse_line(line: str) -> Event:
    """A typed line as an event: `/naam rest` is a command, anything else an answer."""
    text = line.rstrip("\n")
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
        name, _, arg = stripped[1:].partition(" ")
        return Event.cmd(name.split("@", 1)[0], arg)
    return Event.typed(text)


class Console:
    def __init__(
        self,
        conversation: Conversation,
        user_key: str,
        *,
        out: TextIO,
        out_dir: Path,
        write_documents: DocumentWriter | None = None,
        echo: bool = False,
    ) -> None:
        self.conversation = conversation
        self.user_key = user_key
        self.out = out
        self.out_dir = user_folder(out_dir, user_key)
        self.write_documents = write_documents
        self.echo = echo

    def show(self, reply: Reply) -> None:
        if not self.echo:
            self.out.write("\n")
        for message in reply.messages:
            self.out.write(self.render(message) + "\n\n")
        if reply.forgotten:
            forget(self.out_dir)
        if reply.documents is not None and self.write_documents is not None:
            self.save_documents(reply.documents)
        self.out.flush()

    def save_documents(self, request: DocumentRequest) -> None:
        assert self.write_documents is not None
        try:
            paths = self.write_documents(request, self.out_dir)
        except OSError as exc:
            self.out.write(
                self.say("console.documents_failed", reason=failure_reason(exc)) + "\n\n"
            )
            return
        for path in paths:
            self.out.write(self.say("console.saved", path=str(path)) + "\n")
        self.out.write("\n")

    def say(self, key: str, **context: str) -> str:
        return plain(self.conversation.texts(key, **context))

    @staticmethod
    def render(message: Message) -> str:
        lines = [plain(message.text)]
        if message.options:
            lines.append("")
            for option in message.options:
                mark = "[x] " if message.multi and option.selected else ""
                lines.append(f"  {option.key:>2}. {mark}{option.label}")
        commands = [f"/{a.command}" for a in message.actions]
        if commands:
            lines.append("")
            lines.append("  (" + " · ".join(commands) + ")")
        return "\n".join(lines)

    def handle(self, event: Event) -> None:
        try:
            reply = self.conversation.handle(self.user_key, event)
        except (StorageError, OSError) as exc:
            self.out.write(
                "\n" + self.say("console.not_saved", reason=failure_reason(exc)) + "\n\n"
            )
            self.out.flush()
            return
        self.show(reply)

    def run(self, lines: Iterator[str]) -> int:
        self.handle(Event.cmd("start"))
        try:
            for line in lines:
                if self.echo:
                    self.out.write(f"> {clean_text(line)}\n\n")
                self.handle(parse_line(line))
        except KeyboardInterrupt:
            self.out.write("\n")
        self.out.write(self.say("console.goodbye") + "\n")
        self.out.flush()
        return 0


def keyboard_lines(prompt: str = "> ") -> Iterator[str]:
    while True:
        try:
            yield input(prompt)
        except EOFError:
            return


def input_lines(stream: TextIO = sys.stdin) -> Iterator[str]:
    tolerate_bad_bytes(stream)
    if stream.isatty():
        return keyboard_lines()
    return iter(stream.readline, "")


def tolerate_bad_bytes(stream: TextIO) -> None:
    """Bytes that are not UTF-8 (a pasted Latin-1 text, a broken terminal) become U+FFFD instead of
    ending the chat with a UnicodeDecodeError; the same on output for a terminal that cannot show a
    character."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="replace")
