"""The fake Telegram Bot API: chats, messages (plain text plus entities), buttons, updates.

One state and one set of method handlers, reached two ways: over real HTTP on 127.0.0.1 (the real
PTB ``Application`` points its ``base_url`` here, so client, (de)serialisation and error mapping all
run) or in-process through ``tests.fakes.inprocess.FakeRequest`` (milliseconds per test). It is
strict where Telegram is strict (entity parsing, lengths, keyboards, "message is not modified"),
because those failures otherwise only show up in production. Error texts follow api.telegram.org.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tests.fakes.entities import EntityParseError, find_bot_commands, parse_html, trim
from tests.fakes.wire import Upload, WireError, decode_params, read_body

JSON = dict[str, Any]
_T = TypeVar("_T")

DEFAULT_TOKEN_PATTERN = r"\d+:[A-Za-z0-9_-]{20,}"
BOT_USERNAME = "inkoopkompas_test_bot"
BOT_FIRST_NAME = "Inkoopkompas"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_TOAST_LENGTH = 200
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)

# Update types Telegram leaves out when allowed_updates is empty or was never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


# --------------------------------------------------------------------------------------------
# Records handed to tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One HTTP request as the bot made it, kept so tests can assert on the bot's behaviour.

    ``at`` is ``time.monotonic()`` at arrival, so gaps between retries can be measured;
    calls are appended when their response is sent, so a long poll appears when it returns.
    """

    method: str
    params: JSON
    files: dict[str, bytes]
    at: float
    filenames: dict[str, str] = field(default_factory=dict)
    status: int = 200
    response: JSON = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    def payload_bytes(self) -> bytes:
        return json.dumps(self.response, ensure_ascii=False).encode("utf-8")

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def shown(self) -> str:
        """The text as the person sees it (Telegram's stored plain text), "" for none."""
        result = self.result
        if isinstance(result, dict):
            return str(result.get("text", result.get("caption", "")))
        return self.text or ""

    @property
    def message_id(self) -> int | None:
        result = self.result
        if isinstance(result, dict) and "message_id" in result:
            return int(result["message_id"])
        value = self.params.get("message_id")
        return value if isinstance(value, int) else None

    @property
    def problems(self) -> list[str]:
        """Why Telegram refused this call; empty when it was accepted."""
        return [] if self.ok else [str(self.response.get("description", self.status))]

    def _markup_buttons(self) -> list[JSON]:
        markup = self.params.get("reply_markup")
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        return [button for row in rows for button in row]

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of every callback button, row by row."""
        return [
            (str(b.get("text")), str(b["callback_data"]))
            for b in self._markup_buttons()
            if b.get("callback_data") is not None
        ]

    @property
    def urls(self) -> list[str]:
        return [str(b["url"]) for b in self._markup_buttons() if b.get("url")]

    @property
    def message_op(self) -> bool:
        """A call the person notices: a message sent or changed, or a toast with text."""
        if self.method == "answerCallbackQuery":
            return bool(self.params.get("text"))
        return self.method in MESSAGE_METHODS


MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "deleteMessage",
    }
)


@dataclass(frozen=True)
class BotMessage:
    """The bot's view of one of its messages with all edits applied.

    ``text`` is what the bot sent (markup included, text or caption); ``plain_text`` is what the
    user sees after entity parsing, which is also what Telegram returns in ``Message.text``.
    """

    chat_id: int
    message_id: int
    kind: str
    text: str | None
    plain_text: str | None
    parse_mode: str | None
    entities: tuple[JSON, ...]
    reply_markup: JSON | None
    file: bytes | None
    filename: str | None
    mime_type: str | None
    deleted: bool
    edit_count: int
    date: int
    thread_id: int | None = None

    def buttons(self) -> list[tuple[str, str | None]]:
        """Flattened (label, callback_data) pairs, because tests press buttons by label."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [(b.get("text", ""), b.get("callback_data")) for row in rows for b in row]

    def callback_data(self, label: str) -> str:
        """The callback_data of the button whose label contains ``label`` (exactly one)."""
        found = [d for text, d in self.buttons() if label in text and d is not None]
        if len(found) != 1:
            raise LookupError(f"{len(found)} buttons match {label!r}: {self.buttons()!r}")
        return found[0]


@dataclass(frozen=True)
class CallbackAnswer:
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error response in Telegram's shape; raised inside method handlers."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


# --------------------------------------------------------------------------------------------
# Images: just enough to refuse what Telegram refuses and report plausible sizes
# --------------------------------------------------------------------------------------------


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) for PNG/JPEG/GIF, (0, 0) for other known formats, None if not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8\xff"):
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            (segment,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + int(segment)
        return 0, 0
    if (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or data[:2] == b"BM":
        return 0, 0
    return None


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


@dataclass
class _Msg:
    chat_id: int
    message_id: int
    from_bot: bool
    user_id: int | None
    data: JSON
    kind: str
    raw_text: str | None = None
    parse_mode: str | None = None
    markup: JSON | None = None
    file: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    deleted: bool = False
    edit_count: int = 0


@dataclass
class _Fault:
    code: int
    description: str
    parameters: JSON | None


Handler = Callable[[JSON, dict[str, Upload]], Any]


class FakeBotApi:
    """In-process Telegram Bot API for tests; see the module docstring for the why.

    Thread-safe: HTTP requests are served on worker threads while tests play users and wait
    from the test thread or from an asyncio test (use the ``await_*`` helpers there so the event
    loop running the bot keeps going).
    """

    def __init__(
        self,
        token_pattern: str = DEFAULT_TOKEN_PATTERN,
        *,
        admins: Mapping[int, Iterable[int]] | None = None,
        owners: Mapping[int, int] | None = None,
        bot_username: str = BOT_USERNAME,
        strict_ampersand: bool = True,
        first_update_id: int = 100_000,
    ) -> None:
        self._token_re = re.compile(token_pattern)
        # Public and mutable on purpose: tests promote users while a scenario runs.
        self.admins: dict[int, set[int]] = {k: set(v) for k, v in (admins or {}).items()}
        self.owners: dict[int, int] = dict(owners or {})
        self.bot_username = bot_username
        self.strict_ampersand = strict_ampersand

        self._cond = threading.Condition(threading.RLock())
        self._version = 0
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

        self._token_hashes: set[str] = set()
        self._bot_id = 0
        self._calls: list[Call] = []
        self._internal_errors: list[str] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, deque[float]] = {}

        self._next_update_id = first_update_id
        self._pending: list[JSON] = []
        self._sent_updates: list[JSON] = []
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._waiting_polls = 0

        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._messages: dict[int, dict[int, _Msg]] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, tuple[bytes, str, str]] = {}
        self._file_counter = 0
        self._callbacks: dict[str, tuple[int, int, int]] = {}
        self._answers: dict[str, CallbackAnswer] = {}
        self._next_callback = 4_000_000_000_000_000_000
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self.webhook: JSON = {}
        self.checks = True
        self.descriptions: dict[str, str] = {}

        methods: list[tuple[str, Handler]] = [
            ("getMe", self._get_me),
            ("logOut", lambda p, f: True),
            ("close", lambda p, f: True),
            ("deleteWebhook", self._delete_webhook),
            ("getWebhookInfo", self._get_webhook_info),
            ("getUpdates", self._get_updates),
            ("setMyCommands", self._set_my_commands),
            ("getMyCommands", self._get_my_commands),
            ("deleteMyCommands", self._delete_my_commands),
            ("sendMessage", self._send_message),
            ("editMessageText", self._edit_message_text),
            ("editMessageCaption", self._edit_message_caption),
            ("editMessageReplyMarkup", self._edit_message_reply_markup),
            ("deleteMessage", self._delete_message),
            ("answerCallbackQuery", self._answer_callback_query),
            ("sendPhoto", self._send_photo),
            ("sendDocument", self._send_document),
            ("sendChatAction", self._send_chat_action),
            ("getChat", self._get_chat),
            ("getChatMember", self._get_chat_member),
            ("getChatAdministrators", self._get_chat_administrators),
            ("setChatMenuButton", self._set_chat_menu_button),
            ("getChatMenuButton", self._get_chat_menu_button),
            ("setWebhook", self._set_webhook),
            ("setMyDescription", self._set_description("description")),
            ("setMyShortDescription", self._set_description("short_description")),
        ]
        # Telegram treats method names case-insensitively.
        self._methods = {name.lower(): (name, fn) for name, fn in methods}

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeBotApi:
        if self._server is not None:
            raise RuntimeError("FakeBotApi is already running")
        fake = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, delayed ACKs would
            # add ~40 ms to every keep-alive request.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with fake._cond:
                    fake._connections.add(self.connection)

            def finish(self) -> None:
                with contextlib.suppress(OSError):
                    super().finish()
                with fake._cond:
                    fake._connections.discard(self.connection)

            def do_POST(self) -> None:
                fake._serve(self)

            def do_GET(self) -> None:
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Silenced: request lines contain the bot token."""

        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        with self._cond:
            self._bump()
            connections = list(self._connections)
        server.shutdown()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotApi is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)``; PTB appends token and method."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def tokens_seen(self) -> int:
        """How many distinct tokens reached the server; the tokens themselves are not kept."""
        with self._cond:
            return len(self._token_hashes)

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = 1,
        count: int = 1,
        parameters: JSON | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail.

        The default description is Telegram's "Too Many Requests: retry after N" for 429 and the
        HTTP reason otherwise; ``retry_after`` is only sent with 429 so that a 400 injection does
        not turn into RetryAfter inside PTB.
        """
        params = dict(parameters or {})
        if error_code == 429 and retry_after is not None:
            params["retry_after"] = retry_after
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            else:
                description = _http_phrase(error_code)
        fault = _Fault(error_code, description, params or None)
        with self._cond:
            self._faults.setdefault(method.lower(), deque()).extend([fault] * count)

    def delay_next(self, method: str, seconds: float) -> None:
        """Hold the next call of ``method`` before answering, to provoke client timeouts."""
        with self._cond:
            self._delays.setdefault(method.lower(), deque()).append(seconds)

    # ---------------------------------------------------------------- chats and users

    def add_chat(
        self,
        chat_id: int,
        chat_type: str = "private",
        *,
        title: str | None = None,
        first_name: str = "Test",
        username: str | None = None,
    ) -> None:
        """Make a chat known without a user message (Telegram refuses unknown chats)."""
        with self._cond:
            user = self._remember_user(chat_id, first_name, username) if chat_id > 0 else None
            self._remember_chat(chat_id, chat_type, user, title)

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: sends to their private chat get 403 until they write again."""
        with self._cond:
            self._blocked.add(user_id)

    # ---------------------------------------------------------------- playing users

    def send_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        thread_id: int | None = None,
    ) -> int:
        """The user sends a text; ``thread_id`` posts it in a forum topic of a supergroup."""
        content: JSON = {"text": text}
        entities = find_bot_commands(text)
        if entities:
            content["entities"] = entities
        if thread_id is not None:
            content["message_thread_id"] = thread_id
            content["is_topic_message"] = True
        return self._user_message(
            chat_id,
            user_id,
            content,
            kind="text",
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            chat_title=chat_title,
            reply_to_message_id=reply_to_message_id,
        )

    def send_sticker(
        self,
        chat_id: int,
        user_id: int,
        *,
        emoji: str = "👍",
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        chat_title: str | None = None,
    ) -> int:
        file_id, unique = self._new_file_id("sticker")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique,
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": emoji,
            "file_size": 12_345,
        }
        return self._user_message(
            chat_id,
            user_id,
            {"sticker": sticker},
            kind="sticker",
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            chat_title=chat_title,
        )

    def send_photo(
        self,
        chat_id: int,
        user_id: int,
        *,
        caption: str | None = None,
        width: int = 1280,
        height: int = 960,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        chat_title: str | None = None,
    ) -> int:
        sizes = []
        for w, h in ((90, 90 * height // max(width, 1)), (width, height)):
            file_id, unique = self._new_file_id("photo")
            sizes.append({"file_id": file_id, "file_unique_id": unique, "width": w, "height": h})
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._user_message(
            chat_id,
            user_id,
            content,
            kind="photo",
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            chat_title=chat_title,
        )

    def send_voice(
        self,
        chat_id: int,
        user_id: int,
        *,
        duration: int = 3,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        chat_title: str | None = None,
    ) -> int:
        file_id, unique = self._new_file_id("voice")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4_321,
        }
        return self._user_message(
            chat_id,
            user_id,
            {"voice": voice},
            kind="voice",
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            chat_title=chat_title,
        )

    def edit_text(self, chat_id: int, user_id: int, message_id: int, text: str) -> int:
        """The user edits one of their own text messages (an ``edited_message`` update)."""
        with self._cond:
            msg = self._messages.get(chat_id, {}).get(message_id)
            if msg is None or msg.from_bot or msg.user_id != user_id or msg.kind != "text":
                raise ValueError(f"user {user_id} has no text message {message_id} in {chat_id}")
            if msg.deleted:
                raise ValueError(f"message {message_id} in {chat_id} was deleted")
            msg.data["text"] = text
            msg.data.pop("entities", None)
            entities = find_bot_commands(text)
            if entities:
                msg.data["entities"] = entities
            msg.data["edit_date"] = int(time.time())
            msg.edit_count += 1
            return self._push_update({"edited_message": _copy(msg.data)})

    def press(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        data: str,
        *,
        first_name: str = "Test",
        username: str | None = None,
        strict: bool = True,
    ) -> str:
        """The user presses an inline button; returns the callback_query id.

        With ``strict`` the button must be on the message's current keyboard, which catches
        tests that press buttons the bot has already removed or never sent.
        """
        with self._cond:
            msg = self._messages.get(chat_id, {}).get(message_id)
            if msg is None or not msg.from_bot or msg.deleted:
                raise ValueError(f"no live bot message {message_id} in chat {chat_id}")
            if strict:
                rows = (msg.data.get("reply_markup") or {}).get("inline_keyboard") or []
                options = [b.get("callback_data") for row in rows for b in row]
                if data not in options:
                    raise ValueError(
                        f"message {message_id} has no button with callback_data {data!r}; "
                        f"current buttons: {options!r}"
                    )
            user = self._users.get(user_id)
            if user is None or username is not None or first_name != "Test":
                user = self._remember_user(user_id, first_name, username)
            self._next_callback += 1
            query_id = str(self._next_callback)
            self._callbacks[query_id] = (chat_id, message_id, user_id)
            query = {
                "id": query_id,
                "from": _copy(user),
                "message": _copy(msg.data),
                "chat_instance": str(abs(chat_id) * 7919 + 17),
                "data": data,
            }
            self._push_update({"callback_query": query})
            return query_id

    def press_update_id(self, chat_id: int, user_id: int, message_id: int, data: str) -> int:
        """`press` on any button data (forged too); the id of the update it queued."""
        with self._cond:
            self.press(chat_id, user_id, message_id, data, strict=False)
            return int(self._sent_updates[-1]["update_id"])

    def take_update(self, update_id: int) -> JSON:
        """Hand one queued update to an in-process bot (instead of getUpdates)."""
        with self._cond:
            found = next(u for u in self._pending if u["update_id"] == update_id)
            self._pending.remove(found)
            return _copy(found)

    def buttons_of(self, chat_id: int, message_id: int) -> set[str] | None:
        """The callback data a live bot message shows now; None when there is no such message."""
        with self._cond:
            msg = self._messages.get(chat_id, {}).get(message_id)
            if msg is None or not msg.from_bot or msg.deleted:
                return None
            rows = (msg.markup or {}).get("inline_keyboard") or []
            return {str(b.get("callback_data")) for r in rows for b in r if "callback_data" in b}

    def message_with_button(self, chat_id: int, data: str) -> int | None:
        with self._cond:
            for msg in reversed(self._messages.get(chat_id, {}).values()):
                rows = (msg.markup or {}).get("inline_keyboard") or []
                if not msg.deleted and any(b.get("callback_data") == data for r in rows for b in r):
                    return msg.message_id
        return None

    def user_text_ids(self, user_id: int) -> list[int]:
        with self._cond:
            return [
                m.message_id
                for m in self._messages.get(user_id, {}).values()
                if not m.from_bot and m.kind == "text" and not m.deleted
            ]

    def old_bot_message(self, chat_id: int, data: str, message_id: int | None = None) -> int:
        """A question the bot sent before a restart, carrying one button with `data`."""
        with self._cond:
            if chat_id not in self._chats:
                self.add_chat(chat_id)
            if message_id is None or message_id in self._messages.get(chat_id, {}):
                message_id = self._alloc_message_id(chat_id)
            content: JSON = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": _copy(self._chats[chat_id]),
                "date": int(time.time()) - 3600,
                "text": "vraag",
            }
            markup = None
            if 0 < len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                markup = {"inline_keyboard": [[{"text": "oud", "callback_data": data}]]}
                content["reply_markup"] = markup
            msg = _Msg(chat_id, message_id, True, None, content, "text", "vraag", markup=markup)
            self._messages.setdefault(chat_id, {})[message_id] = msg
            return message_id

    def send_raw_update(self, update: JSON) -> int:
        """Queue any update as is (``update_id`` is assigned when missing)."""
        with self._cond:
            body = {k: v for k, v in update.items() if k != "update_id"}
            return self._push_update(body, update.get("update_id"))

    def forget_chats(self, chat_ids: Iterable[int]) -> None:
        """Drop what the fake keeps about these chats (messages, their users, button presses)
        and its record of calls and updates so far. For long benchmarks: the fake's memory of
        every buyer it ever played must not be counted as the bot's (see bench/memory.py)."""
        gone = set(chat_ids)
        with self._cond:
            for chat_id in gone:
                self._messages.pop(chat_id, None)
                self._next_message_id.pop(chat_id, None)
                self._chats.pop(chat_id, None)
                self._users.pop(chat_id, None)
            for query_id, (chat_id, _message, _user) in list(self._callbacks.items()):
                if chat_id in gone:
                    del self._callbacks[query_id]
                    self._answers.pop(query_id, None)
            self._calls.clear()
            self._sent_updates.clear()

    # ---------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def mark(self) -> int:
        """Index to pass as ``after=`` so that only later calls are considered."""
        with self._cond:
            return len(self._calls)

    @property
    def internal_errors(self) -> list[str]:
        """Crashes inside the fake itself (answered with 500); tests may assert it is empty."""
        with self._cond:
            return list(self._internal_errors)

    @property
    def answered_callbacks(self) -> dict[str, CallbackAnswer]:
        with self._cond:
            return dict(self._answers)

    @property
    def updates_sent(self) -> list[JSON]:
        """Every update queued so far, delivered or not (copies)."""
        with self._cond:
            return [_copy(u) for u in self._sent_updates]

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is blocked waiting, i.e. the bot is idle-polling."""
        with self._cond:
            return self._waiting_polls > 0

    @property
    def pending_updates(self) -> int:
        with self._cond:
            return len(self._pending)

    def messages(self, chat_id: int) -> list[BotMessage]:
        """The bot's messages in a chat, oldest first, edits applied, deleted ones flagged."""
        with self._cond:
            return [
                self._snapshot(m) for m in self._messages.get(chat_id, {}).values() if m.from_bot
            ]

    def last_message(self, chat_id: int) -> BotMessage | None:
        live = [m for m in self.messages(chat_id) if not m.deleted]
        return live[-1] if live else None

    def bubbles(self, chat_id: int) -> list[BotMessage]:
        """What stays in the chat: the bot's messages that were not deleted."""
        return [m for m in self.messages(chat_id) if not m.deleted]

    def message_ops(self, chat_id: int | None = None, after: int = 0) -> list[Call]:
        """Accepted calls the person notices (see ``Call.message_op``), optionally in one chat.

        A toast has no chat id; it counts for the chat of the message its button was on.
        """
        with self._cond:
            calls = self._calls[after:]
            toast_chats = {q: c for q, (c, _m, _u) in self._callbacks.items()}
        found = []
        for call in calls:
            if not (call.ok and call.message_op):
                continue
            chat = call.chat_id
            if call.method == "answerCallbackQuery":
                chat = toast_chats.get(str(call.params.get("callback_query_id")))
            if chat_id is None or chat == chat_id:
                found.append(call)
        return found

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        with self._cond:
            return [dict(c) for c in self._commands.get(_scope_key(scope, language_code), [])]

    def menu_button(self, chat_id: int | None = None) -> JSON | None:
        with self._cond:
            button = self._menu_buttons.get(chat_id)
            return dict(button) if button else None

    # ---------------------------------------------------------------- waiting

    def wait_for(self, predicate: Callable[[], _T | None], timeout: float = 10.0) -> _T:
        """Block until ``predicate()`` is truthy and return its value.

        The predicate is re-evaluated whenever the fake's state changes (a call was answered,
        an update queued), never in a busy loop, and it runs without the fake's lock held.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                seen = self._version
            result = predicate()
            if result:
                return result
            with self._cond:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout:.1f}s\n{self.summary()}")
                if self._version == seen:
                    self._cond.wait(remaining)

    def wait_for_call(
        self,
        method: str,
        chat_id: int | None = None,
        timeout: float = 10.0,
        after: int = 0,
        *,
        ok: bool | None = None,
    ) -> Call:
        """The first call of ``method`` at index >= ``after`` (optionally in one chat / status)."""
        wanted = method.lower()

        def find() -> Call | None:
            with self._cond:
                for call in self._calls[after:]:
                    if call.method.lower() != wanted:
                        continue
                    if chat_id is not None and call.chat_id != chat_id:
                        continue
                    if ok is not None and call.ok != ok:
                        continue
                    return call
            return None

        return self.wait_for(find, timeout)

    def wait_for_message(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        after_message_id: int = 0,
        timeout: float = 10.0,
    ) -> BotMessage:
        """The first live bot message in the chat newer than ``after_message_id``."""

        def find() -> BotMessage | None:
            for msg in self.messages(chat_id):
                if msg.deleted or msg.message_id <= after_message_id:
                    continue
                if contains is not None and contains not in (msg.plain_text or ""):
                    continue
                return msg
            return None

        return self.wait_for(find, timeout)

    async def await_for(
        self,
        predicate: Callable[[], _T | None],
        timeout: float = 10.0,  # noqa: ASYNC109 - it bounds the worker thread's wait
    ) -> _T:
        """``wait_for`` in a worker thread, so the event loop running the bot is not blocked."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    async def await_call(
        self,
        method: str,
        chat_id: int | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
        after: int = 0,
        *,
        ok: bool | None = None,
    ) -> Call:
        return await asyncio.to_thread(
            lambda: self.wait_for_call(method, chat_id, timeout, after, ok=ok)
        )

    async def await_message(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        after_message_id: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> BotMessage:
        return await asyncio.to_thread(
            lambda: self.wait_for_message(
                chat_id, contains=contains, after_message_id=after_message_id, timeout=timeout
            )
        )

    def summary(self, last: int = 15) -> str:
        """Recent traffic in a compact form for failure messages (never includes the token)."""
        with self._cond:
            calls = self._calls[-last:]
            start = len(self._calls) - len(calls)
            lines = [f"{len(self._calls)} calls, {len(self._pending)} updates pending"]
            for index, call in enumerate(calls, start):
                text = call.text
                shown = "" if text is None else " " + repr(text[:60])
                error = "" if call.ok else f" -> {call.response.get('description', '')}"
                chat = "" if call.chat_id is None else f" chat={call.chat_id}"
                lines.append(f"  [{index}] {call.method} {call.status}{chat}{shown}{error}")
            if self._internal_errors:
                lines.append(f"  internal errors: {self._internal_errors[-3:]}")
            return "\n".join(lines)

    # ---------------------------------------------------------------- HTTP plumbing

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        split = urlsplit(handler.path)
        try:
            body = read_body(handler)
        except (OSError, ValueError):
            handler.close_connection = True
            return
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)", split.path)
        if match is None:
            self._respond(handler, ApiError(404, "Not Found").payload(), 404)
            return
        try:
            params, uploads = decode_params(handler, split.query, body)
        except WireError as exc:
            self._respond(handler, _bad(str(exc)).payload(), 400)
            return
        call = self.dispatch(match.group(1), match.group(2), params, uploads, arrived)
        self._respond(handler, call.response, call.status)

    def dispatch(
        self,
        token: str,
        requested: str,
        params: JSON,
        uploads: dict[str, Upload],
        arrived: float | None = None,
    ) -> Call:
        """Answer one Bot API call, whichever transport brought it (HTTP or in-process)."""
        arrived = time.monotonic() if arrived is None else arrived
        method_key = requested.lower()
        canonical, method_fn = self._methods.get(method_key, (requested, None))
        status = 200
        payload: JSON
        try:
            with self._cond:
                self._token_hashes.add(hashlib.sha256(token.encode()).hexdigest())
            if not self._token_re.fullmatch(token):
                raise ApiError(401, "Unauthorized")
            if method_fn is None:
                raise ApiError(404, "Not Found")
            with self._cond:
                self._bot_id = _as_int(token.split(":", 1)[0], 0)
                delays = self._delays.get(method_key)
                delay = delays.popleft() if delays else 0.0
                faults = self._faults.get(method_key)
                fault = faults.popleft() if faults else None
            if delay:
                self._stopping.wait(delay)
            if fault is not None:
                raise ApiError(fault.code, fault.description, fault.parameters)
            result = method_fn(params, uploads)
            payload = {"ok": True, "result": result}
        except ApiError as exc:
            status, payload = exc.code, exc.payload()
        except Exception as exc:  # a bug in the fake must not look like a Telegram error
            status = 500
            payload = {
                "ok": False,
                "error_code": 500,
                "description": f"Internal Server Error: {type(exc).__name__}: {exc}",
            }
            with self._cond:
                self._internal_errors.append(f"{canonical}: {type(exc).__name__}: {exc}")
        call = Call(
            method=canonical,
            params=params,
            files={name: u.content for name, u in uploads.items()},
            at=arrived,
            filenames={name: u.filename for name, u in uploads.items()},
            status=status,
            response=payload,
        )
        with self._cond:
            self._calls.append(call)
            self._bump()
        return call

    @staticmethod
    def _respond(handler: BaseHTTPRequestHandler, payload: JSON, status: int) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except OSError:  # the client gave up (e.g. PTB cancelled a long poll on shutdown)
            handler.close_connection = True

    def _bump(self) -> None:
        """Record a state change and wake every waiter (long polls and wait_for)."""
        self._version += 1
        self._cond.notify_all()

    # ---------------------------------------------------------------- state helpers

    def _bot_user(self) -> JSON:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": self.bot_username,
        }

    def _remember_user(self, user_id: int, first_name: str, username: str | None) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        self._users[user_id] = user
        return user

    def _remember_chat(
        self, chat_id: int, chat_type: str, user: JSON | None, title: str | None
    ) -> JSON:
        if chat_type == "private":
            if user is None or chat_id != user["id"]:
                raise ValueError("a private chat's id is the user's id")
            chat: JSON = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
        elif chat_type in ("group", "supergroup"):
            if chat_id >= 0:
                raise ValueError("group and supergroup ids are negative")
            known = self._chats.get(chat_id, {})
            chat = {
                "id": chat_id,
                "type": chat_type,
                "title": title or known.get("title", "Testgroep"),
            }
        else:
            raise ValueError(f"unsupported chat type {chat_type!r}")
        existing = self._chats.get(chat_id)
        if existing is not None and existing["type"] != chat_type:
            raise ValueError(f"chat {chat_id} is a {existing['type']}, not a {chat_type}")
        self._chats[chat_id] = chat
        return chat

    def _push_update(self, body: JSON, update_id: int | None = None) -> int:
        if update_id is None:
            update_id = self._next_update_id
        self._next_update_id = max(self._next_update_id, update_id) + 1
        update = {"update_id": update_id, **body}
        self._pending.append(update)
        self._sent_updates.append(_copy(update))
        self._bump()
        return update_id

    def _alloc_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _user_message(
        self,
        chat_id: int,
        user_id: int,
        content: JSON,
        *,
        kind: str,
        chat_type: str,
        first_name: str,
        username: str | None,
        chat_title: str | None,
        reply_to_message_id: int | None = None,
    ) -> int:
        with self._cond:
            user = self._remember_user(user_id, first_name, username)
            chat = self._remember_chat(chat_id, chat_type, user, chat_title)
            if chat_type == "private":
                self._blocked.discard(user_id)
            message_id = self._alloc_message_id(chat_id)
            data: JSON = {
                "message_id": message_id,
                "from": _copy(user),
                "chat": _copy(chat),
                "date": int(time.time()),
                **content,
            }
            if reply_to_message_id is not None:
                target = self._messages.get(chat_id, {}).get(reply_to_message_id)
                if target is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
                data["reply_to_message"] = _copy(target.data)
            msg = _Msg(
                chat_id, message_id, False, user_id, data, kind, raw_text=content.get("text")
            )
            self._messages.setdefault(chat_id, {})[message_id] = msg
            return self._push_update({"message": _copy(data)})

    def _new_file_id(self, kind: str) -> tuple[str, str]:
        with self._cond:
            self._file_counter += 1
            return f"fake-{kind}-{self._file_counter:06d}", f"uniq{self._file_counter:06d}"

    def _snapshot(self, msg: _Msg) -> BotMessage:
        plain = msg.data.get("text", msg.data.get("caption"))
        entities = msg.data.get("entities", msg.data.get("caption_entities", []))
        return BotMessage(
            chat_id=msg.chat_id,
            message_id=msg.message_id,
            kind=msg.kind,
            text=msg.raw_text,
            plain_text=plain,
            parse_mode=msg.parse_mode,
            entities=tuple(_copy(e) for e in entities or []),
            reply_markup=_copy(msg.markup) if msg.markup is not None else None,
            file=msg.file,
            filename=msg.filename,
            mime_type=msg.mime_type,
            deleted=msg.deleted,
            edit_count=msg.edit_count,
            date=int(msg.data["date"]),
            thread_id=msg.data.get("message_thread_id"),
        )

    # ---------------------------------------------------------------- validation helpers

    def _target_chat(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        with self._cond:
            chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
            if chat is None and isinstance(chat_id, str):
                name = chat_id.removeprefix("@").lower()
                chat = next(
                    (c for c in self._chats.values() if c.get("username", "").lower() == name),
                    None,
                )
            if chat is None:
                if isinstance(chat_id, int) and chat_id > 0:
                    raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
                raise _bad("chat not found")
            if chat["type"] == "private" and chat["id"] in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            return chat

    @staticmethod
    def _check_markup(markup: Any, *, inline_only: bool = False) -> JSON | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if inline_only:
                raise _bad("inline keyboard expected")
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise _bad("can't parse reply keyboard markup JSON object")
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad(
                'can\'t parse inline keyboard: field "inline_keyboard" must be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise _bad(
                        "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                    )
                if not isinstance(button.get("text"), str):
                    raise _bad(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                if not any(button.get(k) not in (None, "") for k in _BUTTON_ACTIONS):
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
        return markup

    @staticmethod
    def _check_button_data(markup: JSON | None) -> None:
        for row in (markup or {}).get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and len(str(data).encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                    raise _bad("BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise _bad("inline keyboard button text must be non-empty")

    def _format(
        self, text: str, parse_mode: Any, entities: Any, *, allow_empty: bool
    ) -> tuple[str, list[JSON]]:
        if len(text.encode("utf-8")) > 1 << 15:
            raise _bad("text is too long")
        mode = str(parse_mode or "").lower()
        if text and mode and mode != "none" and self.checks:
            if mode != "html":
                raise _bad("unsupported parse_mode (the fake knows HTML, the only mode used)")
            try:
                plain, found = parse_html(text, strict_ampersand=self.strict_ampersand)
            except EntityParseError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        else:
            plain = text
            found = [dict(e) for e in entities] if isinstance(entities, list) else []
        plain, found = trim(plain, found)
        if not plain and not allow_empty:
            raise _bad("text must be non-empty")
        return plain, found

    def _reply_target(self, chat_id: int, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        target_id = reply.get("message_id") if isinstance(reply, dict) else None
        if target_id is None:
            target_id = params.get("reply_to_message_id")
        if target_id is None:
            return None
        target = self._messages.get(chat_id, {}).get(int(target_id))
        if target is None or target.deleted:
            allow = isinstance(reply, dict) and reply.get("allow_sending_without_reply")
            if allow or params.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        return _copy(target.data)

    def _store_bot_message(
        self,
        chat: JSON,
        content: JSON,
        *,
        kind: str,
        raw_text: str | None,
        params: JSON,
        markup: JSON | None,
        file: tuple[bytes, str, str] | None = None,
    ) -> JSON:
        with self._cond:
            chat_id = int(chat["id"])
            reply_to = self._reply_target(chat_id, params)
            message_id = self._alloc_message_id(chat_id)
            data: JSON = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": _copy(chat),
                "date": int(time.time()),
                **content,
            }
            if reply_to is not None:
                data["reply_to_message"] = reply_to
            if isinstance(params.get("message_thread_id"), int):
                data["message_thread_id"] = params["message_thread_id"]
            if markup and markup.get("inline_keyboard"):
                data["reply_markup"] = _copy(markup)
            msg = _Msg(
                chat_id,
                message_id,
                True,
                None,
                data,
                kind,
                raw_text=raw_text,
                parse_mode=params.get("parse_mode"),
                markup=markup,
                file=file[0] if file else None,
                filename=file[1] if file else None,
                mime_type=file[2] if file else None,
            )
            self._messages.setdefault(chat_id, {})[message_id] = msg
            self._bump()
            return _copy(data)

    def _message_for_edit(self, params: JSON) -> _Msg:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the fake Bot API")
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        msg = self._messages.get(int(chat["id"]), {}).get(message_id)
        if msg is None or msg.deleted:
            raise _bad("message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return msg

    def _upload(
        self, params: JSON, uploads: dict[str, Upload], name: str
    ) -> tuple[bytes, str, str]:
        """The file a send method refers to: uploaded, attach://, known file_id, or URL."""
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value[len("attach://") :])
            if upload is None:
                raise _bad(f"can't find attached file {value!r}")
        else:
            upload = uploads.get(name)
        if upload is not None:
            if not upload.content:
                raise _bad("file must be non-empty")
            return upload.content, upload.filename, upload.mime_type
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {name} in the request")
        with self._cond:
            known = self._files.get(str(value))
        if known is not None:
            return known
        if value.startswith(("http://", "https://")):
            return b"", value.rsplit("/", 1)[-1] or "file", "application/octet-stream"
        raise _bad("wrong file identifier/HTTP URL specified")

    # ---------------------------------------------------------------- Bot API methods

    def _get_me(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        if params.get("drop_pending_updates"):
            with self._cond:
                self._pending.clear()
        return True

    def _get_webhook_info(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        with self._cond:
            return {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }

    def _set_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("bad webhook: secret token contains unallowed characters")
        with self._cond:
            self.webhook = {"url": url, "secret_token": secret}
        return True

    def _set_description(self, field_name: str) -> Handler:
        limit = 512 if field_name == "description" else 120

        def handler(params: JSON, uploads: dict[str, Upload]) -> bool:
            text = str(params.get(field_name) or "")
            if len(text) > limit:
                raise _bad(f"{field_name} is too long")
            with self._cond:
                self.descriptions[field_name] = text
            return True

        return handler

    def _get_updates(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        offset = _as_int(params.get("offset"), 0)
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        try:
            timeout = min(max(float(params.get("timeout") or 0), 0.0), 50.0)
        except (TypeError, ValueError):
            timeout = 0.0
        allowed = params.get("allowed_updates")
        with self._cond:
            if isinstance(allowed, list):
                self._allowed_updates = frozenset(allowed) if allowed else None
            if offset < 0:
                self._pending = self._pending[offset:]
            elif offset > 0:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            batch = self._select_updates(limit)
            if batch or timeout <= 0:
                return batch
            # Only one long poll may wait at a time; Telegram answers the older one with 409.
            self._poll_generation += 1
            generation = self._poll_generation
            self._waiting_polls += 1
            self._bump()
            try:
                deadline = time.monotonic() + timeout
                while True:
                    if self._stopping.is_set():
                        return []
                    if self._poll_generation != generation:
                        raise ApiError(409, CONFLICT)
                    batch = self._select_updates(limit)
                    if batch:
                        return batch
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    self._cond.wait(remaining)
            finally:
                self._waiting_polls -= 1
                self._bump()

    def _select_updates(self, limit: int) -> list[JSON]:
        def allowed(update: JSON) -> bool:
            kinds = set(update) - {"update_id"}
            if self._allowed_updates is None:
                return not kinds & _DEFAULT_EXCLUDED_UPDATES
            return bool(kinds & self._allowed_updates)

        # Telegram never stores updates the bot did not ask for, so drop them for good.
        self._pending = [u for u in self._pending if allowed(u)]
        return [_copy(u) for u in self._pending[:limit]]

    def _set_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        cleaned: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand: BotCommand must be an Object")
            command = str(item.get("command", "")).strip().removeprefix("/")
            description = str(item.get("description", "")).strip()
            if not command:
                raise _bad("command must be non-empty")
            if len(command) > 32:
                raise _bad("command length must not exceed 32")
            if not description:
                raise _bad("command description must be non-empty")
            if len(description) > 256:
                raise _bad("command description length must not exceed 256")
            if not re.fullmatch(r"[a-z0-9_]+", command):
                raise _bad("BOT_COMMAND_INVALID")
            cleaned.append({"command": command, "description": description})
        if len(cleaned) > 100:
            raise _bad("too many commands")
        key = self._scope_key(params)
        with self._cond:
            self._commands[key] = cleaned
        return True

    def _get_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        key = self._scope_key(params)
        with self._cond:
            return [dict(c) for c in self._commands.get(key, [])]

    def _delete_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        key = self._scope_key(params)
        with self._cond:
            self._commands.pop(key, None)
        return True

    @staticmethod
    def _scope_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None and (
            not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES
        ):
            raise _bad("can't parse BotCommandScope: wrong BotCommandScope type specified")
        return _scope_key(scope, str(params.get("language_code") or ""))

    def _text_content(self, params: JSON, markup: JSON | None) -> tuple[str, JSON]:
        """Telegram's checks for a message text (send or edit): the raw text and its content."""
        text = params.get("text")
        if text is None or text == "":
            raise _bad("message text is empty")
        text = str(text)
        plain, entities = self._format(
            text, params.get("parse_mode"), params.get("entities"), allow_empty=False
        )
        if len(plain) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        self._check_button_data(markup)
        content: JSON = {"text": plain}
        if entities:
            content["entities"] = entities
        return text, content

    def _send_message(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat = self._target_chat(params)
        markup = self._check_markup(params.get("reply_markup"))
        text, content = self._text_content(params, markup)
        return self._store_bot_message(
            chat, content, kind="text", raw_text=text, params=params, markup=markup
        )

    def _caption(self, params: JSON) -> tuple[str | None, JSON]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, {}
        caption = str(caption)
        plain, entities = self._format(
            caption, params.get("parse_mode"), params.get("caption_entities"), allow_empty=True
        )
        if len(plain) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        content: JSON = {}
        if plain:
            content["caption"] = plain
        if entities:
            content["caption_entities"] = entities
        return caption, content

    def _send_media(
        self,
        params: JSON,
        uploads: dict[str, Upload],
        kind: str,
        describe: Callable[[tuple[bytes, str, str]], JSON | list[JSON]],
    ) -> JSON:
        """sendPhoto and sendDocument check the same things in the same order (so the same
        request fails with the same error); only the object stored under ``kind`` differs."""
        chat = self._target_chat(params)
        markup = self._check_markup(params.get("reply_markup"))
        file = self._upload(params, uploads, kind)
        raw_caption, content = self._caption(params)
        self._check_button_data(markup)
        return self._store_bot_message(
            chat,
            {kind: describe(file), **content},
            kind=kind,
            raw_text=raw_caption,
            params=params,
            markup=markup,
            file=file,
        )

    def _send_photo(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return self._send_media(params, uploads, "photo", self._photo_sizes)

    def _photo_sizes(self, file: tuple[bytes, str, str]) -> list[JSON]:
        content_bytes = file[0]
        size = _image_size(content_bytes) if content_bytes else (0, 0)
        if size is None:
            raise _bad("IMAGE_PROCESS_FAILED")
        width, height = size if size != (0, 0) else (800, 600)
        if width + height > 10_000 or max(width, height) > 20 * max(min(width, height), 1):
            raise _bad("PHOTO_INVALID_DIMENSIONS")
        sizes: list[JSON] = []
        for scale in (min(1.0, 90 / max(width, height)), min(1.0, 1280 / max(width, height))):
            file_id, unique = self._new_file_id("photo")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                    "file_size": len(content_bytes),
                }
            )
        with self._cond:
            for entry in sizes:
                self._files[entry["file_id"]] = file
        return sizes

    def _send_document(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return self._send_media(params, uploads, "document", self._document)

    def _document(self, file: tuple[bytes, str, str]) -> JSON:
        content_bytes, filename, mime_type = file
        file_id, unique = self._new_file_id("document")
        with self._cond:
            self._files[file_id] = file
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content_bytes),
        }

    def _edit_message_text(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        with self._cond:
            msg = self._message_for_edit(params)
            if msg.kind != "text":
                raise _bad("there is no text in the message to edit")
            markup = self._check_markup(params.get("reply_markup"), inline_only=True)
            text, content = self._text_content(params, markup)
            return self._apply_edit(msg, content, ("text", "entities"), text, params, markup)

    def _edit_message_caption(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        with self._cond:
            msg = self._message_for_edit(params)
            if msg.kind == "text":
                raise _bad("there is no caption in the message to edit")
            markup = self._check_markup(params.get("reply_markup"), inline_only=True)
            raw_caption, content = self._caption(params)
            self._check_button_data(markup)
            return self._apply_edit(
                msg, content, ("caption", "caption_entities"), raw_caption, params, markup
            )

    def _edit_message_reply_markup(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        with self._cond:
            msg = self._message_for_edit(params)
            markup = self._check_markup(params.get("reply_markup"), inline_only=True)
            self._check_button_data(markup)
            new_inline = markup if markup and markup.get("inline_keyboard") else None
            if new_inline == msg.data.get("reply_markup"):
                raise ApiError(400, NOT_MODIFIED)
            self._set_markup(msg, new_inline)
            return self._finish_edit(msg)

    def _apply_edit(
        self,
        msg: _Msg,
        content: JSON,
        keys: tuple[str, str],
        raw_text: str | None,
        params: JSON,
        markup: JSON | None,
    ) -> JSON:
        # Leaving reply_markup out of an edit removes the keyboard, as on Telegram.
        new_inline = markup if markup and markup.get("inline_keyboard") else None
        old = {k: msg.data.get(k) for k in keys}
        new = {k: content.get(k) for k in keys}
        if old == new and new_inline == msg.data.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        for key in keys:
            msg.data.pop(key, None)
        msg.data.update(content)
        msg.raw_text = raw_text
        msg.parse_mode = params.get("parse_mode")
        self._set_markup(msg, new_inline)
        return self._finish_edit(msg)

    @staticmethod
    def _set_markup(msg: _Msg, inline: JSON | None) -> None:
        msg.data.pop("reply_markup", None)
        if inline is not None:
            msg.data["reply_markup"] = _copy(inline)
        msg.markup = _copy(inline) if inline is not None else None

    def _finish_edit(self, msg: _Msg) -> JSON:
        msg.data["edit_date"] = int(time.time())
        msg.edit_count += 1
        self._bump()
        return _copy(msg.data)

    def _delete_message(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        with self._cond:
            chat = self._target_chat(params)
            message_id = params.get("message_id")
            if not isinstance(message_id, int):
                raise _bad("message identifier is not specified")
            msg = self._messages.get(int(chat["id"]), {}).get(message_id)
            if msg is None or msg.deleted:
                raise _bad("message to delete not found")
            msg.deleted = True
            self._bump()
            return True

    def _answer_callback_query(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._cond:
            if query_id not in self._callbacks or query_id in self._answers:
                raise ApiError(400, QUERY_INVALID)
            text = params.get("text")
            self.check_toast(text)
            self._answers[query_id] = CallbackAnswer(
                text=str(text) if text is not None else None,
                show_alert=bool(params.get("show_alert", False)),
                url=params.get("url"),
                cache_time=_as_int(params.get("cache_time"), 0) if "cache_time" in params else None,
            )
            self._bump()
        return True

    @staticmethod
    def check_toast(text: Any) -> None:
        if text is not None and len(str(text)) > MAX_TOAST_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")

    def _send_chat_action(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _get_chat(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat = self._target_chat(params)
        return {
            **_copy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _member(self, chat: JSON, user_id: int) -> JSON:
        chat_id = int(chat["id"])
        if user_id == self._bot_id:
            user = self._bot_user()
        else:
            known = self._users.get(user_id)
            user = (
                _copy(known)
                if known is not None
                else {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            )
        if chat["type"] != "private" and self.owners.get(chat_id) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if chat["type"] != "private" and user_id in self.admins.get(chat_id, set()):
            rights = dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_pin_messages",
                ),
                True,
            )
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_promote_members": False,
                "can_manage_topics": False,
                **rights,
            }
        return {"status": "member", "user": user}

    def _get_chat_member(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat = self._target_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _bad("user_id is empty")
        with self._cond:
            return self._member(chat, user_id)

    def _get_chat_administrators(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        chat = self._target_chat(params)
        if chat["type"] == "private":
            raise _bad("there are no administrators in the private chat")
        chat_id = int(chat["id"])
        with self._cond:
            ids: list[int] = []
            owner = self.owners.get(chat_id)
            if owner is not None:
                ids.append(owner)
            ids += sorted(u for u in self.admins.get(chat_id, set()) if u != owner)
            return [self._member(chat, user_id) for user_id in ids]

    def _set_chat_menu_button(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self._target_chat(params)
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise _bad("can't parse menu button: wrong MenuButton type specified")
        with self._cond:
            self._menu_buttons[chat_id if isinstance(chat_id, int) else None] = dict(button)
        return True

    def _get_chat_menu_button(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat_id = params.get("chat_id")
        with self._cond:
            button = self._menu_buttons.get(chat_id if isinstance(chat_id, int) else None)
            return dict(button) if button else {"type": "commands"}


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _copy(value: _T) -> _T:
    """Deep copy of JSON-like data, so callers never share mutable state with the server."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [_copy(v) for v in value]  # type: ignore[return-value]
    return value


def _as_int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return default


def _scope_key(scope: JSON | None, language_code: str) -> tuple[str, str]:
    normalised = scope if scope is not None else {"type": "default"}
    return json.dumps(normalised, sort_keys=True), language_code


def _http_phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"Error {code}"
