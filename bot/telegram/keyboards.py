"""Turning a flow `Message` into Telegram buttons, and button data back into events.

Button data is tiny (`p:<seq>:<index>`): always far below Telegram's 64-byte limit whatever the
option's label, and the prompt counter in it lets the conversation recognise an old button. A
keyboard is bounded (options beyond `MAX_OPTIONS` are typed as their number), so however many own
options a buyer adds, Telegram never refuses the markup.
"""

from __future__ import annotations

import re

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup

from flows.events import Event, Message
from flows.prompting import shorten

MAX_CALLBACK_BYTES = 64
LABEL_MAX = 64
"""A safety net only: labels that long get a `short` label in prompts/flow.yaml."""
PLACEHOLDER_MAX = 64
MAX_OPTIONS = 40
ON, OFF = "☑ ", "☐ "
COMMAND = re.compile(r"[a-z_]{1,32}")
Markup = InlineKeyboardMarkup | ForceReply


def _rows(buttons: list[InlineKeyboardButton], columns: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + columns] for i in range(0, len(buttons), max(columns, 1))]


def keyboard(message: Message, extra: InlineKeyboardButton | None = None) -> Markup | None:
    """Inline buttons for a prompt or menu; a reply field for a question answered by typing."""
    if message.seq is None:
        return None
    if not (message.options or message.actions or message.done_label):
        if message.placeholder is None:
            return None
        hint = shorten(message.placeholder, PLACEHOLDER_MAX) or None
        return ForceReply(input_field_placeholder=hint)
    seq = message.seq
    options = []
    for index, option in enumerate(message.options[:MAX_OPTIONS]):
        mark = (ON if option.selected else OFF) if message.multi and message.columns > 1 else ""
        label = shorten(mark + option.label, LABEL_MAX)
        options.append(InlineKeyboardButton(label, callback_data=f"p:{seq}:{index}"))
    rows = _rows(options, message.columns)
    if message.done_label:
        rows.append([InlineKeyboardButton(message.done_label, callback_data=f"d:{seq}")])
    actions = [
        InlineKeyboardButton(a.label, callback_data=f"a:{seq}:{a.command}") for a in message.actions
    ]
    if extra is not None:
        actions.append(extra)
    rows += _rows(actions, 2 if len(actions) > 2 else len(actions) or 1)
    return InlineKeyboardMarkup(rows)


def event_from_callback(data: str | None) -> Event | None:
    """The event a button stands for, or None for data this bot never made (forged or foreign)."""
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    parts = data.split(":")
    try:
        if parts[0] == "p" and len(parts) == 3:
            return Event.pick(int(parts[2]), int(parts[1]))
        if parts[0] == "d" and len(parts) == 2:
            return Event.done(int(parts[1]))
        if parts[0] == "a" and len(parts) == 3 and COMMAND.fullmatch(parts[2]) is not None:
            return Event.action(parts[2], int(parts[1]))
    except ValueError:
        return None
    return None
