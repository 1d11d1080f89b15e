"""Turning a flow `Message` into Telegram text and inline buttons, and button data back into events.

Button data is tiny (`p:<seq>:<index>`): always far below Telegram's 64-byte limit whatever the
option's label, and the prompt counter in it lets the conversation recognise an old button.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from flows.events import Event, Message
from flows.prompting import shorten

MAX_CALLBACK_BYTES = 64
LABEL_MAX = 60
CHECK = "✅ "


def _label(text: str) -> str:
    return shorten(text, LABEL_MAX)


def keyboard(message: Message) -> InlineKeyboardMarkup | None:
    if message.seq is None or not (message.options or message.actions or message.done_label):
        return None
    seq = message.seq
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for index, option in enumerate(message.options):
        mark = CHECK if message.multi and option.selected else ""
        row.append(
            InlineKeyboardButton(_label(mark + option.label), callback_data=f"p:{seq}:{index}")
        )
        if len(row) >= message.columns:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    if message.done_label:
        rows.append([InlineKeyboardButton(message.done_label, callback_data=f"d:{seq}")])
    actions = [
        InlineKeyboardButton(a.label, callback_data=f"a:{seq}:{a.command}") for a in message.actions
    ]
    if actions:
        rows.append(actions)
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
        if parts[0] == "a" and len(parts) == 3 and parts[2].isalpha():
            return Event.action(parts[2], int(parts[1]))
    except ValueError:
        return None
    return None
