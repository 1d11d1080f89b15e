"""Telegram handlers for the private chat: thin translations between updates and the conversation.

One lock per chat keeps a person's updates in order (Telegram may deliver a burst, and PTB handles
updates concurrently) while other people are never held up: the conversation runs in a worker
thread (its save waits for the disk) and documents are made in a worker process. How a reply is
shown (edited into the live message or sent below) is decided here; see `window.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import render_pool
from bot.telegram.keyboards import Markup, event_from_callback, keyboard
from bot.telegram.sender import Sender
from bot.telegram.window import Window, Windows
from bot.wiring import user_key_for_telegram
from flows.contract.documents import is_progress
from flows.engine import Conversation
from flows.events import DocumentRequest, Event, Message, Reply
from flows.prompting import END_ACTIONS, plain
from flows.report.files import filename
from flows.report.splitting import split_message
from flows.texts import Texts
from storage import SaveFailed

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
LIVE_KEY = "telegram_live"
TEXT_LIMIT = 4096
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
END_COMMANDS = tuple(command for _key, command in END_ACTIONS)


def media_kind(update: Update) -> str:
    """Which kind of non-text message this is; its Dutch name is in prompts/texts.yaml."""
    message = update.effective_message
    for kind in MEDIA_KINDS:
        if message is not None and getattr(message, kind, None):
            return kind
    return "other"


def thread_of(update: Update) -> int | None:
    """The forum topic an update came from, so the answer lands in the same topic."""
    message = update.effective_message
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


def inline(markup: Markup | None) -> InlineKeyboardMarkup | None:
    """The markup an edit can carry: a reply field cannot be edited in (the question works
    without it; it only saves a tap)."""
    return markup if isinstance(markup, InlineKeyboardMarkup) else None


class LockView:
    """`locks[chat_id]`: the chat's lock, for features that must queue behind its updates (the
    contract reminders). Pruned with the chat's window."""

    def __init__(self, windows: Windows) -> None:
        self.windows = windows

    def __getitem__(self, chat_id: int) -> asyncio.Lock:
        return self.windows.lock(chat_id)


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
        self.windows = Windows()
        self.locks = LockView(self.windows)

    # -- gate and entry points -----------------------------------------------------------------

    async def gate(self, update: Update, context: Context) -> None:
        """Stop everything from people who are not on the allow-list, politely where it is a
        person asking; channel posts and anonymous administrators get no answer at all."""
        user = update.effective_user
        query = update.callback_query
        if query is not None and not query.data:
            # Not one of ours (Telegram sends 1-64 bytes); PTB would match it to any pattern.
            await Sender(context.bot).answer_callback(query, self.texts("stale_toast"))
            raise ApplicationHandlerStop
        if self.allowed is None or (user is not None and user.id in self.allowed):
            return
        chat, message = update.effective_chat, update.effective_message
        anonymous = message is not None and message.sender_chat is not None
        if user is None or anonymous or (chat is not None and chat.type == ChatType.CHANNEL):
            raise ApplicationHandlerStop
        sender = Sender(context.bot)
        text = self.texts("telegram.not_allowed")
        if update.callback_query is not None:
            await sender.answer_callback(update.callback_query, text)
        elif chat is not None and message is not None:
            await sender.text(chat.id, text, thread_id=thread_of(update))
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
        await Sender(context.bot).text(
            chat.id, self.texts("telegram.group_redirect"), markup, thread_id=thread_of(update)
        )

    # -- the work ------------------------------------------------------------------------------

    async def process(
        self, update: Update, context: Context, event: Event, query: CallbackQuery | None = None
    ) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        event = dataclasses.replace(event, update_id=update.update_id)
        log.debug("update %d: %s in chat %d", update.update_id, event.kind, chat.id)
        key = user_key_for_telegram(user.id)
        window = self.windows.get(chat.id)
        async with window.lock:
            if update.effective_message is not None and query is None:
                window.see(update.effective_message.message_id)
            if not window.loaded:
                await self._load_live(key, window)
            # In a worker thread: the durable save waits for the disk, other buyers need not.
            try:
                reply = await asyncio.to_thread(self.conversation.handle, key, event)
            except SaveFailed as exc:
                await self.not_saved(Sender(context.bot), chat.id, exc, query, thread_of(update))
                return
            if reply.forgotten:
                render_pool.forget_documents()
                if self.forget is not None:
                    await asyncio.to_thread(self.forget, user.id)
            live_before = window.live
            view = View(Sender(context.bot), chat.id, window, self, thread_of(update))
            await view.show(reply, query)
            if window.live != live_before and not reply.forgotten:
                try:
                    await asyncio.to_thread(self._save_live, key, window.live)
                except SaveFailed as exc:  # the answer is stored; only the restart hint is not
                    log.warning("live message of chat %d not saved: %s", chat.id, exc)
        if reply.forgotten:
            self.windows.drop(chat.id)

    async def not_saved(
        self,
        sender: Sender,
        chat_id: int,
        exc: SaveFailed,
        query: CallbackQuery | None = None,
        thread_id: int | None = None,
    ) -> None:
        """The answer was not made durable, so it is not acknowledged: the question stays as it
        is (buttons and all), the person reads why in one line (a toast for a press) and can
        simply try again; the operator gets one line naming the cause, without the answer."""
        log.error("answer not saved in chat %d (%s): %s", chat_id, exc.kind, exc)
        text = self.texts(
            "telegram.not_saved", reason=self.texts(f"telegram.not_saved_reason.{exc.kind}")
        )
        if query is not None:
            await sender.answer_callback(query, plain(text))
        else:
            await sender.text(chat_id, text, thread_id=thread_id)

    async def _load_live(self, key: str, window: Window) -> None:
        """After a restart, the live message is only known from the person's own document."""
        window.loaded = True
        if window.live is not None:
            return
        doc = await asyncio.to_thread(self.conversation.repo.get_user, key)
        stored = (doc or {}).get(LIVE_KEY)
        if isinstance(stored, int):
            window.live, window.inline = stored, True

    def _save_live(self, key: str, live: int | None) -> None:
        doc = self.conversation.repo.get_user(key)
        if doc is None or doc.get(LIVE_KEY) == live:
            return
        self.conversation.repo.save_user(key, {**doc, LIVE_KEY: live})

    async def send_documents(
        self,
        sender: Sender,
        chat_id: int,
        request: DocumentRequest,
        thread_id: int | None = None,
        before_text: Callable[[], Any] | None = None,
    ) -> None:
        """The chart first, then (via `before_text`) any text, then the files."""
        try:
            await sender.bot.send_chat_action(
                chat_id, ChatAction.UPLOAD_DOCUMENT, message_thread_id=thread_id
            )
        except Exception:
            log.debug("chat action mislukt", exc_info=True)
        files = await render_pool.render(request)
        progress = is_progress(request)
        captions = "caption_progress" if progress else "caption"
        if "png" in files:
            caption = plain(
                self.texts(f"telegram.{captions}.png")
                if progress
                else self.texts("report.download_caption", name=request.name)
            )
            await sender.photo(chat_id, files["png"], filename(request, "png"), caption, thread_id)
        if before_text is not None:
            await before_text()
        for fmt, data in files.items():
            if fmt == "png":
                continue
            caption = plain(self.texts(f"telegram.{captions}.{fmt}"))
            await sender.document(chat_id, data, filename(request, fmt), caption, thread_id)

    async def on_error(self, update: object, context: Context) -> None:
        if isinstance(context.error, SaveFailed) and isinstance(update, Update):
            chat = update.effective_chat
            if chat is not None:  # a save outside the conversation (a contract or group step)
                with contextlib.suppress(Exception):
                    await self.not_saved(
                        Sender(context.bot), chat.id, context.error, update.callback_query
                    )
                return
        log.error("onverwachte fout bij een update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await Sender(context.bot).text(
                    update.effective_chat.id, self.texts("telegram.apology")
                )
            except Exception:
                log.warning("excuses sturen mislukt", exc_info=True)


@dataclasses.dataclass
class View:
    """Shows one reply in one chat: edits the live message where it can, sends where it must."""

    sender: Sender
    chat_id: int
    window: Window
    chat: PrivateChat
    thread_id: int | None

    async def show(self, reply: Reply, query: CallbackQuery | None) -> None:
        pressed = query.message.message_id if query is not None and query.message else None
        if query is not None:
            await self.sender.answer_callback(query, reply.toast)
        prompt = reply.prompt
        notes = [m.text for m in reply.messages if m is not prompt]
        if query is not None and reply.toast:
            notes = []  # the toast said it
            if reply.answered is None:
                shows_buttons = query.message is not None and bool(
                    getattr(query.message, "reply_markup", None)
                )
                await self._after_refusal(pressed, prompt, shows_buttons)
                return
        if reply.documents is not None and prompt is not None:
            await self._summary(reply, prompt, notes, pressed)
            return
        if prompt is None:
            await self._close(reply, notes, pressed)
        else:
            await self._prompt(reply, prompt, notes, pressed)
        if reply.documents is not None:
            await self.chat.send_documents(
                self.sender, self.chat_id, reply.documents, self.thread_id
            )

    async def _after_refusal(
        self, pressed: int | None, prompt: Message | None, shows_buttons: bool
    ) -> None:
        """A stale or refused press: the toast is all; an old message loses its buttons."""
        w = self.window
        if pressed is not None and pressed != w.live:
            if shows_buttons:
                await self.sender.drop_keyboard(self.chat_id, pressed)
            return
        if prompt is not None and w.live is not None:
            # The live keyboard is right unless the view has moved on (a new number).
            await self._edit_live(self._compose(prompt, []), inline(keyboard(prompt)))

    async def _prompt(
        self, reply: Reply, prompt: Message, notes: list[str], pressed: int | None
    ) -> None:
        w = self.window
        record = reply.answered
        in_place = pressed is not None and pressed == w.live and w.at_bottom
        if in_place and (record is None or w.room_for(record)):
            if record:
                w.records.append(record)
            markup = inline(keyboard(prompt, self._extra(prompt)))
            if await self._edit_live(self._compose(prompt, notes), markup):
                w.typed = prompt.placeholder is not None
                return
        await self._retire(record, typed=pressed is None)
        await self._send_live(prompt, notes)

    async def _close(self, reply: Reply, notes: list[str], pressed: int | None) -> None:
        """No question follows. A pressed menu or confirmation becomes its result; otherwise the
        result is sent, and the question stays live (after /download, say) unless the person's
        data is gone."""
        w = self.window
        text = "\n\n".join(notes)
        if pressed is not None and pressed == w.live and text:
            body = "\n\n".join(p for p in (w.folded(), text) if p)
            if len(plain(body)) <= TEXT_LIMIT and await self.sender.edit(
                self.chat_id, pressed, body, None
            ):
                w.forget_live()
                return
        if reply.forgotten or pressed == w.live:
            await self._retire(None, typed=False)
            w.forget_live()
        for part in split_message(text):
            await self._send(part, None)

    async def _summary(
        self, reply: Reply, prompt: Message, notes: list[str], pressed: int | None
    ) -> None:
        """The summary: the chart first, then the text by section, the files, the end menu."""
        assert reply.documents is not None
        await self._retire(None, typed=pressed is None)
        self.window.forget_live()

        async def text() -> None:
            for note in notes:
                for part in split_message(note):
                    await self._send(part, None)

        await self.chat.send_documents(
            self.sender, self.chat_id, reply.documents, self.thread_id, before_text=text
        )
        await self._send_live(prompt, [])

    # -- the live message ----------------------------------------------------------------------

    def _compose(self, prompt: Message, notes: list[str]) -> str:
        parts = [self.window.folded(), *notes, prompt.text]
        text = "\n\n".join(p.strip() for p in parts if p and p.strip())
        if len(plain(text)) > TEXT_LIMIT - 96:
            text = "\n\n".join(p.strip() for p in (*notes, prompt.text) if p and p.strip())
        return text

    def _extra(self, prompt: Message) -> InlineKeyboardButton | None:
        """The end menu's team check: a link that adds the bot to a group of the buyer's choice."""
        if tuple(a.command for a in prompt.actions) != END_COMMANDS:
            return None
        username = getattr(self.sender.bot, "username", None)
        label = self.chat.texts("telegram.team_check")
        return InlineKeyboardButton(label, url=f"https://t.me/{username}?startgroup=ambitiecheck")

    async def _edit_live(self, text: str, markup: Any) -> bool:
        w = self.window
        if w.live is None:
            return False
        if w.is_showing(text, markup):
            return True
        if len(plain(text)) > TEXT_LIMIT or not await self.sender.edit(
            self.chat_id, w.live, text, markup
        ):
            return False
        w.show(text, markup)
        w.inline = markup is not None
        return True

    async def _retire(self, record: str | None, *, typed: bool) -> None:
        """The live message stops being live: it keeps its records (plus this answer's) and loses
        its question; without records it goes, so no question is ever shown twice. A typed
        question answered by typing stays as it is: the reply under it is its record."""
        w = self.window
        if w.live is None:
            return
        if typed and record is not None and w.typed:
            # Their message under the question is the record; only spent buttons go.
            if w.inline:
                await self.sender.drop_keyboard(self.chat_id, w.live)
            return
        lines = [*w.records, *([record] if record else [])]
        if lines:
            text = "\n".join(lines)
            if not w.is_showing(text) and not await self.sender.edit(
                self.chat_id, w.live, text, None
            ):
                await self.sender.drop_keyboard(self.chat_id, w.live)
        elif not await self.sender.delete(self.chat_id, w.live):
            await self.sender.drop_keyboard(self.chat_id, w.live)

    async def _send_live(self, prompt: Message, notes: list[str]) -> None:
        w = self.window
        w.forget_live()
        markup = keyboard(prompt, self._extra(prompt))
        text = self._compose(prompt, notes)
        parts = split_message(text) if len(plain(text)) > TEXT_LIMIT - 96 else [text]
        for part in parts[:-1]:
            await self._send(part, None)
        sent = await self._send(parts[-1], markup)
        if sent is not None and markup is not None:
            w.live = sent.message_id
            w.show(parts[-1], markup)
            w.inline = isinstance(markup, InlineKeyboardMarkup)
            w.typed = prompt.placeholder is not None

    async def _send(self, text: str, markup: Any) -> Any:
        sent = await self.sender.text(self.chat_id, text, markup, thread_id=self.thread_id)
        if sent is not None:
            self.window.see(sent.message_id)
        return sent
