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
from storage import Store
from tests.fakes.inprocess import TOKEN, press_update, text_update
from tests.fakes.inprocess import FakeRequest as OfflineRequest

# A full preparation in Telegram: ("say", text) types a message, ("tap", label) presses the button
# with that label on the latest keyboard, ("done",) presses "Klaar".
PLAYBOOK: list[tuple[str, ...]] = [
    ("say", "/start"),
    ("say", "Catering hoofdkantoor 2027"),
    ("tap", "Catering"),
    ("say", "Gemeente Zwolle"),
    ("tap", "Ja"),
    ("say", "In 2030 klimaatneutraal"),
    ("say", "Contract loopt af; weinig zicht op herkomst."),
    ("say", "Facilitair manager, OR, medewerkers"),
    ("tap", "Overslaan ⏭"),
    ("tap", "Overslaan ⏭"),
    ("say", "Vier grote cateraars"),
    ("tap", "Complex"),
    ("say", "Koffie en cacao"),
    ("tap", "Risicoanalyse plus een plan om risico's aan te pakken"),
    ("say", "Kinderarbeid bij cacao"),
    ("tap", "Nee"),
    ("tap", "Klimaat"),
    ("tap", "Circulariteit en biobased"),
    ("tap", "Social return"),
    ("tap", "Samenwerking met de markt"),
    ("tap", "Gedragsverandering bij gebruikers"),
    ("done",),
    ("tap", "Circulariteit en biobased"),
    ("done",),
    ("say", "2030"),
    ("tap", "3 · Ambitieus"),
    ("say", "80% hergebruik in 2028"),
    ("tap", "MKI-score"),
    ("tap", "3 · Ambitieus"),
    ("say", "Halvering CO2 per maaltijd"),
    ("tap", "Aandeel hernieuwbare energie (%)"),
    ("tap", "2 · Significant"),
    ("tap", "Overslaan ⏭"),
    ("tap", "Overslaan ⏭"),
    ("tap", "1 · Basis"),
    ("tap", "Overslaan ⏭"),
    ("tap", "Overslaan ⏭"),
    ("tap", "0 · Geen"),
    ("tap", "Genoeg ervaring en capaciteit voor de omvang"),
    ("done",),
    ("tap", "Hoge knip: wij geven kaders, de partner vult in"),
    ("tap", "Sturen op het halen van de ambitie"),
    ("done",),
    ("tap", "Samen aan de ambitie werken"),
    ("done",),
    ("tap", "Koploper in de eigen branche"),
    ("done",),
    ("tap", "Een proactieve houding"),
    ("done",),
    ("tap", "Hoog"),
    ("tap", "Hoog"),
    ("tap", "Gemiddeld"),
    ("tap", "Hoog"),
    ("tap", "Gemiddeld"),
    ("tap", "Transactioneel"),
    ("say", "Plan voor minder verspilling"),
    ("say", "Alles met keurmerk, 5% social return"),
    ("tap", "Ja"),
    ("tap", "Ja"),
    ("tap", "Overslaan ⏭"),
    ("say", "CO2 per maaltijd"),
    ("tap", "Elk kwartaal"),
    ("tap", "Bij gunning"),
    ("done",),
    ("say", "De contractmanager"),
]


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
    app = build_application(Settings(data_dir=data, token=TOKEN), Store(data), request=request)
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
