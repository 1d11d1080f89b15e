"""The one fake Telegram Bot API of the tests (see `botapi`), its HTML validator, two transports."""

from tests.fakes.botapi import BOT_USERNAME, BotMessage, Call, CallbackAnswer, FakeBotApi
from tests.fakes.entities import EntityParseError, parse_html, utf16_len

__all__ = [
    "BOT_USERNAME",
    "BotMessage",
    "Call",
    "CallbackAnswer",
    "EntityParseError",
    "FakeBotApi",
    "parse_html",
    "utf16_len",
]
