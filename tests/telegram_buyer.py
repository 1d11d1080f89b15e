"""A buyer played through the fake Bot API: sends updates and waits for the bot's answers."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.telegram.app import build_application
from storage import Store
from tests.fakes import BotMessage, FakeBotApi

TOKEN = "123456:TEST-TOKEN-not-a-real-one-aaaaaaaaaa"
PROGRESS = "· vraag "
SHOWN = ("sendMessage", "editMessageText")
_TAGS = re.compile(r"<[^>]+>")


async def start_bot(fake: FakeBotApi, data: Path, allowed: frozenset[int] | None = None) -> Any:
    """The real Application, polling the fake Bot API, on its own data directory."""
    settings = Settings(
        data_dir=data, token=TOKEN, api_base_url=fake.base_url, allowed_users=allowed
    )
    app = build_application(settings, Store(data))
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    return app


async def stop_bot(app: Any) -> None:
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


def plain(text: str | None) -> str:
    return html.unescape(_TAGS.sub("", text or ""))


class Buyer:
    def __init__(self, fake: FakeBotApi, user_id: int, chat_id: int | None = None) -> None:
        self.fake = fake
        self.user_id = user_id
        self.chat_id = chat_id if chat_id is not None else user_id
        self.chat_type = "private" if self.chat_id == user_id else "group"

    def _reply_after(self, mark: int, expect: str) -> Any:
        """The first message sent or edited since `mark` that shows `expect`: a question may
        arrive as a new message or in the live one, edited."""
        for call in self.fake.calls[mark:]:
            if not call.ok or call.chat_id != self.chat_id or call.method not in SHOWN:
                continue
            if expect in call.shown:
                return call
        return None

    async def _wait(self, mark: int, expect: str) -> str:
        call = await self.fake.await_for(lambda: self._reply_after(mark, expect), timeout=15)
        return str(call.shown)

    async def say(self, text: str, expect: str = PROGRESS) -> str:
        mark = self.fake.mark()
        self.fake.send_text(self.chat_id, self.user_id, text, chat_type=self.chat_type)
        return await self._wait(mark, expect)

    @property
    def prompt(self) -> BotMessage:
        live = [
            m
            for m in self.fake.messages(self.chat_id)
            if not m.deleted and m.reply_markup and m.buttons()
        ]
        assert live, self.fake.summary()
        return live[-1]

    @staticmethod
    def data_for(message: BotMessage, label: str) -> str:
        buttons = [(text, data) for text, data in message.buttons() if data]
        exact = [d for text, d in buttons if text.strip() == label or text.endswith(" " + label)]
        found = exact or [d for text, d in buttons if label in text]
        assert len(found) == 1, (label, buttons)
        return str(found[0])

    async def tap(
        self,
        label: str,
        expect: str = PROGRESS,
        *,
        edit: bool = False,
        message: BotMessage | None = None,
        strict: bool = True,
    ) -> str:
        # `edit` (the answer edits the live message) needs no different wait: any send or edit
        # showing `expect` will do.
        del edit
        target = message or self.prompt
        data = self.data_for(target, label)
        mark = self.fake.mark()
        self.fake.press(self.chat_id, self.user_id, target.message_id, data, strict=strict)
        return await self._wait(mark, expect)

    def texts(self) -> list[str]:
        return [plain(m.text) for m in self.fake.messages(self.chat_id) if m.kind == "text"]
