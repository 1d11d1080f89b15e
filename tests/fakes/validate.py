"""The fake's own checks as a function, for code that makes message parameters without sending."""

from __future__ import annotations

from typing import Any

from tests.fakes.botapi import ApiError, FakeBotApi
from tests.fakes.entities import EntityParseError, parse_html

_CHECKER = FakeBotApi()


def telegram_problems(params: dict[str, Any], method: str = "") -> list[str]:
    """Why Telegram would refuse these parameters; empty when it would accept them."""
    try:
        if method == "answerCallbackQuery":
            _CHECKER.check_toast(params.get("text"))
            return []
        markup = _CHECKER._check_markup(params.get("reply_markup"))
        if "text" in params:
            _CHECKER._text_content(params, markup)
        _CHECKER._caption(params)
        _CHECKER._check_button_data(markup)
    except ApiError as exc:
        return [exc.description]
    return []


def visible_text(text: str | None) -> str:
    """What the person reads of an HTML message: tags gone, entities decoded."""
    try:
        return parse_html(text or "", strict_ampersand=False)[0]
    except EntityParseError:
        return text or ""
