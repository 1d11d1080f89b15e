"""A buyer played against the conversation, answering by meaning rather than by script order.

Tests say *what* a buyer answers (`answer(categorie="catering")`, `complete(themas=[...])`) and the
driver works out *how* that is entered in the channel at hand: a number or a word typed in the
terminal, a button pressed in Telegram. Questions a test does not mention get a default answer made
from the spec for their kind, so a new question in `prompts/flow.yaml` is answered like any other
and only tests about that question notice it. Assertions read ids and state (`question`, `mode`,
`answers`), not the wording of prompts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.console import Console
from flows.engine import Conversation, Position
from flows.events import Event, Message, Reply
from flows.inputs import option_keys
from flows.prompting import plain
from flows.spec import Choice, Slot
from storage import Store

SKIP = object()
"""Given as an answer: skip this (optional) question with /overslaan."""

LOOP_LIMIT = 2000


def default_answer(slot: Slot, choices: Sequence[Choice]) -> Any:
    """A valid answer for any question, made from its kind and choices alone."""
    q = slot.question
    match q.kind:
        case "text":
            return f"Antwoord {slot.id}"[: q.max_length or 2000]
        case "year":
            return 2030
        case "yesno":
            return True
        case "level":
            return choices[min(2, len(choices) - 1)].value
        case "multi":
            return [c.value for c in choices[:2]]
        case "order":
            return [c.value for c in choices]
        case _:
            return choices[0].value


@dataclass
class Given:
    """Answers a test asked for, by slot id (`niveau[klimaat]`) or question id (`niveau`)."""

    values: dict[str, Any]

    def __post_init__(self) -> None:
        self.unused = set(self.values)

    def take(self, slot: Slot) -> tuple[bool, Any]:
        for key in (slot.id, slot.question.id):
            if key in self.values:
                self.unused.discard(key)
                return True, self.values[key]
        return False, None


class Driver:
    def __init__(self, conversation: Conversation, user: str) -> None:
        self.conversation = conversation
        self.user = user
        self.last: Reply = Reply()
        self.typed_lines: list[str] = []
        """Every line this buyer typed, as a terminal script (commands included)."""
        self.asked: list[str] = []
        """Every question answered through `answer`, `reach` or `complete`, in order."""
        self._update_id = 0

    # -- raw input ------------------------------------------------------------------------------

    def send(self, event: Event) -> Reply:
        self.last = self.conversation.handle(self.user, event)
        return self.last

    def say(self, line: str) -> Reply:
        self.typed_lines.append(line)
        if line.startswith("/"):
            name, _, arg = line[1:].partition(" ")
            return self.send(Event.cmd(name, arg))
        return self.send(Event.typed(line))

    def run(self, lines: Sequence[str]) -> Reply:
        for line in lines:
            self.say(line)
        return self.last

    def delivered(self, event: Event, update_id: int | None = None) -> Reply:
        """The event as a channel with delivery numbers hands it over (a fresh number if none)."""
        if update_id is None:
            self._update_id += 1
            update_id = self._update_id
        return self.send(replace(event, update_id=update_id))

    @property
    def prompt(self) -> Message:
        message = self.last.prompt
        assert message is not None, self.text
        return message

    @property
    def text(self) -> str:
        return "\n\n".join(Console.render(m) for m in self.last.messages)

    def shows(self, key: str, **params: Any) -> bool:
        """Whether the last reply holds the sentence `key` of `prompts/texts.yaml`."""
        return plain(self.conversation.texts(key, **params)) in self.text

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

    # -- where the buyer is ---------------------------------------------------------------------

    @property
    def position(self) -> Position:
        return self.conversation.position(self.user)

    @property
    def question(self) -> str | None:
        """The id of the question being asked (`niveau[klimaat]` inside a theme), else None."""
        slot = self.position.slot
        return slot.id if slot is not None else None

    @property
    def mode(self) -> str:
        return self.position.mode

    @property
    def menu(self) -> str | None:
        menu = self.position.menu
        return menu.kind if menu is not None else None

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self.position.answers)

    # -- answering by meaning -------------------------------------------------------------------

    def default(self) -> Any:
        """The default answer for the current question."""
        where = self.position
        assert where.slot is not None, f"geen vraag open (stand: {where.mode})"
        return default_answer(where.slot, where.choices)

    def give(self, value: Any) -> Reply:
        """Answer the current question with this stored value, entered as this channel enters it."""
        where = self.position
        assert where.slot is not None, f"geen vraag open (stand: {where.mode})"
        if value is SKIP:
            return self.say("/overslaan")
        if self.conversation.buttons:
            return self._press(where.slot, where.choices, value)
        return self.say(typed_answer(where.slot, where.choices, value))

    def answer_one(self, **given: Any) -> Reply:
        """Answer the current question: its value from `given` if named there, else a default."""
        self._answer_current(Given(given))
        return self.last

    @property
    def question_text(self) -> str:
        """The current question as the buyer reads it (without markup)."""
        where = self.position
        assert where.slot is not None, f"geen vraag open (stand: {where.mode})"
        return plain(self.conversation.prompter.question_text(where.slot, where.answers))

    def answer(self, **given: Any) -> Reply:
        """Answer questions in flow order until every given one was answered (defaults between)."""
        plan = Given(given)
        for _ in self._asking():
            if not plan.unused:
                return self.last
            self._answer_current(plan)
        assert not plan.unused, f"niet gevraagd: {sorted(plan.unused)}"
        return self.last

    def reach(self, question: str, **given: Any) -> Reply:
        """Answer questions (given values, else defaults) until `question` is the one asked."""
        plan = Given(given)
        for slot in self._asking():
            if question in (slot.id, slot.question.id):
                return self.last
            self._answer_current(plan)
        raise AssertionError(f"{question} werd niet gevraagd (stand: {self.mode})")

    def complete(self, **given: Any) -> Reply:
        """Finish the tender whatever questions the flow holds: given values, else defaults."""
        plan = Given(given)
        for _ in self._asking():
            self._answer_current(plan)
        assert self.mode == "finished", self.text
        assert not plan.unused, f"niet gevraagd: {sorted(plan.unused)}"
        return self.last

    def choose(self, value: str) -> Reply:
        """Pick an item of the open menu by what it stands for (a tender id, a step id, "ja")."""
        menu = self.position.menu
        assert menu is not None, f"geen menu open (stand: {self.mode})"
        assert value in menu.values, (value, menu.values)
        index = menu.values.index(value)
        if self.conversation.buttons:
            return self.send(Event.pick(index, self.prompt.seq))
        return self.say(menu.keys[index])

    def _asking(self) -> Iterator[Slot]:
        """The current question, again after each answer, until none is asked."""
        if self.position.tender_id is None:
            self.say("/start")
        for _ in range(LOOP_LIMIT):
            where = self.position
            if where.slot is None:
                return
            yield where.slot
        raise AssertionError("de vragen houden niet op")

    def _answer_current(self, plan: Given) -> None:
        where = self.position
        assert where.slot is not None
        found, value = plan.take(where.slot)
        before = where.slot.id
        self.asked.append(before)
        self.give(value if found else default_answer(where.slot, where.choices))
        after = self.position.slot
        assert after is None or after.id != before or found, (before, self.text)

    def _press(self, slot: Slot, choices: Sequence[Choice], value: Any) -> Reply:
        values = [c.value for c in choices]
        kind = slot.question.kind
        if kind in ("text", "year"):
            return self.say(str(value))
        if kind == "multi":
            wanted = list(value)
            for index, option in enumerate(self.prompt.options):
                chosen = values[index] if index < len(values) else option.label
                if (chosen in wanted) != option.selected:
                    self.send(Event.pick(index, self.prompt.seq))
            own = [v for v in wanted if v not in values and v not in self._selected_own()]
            if own:
                self.say(", ".join(str(v) for v in own))
            return self.done()
        if kind == "order":
            for item in value:
                self.send(Event.pick(values.index(item), self.prompt.seq))
                if self.position.slot is None or self.position.slot.id != slot.id:
                    return self.last
            return self.done()
        if value in values:
            return self.send(Event.pick(values.index(value), self.prompt.seq))
        return self.say(str(value))

    def _selected_own(self) -> list[str]:
        return [o.label for o in self.prompt.options if o.selected]


@dataclass(frozen=True)
class Press:
    """One thing a Telegram buyer does: type `text`, or press the button labelled `label`."""

    text: str | None = None
    label: str | None = None
    edits: bool = False
    """The press changes the prompt in place (a toggle) instead of sending the next question."""


def presses(slot: Slot, choices: Sequence[Choice], value: Any, texts: Any) -> list[Press]:
    """How a buyer with buttons gives `value`: the labels to press and the text to type."""
    q = slot.question
    shown = [str(c.attrs.get("short") or c.label) for c in choices]  # a button's own label
    labels = [
        f"{c.value} · {label}" if q.kind == "level" else label
        for c, label in zip(choices, shown, strict=True)
    ]
    values = [c.value for c in choices]
    if value is SKIP:
        return [Press(label=texts("action.skip"))]
    single = q.kind not in ("multi", "order")
    if q.kind in ("text", "year") or (single and value not in values):
        return [Press(text=str(value))]
    done = Press(label=texts("action.done"))
    if q.kind == "multi":
        taps = [Press(label=labels[values.index(v)], edits=True) for v in value if v in values]
        own = [str(v) for v in value if v not in values]
        return [*taps, *([Press(text=", ".join(own))] if own else []), done]
    if q.kind == "order":
        taps = [Press(label=labels[values.index(v)], edits=True) for v in value]
        if len(taps) == len(values):
            return [*taps[:-1], Press(label=taps[-1].label)]
        return [*taps, done]
    return [Press(label=labels[values.index(value)])]


def typed_answer(slot: Slot, choices: Sequence[Choice], value: Any) -> str:
    """What a buyer types in the terminal to give `value`: option keys where there are options."""
    keys = option_keys(slot.question, list(choices))
    values = [c.value for c in choices]

    def key(v: Any) -> str:
        return keys[values.index(v)] if v in values else str(v)

    match slot.question.kind:
        case "multi" | "order":
            return ", ".join(key(v) for v in value)
        case "yesno":
            return "ja" if value else "nee"
        case "choice" | "level":
            return key(value)
        case _:
            return str(value)


def active_answers(store: Store, user: str) -> dict[str, Any]:
    """What is stored for the person's active tender (which must exist), read back from `store`."""
    doc = store.get_user(user)
    assert doc is not None
    tender = store.get_tender(user, doc["active"])
    assert tender is not None
    return dict(tender.answers)


def script(conversation: Conversation, **given: Any) -> list[str]:
    """The lines a terminal buyer types to finish a tender with these answers, from the spec."""
    driver = Driver(conversation, "script-writer")
    driver.complete(**given)
    return driver.typed_lines


def lines_to(question: str, **given: Any) -> list[str]:
    """The lines ("/start" first) a buyer types to reach `question` of the product's flow.

    Typed text answers every kind of question in the terminal; in Telegram a multiple choice
    needs a press on Klaar as well, so use this there only for the questions before one.
    """
    with rehearsal() as driver:
        driver.reach(question, **given)
        return driver.typed_lines


@contextmanager
def rehearsal() -> Iterator[Driver]:
    """A terminal buyer on a throw-away store: to work out what a channel test should send."""
    with tempfile.TemporaryDirectory() as scratch:
        yield Driver(Conversation(Store(Path(scratch)), buttons=False), "rehearsal")


CATERING: Mapping[str, Any] = {
    "naam": "Catering hoofdkantoor 2027",
    "categorie": "catering",
    "organisatie": "Gemeente Zwolle",
    "themas": ["klimaat", "circulariteit", "social_return", "samenwerking", "gedragsverandering"],
    "prioriteit": [
        "circulariteit",
        "klimaat",
        "social_return",
        "samenwerking",
        "gedragsverandering",
    ],
    "niveau[gedragsverandering]": 0,
    "niveau[circulariteit]": 3,
    "voorkeur_samenwerking": "transactioneel",
}
"""The story of the committed example chat, as answers by id."""
