"""Sending to Telegram without letting its moods reach the buyer.

Flood control is PTB's `AIORateLimiter` (it waits what Telegram asks and tries again), the parse
mode and link previews are PTB `Defaults`; what is left here is what only this bot knows: "message
is not modified" is not an error, a blocked bot is not a failure, and an edit that Telegram refuses
(too old, deleted) tells the caller to send a new message instead. The conversation state is saved
before anything is sent, so a send that fails loses no answer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import ForceReply, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden

log = logging.getLogger(__name__)
T = TypeVar("T")
Markup = InlineKeyboardMarkup | ForceReply
CAPTION_MAX = 1024
TOAST_MAX = 200


async def with_retries(call: Callable[[], Awaitable[T]], what: str) -> T | None:
    """Run one Bot API call; None when there is nothing to do about its refusal.

    The name stays from when this retried by hand; flood control is now the rate limiter's.
    """
    try:
        return await call()
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return None
        raise
    except Forbidden:
        log.info("%s: de gebruiker heeft de bot geblokkeerd", what)
        return None


class Sender:
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def text(
        self,
        chat_id: int,
        text: str,
        markup: Markup | None = None,
        *,
        thread_id: int | None = None,
    ) -> Message | None:
        return await with_retries(
            lambda: self.bot.send_message(
                chat_id, text, reply_markup=markup, message_thread_id=thread_id
            ),
            "sendMessage",
        )

    async def edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Edit in place; False when Telegram will not (too old, deleted), so the caller resends."""
        try:
            await with_retries(
                lambda: self.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                ),
                "editMessageText",
            )
        except BadRequest as exc:
            log.info("bewerken lukte niet (%s); stuur een nieuw bericht", exc.message)
            return False
        return True

    async def drop_keyboard(self, chat_id: int, message_id: int) -> None:
        with contextlib.suppress(BadRequest):
            await with_retries(
                lambda: self.bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=None
                ),
                "editMessageReplyMarkup",
            )

    async def delete(self, chat_id: int, message_id: int) -> bool:
        """Remove a message; False when Telegram will not (older than two days), so edit it."""
        try:
            await with_retries(
                lambda: self.bot.delete_message(chat_id=chat_id, message_id=message_id),
                "deleteMessage",
            )
        except BadRequest:
            return False
        return True

    async def document(
        self, chat_id: int, data: bytes, filename: str, caption: str, thread_id: int | None = None
    ) -> None:
        """`caption` is plain text (no markup), like every caption this bot writes."""
        await with_retries(
            lambda: self.bot.send_document(
                chat_id,
                document=data,
                filename=filename,
                caption=caption[:CAPTION_MAX],
                parse_mode=None,
                message_thread_id=thread_id,
            ),
            "sendDocument",
        )

    async def photo(
        self, chat_id: int, data: bytes, filename: str, caption: str, thread_id: int | None = None
    ) -> None:
        await with_retries(
            lambda: self.bot.send_photo(
                chat_id,
                photo=data,
                filename=filename,
                caption=caption[:CAPTION_MAX],
                parse_mode=None,
                message_thread_id=thread_id,
            ),
            "sendPhoto",
        )

    async def answer_callback(self, query: Any, text: str | None = None) -> None:
        with contextlib.suppress(BadRequest):
            await with_retries(
                lambda: query.answer(text=text[:TOAST_MAX] if text else None), "answerCallback"
            )
