"""Answering the current question: typed text, button presses, "Klaar", and what comes next.

Which question is current is kept as its slot id (`cursor`) with the tender; a cursor that no
longer applies (an earlier answer changed) falls to the first open question.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flows.events import Event, Message, Reply
from flows.inputs import Invalid, parse
from flows.prompting import plain
from flows.session import Session
from flows.spec import Slot

if TYPE_CHECKING:
    from flows.conversation.core import Conversation


def current_slot(s: Session, slots: Sequence[Slot]) -> Slot | None:
    for slot in slots:
        if slot.id == s.cursor:
            return slot
    target = next_open(s, slots, after=None)
    s.cursor = target.id if target else None
    return target


def next_open(s: Session, slots: Sequence[Slot], after: str | None) -> Slot | None:
    """The first unanswered, unskipped question after `after` (wrapping to the first one)."""
    skipped = set(s.skipped)
    open_ = [x for x in slots if x.id not in s.answers and x.id not in skipped]
    ids = [x.id for x in slots]
    if after in ids:
        position = ids.index(after)
        later = [x for x in open_ if ids.index(x.id) > position]
        if later:
            return later[0]
    return open_[0] if open_ else None


def on_answer(conv: Conversation, s: Session, event: Event) -> Reply:
    slots = conv.slots(s)
    slot = current_slot(s, slots)
    if slot is None:
        return conv.reply(s)
    q = slot.question
    choices = conv.spec.choices_for(q, s.answers, slot.item)
    draft_active = s.tstate.get("draft_for") == slot.id
    draft: list[Any] = list(s.tstate.get("draft") or []) if draft_active else []
    if event.kind == "pick":
        return _on_pick(conv, s, slot, choices, draft, event.index)
    if event.kind == "done":
        if q.kind not in ("multi", "order"):
            return conv.stale(s)
        if q.kind == "order":
            rest = [c.value for c in choices if c.value not in draft]
            return record(conv, s, slot, draft + rest)
        if not draft:
            empty = conv.texts("invalid.pick_at_least_one")
            return Reply((Message(empty), conv.view(s, edit=True)), toast=plain(empty))
        return record(conv, s, slot, draft)
    kept = own_options(draft, choices) if conv.buttons else []
    value = parse(q, choices, event.text, q.max_length or conv.spec.text_max, kept)
    if isinstance(value, Invalid):
        return conv.reply(s, conv.texts(f"invalid.{value.key}", **value.params))
    if q.kind == "multi" and conv.buttons:
        added = [v for v in value if v not in draft]
        s.set_state("draft", draft + added)
        labels = ", ".join(conv.spec.label(q.id, v) for v in added)
        return Reply(
            (Message(conv.texts("multi_added", labels=labels)), conv.view(s, edit=False)),
        )
    return record(conv, s, slot, value)


def _on_pick(
    conv: Conversation,
    s: Session,
    slot: Slot,
    choices: Sequence[Any],
    draft: list[Any],
    index: int,
) -> Reply:
    kind = slot.question.kind
    extras = own_options(draft, choices) if kind == "multi" else []
    if not 0 <= index < len(choices) + len(extras):
        return conv.stale(s)
    if kind == "multi":
        value = choices[index].value if index < len(choices) else extras[index - len(choices)]
        draft = [v for v in draft if v != value] if value in draft else [*draft, value]
        s.set_state("draft", draft)
        return Reply((conv.view(s, edit=True),))
    if index >= len(choices):
        return conv.stale(s)
    if kind == "order":
        value = choices[index].value
        if value not in draft:
            draft.append(value)
        s.set_state("draft", draft)
        if len(draft) < len(choices):
            return Reply((conv.view(s, edit=True),))
        return record(conv, s, slot, draft)
    return record(conv, s, slot, choices[index].value)


def own_options(draft: list[Any], choices: Sequence[Any]) -> list[Any]:
    """What the buyer typed as own options of a multiple choice (shown after the given ones)."""
    known = [c.value for c in choices]
    return [v for v in draft if v not in known]


def record(conv: Conversation, s: Session, slot: Slot, value: Any) -> Reply:
    q = slot.question
    s.set_answer(slot.id, value)
    s.set_state("draft", None)
    s.set_state("draft_for", None)
    if q.id == "naam" and s.tender is not None:
        s.tender.meta["name"] = value
    notes: list[str] = []
    note = q.notes.get(str(value).lower())
    if note:
        notes.append(conv.texts.inline(note))
    if q.coverage is not None:
        present = {conv.spec.choice_attr(q.id, v, q.coverage.tag) for v in value or []}
        missing = [conv.spec.pillars[p] for p in q.coverage.required if p not in present]
        if missing:
            notes.append(conv.texts.inline(q.coverage.warning, missing=" en ".join(missing)))
    answered = conv.prompter.record(slot, value)
    advance(conv, s, slot)
    return conv.reply(s, *notes, answered=answered)


def advance(conv: Conversation, s: Session, slot: Slot) -> None:
    """Move on from `slot`: back to where a jump came from, else to the next open question."""
    s.push_history(slot.id)
    slots = conv.slots(s)
    ids = [x.id for x in slots]
    back_to = s.tstate.get("return_to")
    s.set_state("return_to", None)
    if back_to and back_to in ids and back_to != slot.id and back_to not in s.answers:
        s.cursor = back_to
    else:
        target = next_open(s, slots, after=slot.id)
        s.cursor = target.id if target else None
    conv.go(s, "finish" if s.cursor is None else "ask")
