"""A buyer who completes a whole tender in Telegram, whatever the questions are.

Keyed on meaning, not on a script: before each move the player reads which question is current
(from the stored tender) and its kind (from the spec), then answers it the way a person would with
the buttons on their screen: the first sensible option, a few themes, "Klaar", or typed text. So a
new question in `prompts/flow.yaml` changes nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.spec import FlowSpec, Question, load_spec
from tests.fakes.botapi import BotMessage
from tests.fakes.harness import USER, Harness


@dataclass
class Tally:
    """What a full tender cost, as the person saw it."""

    answers: int = 0
    message_ops: int = 0
    moves: list[str] = field(default_factory=list)


def live_prompt(tg: Harness, user: int = USER) -> BotMessage | None:
    """The question message that still has buttons, if any (the newest)."""
    live = [m for m in tg.fake.bubbles(user) if m.buttons()]
    return live[-1] if live else None


def current_question(tg: Harness, spec: FlowSpec, user: int = USER) -> tuple[str, Question] | None:
    doc = tg.user(user) or {}
    if doc.get("mode") == "finished" or not doc.get("active"):
        return None
    tender = tg.store.get_tender(f"tg-{user}", str(doc["active"]))
    if tender is None:
        return None
    cursor = tender.state.get("cursor")
    slots = {s.id: s for s in spec.slots(tender.answers)}
    if cursor not in slots:
        return None
    return str(cursor), slots[str(cursor)].question


def data_for(message: BotMessage, label: str) -> str:
    for text, data in message.buttons():
        if data is not None and label.lower() in text.lower():
            return data
    raise AssertionError(f"no button {label!r} in {message.buttons()}")


def option_data(message: BotMessage) -> list[str]:
    return [d for _t, d in message.buttons() if d is not None and d.startswith("p:")]


TYPED = {"year": "2030"}


async def answer_current(tg: Harness, spec: FlowSpec, tally: Tally, user: int = USER) -> bool:
    """Answer the current question; False when there is none (the tender is finished)."""
    found = current_question(tg, spec, user)
    if found is None:
        return False
    slot_id, question = found
    prompt = live_prompt(tg, user)
    start = len(tg.fake.calls)
    if question.kind in ("text", "year") or prompt is None:
        await tg.send(TYPED.get(question.kind) or question.example or "Antwoord", user)
    elif question.kind == "multi":
        for data in option_data(prompt)[:2]:
            await tg.update_press(prompt, data, user)
        await tg.update_press(prompt, data_for(prompt, "Klaar"), user)
    elif question.kind == "order":
        await tg.update_press(prompt, data_for(prompt, "Klaar"), user)
    else:
        options = option_data(prompt)
        await tg.update_press(prompt, options[min(1, len(options) - 1)], user)
    tally.message_ops += len(tg.fake.message_ops(user, after=start))
    tally.answers += 1
    tally.moves.append(slot_id)
    return True


async def play_tender(tg: Harness, user: int = USER, name: str = "Catering 2027") -> Tally:
    """From /start to the last question; the tally of answers and message operations."""
    spec = load_spec()
    tally = Tally()
    start = len(tg.fake.calls)
    await tg.send("/start", user)
    await tg.send(name, user)
    tally.answers += 1
    tally.message_ops += len(tg.fake.message_ops(user, after=start))
    for _ in range(300):
        if not await answer_current(tg, spec, tally, user):
            return tally
    raise AssertionError(f"tender not finished after 300 answers: {tally.moves[-5:]}")
