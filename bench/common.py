"""Shared pieces of the benchmarks: a buyer's complete preparation as Telegram updates, the real
application on an offline request class, a PTB echo baseline, populated data directories, and
percentile helpers. Everything runs in process; nothing touches the network.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, cast

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
)

from bench.echo_bot import add_echo_handlers
from bench.save_cost import populate
from bot.config import Settings
from bot.telegram.app import build_application
from flows.engine import Conversation
from flows.texts import default_texts
from storage import Store
from tests.driver import CATERING, Driver, Given, default_answer, presses
from tests.fakes.inprocess import TOKEN, press_update, text_update
from tests.fakes.inprocess import FakeRequest as OfflineRequest

# A full preparation in Telegram: ("say", text) types a message, ("tap", label) presses the button
# with that label on the latest keyboard, ("done",) presses "Klaar".


def build_playbook() -> list[tuple[str, ...]]:
    """The catering example played with buttons, made from the flow itself (the test driver's
    answers by question id), so the benchmarks keep working when questions are added or moved."""
    texts = default_texts()
    done = str(texts("action.done"))
    steps: list[tuple[str, ...]] = [("say", "/start")]
    with tempfile.TemporaryDirectory() as scratch, Store(Path(scratch)) as store:
        driver = Driver(Conversation(store, buttons=True), "bench")
        driver.say("/start")
        plan = Given(dict(CATERING))
        while (where := driver.position).slot is not None:
            found, value = plan.take(where.slot)
            value = value if found else default_answer(where.slot, where.choices)
            for press in presses(where.slot, where.choices, value, texts):
                if press.text is not None:
                    steps.append(("say", press.text))
                elif press.label == done:
                    steps.append(("done",))
                else:
                    steps.append(("tap", str(press.label)))
            driver.give(value)
    return steps


PLAYBOOK: list[tuple[str, ...]] = build_playbook()


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(values, 50) * 1000, 3),
        "p95_ms": round(pct(values, 95) * 1000, 3),
        "p99_ms": round(pct(values, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3) if values else float("nan"),
    }


def last_keyboard(request: OfflineRequest, chat_id: int) -> dict[str, Any] | None:
    for sent in reversed(request.sent):
        if str(sent.params.get("chat_id")) != str(chat_id):
            continue
        markup = sent.params.get("reply_markup")
        if markup:
            found = json.loads(markup) if isinstance(markup, str) else markup
            return cast(dict[str, Any], found)
    return None


def button_data(request: OfflineRequest, chat_id: int, label: str) -> str:
    markup = last_keyboard(request, chat_id)
    assert markup is not None, f"geen toetsenbord voor {label!r}"
    buttons = [b for row in markup["inline_keyboard"] for b in row if "callback_data" in b]
    exact = [b for b in buttons if b["text"] == label or b["text"].endswith(" " + label)]
    found = exact or [b for b in buttons if label in b["text"]]
    assert len(found) == 1, (label, [b["text"] for b in buttons])
    return str(found[0]["callback_data"])


def next_update(
    app: Application[Any, Any, Any, Any, Any, Any],
    request: OfflineRequest,
    user: int,
    step: tuple[str, ...],
) -> Update:
    if step[0] == "say":
        return text_update(app.bot, user, step[1])
    if step[0] == "tap":
        return press_update(app.bot, user, button_data(request, user, step[1]))
    return press_update(app.bot, user, button_data(request, user, "Klaar"))


def populated_dir(count: int) -> Path:
    """A data directory already holding `count` tenders, flushed to disk before timing starts."""
    root = Path(tempfile.mkdtemp(prefix=f"inkoopkompas-bench-{count}-"))
    populate(root, count)
    os.sync()
    return root


async def real_app(data: Path) -> tuple[Application[Any, Any, Any, Any, Any, Any], OfflineRequest]:
    request = OfflineRequest(checks=False)  # the fake's HTML checks are not the bot's cost
    # No overall rate limiter, like the echo bot: the bot's own cost, not Telegram's 30 a second.
    settings = Settings(data_dir=data, token=TOKEN, max_rate=0)
    app = build_application(settings, Store(data), request=request)
    await app.initialize()
    return app, request


async def echo_app() -> tuple[Application[Any, Any, Any, Any, Any, Any], OfflineRequest]:
    """The smallest useful PTB bot: echo every text, answer every button."""
    request = OfflineRequest(checks=False)  # the fake's HTML checks are not the bot's cost
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(request)
        .get_updates_request(request)
        .concurrent_updates(True)
        .build()
    )
    add_echo_handlers(app)
    await app.initialize()
    return app, request


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start
