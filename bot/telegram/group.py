"""The team ambition check in Telegram: `/ambitiecheck`, `/uitslag`, and in groups `/download`,
`/verwijder` and a short help for every other command, plus the board's buttons (callback data
starting with `g:`).

This module only translates: it parses buttons and commands, asks Telegram who is an
administrator, throttles board edits and sends. The rules and the bookkeeping (who may vote,
choose, close, wipe; a vote survives a restart; deleting a person's data) are in
`flows.teamcheck.workflow`, whose synchronous methods run in a worker thread so their fsyncs do
not stall other chats. Everything works with privacy mode on: the bot only needs commands and
button presses.

Board edits are throttled. Telegram allows about 20 messages a minute in a group, and edits
count, so a vote only marks the board dirty; `BoardRefresher` keeps at most one pending task per
chat that waits until the interval since the previous edit has passed (4 seconds in a group, so
at most 15 edits a minute however busy; 1 second in a private quick scan), then renders the
*latest* stored state and edits once. Presses meanwhile are absorbed into that edit, so the last
state always reaches the board and no vote is lost. Every press gets its own toast at once,
after its save; toasts are answers to the presser, not messages in the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram.sender import Sender, with_retries
from bot.telegram.window import shows
from bot.wiring import user_key_for_telegram
from flows.prompting import shorten
from flows.report.splitting import split_message
from flows.teamcheck import (
    Forgotten,
    Place,
    SourceChoice,
    TeamCheck,
    TeamChecks,
    TeamResult,
    TeamTexts,
    TenderOption,
    board_text,
    chart_png,
    docx_filename,
    my_votes_toast,
    result_docx,
    result_text,
    team_texts,
    theme_toast,
)
from storage import StorageError, Store
from storage.cache import Recent

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
REFRESH_INTERVAL = 4.0
PRIVATE_REFRESH_INTERVAL = 1.0
BUTTON_LABEL_MAX = 34
ADMIN_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
WIPE = "w"
DEEP_LINK = re.compile(r"tc_(-?\d{1,20})_([0-9a-f]{6})")
TEAM_COMMANDS = frozenset({"ambitiecheck", "uitslag", "download", "verwijder"})
EDITED_SECONDS = 60.0
"""How long the time of a board's last edit is kept: far beyond the longest interval."""
SHOWN_SECONDS = 3600.0
"""How long what a board shows is kept, to skip an edit that would change nothing. After that
an edit is simply made again (Telegram answers "not modified" if it was the same)."""

Spawn = Callable[[Coroutine[Any, Any, None]], Any]


# ---------------------------------------------------------------------------------------------
# Button data, always within Telegram's 64 bytes:
#   g:<check>:<theme>:<level>  vote        g:<check>:<theme>  the theme's name row
#   g:<check>:m  my votes      g:<check>:x  close              g:w:j / g:w:n  wipe or keep
#   g:<choice>:b:<chat>  base themes       g:<choice>:t<tender id>:<chat>  a tender's themes


PressKind = Literal["vote", "label", "mine", "close", "choose", "wipe"]
_CHAT = re.compile(r"-?\d{1,20}")
_TENDER = re.compile(r"t[a-z0-9_-]{1,40}")


@dataclass(frozen=True)
class Press:
    kind: PressKind
    ident: str
    index: int = 0
    level: int = 0
    chat_id: int = 0
    tender_id: str | None = None


def vote_data(check_id: str, index: int, level: int) -> str:
    return f"g:{check_id}:{index}:{level}"


def choice_data(choice_id: str, chat_id: int, tender_id: str | None) -> str:
    option = "b" if tender_id is None else f"t{tender_id}"
    return f"g:{choice_id}:{option}:{chat_id}"


def parse_press(data: str | None) -> Press | None:
    """The press a button stands for, or None for data this module never made."""
    if not data or len(data.encode("utf-8")) > 64:
        return None
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != "g" or not parts[1].isalnum() or not parts[1].isascii():
        return None
    ident, rest = parts[1], parts[2:]
    if ident == WIPE and len(rest) == 1 and rest[0] in ("j", "n"):
        return Press("wipe", ident, level=1 if rest[0] == "j" else 0)
    if len(rest) == 1 and rest[0] in ("x", "m"):
        return Press("close" if rest[0] == "x" else "mine", ident)
    if len(rest) == 1 and _digits(rest[0]):
        return Press("label", ident, index=int(rest[0]))
    if len(rest) == 2 and _digits(rest[0]) and _digits(rest[1]):
        return Press("vote", ident, index=int(rest[0]), level=int(rest[1]))
    if len(rest) == 2 and _CHAT.fullmatch(rest[1]):
        if rest[0] == "b":
            return Press("choose", ident, chat_id=int(rest[1]))
        if _TENDER.fullmatch(rest[0]):
            return Press("choose", ident, chat_id=int(rest[1]), tender_id=rest[0][1:])
    return None


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 3


def _label(text: str) -> str:
    return shorten(text, BUTTON_LABEL_MAX)


def board_markup(check: TeamCheck, t: TeamTexts) -> InlineKeyboardMarkup | None:
    """Per theme a row with its number and name (a tap tells you your own vote), and under it
    a row 0-3; the name gets a whole row so it is readable on a phone. In a private scan the
    only voter sees their own level ticked."""
    if check.closed:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    mine = check.mine(check.starter_id) if check.private else {}
    for index, (value, label) in enumerate(check.themes):
        rows.append(
            [
                InlineKeyboardButton(
                    _label(f"{index + 1}. {label}"), callback_data=f"g:{check.id}:{index}"
                )
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    f"✓ {level}" if mine.get(value) == level else str(level),
                    callback_data=vote_data(check.id, index, level),
                )
                for level in range(4)
            ]
        )
    last = [InlineKeyboardButton(t.plain("board.close_button"), callback_data=f"g:{check.id}:x")]
    if not check.private:
        last.insert(
            0, InlineKeyboardButton(t.plain("board.mine_button"), callback_data=f"g:{check.id}:m")
        )
    rows.append(last)
    return InlineKeyboardMarkup(rows)


def choice_markup(
    choice: SourceChoice, chat_id: int, options: list[TenderOption], t: TeamTexts
) -> InlineKeyboardMarkup:
    """The starter's private choice: the base themes or one of their own tenders."""
    rows = [
        [
            InlineKeyboardButton(
                t.plain("message.base_button"), callback_data=choice_data(choice.id, chat_id, None)
            )
        ]
    ]
    for option in options:
        data = choice_data(choice.id, chat_id, option.tender_id)
        if len(data.encode("utf-8")) <= 64:
            rows.append([InlineKeyboardButton(_label(option.name), callback_data=data)])
    return InlineKeyboardMarkup(rows)


def key_for_chat(chat_id: int) -> str:
    """A private chat's quick scan is its person's own; a group's checks belong to the group."""
    return scan_key(chat_id) if chat_id > 0 else f"tg-group-{chat_id}"


def scan_key(user_id: int) -> str:
    return f"tg-scan-{user_id}"


def refresh_interval(key: str) -> float:
    """Seconds between two edits of one board: a group shares Telegram's 20 messages a minute
    among everybody, a private scan has one person waiting to see their own press."""
    return PRIVATE_REFRESH_INTERVAL if key.startswith("tg-scan-") else REFRESH_INTERVAL


def thread_of(message: Message | None) -> int | None:
    """The forum topic a message is in, so replies and boards land in the same topic."""
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


# ---------------------------------------------------------------------------------------------
# Throttled board edits


async def nap(seconds: float, wake: asyncio.Event) -> None:
    """Sleep, unless woken first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), seconds)


class BoardRefresher:
    """At most one board edit per chat per interval, always with the latest state.

    See the module docstring. `clock` and `sleep` are injectable so the coalescing can be tested
    without waiting. A waiting refresh is woken when it is forgotten, so a closed check never
    holds up a shutdown (PTB awaits the tasks it started) for the rest of an interval.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float, asyncio.Event], Awaitable[Any]] = nap,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._dirty: dict[str, Callable[[], Awaitable[None]]] = {}
        self._tasks: set[str] = set()
        self._wake: dict[str, asyncio.Event] = {}
        self.edited: Recent[float] = Recent(None, EDITED_SECONDS, lambda: self.clock(), touch=False)
        """When each board was last edited, for the boards edited in the last minute."""

    def pending(self, key: str) -> bool:
        return key in self._tasks

    def schedule(
        self,
        key: str,
        edit: Callable[[], Awaitable[None]],
        interval: float,
        spawn: Spawn | None = None,
    ) -> None:
        """Mark the board dirty; start the chat's refresh task unless one is already waiting."""
        self._dirty[key] = edit
        if key in self._tasks:
            return
        self._tasks.add(key)
        (spawn or asyncio.create_task)(self._run(key, interval))

    def forget(self, key: str) -> None:
        """Drop a pending refresh (the check was closed or deleted; its own edit follows)."""
        self._dirty.pop(key, None)
        wake = self._wake.get(key)
        if wake is not None:
            wake.set()

    def mark_edited(self, key: str) -> None:
        self.edited.put(key, self.clock())

    async def _run(self, key: str, interval: float) -> None:
        try:
            while key in self._dirty:
                last = self.edited.get(key)
                wait = (-math.inf if last is None else last) + interval - self.clock()
                if wait > 0:
                    self._wake[key] = asyncio.Event()
                    await self.sleep(wait, self._wake[key])
                    self._wake.pop(key, None)
                edit = self._dirty.pop(key, None)
                if edit is None:  # forgotten while waiting
                    return
                self.mark_edited(key)
                try:
                    await edit()
                except Exception:
                    log.warning("het bord bijwerken mislukte", exc_info=True)
        finally:
            self._tasks.discard(key)
            self._wake.pop(key, None)


class StoreGroups:
    """The store's group functions as the team check's port. Listing the chats falls back to
    the group files' names until the store offers `list_groups` itself; the keys this module
    makes are kept verbatim as file names (see `storage.keys.safe_key`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get_group(self, chat_key: str) -> dict[str, Any] | None:
        return self.store.get_group(chat_key)

    def save_group(self, chat_key: str, doc: dict[str, Any]) -> None:
        self.store.save_group(chat_key, doc)

    def delete_group(self, chat_key: str) -> None:
        self.store.delete_group(chat_key)

    def list_groups(self) -> list[str]:
        listing = getattr(self.store, "list_groups", None)
        if callable(listing):
            return list(listing())
        folder = self.store.group_file("tg-scan-0").parent
        return sorted(path.stem for path in folder.glob("tg-*.json"))


# ---------------------------------------------------------------------------------------------
# The handlers


class GroupChecks:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        store: Store,
        texts: TeamTexts | None = None,
        refresher: BoardRefresher | None = None,
    ) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.flow = TeamChecks(
            StoreGroups(store),
            store,
            user_key_for_telegram,
            read_errors=(StorageError, OSError, ValueError, KeyError),
        )
        self.t = texts or team_texts()
        self.refresher = refresher or BoardRefresher()
        self.edit_locks = [asyncio.Lock() for _ in range(64)]
        self.shown: Recent[tuple[int, int]] = Recent(
            None, SHOWN_SECONDS, lambda: self.refresher.clock(), touch=False
        )
        """What each board shows (its message and a digest of its text), to skip edits."""

    def edit_lock(self, key: str) -> asyncio.Lock:
        return self.edit_locks[hash(key) % len(self.edit_locks)]

    def remember_shown(self, key: str, message_id: int, text: str) -> None:
        self.shown.put(key, (message_id, shows(text)))

    def shows(self, key: str, message_id: int, text: str) -> bool:
        """Whether the board's last edit already shows `text` on `message_id`."""
        return self.shown.get(key) == (message_id, shows(text))

    async def note_loop(self, update: Update, context: Context) -> None:
        """Remember the bot's event loop, so a deletion in a worker thread can redraw boards."""
        self.loop = asyncio.get_running_loop()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A workflow step in a worker thread: the store waits for the disk, the bot need not."""
        return await asyncio.to_thread(fn, *args)

    # -- /ambitiecheck ---------------------------------------------------------------------------

    async def on_start(self, update: Update, context: Context) -> None:
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        if chat is None or user is None or message is None:
            return
        words = (message.text or "").split(maxsplit=1)
        subject = words[1] if len(words) > 1 else ""
        private = chat.type == ChatType.PRIVATE
        place = Place(key_for_chat(chat.id), chat.id, thread_of(message), private)
        started = await self.run(self.flow.start, place, user.id, subject)
        sender = Sender(context.bot)
        if started.status == "open" and started.check is not None:
            await self.point_to_board(context, started.check, place.thread_id)
        elif started.status == "board" and started.check is not None:
            await self.post_board(sender, started.check)
        elif started.choice is not None and private:
            await self.send_choice(sender, chat.id, started.choice, user.id)
        elif started.choice is not None:
            await self.announce_choice(context, sender, place, started.choice, user.id)

    async def announce_choice(
        self, context: Context, sender: Sender, place: Place, choice: SourceChoice, starter: int
    ) -> None:
        """In the group: the base themes at once, or a link to choose privately. The starter also
        gets the choice as a private message when the bot may write to them."""
        link = f"https://t.me/{context.bot.username}?start=tc_{place.chat_id}_{choice.id}"
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        self.t.plain("message.base_button"),
                        callback_data=choice_data(choice.id, place.chat_id, None),
                    )
                ],
                [InlineKeyboardButton(self.t.plain("message.choose_button"), url=link)],
            ]
        )
        text = self.t.html("message.choosing", subject=choice.subject)
        sent = await sender.text(place.chat_id, text, markup, thread_id=place.thread_id)
        if sent is not None:
            await self.run(self.flow.set_choice_message, place.chat_key, choice.id, sent.message_id)
        await self.send_choice(sender, starter, choice, starter, group_chat=place.chat_id)

    async def send_choice(
        self,
        sender: Sender,
        private_chat: int,
        choice: SourceChoice,
        starter: int,
        group_chat: int | None = None,
    ) -> None:
        options = await self.run(self.flow.options, starter)
        target = private_chat if group_chat is None else group_chat
        await sender.text(
            private_chat,
            self.t.html("message.choose_private", subject=choice.subject),
            choice_markup(choice, target, options, self.t),
        )

    async def on_deep_link(self, update: Update, context: Context) -> None:
        """`/start tc_<chat>_<choice>` in private: the choice behind the group's link."""
        user, message = update.effective_user, update.effective_message
        match = DEEP_LINK.search((message.text or "") if message is not None else "")
        if user is None or match is None:
            return
        group_chat, choice_id = int(match.group(1)), match.group(2)
        key = key_for_chat(group_chat)
        pending = await self.run(self.flow.pending_choice, key, choice_id, user.id)
        sender = Sender(context.bot)
        if pending.choice is None:
            why = "toast.choice_denied" if pending.status == "denied" else "message.choice_stale"
            await sender.text(user.id, self.t.html(why))
            return
        await self.send_choice(sender, user.id, pending.choice, user.id, group_chat=group_chat)

    async def post_board(self, sender: Sender, check: TeamCheck) -> None:
        """Send the board and remember its message id."""
        if check.chat_id is None:
            return
        text = board_text(check, self.t)
        markup = board_markup(check, self.t)
        sent = await sender.text(check.chat_id, text, markup, thread_id=check.thread_id)
        if sent is not None:
            self.remember_shown(check.chat_key, sent.message_id, text)
            await self.run(self.flow.set_board, check.chat_key, check.id, sent.message_id)

    async def point_to_board(self, context: Context, check: TeamCheck, thread: int | None) -> None:
        chat_id = check.chat_id
        if chat_id is None:
            return
        reply = (
            ReplyParameters(check.board_message_id, allow_sending_without_reply=True)
            if check.board_message_id is not None
            else None
        )
        await with_retries(
            lambda: context.bot.send_message(
                chat_id,
                self.t.html("message.already_open"),
                parse_mode=ParseMode.HTML,
                reply_parameters=reply,
                message_thread_id=thread,
            ),
            "sendMessage",
        )

    # -- buttons -------------------------------------------------------------------------------

    async def on_callback(self, update: Update, context: Context) -> None:
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        if query is None or chat is None or user is None:
            return
        sender = Sender(context.bot)
        press = parse_press(query.data)
        if press is None:
            await sender.answer_callback(query, self.t.plain("toast.unknown"))
            return
        key = key_for_chat(chat.id)
        if press.kind == "vote":
            await self.vote(context, sender, query, key, press, user.id)
        elif press.kind in ("label", "mine"):
            await self.show_mine(sender, query, key, press, user.id)
        elif press.kind == "close":
            await self.close(context, chat, user, key, press.ident, query)
        elif press.kind == "choose":
            await self.choose(context, sender, query, user, press)
        else:
            await self.wipe_answer(context, sender, query, chat, user, key, press.level == 1)

    async def vote(
        self,
        context: Context,
        sender: Sender,
        query: CallbackQuery,
        key: str,
        press: Press,
        user_id: int,
    ) -> None:
        outcome = await self.run(
            self.flow.vote, key, press.ident, user_id, press.index, press.level
        )
        if outcome.status == "closed":
            await sender.answer_callback(query, self.t.plain("toast.closed"))
            return
        if outcome.status == "invalid":
            await sender.answer_callback(query, self.t.plain("toast.unknown"))
            return
        if outcome.status != "same":
            self.schedule_refresh(key)
        toast = "toast.same" if outcome.status == "same" else "toast.vote"
        await sender.answer_callback(
            query, self.t.plain(toast, theme=outcome.theme, level=outcome.level)
        )

    async def show_mine(
        self, sender: Sender, query: CallbackQuery, key: str, press: Press, user_id: int
    ) -> None:
        check = await self.run(self.flow.current, key)
        if check is None or check.id != press.ident or check.closed:
            await sender.answer_callback(query, self.t.plain("toast.closed"))
        elif press.kind == "mine":
            # An alert, not a toast: a list of up to twelve levels needs time to read.
            text = my_votes_toast(check, user_id, self.t)
            with contextlib.suppress(TelegramError):
                await with_retries(lambda: query.answer(text, show_alert=True), "answerCallback")
        elif 0 <= press.index < len(check.themes):
            await sender.answer_callback(query, theme_toast(check, press.index, user_id, self.t))
        else:
            await sender.answer_callback(query, self.t.plain("toast.unknown"))

    def schedule_refresh(self, key: str) -> None:
        app = self.app

        def spawn(coro: Coroutine[Any, Any, None]) -> Any:
            return app.create_task(coro, name=f"bord {key}")

        self.refresher.schedule(key, lambda: self.refresh_board(key), refresh_interval(key), spawn)

    async def refresh_board(self, key: str, check: TeamCheck | None = None) -> None:
        """Render the latest stored state (or the given check) onto the board; a board Telegram
        will no longer edit (deleted by someone) is sent again, so voting can go on."""
        async with self.edit_lock(key):
            check = check or await self.run(self.flow.current, key)
            if check is None or check.board_message_id is None or check.chat_id is None:
                return
            sender = Sender(self.app.bot)
            text, markup = board_text(check, self.t), board_markup(check, self.t)
            if self.shows(key, check.board_message_id, text):
                return  # the last edit already shows this; don't spend an edit
            if await sender.edit(check.chat_id, check.board_message_id, text, markup):
                self.remember_shown(key, check.board_message_id, text)
                return
            if not check.closed:
                await self.post_board(sender, check)

    # -- closing -------------------------------------------------------------------------------

    async def on_close_command(self, update: Update, context: Context) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        await self.close(context, chat, user, key_for_chat(chat.id), None, None)

    async def is_admin(self, context: Context, chat: Chat, user_id: int) -> bool:
        if chat.type == ChatType.PRIVATE:
            return False
        try:
            member = await with_retries(
                lambda: context.bot.get_chat_member(chat.id, user_id), "getChatMember"
            )
        except TelegramError:
            log.info("beheerder opzoeken mislukte", exc_info=True)
            return False
        return member is not None and member.status in ADMIN_STATUSES

    async def close(
        self,
        context: Context,
        chat: Chat,
        user: User,
        key: str,
        check_id: str | None,
        query: CallbackQuery | None,
    ) -> None:
        sender = Sender(context.bot)
        message = query.message if query is not None else None
        thread = thread_of(message if isinstance(message, Message) else None)

        async def tell(toast_key: str, message_key: str) -> None:
            if query is not None:
                await sender.answer_callback(query, self.t.plain(toast_key))
            else:
                await sender.text(chat.id, self.t.html(message_key), thread_id=thread)

        peek = await self.run(self.flow.open_check, key)
        if peek is None or (check_id is not None and peek.id != check_id):
            await tell("toast.closed", "message.none_open")
            return
        admin = user.id != peek.starter_id and await self.is_admin(context, chat, user.id)
        closing = await self.run(self.flow.close, key, peek.id, user.id, admin)
        if closing.status == "already":
            await tell("toast.closed", "message.none_open")
            return
        if closing.status == "denied" or closing.result is None:
            await tell("toast.close_denied", "message.close_denied")
            return
        self.refresher.forget(key)
        if query is not None:
            await sender.answer_callback(query)
        await self.refresh_board(key, closing.result.check)
        self.refresher.mark_edited(key)
        await self.send_result(sender, closing.result)

    async def send_result(self, sender: Sender, result: TeamResult) -> None:
        check = result.check
        if check.chat_id is None:
            return
        with contextlib.suppress(TelegramError):
            await sender.bot.send_chat_action(
                check.chat_id, ChatAction.UPLOAD_PHOTO, message_thread_id=check.thread_id
            )
        png = await asyncio.to_thread(chart_png, result, self.t)
        caption = self.t.plain("message.photo_caption")
        await sender.photo(check.chat_id, png, "ambitieweb.png", caption, check.thread_id)
        for part in split_message(result_text(result, self.t)):
            await sender.text(check.chat_id, part, thread_id=check.thread_id)

    # -- choosing the themes -------------------------------------------------------------------

    async def choose(
        self,
        context: Context,
        sender: Sender,
        query: CallbackQuery,
        user: User,
        press: Press,
    ) -> None:
        key = key_for_chat(press.chat_id)
        private = press.chat_id > 0
        if private and press.chat_id != user.id:
            await sender.answer_callback(query, self.t.plain("toast.choice_denied"))
            return
        chosen = await self.run(
            self.flow.choose, key, press.ident, user.id, press.tender_id, private
        )
        if chosen.status in ("stale", "denied"):
            await sender.answer_callback(query, self.t.plain(f"toast.choice_{chosen.status}"))
            return
        if chosen.check is None or chosen.choice is None:
            await sender.answer_callback(query, self.t.plain("toast.unknown"))
            return
        await sender.answer_callback(query)
        check, pressed = chosen.check, query.message
        here = pressed.chat.id if pressed is not None else None
        if pressed is not None and here != check.chat_id:
            # The private message: it says where the board is; the board goes to the group.
            await sender.edit(
                pressed.chat.id, pressed.message_id, self.t.html("message.chosen"), None
            )
        board_id = (
            pressed.message_id if here == check.chat_id and pressed else chosen.choice.message_id
        )
        text, markup = board_text(check, self.t), board_markup(check, self.t)
        if (
            board_id is not None
            and check.chat_id is not None
            and await sender.edit(check.chat_id, board_id, text, markup)
        ):
            self.remember_shown(key, board_id, text)
            await self.run(self.flow.set_board, key, check.id, board_id)
        else:
            await self.post_board(sender, check)

    # -- /download (groups) --------------------------------------------------------------------

    async def on_download(self, update: Update, context: Context) -> None:
        chat, message = update.effective_chat, update.effective_message
        if chat is None:
            return
        sender = Sender(context.bot)
        thread = thread_of(message)
        check = await self.run(self.flow.last_closed, key_for_chat(chat.id))
        if check is None:
            await sender.text(chat.id, self.t.html("message.download_none"), thread_id=thread)
            return
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(
                chat.id, ChatAction.UPLOAD_DOCUMENT, message_thread_id=thread
            )
        data = await asyncio.to_thread(self.render_docx, check.result())
        caption = self.t.plain("message.download_caption", subject=check.subject)
        await sender.document(chat.id, data, docx_filename(check), caption, thread)

    def render_docx(self, result: TeamResult) -> bytes:
        return result_docx(result, chart_png(result, self.t), self.t)

    # -- /verwijder (groups) -------------------------------------------------------------------

    async def on_delete(self, update: Update, context: Context) -> None:
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        if chat is None or user is None:
            return
        sender = Sender(context.bot)
        thread = thread_of(message)
        if not await self.is_admin(context, chat, user.id):
            await sender.text(chat.id, self.t.html("message.wipe_not_admin"), thread_id=thread)
            return
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(self.t.plain("message.wipe_yes"), callback_data="g:w:j"),
                    InlineKeyboardButton(self.t.plain("message.wipe_no"), callback_data="g:w:n"),
                ]
            ]
        )
        await sender.text(chat.id, self.t.html("message.wipe_confirm"), markup, thread_id=thread)

    async def wipe_answer(
        self,
        context: Context,
        sender: Sender,
        query: CallbackQuery,
        chat: Chat,
        user: User,
        key: str,
        confirmed: bool,
    ) -> None:
        admin = chat.type != ChatType.PRIVATE and await self.is_admin(context, chat, user.id)
        if not TeamChecks.may_wipe(admin, chat.type == ChatType.PRIVATE):
            await sender.answer_callback(query, self.t.plain("toast.wipe_denied"))
            return
        await sender.answer_callback(query)
        board: TeamCheck | None = None
        if confirmed:
            self.refresher.forget(key)
            self.shown.drop(key)
            board = await self.run(self.flow.wipe, key)
        message = query.message
        done = self.t.html("message.wiped" if confirmed else "message.kept")
        if message is None or not await sender.edit(chat.id, message.message_id, done, None):
            thread = thread_of(message if isinstance(message, Message) else None)
            await sender.text(chat.id, done, thread_id=thread)
        if board is not None and board.board_message_id is not None:
            async with self.edit_lock(key):
                await sender.drop_keyboard(chat.id, board.board_message_id)

    # -- every other command in a group --------------------------------------------------------

    async def on_group_command(self, update: Update, context: Context) -> None:
        """Preparing a tender is private; in a group every other command gets a short help with
        the team check's commands and a button to the private chat."""
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None or not message.text:
            return
        head = message.text.split(maxsplit=1)[0]
        name, _, addressee = head[1:].partition("@")
        if addressee and addressee.lower() != (context.bot.username or "").lower():
            return  # meant for another bot in the group
        if name.lower() in TEAM_COMMANDS:
            return
        link = f"https://t.me/{context.bot.username}?start=groep"
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(self.t.plain("message.group_help_button"), url=link)]]
        )
        await Sender(context.bot).text(
            chat.id, self.t.html("message.group_help"), markup, thread_id=thread_of(message)
        )

    # -- a group becomes a supergroup ----------------------------------------------------------

    async def on_migrate(self, update: Update, context: Context) -> None:
        """Telegram gives a supergroup a new chat id; the checks move with it and an open
        check's board is posted again there (the old chat's messages can no longer be edited)."""
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        old_key, new_key = key_for_chat(old), key_for_chat(new)
        self.refresher.forget(old_key)
        self.shown.drop(old_key)
        check = await self.run(self.flow.migrate, old_key, new_key, new)
        if check is None:
            return
        sender = Sender(context.bot)
        await sender.text(new, self.t.html("message.moved"))
        await self.post_board(sender, check)

    # -- deleting a person's data --------------------------------------------------------------

    def forget_quiet(self) -> None:
        """Let go of the boards nobody voted on lately (`bot.telegram.app.forget_quiet`)."""
        self.shown.trim()
        self.refresher.edited.trim()

    def forget_person(self, user_id: int) -> None:
        """Remove every team-check record naming this person: their private scan, their votes
        in every group, pending choices and checks built on their own tender's themes. For the
        private "delete all my data" path; synchronous, to run in a worker thread. The boards
        are then redrawn on the bot's event loop."""
        forgotten = self.flow.forget_person(user_id, [scan_key(user_id)])
        loop = self.loop
        if loop is not None and not loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.show_forgotten(forgotten), loop)

    async def show_forgotten(self, forgotten: Forgotten) -> None:
        """Boards show the counts without the person; a board whose check is gone loses its
        buttons."""
        for key in forgotten.redraw:
            self.schedule_refresh(key)
        sender = Sender(self.app.bot)
        for chat_id, message_id in forgotten.dropped:
            await sender.drop_keyboard(chat_id, message_id)


def register_group_handlers(
    app: Application[Any, Any, Any, Any, Any, Any],
    store: Store,
    texts: TeamTexts | None = None,
) -> GroupChecks:
    """Add the team check's handlers; call before the private chat's catch-all handlers so
    these commands and the `g:` buttons are answered here first."""
    checks = GroupChecks(app, store, texts)
    app.add_handler(TypeHandler(Update, checks.note_loop), group=-2)
    new = filters.UpdateType.MESSAGE
    groups = filters.ChatType.GROUPS
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, checks.on_migrate))
    app.add_handler(
        CommandHandler(
            "start", checks.on_deep_link, filters=new & private & filters.Regex(DEEP_LINK)
        )
    )
    app.add_handler(CommandHandler("ambitiecheck", checks.on_start, filters=new))
    app.add_handler(CommandHandler("uitslag", checks.on_close_command, filters=new))
    app.add_handler(CommandHandler("download", checks.on_download, filters=new & groups))
    app.add_handler(CommandHandler("verwijder", checks.on_delete, filters=new & groups))
    app.add_handler(CallbackQueryHandler(checks.on_callback, pattern=r"^g:"))
    app.bot_data["group_checks"] = checks
    return checks


def register_group_help(
    app: Application[Any, Any, Any, Any, Any, Any], checks: GroupChecks
) -> None:
    """The short group help for every other command in a group. Call after every handler of a
    command meant for groups and before the private chat's catch-all, which would otherwise
    answer with the private chat's redirect."""
    commands = filters.UpdateType.MESSAGE & filters.ChatType.GROUPS & filters.COMMAND
    app.add_handler(MessageHandler(commands, checks.on_group_command))
