"""Building and running the Telegram application (long polling).

`build_application` is shared by `inkoopkompas telegram`, the tests (pointed at a fake Bot API on
127.0.0.1 through `TELEGRAM_API_BASE_URL`) and the benchmarks (with an offline request class), so
all three run exactly the same handlers.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.error import InvalidToken
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import render_pool
from bot.alerts import error_handler
from bot.config import Settings
from bot.logging_setup import setup_logging
from bot.telegram.contract import register_contract
from bot.telegram.group import register_group_handlers, register_group_help
from bot.telegram.handlers import PrivateChat
from bot.wiring import StorageProblem, open_store
from flows.engine import Conversation
from flows.report.summary import chat_summary
from flows.texts import Texts, default_texts
from storage import Store

log = logging.getLogger(__name__)
GROUP_COMMANDS = ("ambitiecheck", "uitslag", "download", "verwijder", "help")


def file_url(base_url: str) -> str:
    """The file endpoint that belongs to a self-hosted Bot API base URL."""
    head, sep, tail = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else base_url


def build_application(
    settings: Settings,
    store: Store,
    *,
    request: BaseRequest | None = None,
    texts: Texts | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    texts = texts or default_texts()
    assert settings.token is not None
    builder = ApplicationBuilder().token(settings.token).concurrent_updates(True)
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url).base_file_url(
            file_url(settings.api_base_url)
        )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    builder = builder.post_init(lambda app: start_up(app, texts))
    app = builder.build()

    conversation = Conversation(store, buttons=True, summarizer=chat_summary)
    chat = PrivateChat(conversation, texts, settings.allowed_users)
    app.bot_data["private_chat"] = chat
    app.add_handler(TypeHandler(Update, chat.gate), group=-1)
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE
    # hook: contract phase (bot/telegram/contract.py): /koppel in groups and "c:" reminder
    # buttons, before the team check's catch-all for group commands.
    register_contract(app, store, conversation)
    # Team ambition check (bot/telegram/group.py): registered first so its commands and its
    # "g:" buttons are answered there, before the private chat's catch-all handlers.
    checks = register_group_handlers(app, store)
    chat.forget = checks.forget_person
    register_group_help(app, checks)  # after every group command, before the catch-all
    app.add_handler(MessageHandler(new & filters.COMMAND, chat.on_command))
    app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, chat.on_edited))
    app.add_handler(MessageHandler(new & private & filters.TEXT & ~filters.COMMAND, chat.on_text))
    app.add_handler(
        MessageHandler(new & private & ~filters.TEXT & ~filters.StatusUpdate.ALL, chat.on_media)
    )
    app.add_handler(CallbackQueryHandler(chat.on_callback))
    app.add_error_handler(chat.on_error)
    app.add_error_handler(error_handler(settings.operator_chat, settings.token))  # bot/alerts.py
    return app


async def start_up(app: Application[Any, Any, Any, Any, Any, Any], texts: Texts) -> None:
    await register_commands(app, texts)
    await render_pool.warm_up()


async def register_commands(app: Application[Any, Any, Any, Any, Any, Any], texts: Texts) -> None:
    """The command menu in Telegram, with Dutch descriptions from `prompts/texts.yaml`."""
    commands = dict(texts.section("commands"))
    private = [BotCommand(name, str(text)) for name, text in commands.items()]
    await app.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
    group_texts = dict(texts.section("group_commands"))
    group = [
        BotCommand(name, str(group_texts[name])) for name in GROUP_COMMANDS if name in group_texts
    ]
    await app.bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats())


def run_polling(settings: Settings) -> int:
    setup_logging(settings.log_level, settings.token)
    store = open_store(settings.data_dir, StorageProblem)
    app = build_application(settings, store)
    log.info("Inkoopkompas start (gegevens in %s)", settings.data_dir)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=-1)
    except InvalidToken:
        print(
            "inkoopkompas: Telegram weigert het token; "
            "controleer TELEGRAM_BOT_TOKEN bij @BotFather",
            file=sys.stderr,
        )
        return 2
    log.info("Inkoopkompas gestopt; alles is bewaard")
    return 0
