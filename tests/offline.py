"""An offline Bot API for in-process tests and benchmarks, the way PTB tests itself.

`OfflineRequest` answers every call from memory in microseconds, so handlers can be driven with
`Application.process_update` without any network, and every call the bot makes is recorded and
checked against Telegram's limits (text length, caption length, button data size, valid HTML).

The update builders make what Telegram would deliver: commands carry their entity, a button press
can be made on a message the bot really sent (`press_on`, with that message's id and formatted
text, so an edit of "the answered message" is checked against the real original), and stickers,
photos and edited messages come as the same objects PTB builds from Telegram's JSON.
"""

from __future__ import annotations

import asyncio
import html.parser
import itertools
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    CallbackQuery,
    Chat,
    Document,
    Location,
    Message,
    MessageEntity,
    PhotoSize,
    Sticker,
    Update,
    User,
    Voice,
)
from telegram.request import BaseRequest, RequestData

TOKEN = "123456:TEST-TOKEN-not-a-real-one-aaaaaaaaaa"
BOT = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Inkoopkompas",
    "username": "inkoopkompas_test_bot",
}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
TOAST_LIMIT = 200
CALLBACK_DATA_LIMIT = 64
# What Telegram's HTML parser accepts where a "<" or "&" appears: a tag it knows, or an entity.
_TAG_AT = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_ENTITY_AT = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_ENTITY_TYPES = {
    "b": MessageEntity.BOLD,
    "strong": MessageEntity.BOLD,
    "i": MessageEntity.ITALIC,
    "em": MessageEntity.ITALIC,
    "u": MessageEntity.UNDERLINE,
    "ins": MessageEntity.UNDERLINE,
    "s": MessageEntity.STRIKETHROUGH,
    "strike": MessageEntity.STRIKETHROUGH,
    "del": MessageEntity.STRIKETHROUGH,
    "code": MessageEntity.CODE,
    "pre": MessageEntity.PRE,
    "a": MessageEntity.TEXT_LINK,
}


class _TagChecker(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(f"tag <{tag}> not allowed")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _escaping_problems(text: str) -> list[str]:
    """Characters Telegram's HTML mode would refuse or misread: a "<" that starts no known tag,
    an "&" that starts no entity, a ">" outside a tag (the Bot API asks for all three escaped)."""
    problems: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            tag = _TAG_AT.match(text, position)
            if tag is None or tag.group(1).lower() not in ALLOWED_TAGS:
                problems.append(f"bare < at {position}")
                position += 1
                continue
            position = tag.end()
            continue
        if char == "&" and _ENTITY_AT.match(text, position) is None:
            problems.append(f"bare & at {position}")
        elif char == ">":
            problems.append(f"bare > at {position}")
        position += 1
    return problems


def visible_text(text: str) -> str:
    """What the person reads of an HTML message: tags gone, entities decoded."""
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    return "".join(checker.text)


def _button_problems(markup: Any) -> list[str]:
    problems = []
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text") or "").strip():
                problems.append("button without text")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                problems.append("BUTTON_DATA_INVALID")
            if data is None and not button.get("url"):
                problems.append("button without callback data or url")
    return problems


def telegram_problems(params: dict[str, Any], method: str = "") -> list[str]:
    """Why Telegram would refuse these parameters (empty list: it would accept them).

    `method` makes the check stricter where a method has its own rules (a toast of an
    answerCallbackQuery is plain text of at most 200 characters); without it, `text` is treated
    as message text.
    """
    problems: list[str] = []
    text = params.get("text")
    if method == "answerCallbackQuery":
        if text is not None and len(str(text)) > TOAST_LIMIT:
            problems.append(f"toast too long ({len(str(text))})")
        text = None
    if text is not None:
        visible = str(text)
        if params.get("parse_mode") == "HTML":
            checker = _TagChecker()
            checker.feed(str(text))
            checker.close()
            if checker.stack:
                checker.errors.append(f"unclosed {checker.stack}")
            problems += checker.errors
            problems += _escaping_problems(str(text))
            visible = "".join(checker.text)
        if not visible.strip():
            problems.append("message text is empty")
        if len(visible) > TEXT_LIMIT:
            problems.append(f"message is too long ({len(visible)})")
    caption = params.get("caption")
    if caption is not None and len(str(caption)) > CAPTION_LIMIT:
        problems.append("caption too long")
    problems += _button_problems(params.get("reply_markup"))
    return problems


@dataclass
class Sent:
    """One call the bot made: the method, its parameters, what was wrong, and what it got back."""

    method: str
    params: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict) and "message_id" in self.result:
            return int(self.result["message_id"])
        value = self.params.get("message_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of every callback button on this message, row by row."""
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [
            (str(button.get("text")), str(button["callback_data"]))
            for row in (markup or {}).get("inline_keyboard", [])
            for button in row
            if button.get("callback_data") is not None
        ]

    @property
    def urls(self) -> list[str]:
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [
            str(button["url"])
            for row in (markup or {}).get("inline_keyboard", [])
            for button in row
            if button.get("url")
        ]


class OfflineRequest(BaseRequest):
    """A Bot API in memory. `delay` (seconds) makes every call yield to the event loop for that
    long, so concurrent updates really interleave while the bot is sending."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[Sent] = []
        self.delay = delay
        self._ids = itertools.count(1000)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        record = Sent(endpoint, params, telegram_problems(params, endpoint))
        self.sent.append(record)
        if self.delay:
            await asyncio.sleep(self.delay)
        record.result = self._result(endpoint, params)
        return 200, json.dumps({"ok": True, "result": record.result}).encode()

    def _result(self, endpoint: str, params: dict[str, Any]) -> Any:
        if endpoint == "getMe":
            return BOT
        if endpoint == "getUpdates":
            return []
        if endpoint.startswith(("send", "edit")) and "chat_id" in params:
            chat_id = int(params["chat_id"])
            message: dict[str, Any] = {
                "message_id": int(params.get("message_id") or next(self._ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": BOT,
            }
            if "text" in params:
                message["text"] = params["text"]
            return message
        if endpoint == "getChatMember":
            return {
                "status": "member",
                "user": {"id": int(params.get("user_id", 0)), "is_bot": False, "first_name": "X"},
            }
        return True

    @property
    def problems(self) -> list[tuple[str, str]]:
        return [(s.method, p) for s in self.sent for p in s.problems]

    def calls(
        self, chat_id: int | None = None, *, since: int = 0, method: str | None = None
    ) -> list[Sent]:
        """The calls from index `since` on, optionally only those to one chat or of one method."""
        return [
            s
            for s in self.sent[since:]
            if (chat_id is None or s.chat_id == chat_id) and (method is None or s.method == method)
        ]

    def keyboards(self, chat_id: int | None = None, *, since: int = 0) -> list[Sent]:
        """Messages sent or edited with callback buttons, oldest first."""
        return [s for s in self.calls(chat_id, since=since) if s.buttons]

    def last_keyboard(self, chat_id: int) -> Sent | None:
        found = self.keyboards(chat_id)
        return found[-1] if found else None


def html_to_entities(text: str) -> tuple[str, list[MessageEntity]]:
    """Split Telegram HTML into the plain text and entities Telegram would store for it.

    Offsets count UTF-16 code units, as Telegram's do, so `Message.text_html` of the result gives
    back equivalent HTML (emoji included).
    """

    class Parser(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.units = 0
            self.open: list[tuple[str, int, str | None]] = []
            self.entities: list[MessageEntity] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.open.append((tag, self.units, dict(attrs).get("href")))

        def handle_endtag(self, tag: str) -> None:
            if not self.open:
                return
            name, start, href = self.open.pop()
            kind = _ENTITY_TYPES.get(name)
            if kind is not None and self.units > start:
                self.entities.append(
                    MessageEntity(kind, start, self.units - start, url=href if href else None)
                )

        def handle_data(self, data: str) -> None:
            self.parts.append(data)
            self.units += len(data.encode("utf-16-le")) // 2

    parser = Parser()
    parser.feed(text)
    parser.close()
    entities = sorted(parser.entities, key=lambda e: (e.offset, -e.length))
    return "".join(parser.parts), entities


_update_ids = itertools.count(1)


def _user(user_id: int) -> User:
    return User(user_id, "Koper", False)


def _chat(user_id: int, chat_id: int | None) -> Chat:
    chat_id = user_id if chat_id is None else chat_id
    return Chat(chat_id, "private" if chat_id == user_id else "group")


def _wrap(bot: Any, **kwargs: Any) -> Update:
    for value in kwargs.values():
        value.set_bot(bot)
    update = Update(next(_update_ids), **kwargs)
    update.set_bot(bot)
    return update


def text_update(bot: Any, user_id: int, text: str, chat_id: int | None = None) -> Update:
    entities = []
    if text.startswith("/"):
        length = len(text.split()[0])
        entities = [MessageEntity(MessageEntity.BOT_COMMAND, 0, length)]
    message = Message(
        message_id=next(_update_ids),
        date=_now(),
        chat=_chat(user_id, chat_id),
        from_user=_user(user_id),
        text=text,
        entities=entities,
    )
    return _wrap(bot, message=message)


def press_update(
    bot: Any,
    user_id: int,
    data: str,
    message_id: int = 1,
    *,
    text: str = "vraag",
    entities: Sequence[MessageEntity] = (),
    chat_id: int | None = None,
) -> Update:
    """A press on a button with `data`, on message `message_id` whose text is `text`."""
    message = Message(
        message_id=message_id,
        date=_now(),
        chat=_chat(user_id, chat_id),
        text=text,
        entities=tuple(entities),
        from_user=User(int(str(BOT["id"])), str(BOT["first_name"]), True),
    )
    message.set_bot(bot)
    query = CallbackQuery(str(next(_update_ids)), _user(user_id), "ci", message=message, data=data)
    return _wrap(bot, callback_query=query)


def press_on(bot: Any, user_id: int, sent: Sent, data: str) -> Update:
    """A press on a message the bot sent: its id, its chat, and its text as Telegram keeps it."""
    plain, entities = html_to_entities(sent.text) if sent.text else ("vraag", [])
    chat_id = sent.chat_id if sent.chat_id is not None else user_id
    return press_update(
        bot,
        user_id,
        data,
        sent.message_id or 1,
        text=plain,
        entities=entities,
        chat_id=None if chat_id == user_id else chat_id,
    )


MEDIA_KINDS = ("sticker", "photo", "voice", "document", "location")


def media_update(
    bot: Any, user_id: int, kind: str = "sticker", caption: str | None = None
) -> Update:
    """A message without text, as Telegram sends a sticker, photo, voice note, file or location."""
    content: dict[str, Any]
    if kind == "sticker":
        content = {"sticker": Sticker("st1", "ust1", 512, 512, False, False, Sticker.REGULAR)}
    elif kind == "photo":
        content = {"photo": (PhotoSize("ph1", "uph1", 90, 90), PhotoSize("ph2", "uph2", 800, 800))}
    elif kind == "voice":
        content = {"voice": Voice("vo1", "uvo1", 3)}
    elif kind == "document":
        content = {"document": Document("do1", "udo1", file_name="offerte.pdf")}
    elif kind == "location":
        content = {"location": Location(6.09, 52.51)}
    else:
        raise ValueError(f"unknown media kind {kind!r}")
    message = Message(
        message_id=next(_update_ids),
        date=_now(),
        chat=_chat(user_id, None),
        from_user=_user(user_id),
        caption=caption,
        **content,
    )
    return _wrap(bot, message=message)


def edited_update(bot: Any, user_id: int, text: str, message_id: int | None = None) -> Update:
    """An edit of a message the person sent earlier (Telegram sends the whole new message)."""
    message = Message(
        message_id=message_id if message_id is not None else next(_update_ids),
        date=_now(),
        chat=_chat(user_id, None),
        from_user=_user(user_id),
        text=text,
        edit_date=_now(),
    )
    return _wrap(bot, edited_message=message)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
