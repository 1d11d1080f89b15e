"""The conversation engine's public face; the rooms themselves are in `flows/conversation/`."""

from __future__ import annotations

from flows.conversation.core import Conversation, MenuView, Position, Summarizer
from flows.conversation.machine import MENU_MODES, MODES
from flows.conversation.menus import ALL, PAGE_SIZE

__all__ = [
    "ALL",
    "MENU_MODES",
    "MODES",
    "PAGE_SIZE",
    "Conversation",
    "MenuView",
    "Position",
    "Summarizer",
]
