"""The real PTB Application against a fake Bot API on 127.0.0.1, played by buyers over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import httpx
import pytest

from flows.engine import Conversation
from storage import Store
from tests.driver import CATERING, SKIP, default_answer, presses
from tests.fakes import FakeBotApi
from tests.telegram_buyer import PROGRESS, TOKEN, Buyer, start_bot, stop_bot

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


@pytest.fixture
async def http_bot(fake: FakeBotApi, tmp_path: Path) -> AsyncIterator[FakeBotApi]:
    app = await start_bot(fake, tmp_path / "data")
    yield fake
    await stop_bot(app)


STORY = {
    **CATERING,
    "naam": 'Catering <hoofdkantoor> & "2027" 🌱',
    "org_ambitie_bestaat": True,
    "ontwikkelingen": SKIP,
    "eerdere_tenders": SKIP,
    "ketencomplexiteit": "complex",
    "keten_risicoschakels": "Koffie en cacao *kinderarbeid*",
    "doel[klimaat]": "Halvering CO2 per maaltijd",
    "indicator[social_return]": SKIP,
    "belang_leverancier": "hoog",
    "belang_product": "hoog",
    "risico_complexiteit": "gemiddeld",
    "bijdrage_ambitie": "hoog",
    "intensiteit_contractmanagement": "gemiddeld",
    "ambitie_eigen": SKIP,
}


async def play_to_the_end(b: Buyer, data: Path) -> None:
    """Answer whatever the flow asks, by pressing buttons where there are any (STORY, else a
    default per kind), reading from the store which question is open."""
    user = f"tg-{b.user_id}"
    reader = Conversation(Store(data), buttons=True)
    await b.say("/start")
    for _ in range(500):
        where = reader.position(user)
        if where.slot is None:
            break
        sid, qid = where.slot.id, where.slot.question.id
        value = STORY.get(sid, STORY.get(qid, default_answer(where.slot, where.choices)))
        after = {**where.answers, sid: value} if value is not SKIP else dict(where.answers)
        skipped = {*where.skipped, sid}
        finishing = all(s.id in after or s.id in skipped for s in reader.spec.slots(after))
        for press in presses(where.slot, where.choices, value, reader.texts):
            expect = "" if finishing else PROGRESS
            if press.label is not None:
                await b.tap(press.label, "" if press.edits else expect, edit=press.edits)
            else:
                await b.say(str(press.text), expect)
    assert reader.position(user).mode == "finished"


async def test_full_preparation_with_summary_photo_and_word(
    http_bot: FakeBotApi, tmp_path: Path
) -> None:
    b = Buyer(http_bot, 501)
    await play_to_the_end(b, tmp_path / "data")
    mark = http_bot.mark()
    assert "Samenvatting" in await b.say("/samenvatting", expect="Samenvatting")
    photo = await http_bot.await_call("sendPhoto", 501, after=mark)
    assert photo.files
    assert next(iter(photo.files.values())).startswith(b"\x89PNG")
    await http_bot.await_for(lambda: len(http_bot.calls_to("sendDocument")) >= 2 or None)
    documents = {
        m.filename: m.file for m in http_bot.messages(501) if m.kind == "document" and m.file
    }
    word = next(data for name, data in documents.items() if name and name.endswith(".docx"))
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(word)).paragraphs)
    tables = "\n".join(
        c.text for t in docx.Document(io.BytesIO(word)).tables for r in t.rows for c in r.cells
    )
    assert 'Catering <hoofdkantoor> & "2027" 🌱' in text
    assert "Halvering CO2 per maaltijd" in text + tables
    assert any(name and name.endswith(".md") for name in documents)
    summary = "\n".join(b.texts())
    assert "Gunningscriteria" in summary
    assert "Eisen" in summary
    assert "Relationeel" in summary
    assert "neigde zelf naar transactioneel" in summary
    assert not http_bot.internal_errors
    # every message the bot sent was accepted by the (validating) fake
    assert all(c.ok for c in http_bot.calls if c.method.lower().startswith(("send", "edit")))


async def test_two_buyers_at_once_do_not_cross_talk(http_bot: FakeBotApi) -> None:
    anna, bram = Buyer(http_bot, 601), Buyer(http_bot, 602)
    await asyncio.gather(anna.say("/start"), bram.say("/start"))
    await asyncio.gather(anna.say("Anna's schoonmaak"), bram.say("Brams ICT"))
    await asyncio.gather(anna.tap("Schoonmaak"), bram.tap("ICT en print"))
    a = await anna.say("/overzicht", expect="Hoe noem je")
    b = await bram.say("/overzicht", expect="Hoe noem je")
    assert "Anna's schoonmaak" in a
    assert "Brams ICT" not in a
    assert "Brams ICT" in b
    assert "Schoonmaak" not in b


async def test_refused_user_gets_a_polite_no_for_messages_and_buttons(
    fake: FakeBotApi, tmp_path: Path
) -> None:
    app = await start_bot(fake, tmp_path / "data", allowed=frozenset({701}))
    try:
        allowed, stranger = Buyer(fake, 701), Buyer(fake, 702)
        assert "Hoe noem je" in await allowed.say("/start")
        assert "alleen voor" in await stranger.say("/start", expect="alleen voor")
        refusal = fake.messages(702)[-1].message_id
        query_id = fake.press(702, 702, refusal, "p:1:0", strict=False)
        await fake.await_for(lambda: fake.answered_callbacks.get(query_id))
        assert "alleen voor" in (fake.answered_callbacks[query_id].text or "")
        assert not (tmp_path / "data" / "users" / "tg-702").exists()
    finally:
        await stop_bot(app)


async def test_a_double_tap_gets_a_toast_and_nothing_else(http_bot: FakeBotApi) -> None:
    b = Buyer(http_bot, 801)
    await b.say("/start")
    await b.say("Oud en nieuw")
    old = b.prompt
    await b.tap("Catering")
    # the second tap of a double tap, as from a slow phone that still shows the first question
    mark = http_bot.mark()
    query = http_bot.press(801, 801, old.message_id, b.data_for(old, "Schoonmaak"), strict=False)
    await http_bot.await_for(lambda: http_bot.answered_callbacks.get(query))
    assert http_bot.answered_callbacks[query].text == "Deze knop is verlopen."
    overview = await b.say("/overzicht", expect="Om welk facilitair")
    sent = [c.shown for c in http_bot.calls[mark:] if c.method == "sendMessage"]
    assert len(sent) == 1  # the overview only: no scolding, no question again for the tap
    assert "Catering" in overview
    assert "Schoonmaak" not in overview


@pytest.mark.parametrize(
    ("send", "expect"),
    [
        ("sticker", "niet met een sticker"),
        ("photo", "niet met een foto"),
        ("voice", "niet met een spraakbericht"),
        ("long", "Dat is wat lang"),
        ("unknown", "ken ik niet"),
        ("edit", "aangepast bericht"),
    ],
)
async def test_bad_input_gets_a_short_reply_and_the_question(
    http_bot: FakeBotApi, send: str, expect: str
) -> None:
    b = Buyer(http_bot, 901)
    await b.say("/start")
    mark = http_bot.mark()
    if send == "sticker":
        http_bot.send_sticker(901, 901)
    elif send == "photo":
        http_bot.send_photo(901, 901)
    elif send == "voice":
        http_bot.send_voice(901, 901)
    elif send == "long":
        http_bot.send_text(901, 901, "<b>x</b> & " * 400)
    elif send == "unknown":
        http_bot.send_text(901, 901, "/bestaatniet")
    else:
        own = [
            u["message"]
            for u in http_bot.updates_sent
            if u.get("message", {}).get("chat", {}).get("id") == 901
        ]
        http_bot.edit_text(901, 901, own[-1]["message_id"], "anders")
    await b._wait(mark, expect)
    assert "Hoe noem je" in await b._wait(mark, "Hoe noem je")


async def test_html_and_markdown_in_answers_are_shown_literally(http_bot: FakeBotApi) -> None:
    b = Buyer(http_bot, 902)
    await b.say("/start")
    nasty = "<i>schuin</i> & *vet* _x_ [link](http://a) `code` </b>"
    await b.say(nasty)
    overview = await b.say("/overzicht", expect="Hoe noem je")
    assert nasty in overview


async def test_group_commands_redirect_to_a_private_chat(http_bot: FakeBotApi) -> None:
    group = Buyer(http_bot, 903, chat_id=-100903)
    text = await group.say("/start", expect="privégesprek")
    assert "privégesprek" in text
    button = http_bot.messages(-100903)[-1].reply_markup
    assert button is not None
    url = button["inline_keyboard"][0][0]["url"]
    assert url.startswith("https://t.me/inkoopkompas_test_bot?start=")


async def test_flood_control_is_waited_out(http_bot: FakeBotApi) -> None:
    b = Buyer(http_bot, 904)
    http_bot.fail_next("sendMessage", error_code=429, retry_after=1)
    assert "Hoe noem je" in await b.say("/start", expect="Hoe noem je")


async def test_commands_registered_in_dutch(http_bot: FakeBotApi) -> None:
    from telegram import BotCommandScopeAllPrivateChats

    commands = http_bot.commands(BotCommandScopeAllPrivateChats().to_dict())
    names = {c["command"] for c in commands}
    assert {"start", "wijzig", "samenvatting", "ambitiecheck", "verwijder", "help"} <= names
    assert len(names) <= 8  # a short menu: everything else still works when typed
    assert http_bot.descriptions["short_description"]


def run_bot_process(
    fake: FakeBotApi, data: Path, log_path: Path, *args: str, **extra: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "INKOOPKOMPAS_DATA_DIR": str(data),
        "INKOOPKOMPAS_LOG_LEVEL": "DEBUG",
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "telegram", *args],
        cwd=data.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("ab"),
    )


async def test_restart_mid_flow_and_token_never_logged(fake: FakeBotApi, tmp_path: Path) -> None:
    data, log_path = tmp_path / "data", tmp_path / "bot.log"
    process = run_bot_process(fake, data, log_path)
    try:
        b = Buyer(fake, 950)
        await b.say("/start")
        await b.say("Herstart-test")
        assert "Voor welke organisatie" in await b.tap("Beveiliging")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
        process = run_bot_process(fake, data, log_path)
        text = await b.say("/start", expect="Welkom terug")
        assert "Herstart-test" in text
        assert "Voor welke organisatie" in await b.say(
            "/overzicht", expect="Voor welke organisatie"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 20)
    logged = log_path.read_text(encoding="utf-8")
    assert " DEBUG " in logged  # DEBUG logging really was on
    assert "Herstart-test" not in logged  # and still no answers in it
    assert TOKEN not in logged
    assert TOKEN.split(":")[1] not in logged


async def test_delete_all_data_also_removes_an_open_private_scan(
    http_bot: FakeBotApi, tmp_path: Path
) -> None:
    b = Buyer(http_bot, 960)
    await b.say("/start")
    await b.say("/ambitiecheck", expect="Milieu")
    scan = tmp_path / "data" / "groups" / "tg-scan-960.json"
    assert scan.exists()
    await b.say("/verwijder", expect="Wat wil je verwijderen")
    await b.tap("Al mijn gegevens", expect="Weet je zeker")
    await b.tap("Ja, verwijderen", expect="Al je gegevens zijn verwijderd")
    await http_bot.await_for(lambda: not scan.exists() or None)
    assert not (tmp_path / "data" / "users" / "tg-960").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_takes_updates_only_with_the_secret(
    fake: FakeBotApi, tmp_path: Path
) -> None:
    data, log_path, port = tmp_path / "data", tmp_path / "bot.log", free_port()
    process = run_bot_process(
        fake,
        data,
        log_path,
        "--webhook",
        "https://bot.example.nl/telegram/hook",
        TELEGRAM_WEBHOOK_PORT=str(port),
        TELEGRAM_WEBHOOK_SECRET="geheim-123",
    )
    try:
        await fake.await_for(lambda: fake.webhook.get("url"), timeout=20)
        assert fake.webhook == {
            "url": "https://bot.example.nl/telegram/hook",
            "secret_token": "geheim-123",
        }
        update = fake.take_update(fake.send_text(970, 970, "/start"))
        url = f"http://127.0.0.1:{port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            for _ in range(100):  # the server starts right after setWebhook
                with contextlib.suppress(httpx.ConnectError):
                    wrong = await client.post(
                        url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nee"}
                    )
                    break
                await asyncio.sleep(0.1)
            assert wrong.status_code == 403
            missing = await client.post(url, json=update)
            assert missing.status_code == 403
            assert fake.messages(970) == []  # refused posts reach nobody
            right = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "geheim-123"}
            )
            assert right.status_code == 200
        reply = await fake.await_message(970, contains="Hoe noem je", timeout=20)
        assert reply.buttons() == []  # a typed question: a reply field, no buttons
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
    assert "geheim-123" not in log_path.read_text(encoding="utf-8")
