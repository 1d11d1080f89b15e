"""A small test driver that plays a buyer against the conversation and reads the replies."""

from __future__ import annotations

from pathlib import Path

from bot.console import Console
from flows.engine import Conversation
from flows.events import Event, Message, Reply

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def full_script() -> list[str]:
    """The committed example chat: every step of a catering tender, typed as in the terminal."""
    lines = (EXAMPLES / "catering-chat.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line != "/samenvatting"]


class Driver:
    def __init__(self, conversation: Conversation, user: str) -> None:
        self.conversation = conversation
        self.user = user
        self.last: Reply = Reply()

    def send(self, event: Event) -> Reply:
        self.last = self.conversation.handle(self.user, event)
        return self.last

    def say(self, line: str) -> Reply:
        if line.startswith("/"):
            name, _, arg = line[1:].partition(" ")
            return self.send(Event.cmd(name, arg))
        return self.send(Event.typed(line))

    def run(self, lines: list[str]) -> Reply:
        for line in lines:
            self.say(line)
        return self.last

    @property
    def prompt(self) -> Message:
        message = self.last.prompt
        assert message is not None, self.text
        return message

    @property
    def text(self) -> str:
        return "\n\n".join(Console.render(m) for m in self.last.messages)

    def tap(self, label_part: str) -> Reply:
        message = self.prompt
        for index, option in enumerate(message.options):
            if label_part.lower() in option.label.lower():
                return self.send(Event.pick(index, message.seq))
        raise AssertionError(
            f"geen optie met {label_part!r} in {[o.label for o in message.options]}"
        )

    def done(self) -> Reply:
        return self.send(Event.done(self.prompt.seq))

    def action(self, command: str) -> Reply:
        return self.send(Event.action(command, self.prompt.seq))
