"""Sending to Telegram without letting its moods reach the buyer.

Flood control waits the time Telegram asks for and tries again; timeouts and network errors are
retried a few times; "message is not modified" is not an error at all; an edit that Telegram
refuses falls back to a new message. The conversation state is already saved before anything is
sent, so a send that finally fails loses no answer: the buyer's next message shows the question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 4
MAX_FLOOD_WAIT = 60.0


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


async def with_retries(call: Callable[[], Awaitable[T]], what: str) -> T | None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            wait = min(_seconds(exc.retry_after), MAX_FLOOD_WAIT)
            log.warning("%s: flood control, wacht %.1f s (poging %d)", what, wait, attempt)
            await asyncio.sleep(wait)
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return None
            raise
        except Forbidden:
            log.info("%s: de gebruiker heeft de bot geblokkeerd", what)
            return None
        except (TimedOut, NetworkError) as exc:
            if attempt == ATTEMPTS:
                raise
            log.warning("%s: %s, opnieuw (poging %d)", what, type(exc).__name__, attempt)
            await asyncio.sleep(0.5 * attempt)
    return None


class Sender:
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def text(
        self,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        thread_id: int | None = None,
    ) -> Message | None:
        return await with_retries(
            lambda: self.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
                message_thread_id=thread_id,
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
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    disable_web_page_preview=True,
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

    async def document(
        self, chat_id: int, data: bytes, filename: str, caption: str, thread_id: int | None = None
    ) -> None:
        await with_retries(
            lambda: self.bot.send_document(
                chat_id,
                document=data,
                filename=filename,
                caption=caption[:1024],
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
                caption=caption[:1024],
                message_thread_id=thread_id,
            ),
            "sendPhoto",
        )

    async def answer_callback(self, query: Any, text: str | None = None) -> None:
        with contextlib.suppress(BadRequest):
            await with_retries(
                lambda: query.answer(text=text[:200] if text else None), "answerCallback"
            )
