"""The team ambition check in Telegram: `/ambitiecheck`, `/uitslag`, and in groups `/download`
and `/verwijder`, plus the board's buttons (callback data starting with `g:`).

Everything works with privacy mode on: the bot only needs commands and button presses.

Votes are never lost. Each press is applied under a per-chat `asyncio.Lock` (PTB handles updates
concurrently, and thirty people may press in the same second) as load, change, save through
`Store.get_group`/`save_group`. Those are synchronous and atomic, and run in a worker thread so
their fsyncs do not stall other chats; the lock is what keeps one press's load-change-save from
interleaving with another's. The saved file is the only copy of a check, so a restart between two
votes keeps both, and the board message id too. The toast comes after the save: a person who
sees "Je stem voor Klimaat: 2" has a vote on disk.

Board edits are throttled. Telegram allows about 20 messages a minute in a group, and edits
count, so editing the board on every press would run into flood control within seconds during
a lively check. Instead a vote only marks the board dirty; `BoardRefresher` keeps at most one
pending task per chat that waits until `REFRESH_INTERVAL` seconds have passed since the previous
edit, then renders the board from the *latest* stored state and edits once. Presses that arrive
meanwhile are absorbed into that one edit; a press during an edit marks the board dirty again and
gets one more edit an interval later. So a check costs at most one edit every few seconds however
many people press, and the last state always reaches the board. Edits run under a per-chat edit
lock and read the state inside it, so an older render can never land after a newer one (closing
the check uses the same lock for its final edit, which is not throttled: it happens once). An
edit that would show exactly what the last one showed is skipped. Every press still gets its own
toast at once; toasts are answers to the presser, not messages in the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
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
    filters,
)

from bot.telegram.sender import Sender, with_retries
from bot.wiring import user_key_for_telegram
from flows.prompting import shorten
from flows.report.splitting import split_message
from flows.teamcheck import (
    SUBJECT_MAX,
    ChatChecks,
    SourceChoice,
    SourceOption,
    TeamCheck,
    TeamResult,
    TeamTexts,
    base_themes,
    board_text,
    chart_png,
    docx_filename,
    new_id,
    result_docx,
    result_text,
    team_texts,
    tender_themes,
)
from storage import StorageError, Store

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
REFRESH_INTERVAL = 3.0
CHOICE_TENDERS = 5
BUTTON_LABEL_MAX = 40
ADMIN_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
WIPE = "w"

Spawn = Callable[[Coroutine[Any, Any, None]], Any]


# ---------------------------------------------------------------------------------------------
# Button data: `g:<check id>:<theme>:<level>` and friends, always far below 64 bytes


PressKind = Literal["vote", "label", "close", "choose", "wipe"]


@dataclass(frozen=True)
class Press:
    kind: PressKind
    ident: str
    index: int = 0
    level: int = 0


def vote_data(check_id: str, index: int, level: int) -> str:
    return f"g:{check_id}:{index}:{level}"


def parse_press(data: str | None) -> Press | None:
    """The press a button stands for, or None for data this module never made."""
    if not data or len(data.encode("utf-8")) > 64:
        return None
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != "g" or not parts[1].isalnum():
        return None
    ident, rest = parts[1], parts[2:]
    if ident == WIPE and len(rest) == 1 and rest[0] in ("j", "n"):
        return Press("wipe", ident, level=1 if rest[0] == "j" else 0)
    if len(rest) == 1 and rest[0] == "x":
        return Press("close", ident)
    if len(rest) == 1 and rest[0].startswith("k") and rest[0][1:].isdigit():
        return Press("choose", ident, index=int(rest[0][1:]))
    if len(rest) == 1 and rest[0].isdigit():
        return Press("label", ident, index=int(rest[0]))
    if len(rest) == 2 and rest[0].isdigit() and rest[1].isdigit():
        return Press("vote", ident, index=int(rest[0]), level=int(rest[1]))
    return None


def _button_label(text: str) -> str:
    return shorten(text, BUTTON_LABEL_MAX)


def board_markup(check: TeamCheck, t: TeamTexts) -> InlineKeyboardMarkup | None:
    if check.closed:
        return None
    rows = [
        [
            InlineKeyboardButton(_button_label(label), callback_data=f"g:{check.id}:{index}"),
            *(
                InlineKeyboardButton(str(level), callback_data=vote_data(check.id, index, level))
                for level in range(4)
            ),
        ]
        for index, (_, label) in enumerate(check.themes)
    ]
    rows.append(
        [InlineKeyboardButton(t.plain("board.close_button"), callback_data=f"g:{check.id}:x")]
    )
    return InlineKeyboardMarkup(rows)


# ---------------------------------------------------------------------------------------------
# Throttled board edits


async def nap(seconds: float, wake: asyncio.Event) -> None:
    """Sleep, unless woken first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), seconds)


class BoardRefresher:
    """At most one board edit per chat per interval, always with the latest state.

    See the module docstring. `clock` and `sleep` are injectable so the coalescing can be tested
    without waiting; `interval=None` reads `REFRESH_INTERVAL` at each use, so tests can lower it.
    A waiting refresh is woken when it is forgotten, so a closed check never holds up a shutdown
    (PTB awaits the tasks it started) for the rest of an interval.
    """

    def __init__(
        self,
        interval: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float, asyncio.Event], Awaitable[Any]] = nap,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._dirty: dict[str, Callable[[], Awaitable[None]]] = {}
        self._tasks: set[str] = set()
        self._wake: dict[str, asyncio.Event] = {}
        self._last: dict[str, float] = {}

    @property
    def interval(self) -> float:
        return REFRESH_INTERVAL if self._interval is None else self._interval

    def pending(self, key: str) -> bool:
        return key in self._tasks

    def schedule(
        self, key: str, edit: Callable[[], Awaitable[None]], spawn: Spawn | None = None
    ) -> None:
        """Mark the board dirty; start the chat's refresh task unless one is already waiting."""
        self._dirty[key] = edit
        if key in self._tasks:
            return
        self._tasks.add(key)
        (spawn or asyncio.create_task)(self._run(key))

    def forget(self, key: str) -> None:
        """Drop a pending refresh (the check was closed or deleted; its own edit follows)."""
        self._dirty.pop(key, None)
        wake = self._wake.get(key)
        if wake is not None:
            wake.set()

    def mark_edited(self, key: str) -> None:
        self._last[key] = self._clock()

    async def _run(self, key: str) -> None:
        try:
            while key in self._dirty:
                wait = self._last.get(key, -math.inf) + self.interval - self._clock()
                if wait > 0:
                    self._wake[key] = asyncio.Event()
                    await self._sleep(wait, self._wake[key])
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


# ---------------------------------------------------------------------------------------------
# The handlers


def scan_key(user_id: int) -> str:
    return f"tg-scan-{user_id}"


def chat_key(chat: Chat, user: User) -> str:
    """A private scan is the person's own; a group's checks belong to the group."""
    if chat.type == ChatType.PRIVATE:
        return scan_key(user.id)
    return f"tg-group-{chat.id}"


class GroupChecks:
    def __init__(
        self, store: Store, texts: TeamTexts | None = None, refresher: BoardRefresher | None = None
    ) -> None:
        self.store = store
        self.t = texts or team_texts()
        self.refresher = refresher or BoardRefresher()
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.edit_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.shown: dict[str, tuple[int, str]] = {}

    # -- storage -------------------------------------------------------------------------------

    # In a worker thread: a save waits for two fsyncs, and the rest of the bot need not. The
    # per-chat lock, not the event loop, is what keeps a load-change-save whole.

    async def load(self, key: str) -> ChatChecks:
        return ChatChecks.from_dict(await asyncio.to_thread(self.store.get_group, key))

    async def save(self, key: str, record: ChatChecks) -> None:
        await asyncio.to_thread(self.store.save_group, key, record.to_dict())

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.store.delete_group, key)

    # -- /ambitiecheck ---------------------------------------------------------------------------

    async def on_start(self, update: Update, context: Context) -> None:
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        if chat is None or user is None or message is None:
            return
        words = (message.text or "").split(maxsplit=1)
        subject = shorten(words[1] if len(words) > 1 else "", SUBJECT_MAX)
        key = chat_key(chat, user)
        sender = Sender(context.bot)
        options = await asyncio.to_thread(self.tender_options, user.id)
        async with self.locks[key]:
            record = await self.load(key)
            current = record.open_check
            if current is not None and current.board_message_id is not None:
                await self.point_to_board(context, chat.id, current.board_message_id)
                return
            if current is None and options:
                choice = SourceChoice(new_id(), user.id, subject, options)
                record.choice = choice
                await self.save(key, record)
                await sender.text(
                    chat.id, self.t.html("message.choose_source"), choice_markup(choice, self.t)
                )
                return
            check = current or record.start(
                TeamCheck(
                    id=new_id(),
                    chat_key=key,
                    starter_id=user.id,
                    subject=subject,
                    themes=base_themes(),
                    chat_id=chat.id,
                    private=chat.type == ChatType.PRIVATE,
                )
            )
            await self.save(key, record)
            await self.post_board(sender, chat.id, key, record, check)

    def tender_options(self, user_id: int) -> list[SourceOption]:
        """The starter's own tenders that have themes, newest first; none on any trouble,
        because the base themes always work."""
        user_key = user_key_for_telegram(user_id)
        options: list[SourceOption] = []
        try:
            for meta in self.store.list_tenders(user_key)[: CHOICE_TENDERS * 2]:
                tender = self.store.get_tender(user_key, str(meta["id"]))
                themes = tender_themes(tender.answers) if tender is not None else []
                if tender is not None and themes:
                    name = shorten(str(meta.get("name") or tender.id), BUTTON_LABEL_MAX)
                    options.append(SourceOption(name, themes))
                if len(options) >= CHOICE_TENDERS:
                    break
        except (StorageError, OSError, ValueError, KeyError):
            log.warning("aanbestedingen lezen voor de ambitiecheck mislukte", exc_info=True)
            return []
        return options

    async def post_board(
        self, sender: Sender, chat_id: int, key: str, record: ChatChecks, check: TeamCheck
    ) -> None:
        """Send the board and remember its message id; the caller holds the chat lock."""
        text = board_text(check, self.t)
        sent = await sender.text(chat_id, text, board_markup(check, self.t))
        if sent is not None:
            check.board_message_id = sent.message_id
            self.shown[key] = (sent.message_id, text)
            await self.save(key, record)

    async def point_to_board(self, context: Context, chat_id: int, board_id: int) -> None:
        await with_retries(
            lambda: context.bot.send_message(
                chat_id,
                self.t.html("message.already_open"),
                parse_mode=ParseMode.HTML,
                reply_parameters=ReplyParameters(board_id, allow_sending_without_reply=True),
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
        key = chat_key(chat, user)
        if press.kind == "vote":
            await self.vote(context, sender, query, key, press, user.id)
        elif press.kind == "label":
            await self.label(sender, query, key, press)
        elif press.kind == "close":
            await self.close(context, chat, user, key, press.ident, query)
        elif press.kind == "choose":
            await self.choose(context, sender, query, chat, user, key, press)
        else:
            await self.wipe_answer(
                context, sender, query, chat, user, key, confirmed=press.level == 1
            )

    async def vote(
        self,
        context: Context,
        sender: Sender,
        query: CallbackQuery,
        key: str,
        press: Press,
        user_id: int,
    ) -> None:
        async with self.locks[key]:
            record = await self.load(key)
            check = record.current
            if check is None or check.id != press.ident:
                outcome = None
            else:
                outcome = check.vote(user_id, press.index, press.level)
                if outcome.status in ("new", "changed"):
                    if check.board_message_id is None and query.message is not None:
                        check.board_message_id = query.message.message_id
                    await self.save(key, record)
        if outcome is None or outcome.status == "closed":
            await sender.answer_callback(query, self.t.plain("toast.closed"))
            return
        if outcome.status == "invalid":
            await sender.answer_callback(query, self.t.plain("toast.unknown"))
            return
        if outcome.status != "same":
            self.schedule_refresh(context, key)
        toast = "toast.same" if outcome.status == "same" else "toast.vote"
        await sender.answer_callback(
            query, self.t.plain(toast, theme=outcome.theme, level=outcome.level)
        )

    async def label(self, sender: Sender, query: CallbackQuery, key: str, press: Press) -> None:
        check = (await self.load(key)).current
        if check is None or check.id != press.ident or check.closed:
            await sender.answer_callback(query, self.t.plain("toast.closed"))
        elif 0 <= press.index < len(check.themes):
            theme = check.themes[press.index][1]
            await sender.answer_callback(query, self.t.plain("toast.label", theme=theme))
        else:
            await sender.answer_callback(query, self.t.plain("toast.unknown"))

    def schedule_refresh(self, context: Context, key: str) -> None:
        application = context.application

        def spawn(coro: Coroutine[Any, Any, None]) -> Any:
            return application.create_task(coro, name=f"bord {key}")

        self.refresher.schedule(key, lambda: self.refresh_board(context, key), spawn)

    async def refresh_board(self, context: Context, key: str) -> None:
        """Render the latest stored state onto the board; a board Telegram will no longer edit
        (deleted by someone) is sent again, so voting can go on."""
        async with self.edit_locks[key]:
            check = (await self.load(key)).current
            if check is None or check.board_message_id is None or check.chat_id is None:
                return
            chat_id = check.chat_id
            sender = Sender(context.bot)
            text, markup = board_text(check, self.t), board_markup(check, self.t)
            shown = (check.board_message_id, text)
            if self.shown.get(key) == shown:
                return  # a vote already on the board by the last edit; don't spend an edit
            if await sender.edit(chat_id, check.board_message_id, text, markup):
                self.shown[key] = shown
                return
            if check.closed:
                return
            sent = await sender.text(chat_id, text, markup)
            if sent is None:
                return
            self.shown[key] = (sent.message_id, text)
            async with self.locks[key]:
                record = await self.load(key)
                current = record.current
                if current is not None and current.id == check.id:
                    current.board_message_id = sent.message_id
                    await self.save(key, record)

    # -- closing -------------------------------------------------------------------------------

    async def on_close_command(self, update: Update, context: Context) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        await self.close(context, chat, user, chat_key(chat, user), None, None)

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

        async def tell(toast_key: str, message_key: str) -> None:
            if query is not None:
                await sender.answer_callback(query, self.t.plain(toast_key))
            else:
                await sender.text(chat.id, self.t.html(message_key))

        peek = (await self.load(key)).open_check
        if peek is None or (check_id is not None and peek.id != check_id):
            await tell("toast.closed", "message.none_open")
            return
        admin = user.id != peek.starter_id and await self.is_admin(context, chat, user.id)
        async with self.locks[key]:
            record = await self.load(key)
            check = record.open_check
            if check is None or check.id != peek.id:
                closing = None
            else:
                closing = check.close(user.id, admin)
                if closing.status == "closed":
                    await self.save(key, record)
                    self.refresher.forget(key)
        if closing is None or closing.status == "already":
            await tell("toast.closed", "message.none_open")
            return
        if closing.status == "denied" or closing.result is None:
            await tell("toast.close_denied", "message.close_denied")
            return
        if query is not None:
            await sender.answer_callback(query)
        await self.refresh_board(context, key)
        await self.send_result(sender, chat.id, closing.result)
        if closing.result.check.private:
            # Nothing can be done with a closed private scan later (no /download for it there),
            # so nothing about this person is kept longer than the scan itself.
            async with self.locks[key]:
                if (await self.load(key)).open_check is None:
                    await self.delete(key)

    async def send_result(self, sender: Sender, chat_id: int, result: TeamResult) -> None:
        with contextlib.suppress(TelegramError):
            await sender.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
        png = await asyncio.to_thread(chart_png, result, self.t)
        await sender.photo(chat_id, png, "ambitieweb.png", self.t.plain("message.photo_caption"))
        for part in split_message(result_text(result, self.t)):
            await sender.text(chat_id, part)

    # -- choosing the themes -------------------------------------------------------------------

    async def choose(
        self,
        context: Context,
        sender: Sender,
        query: CallbackQuery,
        chat: Chat,
        user: User,
        key: str,
        press: Press,
    ) -> None:
        async with self.locks[key]:
            record = await self.load(key)
            choice = record.choice
            if choice is None or choice.id != press.ident:
                await sender.answer_callback(query, self.t.plain("toast.choice_stale"))
                return
            if choice.starter_id != user.id:
                await sender.answer_callback(query, self.t.plain("toast.choice_denied"))
                return
            if record.open_check is not None:
                await sender.answer_callback(query, self.t.plain("toast.choice_stale"))
                return
            if press.index == 0:
                themes, source = base_themes(), ""
            elif press.index <= len(choice.options):
                option = choice.options[press.index - 1]
                themes, source = option.themes, option.name
            else:
                await sender.answer_callback(query, self.t.plain("toast.unknown"))
                return
            check = record.start(
                TeamCheck(
                    id=new_id(),
                    chat_key=key,
                    starter_id=user.id,
                    subject=choice.subject,
                    themes=themes,
                    source=source,
                    chat_id=chat.id,
                    private=chat.type == ChatType.PRIVATE,
                )
            )
            await self.save(key, record)
            await sender.answer_callback(query)
            message = query.message
            text, markup = board_text(check, self.t), board_markup(check, self.t)
            if message is not None and await sender.edit(chat.id, message.message_id, text, markup):
                check.board_message_id = message.message_id
                self.shown[key] = (message.message_id, text)
                await self.save(key, record)
            else:
                await self.post_board(sender, chat.id, key, record, check)

    # -- /download (groups) --------------------------------------------------------------------

    async def on_download(self, update: Update, context: Context) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        sender = Sender(context.bot)
        check = (await self.load(chat_key(chat, user))).last_closed
        if check is None:
            await sender.text(chat.id, self.t.html("message.download_none"))
            return
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_DOCUMENT)
        result = check.result()
        data = await asyncio.to_thread(self.render_docx, result)
        caption = self.t.plain("message.download_caption", subject=check.subject)
        await sender.document(chat.id, data, docx_filename(check), caption)

    def render_docx(self, result: TeamResult) -> bytes:
        return result_docx(result, chart_png(result, self.t), self.t)

    # -- /verwijder (groups) -------------------------------------------------------------------

    async def on_delete(self, update: Update, context: Context) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        sender = Sender(context.bot)
        if not await self.is_admin(context, chat, user.id):
            await sender.text(chat.id, self.t.html("message.wipe_not_admin"))
            return
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(self.t.plain("message.wipe_yes"), callback_data="g:w:j"),
                    InlineKeyboardButton(self.t.plain("message.wipe_no"), callback_data="g:w:n"),
                ]
            ]
        )
        await sender.text(chat.id, self.t.html("message.wipe_confirm"), markup)

    async def wipe_answer(
        self,
        context: Context,
        sender: Sender,
        query: CallbackQuery,
        chat: Chat,
        user: User,
        key: str,
        *,
        confirmed: bool,
    ) -> None:
        if chat.type == ChatType.PRIVATE or not await self.is_admin(context, chat, user.id):
            await sender.answer_callback(query, self.t.plain("toast.wipe_denied"))
            return
        await sender.answer_callback(query)
        board: int | None = None
        if confirmed:
            async with self.locks[key]:
                check = (await self.load(key)).open_check
                board = check.board_message_id if check is not None else None
                self.refresher.forget(key)
                self.shown.pop(key, None)
                await self.delete(key)
        message = query.message
        done = self.t.html("message.wiped" if confirmed else "message.kept")
        if message is None or not await sender.edit(chat.id, message.message_id, done, None):
            await sender.text(chat.id, done)
        if board is not None:
            async with self.edit_locks[key]:
                await sender.drop_keyboard(chat.id, board)


def choice_markup(choice: SourceChoice, t: TeamTexts) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(t.plain("message.base_button"), callback_data=f"g:{choice.id}:k0")]
    ]
    rows += [
        [InlineKeyboardButton(_button_label(option.name), callback_data=f"g:{choice.id}:k{n}")]
        for n, option in enumerate(choice.options, start=1)
    ]
    return InlineKeyboardMarkup(rows)


def register_group_handlers(
    app: Application[Any, Any, Any, Any, Any, Any],
    store: Store,
    texts: TeamTexts | None = None,
) -> GroupChecks:
    """Add the team check's handlers; call before the private chat's catch-all handlers so
    these commands and `g:` buttons are answered here first."""
    checks = GroupChecks(store, texts)
    new = filters.UpdateType.MESSAGE
    groups = filters.ChatType.GROUPS
    app.add_handler(CommandHandler("ambitiecheck", checks.on_start, filters=new))
    app.add_handler(CommandHandler("uitslag", checks.on_close_command, filters=new))
    app.add_handler(CommandHandler("download", checks.on_download, filters=new & groups))
    app.add_handler(CommandHandler("verwijder", checks.on_delete, filters=new & groups))
    app.add_handler(CallbackQueryHandler(checks.on_callback, pattern=r"^g:"))
    app.bot_data["group_checks"] = checks
    return checks
