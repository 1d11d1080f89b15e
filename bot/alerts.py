"""Unexpected errors sent to an operator chat, so a fault is seen before a buyer complains.

The alert names the kind of update and the person's numeric id, the exception's type and where it
was raised (file, line, function): enough to find the fault, nothing the person wrote. Exception
messages are left out on purpose, because they can quote input (a parse error repeats the text it
could not read); the token is masked anyway. Sending an alert must never raise: a broken alert
path only logs.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.logging_setup import RedactTokens

log = logging.getLogger(__name__)
FRAMES = 6
UPDATE_KINDS = (
    "message",
    "edited_message",
    "callback_query",
    "channel_post",
    "my_chat_member",
    "chat_member",
)


def update_kind(update: object) -> str:
    if not isinstance(update, Update):
        return "geen update" if update is None else type(update).__name__
    for kind in UPDATE_KINDS:
        if getattr(update, kind, None) is not None:
            return kind
    return "update"


def format_alert(error: BaseException, update: object, token: str | None) -> str:
    user = update.effective_user if isinstance(update, Update) else None
    frames = traceback.extract_tb(error.__traceback__)[-FRAMES:]
    where = "\n".join(f"  {f.filename}:{f.lineno} in {f.name}" for f in frames)
    text = (
        f"Inkoopkompas: onverwachte fout {type(error).__name__}\n"
        f"update: {update_kind(update)}, gebruiker: {user.id if user else '-'}\n"
        f"{where or '  (geen traceback)'}"
    )
    return RedactTokens((token,) if token else ()).redact(text)


Handler = Callable[[object, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def error_handler(operator_chat: int | None, token: str | None) -> Handler:
    """A PTB error handler that sends each unexpected error to `operator_chat` (if set)."""

    async def send(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if operator_chat is None or context.error is None:
            return
        try:
            await context.bot.send_message(
                operator_chat, format_alert(context.error, update, token)
            )
        except Exception:  # the alert path must never take the bot down
            log.warning("kon de foutmelding niet naar de beheerder sturen", exc_info=False)

    return send
