"""The fake Bot API without a socket: PTB's `BaseRequest` answered by the same `FakeBotApi`.

This is how PTB tests itself (an offline request class, updates fed to `process_update`), so a
handler test takes milliseconds, while every call still goes through the one validator and the one
message store: a press hands the bot the question as Telegram keeps it (plain text plus entities),
and an edit is checked against the real original.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

from tests.fakes.botapi import BOT_USERNAME, Call, FakeBotApi
from tests.fakes.wire import Upload, coerce

TOKEN = "123456:TEST-TOKEN-not-a-real-one-aaaaaaaaaa"
BOT = {"id": 123456, "is_bot": True, "first_name": "Inkoopkompas", "username": BOT_USERNAME}
_URL = re.compile(r"/bot([^/]*)/([^/]*)$")


class FakeRequest(BaseRequest):
    """Answers every call from `fake` in memory. `delay` (seconds) yields to the event loop on each
    call so concurrent updates really interleave; `checks=False` skips entity parsing, for the
    benchmarks, which must not count the fake's own work as the bot's."""

    def __init__(
        self, fake: FakeBotApi | None = None, *, delay: float = 0.0, checks: bool = True
    ) -> None:
        self.fake = fake or FakeBotApi()
        self.fake.checks = checks
        self.delay = delay

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
        match = _URL.search(url)
        token, name = match.groups() if match else ("", url.rsplit("/", 1)[-1])
        params: dict[str, Any] = {}
        uploads: dict[str, Upload] = {}
        if request_data is not None:
            params = coerce(dict(request_data.json_parameters), from_strings=True)
            for key, (filename, content, mime) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                uploads[key] = Upload(data, filename, mime)
        if self.delay:
            await asyncio.sleep(self.delay)
        call = self.fake.dispatch(token, name, params, uploads)
        return call.status, call.payload_bytes()

    # -- what the tests look at ---------------------------------------------------------------

    @property
    def sent(self) -> list[Call]:
        """The live record of calls (clearing it forgets them, as the benchmarks do)."""
        return self.fake._calls

    @property
    def problems(self) -> list[tuple[str, str]]:
        return [(c.method, p) for c in self.fake.calls for p in c.problems]

    def calls(
        self, chat_id: int | None = None, *, since: int = 0, method: str | None = None
    ) -> list[Call]:
        return [
            c
            for c in self.fake.calls[since:]
            if (chat_id is None or c.chat_id == chat_id) and (method is None or c.method == method)
        ]

    def keyboards(self, chat_id: int | None = None, *, since: int = 0) -> list[Call]:
        """Accepted messages sent or edited with callback buttons, oldest first."""
        return [c for c in self.calls(chat_id, since=since) if c.ok and c.buttons]

    def last_keyboard(self, chat_id: int) -> Call | None:
        found = self.keyboards(chat_id)
        return found[-1] if found else None


def fake_of(bot: Any) -> FakeBotApi:
    request = bot.request
    if not isinstance(request, FakeRequest):
        raise TypeError("this bot was not built on a FakeRequest")
    return request.fake


def _one_update(bot: Any, fake: FakeBotApi, update_id: int) -> Update:
    raw = fake.take_update(update_id)
    update = Update.de_json(raw, bot)
    assert update is not None
    return update


def _chat_type(user_id: int, chat_id: int | None) -> tuple[int, str]:
    chat = user_id if chat_id is None else chat_id
    return chat, "private" if chat == user_id else "supergroup"


def text_update(
    bot: Any, user_id: int, text: str, chat_id: int | None = None, thread_id: int | None = None
) -> Update:
    """The person sends `text` (commands get their entity, as from Telegram)."""
    fake = fake_of(bot)
    chat, kind = _chat_type(user_id, chat_id)
    update_id = fake.send_text(chat, user_id, text, chat_type=kind, thread_id=thread_id)
    return _one_update(bot, fake, update_id)


def press_update(bot: Any, user_id: int, data: str, message_id: int | None = None) -> Update:
    """A press with `data` on message `message_id`; without one, on the latest message showing
    that button, or else on an old message of the bot (as from before a restart) carrying it."""
    fake = fake_of(bot)
    if message_id is None:
        message_id = fake.message_with_button(user_id, data)
    shown = fake.buttons_of(user_id, message_id) if message_id is not None else None
    if message_id is None or shown is None or data not in shown:
        message_id = fake.old_bot_message(user_id, data, message_id)
    update_id = fake.press_update_id(user_id, user_id, message_id, data)
    return _one_update(bot, fake, update_id)


def press_on(bot: Any, user_id: int, sent: Call, data: str) -> Update:
    """A press on a message the bot sent or edited, with any button data (even forged). When the
    message no longer shows that button (deleted, or edited since), the press comes from a stand-in
    old message that does, as from a phone that has not caught up."""
    fake = fake_of(bot)
    chat = sent.chat_id if isinstance(sent.chat_id, int) else user_id
    assert sent.message_id is not None, sent
    message_id = sent.message_id
    shown = fake.buttons_of(chat, message_id)
    if shown is None or (data in {d for _t, d in sent.buttons} and data not in shown):
        message_id = fake.old_bot_message(chat, data)
    update_id = fake.press_update_id(chat, user_id, message_id, data)
    return _one_update(bot, fake, update_id)


MEDIA_KINDS = ("sticker", "photo", "voice")


def media_update(bot: Any, user_id: int, kind: str = "sticker") -> Update:
    fake = fake_of(bot)
    senders: dict[str, Callable[[int, int], int]] = {
        "sticker": fake.send_sticker,
        "photo": fake.send_photo,
        "voice": fake.send_voice,
    }
    update_id = senders[kind](user_id, user_id)
    return _one_update(bot, fake, update_id)


def edited_update(bot: Any, user_id: int, text: str) -> Update:
    """The person edits their latest text message."""
    fake = fake_of(bot)
    own = fake.user_text_ids(user_id)
    if not own:
        fake.take_update(fake.send_text(user_id, user_id, "…"))
        own = fake.user_text_ids(user_id)
    return _one_update(bot, fake, fake.edit_text(user_id, user_id, own[-1], text))
