"""Building and running the Telegram application (long polling, or a webhook behind a proxy).

`build_application` is shared by `inkoopkompas telegram`, the tests (pointed at a fake Bot API on
127.0.0.1 through `TELEGRAM_API_BASE_URL`, or given an in-process request) and the benchmarks, so
all of them run exactly the same handlers. PTB does what PTB does: `Defaults` for the parse mode
and link previews, `AIORateLimiter` for flood control, its own webhook server. Only the HTTP
client is the bot's own choice (`bot/telegram/transport.py`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import render_pool
from bot.alerts import error_handler
from bot.config import Settings
from bot.logging_setup import setup_logging
from bot.telegram.bounded import BoundedApplication, trim_malloc, tune_malloc
from bot.telegram.contract import register_contract
from bot.telegram.group import GroupChecks, register_group_handlers, register_group_help
from bot.telegram.handlers import PrivateChat
from bot.telegram.transport import AiohttpRequest
from bot.wiring import StorageProblem, open_store
from flows.engine import Conversation
from flows.report.summary import chat_summary
from flows.texts import Texts, default_texts
from storage import Store

log = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, Any, Any]
GROUP_COMMANDS = ("ambitiecheck", "uitslag", "download", "verwijder", "help")
POOL_SIZE = 16
"""Connections for Bot API calls: far more than Telegram's 30 messages a second need, as each
call takes a fraction of a second."""
START_ATTEMPTS = 5
FORGET_EVERY = 300.0
"""How often the memory of chats and people gone quiet is let go of, when nothing else does it."""


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
) -> App:
    texts = texts or default_texts()
    assert settings.token is not None
    defaults = Defaults(
        parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    builder = (
        ApplicationBuilder()
        .application_class(BoundedApplication)  # no per-chat memory for a persistence
        .token(settings.token)
        .concurrent_updates(True)
        .defaults(defaults)
        .rate_limiter(AIORateLimiter(overall_max_rate=settings.max_rate, max_retries=3))
    )
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url).base_file_url(
            file_url(settings.api_base_url)
        )
    if request is None:
        request = AiohttpRequest(POOL_SIZE)
        polling: BaseRequest = AiohttpRequest(1)
    else:
        polling = request
    builder = builder.request(request).get_updates_request(polling)
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
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            forgetting(chat, checks, store),
            interval=FORGET_EVERY,
            first=FORGET_EVERY,
            name="forget_quiet",
        )
    return app


def forgetting(
    chat: PrivateChat, checks: GroupChecks, store: Store
) -> Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """Nothing is kept for buyers gone quiet (performance target 7). Most of it goes when the
    next person comes by; this job also empties a bot that nobody talks to any more."""

    async def forget_quiet(_: ContextTypes.DEFAULT_TYPE) -> None:
        chat.windows.sweep()
        checks.forget_quiet()
        store.forget_quiet()
        trim_malloc()

    return forget_quiet


async def start_up(app: App, texts: Texts) -> None:
    await introduce(app, texts)
    await render_pool.warm_up()


async def introduce(app: App, texts: Texts, pause: float = 1.0) -> None:
    """The command menus and the description, in Dutch. Telegram sometimes answers these with a
    passing 5xx or 400 at start-up; that is retried and then only logged (one line, no traceback),
    because a bot without a fresh menu still works."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            await register_commands(app, texts)
            await app.bot.set_my_description(texts("telegram.description"))
            await app.bot.set_my_short_description(texts("telegram.short_description"))
            return
        except InvalidToken:
            raise
        except (NetworkError, TelegramError) as exc:
            log.warning(
                "menu en beschrijving instellen lukte niet (%s: %s), poging %d van %d",
                type(exc).__name__,
                exc.message if hasattr(exc, "message") else exc,
                attempt,
                START_ATTEMPTS,
            )
            await asyncio.sleep(pause * attempt)
    log.warning("menu en beschrijving niet ingesteld; de bot werkt verder zonder")


async def register_commands(app: App, texts: Texts) -> None:
    """The command menus: the few commands people use in a private chat, the team check's in
    groups. Everything else still works when typed (see /help)."""
    menu = texts.section("telegram")["menu_commands"]
    private = [BotCommand(name, str(text)) for name, text in menu.items()]
    await app.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
    group_texts = dict(texts.section("group_commands"))
    group = [
        BotCommand(name, str(group_texts[name])) for name in GROUP_COMMANDS if name in group_texts
    ]
    await app.bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats())


def run_bot(settings: Settings) -> int:
    """Long polling by default; a webhook server when a webhook address is configured."""
    setup_logging(settings.log_level, settings.token, secrets=(settings.webhook_secret,))
    tune_malloc()  # resident memory stays flat over the hours (bot/telegram/bounded.py)
    store = open_store(settings.data_dir, StorageProblem)
    app = build_application(settings, store)
    log.info("Inkoopkompas start (gegevens in %s)", settings.data_dir)
    try:
        if settings.webhook_url:
            run_webhook(app, settings)
        else:
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


def run_webhook(app: App, settings: Settings) -> None:
    assert settings.webhook_url is not None
    # Without a configured secret, a fresh one per start: setWebhook tells Telegram each time.
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    path = urlsplit(settings.webhook_url).path.strip("/")
    log.info(
        "webhook op %s:%d/%s voor %s",
        settings.webhook_listen,
        settings.webhook_port,
        path,
        settings.webhook_url,
    )
    app.run_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=path,
        webhook_url=settings.webhook_url,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
        bootstrap_retries=-1,
    )
