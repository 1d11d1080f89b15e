"""Telegram handlers for the private chat: thin translations between updates and the conversation.

One lock per person keeps their updates in order (Telegram may deliver a burst, and PTB handles
updates concurrently), while other people are never held up: the conversation runs in a worker
thread (its save waits for the disk) and documents are made in a worker process.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import render_pool
from bot.telegram.keyboards import event_from_callback, keyboard
from bot.telegram.sender import Sender
from bot.wiring import user_key_for_telegram
from flows.engine import Conversation
from flows.events import DocumentRequest, Event, Reply
from flows.prompting import plain
from flows.report.files import filename
from flows.report.splitting import split_message
from flows.texts import Texts

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "location",
    "contact",
    "poll",
)


def media_kind(update: Update) -> str:
    """Which kind of non-text message this is; its Dutch name is in prompts/texts.yaml."""
    message = update.effective_message
    for kind in MEDIA_KINDS:
        if message is not None and getattr(message, kind, None):
            return kind
    return "other"


class PrivateChat:
    def __init__(
        self,
        conversation: Conversation,
        texts: Texts,
        allowed_users: frozenset[int] | None = None,
        forget: Callable[[int], None] | None = None,
    ) -> None:
        self.conversation = conversation
        self.texts = texts
        self.allowed = allowed_users
        self.forget = forget
        self.locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.last_prompt: dict[int, int] = {}

    # -- gate and entry points -----------------------------------------------------------------

    async def gate(self, update: Update, context: Context) -> None:
        """Stop everything from people who are not on the allow-list, politely."""
        user = update.effective_user
        if self.allowed is None or (user is not None and user.id in self.allowed):
            return
        sender = Sender(context.bot)
        text = self.texts("telegram.not_allowed")
        if update.callback_query is not None:
            await sender.answer_callback(update.callback_query, text)
        elif update.effective_chat is not None and update.effective_message is not None:
            await sender.text(update.effective_chat.id, text)
        raise ApplicationHandlerStop

    async def on_command(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or not message.text or update.effective_user is None:
            return
        head, _, arg = message.text.strip().partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        if name == "start":
            arg = ""
        if update.effective_chat is not None and update.effective_chat.type != ChatType.PRIVATE:
            await self.redirect_group(update, context)
            return
        await self.process(update, context, Event.cmd(name, arg))

    async def on_text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        await self.process(update, context, Event.typed(message.text))

    async def on_media(self, update: Update, context: Context) -> None:
        name = plain(self.texts(f"telegram.media.{media_kind(update)}"))
        await self.process(update, context, Event.media(name))

    async def on_edited(self, update: Update, context: Context) -> None:
        await self.process(update, context, Event("edited"))

    async def on_callback(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        event = event_from_callback(query.data)
        if event is None:
            await Sender(context.bot).answer_callback(query, self.texts("stale_toast"))
            return
        await self.process(update, context, event, query)

    async def redirect_group(self, update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        link = f"https://t.me/{context.bot.username}?start=groep"
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(self.texts("telegram.open_private"), url=link)]]
        )
        await Sender(context.bot).text(chat.id, self.texts("telegram.group_redirect"), markup)

    # -- the work ------------------------------------------------------------------------------

    async def process(
        self, update: Update, context: Context, event: Event, query: CallbackQuery | None = None
    ) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        async with self.locks[user.id]:
            # In a worker thread: the durable save waits for the disk, other buyers need not.
            reply = await asyncio.to_thread(
                self.conversation.handle, user_key_for_telegram(user.id), event
            )
            if reply.forgotten and self.forget is not None:
                await asyncio.to_thread(self.forget, user.id)
            await self.deliver(Sender(context.bot), chat.id, reply, query)

    async def deliver(
        self, sender: Sender, chat_id: int, reply: Reply, query: CallbackQuery | None
    ) -> None:
        if query is not None:
            await sender.answer_callback(query, reply.toast)
        source = query.message if query is not None else None
        source_id = source.message_id if source is not None else None
        answered = reply.answered
        if source_id is not None and answered and source is not None:
            original = getattr(source, "text_html", None) or ""
            done = f"{original}\n\n<b>{answered}</b>"  # `answered` is already escaped
            if len(done) > 4096 or not await sender.edit(chat_id, source_id, done, None):
                await sender.drop_keyboard(chat_id, source_id)
            self.last_prompt.pop(chat_id, None)
        for message in reply.messages:
            markup = keyboard(message)
            parts = split_message(message.text)
            editable = message.edit and source_id is not None and len(parts) == 1
            if editable and await sender.edit(chat_id, int(source_id or 0), parts[0], markup):
                continue
            if markup is not None:
                await self._retire_prompt(sender, chat_id)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                sent = await sender.text(chat_id, part, markup if last else None)
                if last and markup is not None and sent is not None:
                    self.last_prompt[chat_id] = sent.message_id
        if reply.documents is not None:
            await self.send_documents(sender, chat_id, reply.documents)

    async def _retire_prompt(self, sender: Sender, chat_id: int) -> None:
        """Old questions lose their buttons, so the chat shows one live question at a time."""
        previous = self.last_prompt.pop(chat_id, None)
        if previous is not None:
            await sender.drop_keyboard(chat_id, previous)

    async def send_documents(self, sender: Sender, chat_id: int, request: DocumentRequest) -> None:
        try:
            await sender.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        except Exception:
            log.debug("chat action mislukt", exc_info=True)
        files = await render_pool.render(request)
        caption = plain(self.texts("report.download_caption", name=request.name))
        for fmt, data in files.items():
            name = filename(request, fmt)
            if fmt == "png":
                await sender.photo(chat_id, data, name, caption)
            else:
                caption = plain(self.texts(f"telegram.caption.{fmt}"))
                await sender.document(chat_id, data, name, caption)

    async def on_error(self, update: object, context: Context) -> None:
        log.error("onverwachte fout bij een update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await Sender(context.bot).text(
                    update.effective_chat.id, self.texts("telegram.apology")
                )
            except Exception:
                log.warning("excuses sturen mislukt", exc_info=True)
