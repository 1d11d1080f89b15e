"""The real Application on the in-process fake, one update at a time, and its data on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.telegram.app import build_application
from storage import Store
from tests.fakes.botapi import BotMessage, Call, FakeBotApi
from tests.fakes.inprocess import TOKEN, FakeRequest, press_on, text_update

USER = 1


@dataclass
class Harness:
    app: Application[Any, Any, Any, Any, Any, Any]
    request: FakeRequest
    store: Store
    data: Path

    @property
    def fake(self) -> FakeBotApi:
        return self.request.fake

    async def update(self, update: Update) -> list[Call]:
        """Process one update; the calls the bot made for it."""
        start = len(self.fake.calls)
        await self.app.process_update(update)
        return self.fake.calls[start:]

    async def send(self, text: str, user: int = USER, chat_id: int | None = None) -> list[Call]:
        return await self.update(text_update(self.app.bot, user, text, chat_id))

    async def press(self, data: str, on: Call | None = None, user: int = USER) -> list[Call]:
        """Press a button with `data` on message `on` (by default the latest keyboard)."""
        on = on or self.request.last_keyboard(user)
        assert on is not None, "no keyboard was sent"
        return await self.update(press_on(self.app.bot, user, on, data))

    async def update_press(self, on: BotMessage, data: str, user: int = USER) -> list[Call]:
        """Press `data` on a message as it stands in the chat now."""
        fake = self.fake
        update_id = fake.press_update_id(on.chat_id, user, on.message_id, data)
        return await self.update(Update.de_json(fake.take_update(update_id), self.app.bot))

    def user(self, user: int = USER) -> dict[str, Any] | None:
        return self.store.get_user(f"tg-{user}")

    def answers(self, user: int = USER) -> dict[str, Any]:
        doc = self.user(user)
        if not doc or not doc.get("active"):
            return {}
        tender = self.store.get_tender(f"tg-{user}", str(doc["active"]))
        return dict(tender.answers) if tender else {}

    def files(self) -> dict[str, bytes]:
        """Every stored file and its bytes, to show that something changed nothing at all."""
        return {
            str(p.relative_to(self.data)): p.read_bytes()
            for p in sorted(self.data.rglob("*"))
            if p.is_file()
        }


async def start_harness(
    data: Path,
    *,
    allowed: frozenset[int] | None = None,
    delay: float = 0.0,
    fake: FakeBotApi | None = None,
) -> Harness:
    """A bot on `data`; pass the `fake` of an earlier harness for a restart in the same chats."""
    request = FakeRequest(fake, delay=delay)
    store = Store(data)
    settings = Settings(data_dir=data, token=TOKEN, allowed_users=allowed)
    app = build_application(settings, store, request=request)
    await app.initialize()
    return Harness(app, request, store, data)
