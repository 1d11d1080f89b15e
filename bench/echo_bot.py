"""The baseline of the over-HTTP benchmark: the smallest useful PTB bot, run as its own process.

It long-polls the Bot API at TELEGRAM_API_BASE_URL like the product does, echoes every text and
answers every button press with a message, so it makes about as many calls as a minimal bot can.
"""

from __future__ import annotations

import os
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)


async def echo(update: Update, context: Any) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "…")


async def answer(update: Update, context: Any) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await context.bot.send_message(update.callback_query.from_user.id, "ok")


def add_echo_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The baseline's whole behaviour, shared with the in-process benchmark's echo bot."""
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(answer))


def main() -> None:
    app = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .concurrent_updates(True)
        .build()
    )
    add_echo_handlers(app)
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
