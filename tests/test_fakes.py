"""Tests for the fake Bot API, driven by python-telegram-bot itself wherever possible.

Using PTB as the client proves the fake speaks the wire format PTB really uses (form-encoded
bodies, multipart uploads, error mapping), which is the whole point of having it.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import json
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import HTTPXRequest

from tests.fakes.botapi import NOT_MODIFIED, FakeBotApi
from tests.fakes.entities import parse_html

# Deliberately not shaped like a real token (real ones have 8-10 digits and 35 characters).
TOKEN = "123456:TEST-TOKEN-not-a-real-one-aaaaaaaaaa"
USER = 4242
GROUP = -1001234


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(admins={GROUP: {7}}, owners={GROUP: 1}) as server:
        yield server
        assert server.internal_errors == []


@pytest.fixture
async def client(fake: FakeBotApi) -> AsyncIterator[Bot]:
    fake.add_chat(USER, first_name="Anne")
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


# ------------------------------------------------------------------ protocol basics


async def test_get_me_uses_token_id_and_fixed_username(client: Bot, fake: FakeBotApi) -> None:
    me = await client.get_me()
    assert me.id == 123456
    assert me.username == "inkoopkompas_test_bot"
    assert me.is_bot
    assert fake.tokens_seen == 1
    assert TOKEN not in repr(fake.calls)


def test_bad_token_and_unknown_method_answer_like_telegram(fake: FakeBotApi) -> None:
    with httpx.Client() as client:
        bad = client.post(f"{fake.base_url}not-a-token/getMe")
        unknown = client.post(f"{fake.base_url}{TOKEN}/getMeNow")
        mixed_case = client.post(f"{fake.base_url}{TOKEN}/GETME")
    assert bad.status_code == 401
    assert bad.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert mixed_case.json()["result"]["username"] == "inkoopkompas_test_bot"
    assert fake.tokens_seen == 2


async def test_ptb_maps_401_to_invalid_token(fake: FakeBotApi) -> None:
    client = Bot("not-a-token", base_url=fake.base_url)
    try:
        with pytest.raises(InvalidToken, match="was rejected by the server"):
            await client.initialize()
    finally:
        await client.shutdown()  # a failed initialize leaves PTB's HTTP clients open


def test_json_and_query_string_bodies_are_accepted(fake: FakeBotApi) -> None:
    fake.add_chat(USER)
    with httpx.Client() as client:
        as_json = client.post(
            f"{fake.base_url}{TOKEN}/sendMessage",
            json={"chat_id": USER, "text": "<b>json</b>", "parse_mode": "HTML"},
        )
        as_query = client.get(f"{fake.base_url}{TOKEN}/sendMessage?chat_id={USER}&text=query")
    assert as_json.json()["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    assert as_query.json()["result"]["text"] == "query"
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == [USER, USER]


# ------------------------------------------------------------------ formatting and validation


async def test_html_with_escaped_user_text_is_sent(client: Bot, fake: FakeBotApi) -> None:
    user_text = 'Prijs < €5 & "duurzaam" <script>'
    message = await client.send_message(
        USER, f"<b>Uw invoer:</b> {html.escape(user_text)}", parse_mode=ParseMode.HTML
    )
    assert message.text == f"Uw invoer: {user_text}"
    assert message.entities[0].type == "bold"
    assert message.text_html.startswith("<b>Uw invoer:</b>")
    [stored] = fake.messages(USER)
    assert stored.plain_text == message.text
    assert stored.parse_mode == "HTML"
    assert "&lt;script&gt;" in (stored.text or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<b>open", 'can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'unsupported start tag "" at byte offset 2'),
        ("regel<br>regel", 'unsupported start tag "br" at byte offset 5'),
        ("<b>x</i>", 'unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
        ("Tom & Jerry", 'unescaped "&" at byte offset 4'),
    ],
)
async def test_malformed_html_is_rejected(
    client: Bot, fake: FakeBotApi, text: str, expected: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await client.send_message(USER, text, parse_mode=ParseMode.HTML)
    # PTB strips "Bad Request: " and applies str.capitalize(), which lower-cases the rest.
    assert caught.value.message.startswith("Can't parse entities: ")
    assert expected in caught.value.message
    last = fake.calls[-1]
    assert last.status == 400
    assert last.response["description"].startswith("Bad Request: can't parse entities: ")
    assert fake.messages(USER) == []


def test_supported_html_tags_and_entities_parse() -> None:
    text, entities = parse_html(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><code>c</code><pre>p</pre><a href="https://x.nl">a</a>'
        '<tg-spoiler>t</tg-spoiler><span class="tg-spoiler">z</span><blockquote>q</blockquote>'
        " &lt;&gt;&amp;&quot;&#65;&#x42;"
    )
    assert text == 'bsieunskdcpatzq <>&"AB'
    kinds = [e["type"] for e in entities]
    assert kinds == [
        "bold",
        "bold",
        "italic",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "code",
        "pre",
        "text_link",
        "spoiler",
        "spoiler",
        "blockquote",
    ]
    assert parse_html("Tom & Jerry", strict_ampersand=False)[0] == "Tom & Jerry"


async def test_other_parse_modes_are_refused_since_the_bot_uses_only_html(client: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await client.send_message(USER, "*Klaar*", parse_mode=ParseMode.MARKDOWN_V2)


async def test_length_limits_count_parsed_text(client: Bot, fake: FakeBotApi) -> None:
    await client.send_message(USER, "x" * 4096)
    # 4096 visible characters but far more raw characters: still fine.
    await client.send_message(USER, "<b>" + "y" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await client.send_message(USER, "&amp;" * 4096, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await client.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await client.send_message(USER, "&lt;" * 4097, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await client.send_photo(USER, tiny_png(), caption="c" * 1025)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await client.send_message(USER, "")
    with pytest.raises(BadRequest, match="Text must be non-empty"):
        await client.send_message(USER, "<b>  </b>", parse_mode=ParseMode.HTML)
    assert len([m for m in fake.messages(USER) if m.kind == "text"]) == 3


async def test_callback_data_over_64_bytes_is_rejected(client: Bot, fake: FakeBotApi) -> None:
    await client.send_message(USER, "ok", reply_markup=keyboard(("a", "d" * 64)))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await client.send_message(USER, "te lang", reply_markup=keyboard(("a", "d" * 65)))
    # The limit is in bytes, not characters.
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await client.send_message(USER, "te lang", reply_markup=keyboard(("a", "é" * 33)))
    assert [m.plain_text for m in fake.messages(USER)] == ["ok"]


async def test_editing_follows_telegram_rules(client: Bot, fake: FakeBotApi) -> None:
    kb = keyboard(("Ja", "ja"), ("Nee", "nee"))
    sent = await client.send_message(USER, "<b>Vraag</b>", parse_mode="HTML", reply_markup=kb)

    with pytest.raises(BadRequest, match="Message is not modified") as caught:
        await client.edit_message_text(
            "<b>Vraag</b>", USER, sent.message_id, parse_mode="HTML", reply_markup=kb
        )
    assert fake.calls[-1].response["description"] == NOT_MODIFIED
    assert "exactly the same" in caught.value.message

    # Same text without the markup is a change: Telegram removes the keyboard.
    await client.edit_message_text("<b>Vraag</b>", USER, sent.message_id, parse_mode="HTML")
    [stored] = fake.messages(USER)
    assert stored.reply_markup is None
    assert stored.edit_count == 1

    await client.edit_message_reply_markup(USER, sent.message_id, reply_markup=kb)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await client.edit_message_reply_markup(USER, sent.message_id, reply_markup=kb)
    assert fake.messages(USER)[0].buttons() == [("Ja", "ja"), ("Nee", "nee")]

    with pytest.raises(BadRequest, match="Message to edit not found"):
        await client.edit_message_text("x", USER, 999)
    assert await client.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await client.edit_message_text("x", USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await client.delete_message(USER, sent.message_id)
    assert fake.messages(USER)[0].deleted


async def test_documents_and_photos_arrive_with_their_bytes(client: Bot, fake: FakeBotApi) -> None:
    payload = b"PK\x03\x04 not really a docx \x00\xff\r\n--boundary-lookalike"
    doc = await client.send_document(
        USER,
        payload,
        filename='Rapport "FM" 2025.docx',
        caption="<i>Uw rapport</i>",
        parse_mode="HTML",
    )
    assert doc.document is not None
    assert doc.document.file_name == 'Rapport "FM" 2025.docx'
    assert doc.caption == "Uw rapport"

    png = tiny_png(30, 20)
    photo = await client.send_photo(USER, png, caption="Grafiek")
    assert photo.photo[-1].width == 30
    assert photo.photo[-1].height == 20

    nameless = await client.send_document(USER, b"raw bytes")
    assert nameless.document is not None
    # PTB names bytes without a filename after their MIME type, which it does not sniff
    # (photos too): pass filename= in the client.
    assert nameless.document.file_name == "application.octet-stream"

    stored = fake.messages(USER)
    assert [(m.kind, m.file, m.filename) for m in stored] == [
        ("document", payload, 'Rapport "FM" 2025.docx'),
        ("photo", png, "application.octet-stream"),
        ("document", b"raw bytes", "application.octet-stream"),
    ]
    assert fake.calls_to("sendDocument")[0].files == {"document": payload}

    resent = await client.send_photo(USER, photo.photo[-1].file_id)
    assert fake.messages(USER)[-1].file == png
    assert resent.photo

    with pytest.raises(BadRequest, match="Image_process_failed"):
        await client.send_photo(USER, b"this is no image")
    with pytest.raises(BadRequest, match="File must be non-empty"):
        await client.send_document(USER, b"", filename="leeg.txt")


# ------------------------------------------------------------------ updates


async def test_long_poll_wakes_on_update_and_honours_offset(client: Bot, fake: FakeBotApi) -> None:
    poll = asyncio.create_task(client.get_updates(timeout=10))
    await fake.await_for(lambda: fake.polling, timeout=5)
    started = time.monotonic()
    first = fake.send_text(USER, USER, "hallo")
    updates = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 2
    assert [u.update_id for u in updates] == [first]
    assert updates[0].message is not None
    assert updates[0].message.text == "hallo"

    # Not confirmed yet: delivered again until the offset moves past it.
    assert [u.update_id for u in await client.get_updates(timeout=0)] == [first]
    second = fake.send_text(USER, USER, "tweede")
    third = fake.send_text(USER, USER, "derde")
    batch = await client.get_updates(offset=first + 1, limit=1)
    assert [u.update_id for u in batch] == [second]
    assert [u.update_id for u in await client.get_updates(offset=-1)] == [third]
    assert await client.get_updates(offset=third + 1, timeout=0) == ()
    assert fake.pending_updates == 0


async def test_long_poll_times_out_empty(client: Bot, fake: FakeBotApi) -> None:
    started = time.monotonic()
    assert await client.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


def test_second_long_poll_terminates_the_first_with_conflict(fake: FakeBotApi) -> None:
    url = f"{fake.base_url}{TOKEN}/getUpdates"
    results: list[httpx.Response] = []

    def poll() -> None:
        with httpx.Client(timeout=10) as client:
            results.append(client.post(url, data={"timeout": "5"}))

    first = threading.Thread(target=poll)
    first.start()
    fake.wait_for(lambda: fake.polling, timeout=5)
    with httpx.Client(timeout=10) as client:
        fake_update = threading.Timer(0.3, lambda: fake.send_text(USER, USER, "x"))
        fake_update.start()
        second = client.post(url, data={"timeout": "5"})
    first.join(5)
    assert results[0].status_code == 409
    assert results[0].json()["description"].startswith("Conflict: terminated by other getUpdates")
    assert second.json()["result"][0]["message"]["text"] == "x"


async def test_allowed_updates_filter_and_persist(client: Bot, fake: FakeBotApi) -> None:
    sent = await client.send_message(USER, "kies", reply_markup=keyboard(("A", "a")))
    fake.send_text(USER, USER, "tekst")
    fake.press(USER, USER, sent.message_id, "a")
    only_buttons = await client.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in only_buttons] == [True]
    # The setting sticks when allowed_updates is omitted, as on Telegram.
    fake.send_text(USER, USER, "nog meer tekst")
    assert await client.get_updates(offset=only_buttons[0].update_id + 1) == ()


async def test_user_updates_deserialise_in_ptb(client: Bot, fake: FakeBotApi) -> None:
    fake.send_text(
        GROUP,
        7,
        "/start@inkoopkompas_test_bot nu",
        chat_type="supergroup",
        chat_title="Inkoop",
        username="piet",
    )
    fake.send_sticker(USER, USER)
    fake.send_photo(USER, USER, caption="foto")
    fake.send_voice(USER, USER, duration=4)
    sent = await client.send_message(USER, "Kies", reply_markup=keyboard(("Ja", "ja")))
    fake.send_text(USER, USER, "origineel")
    original_id = fake.updates_sent[-1]["message"]["message_id"]
    fake.edit_text(USER, USER, original_id, "bewerkt")
    query_id = fake.press(USER, USER, sent.message_id, "ja")

    updates = await client.get_updates()
    assert len(updates) == 7
    group = updates[0].message
    assert group is not None
    assert (group.chat.type, group.chat.title) == ("supergroup", "Inkoop")
    assert group.entities[0].type == "bot_command"
    assert group.entities[0].length == len("/start@inkoopkompas_test_bot")
    sticker, photo, voice = (u.message for u in updates[1:4])
    assert sticker is not None
    assert sticker.sticker is not None
    assert photo is not None
    assert photo.photo
    assert photo.caption == "foto"
    assert voice is not None
    assert voice.voice is not None
    assert updates[5].edited_message is not None
    assert updates[5].edited_message.text == "bewerkt"
    callback = updates[6].callback_query
    assert callback is not None
    assert callback.id == query_id
    assert callback.message is not None
    assert callback.message.message_id == sent.message_id
    assert callback.data == "ja"

    with pytest.raises(ValueError, match="no button"):
        fake.press(USER, USER, sent.message_id, "bestaat-niet")


async def test_raw_update_gets_an_id(client: Bot, fake: FakeBotApi) -> None:
    user = {"id": USER, "is_bot": False, "first_name": "Anne"}
    member = {"status": "member", "user": {"id": 123456, "is_bot": True, "first_name": "Bot"}}
    update_id = fake.send_raw_update(
        {
            "my_chat_member": {
                "chat": {"id": USER, "type": "private", "first_name": "Anne"},
                "from": user,
                "date": int(time.time()),
                "old_chat_member": member,
                "new_chat_member": {**member, "status": "kicked", "until_date": 0},
            }
        }
    )
    [update] = await client.get_updates(timeout=0, allowed_updates=["my_chat_member"])
    assert update.update_id == update_id
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


# ------------------------------------------------------------------ callbacks, chats, commands


async def test_answer_callback_query_once(client: Bot, fake: FakeBotApi) -> None:
    sent = await client.send_message(USER, "Kies", reply_markup=keyboard(("Ja", "ja")))
    query_id = fake.press(USER, USER, sent.message_id, "ja")
    assert await client.answer_callback_query(query_id, text="Genoteerd", show_alert=True)
    assert fake.answered_callbacks[query_id].text == "Genoteerd"
    assert fake.answered_callbacks[query_id].show_alert
    with pytest.raises(BadRequest, match="Query is too old"):
        await client.answer_callback_query(query_id)


async def test_chats_members_and_admins(client: Bot, fake: FakeBotApi) -> None:
    fake.send_text(GROUP, 7, "hoi", chat_type="supergroup", chat_title="Inkoop")
    chat = await client.get_chat(GROUP)
    assert isinstance(chat, ChatFullInfo)
    assert chat.title == "Inkoop"
    assert isinstance(await client.get_chat_member(GROUP, 7), ChatMemberAdministrator)
    assert isinstance(await client.get_chat_member(GROUP, 1), ChatMemberOwner)
    assert isinstance(await client.get_chat_member(GROUP, 99), ChatMemberMember)
    admins = await client.get_chat_administrators(GROUP)
    assert [a.user.id for a in admins] == [1, 7]
    fake.admins[GROUP].add(99)
    assert (await client.get_chat_member(GROUP, 99)).status == "administrator"
    with pytest.raises(BadRequest, match="no administrators in the private chat"):
        await client.get_chat_administrators(USER)

    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await client.send_message(777, "hallo?")
    with pytest.raises(BadRequest, match="Chat not found"):
        await client.send_message(-555, "hallo?")
    fake.block_bot(USER)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await client.send_chat_action(USER, "typing")
    fake.send_text(USER, USER, "/start")
    assert await client.send_chat_action(USER, "typing")
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await client.send_chat_action(USER, "dancing")


async def test_commands_are_stored_per_scope(client: Bot, fake: FakeBotApi) -> None:
    await client.set_my_commands([BotCommand("start", "Begin"), ("rapport", "Maak het rapport")])
    await client.set_my_commands(
        [BotCommand("beheer", "Alleen hier")], scope=BotCommandScopeChat(GROUP), language_code="nl"
    )
    assert [c.command for c in await client.get_my_commands()] == ["start", "rapport"]
    scoped = await client.get_my_commands(scope=BotCommandScopeChat(GROUP), language_code="nl")
    assert [c.command for c in scoped] == ["beheer"]
    assert fake.commands({"type": "chat", "chat_id": GROUP}, "nl")[0]["command"] == "beheer"
    await client.delete_my_commands()
    assert await client.get_my_commands() == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await client.set_my_commands([BotCommand("Start", "hoofdletter")])
    with pytest.raises(BadRequest, match="Command description must be non-empty"):
        await client.set_my_commands([BotCommand("start", " ")])
    assert await client.set_chat_menu_button()
    assert fake.menu_button() == {"type": "default"}


# ------------------------------------------------------------------ fault injection


async def test_429_surfaces_as_retry_after(
    client: Bot, fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22 deprecates int retry_after
    fake.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await client.send_message(USER, "druk")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    failed = fake.calls[-1]
    assert failed.status == 429
    assert failed.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    # PTB does not retry by itself; the next call goes through.
    assert (await client.send_message(USER, "druk")).text == "druk"
    assert [m.plain_text for m in fake.messages(USER)] == ["druk"]

    fake.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await client.send_message(USER, "x")
    fake.fail_next("getMe", error_code=502, count=2)
    for _ in range(2):
        with pytest.raises(Exception, match="Bad Gateway"):
            await client.get_me()
    assert (await client.get_me()).username == "inkoopkompas_test_bot"


async def test_delay_next_provokes_client_timeout(fake: FakeBotApi) -> None:
    fake.add_chat(USER)
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(TOKEN, base_url=fake.base_url, request=request) as client:
        fake.delay_next("sendMessage", 0.5)
        with pytest.raises(TimedOut):
            await client.send_message(USER, "traag")
        # Telegram may still deliver a request the client gave up on; so does the fake.
        call = await fake.await_call("sendMessage", chat_id=USER, timeout=5)
        assert call.ok
        assert (await client.send_message(USER, "snel")).text == "snel"


def test_wait_for_times_out_with_a_summary(fake: FakeBotApi) -> None:
    fake.add_chat(USER)
    with httpx.Client() as client:
        client.post(f"{fake.base_url}{TOKEN}/sendMessage", data={"chat_id": USER, "text": ""})
    with pytest.raises(TimeoutError) as caught:
        fake.wait_for_call("sendPhoto", timeout=0.2)
    summary = str(caught.value)
    assert "sendMessage 400" in summary
    assert "message text is empty" in summary
    assert TOKEN not in summary


# ------------------------------------------------------------------ a real Application


async def test_application_smoke(fake: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        assert update.effective_user is not None
        name = html.escape(update.effective_user.first_name)
        await update.effective_message.reply_text(
            f"Welkom, <b>{name}</b>! Gaan we beginnen?",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("Ja", "begin:ja"), ("Nee", "begin:nee")),
        )

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Genoteerd")
        await query.edit_message_text(f"Je koos: {query.data}")

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^begin:"))

    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=1))
        try:
            fake.send_text(USER, USER, "/start", first_name="Anne & Co")
            welcome = await fake.await_message(USER, contains="Welkom")
            assert welcome.plain_text == "Welkom, Anne & Co! Gaan we beginnen?"
            assert welcome.buttons() == [("Ja", "begin:ja"), ("Nee", "begin:nee")]

            query_id = fake.press(USER, USER, welcome.message_id, welcome.callback_data("Ja"))
            edited = await fake.await_for(
                lambda: next((m for m in fake.messages(USER) if m.edit_count), None)
            )
            assert edited.plain_text == "Je koos: begin:ja"
            assert edited.reply_markup is None
            assert fake.answered_callbacks[query_id].text == "Genoteerd"

            # Group commands addressed to another bot are ignored by PTB, ours are handled.
            mark = fake.mark()
            fake.send_text(GROUP, 7, "/start@some_other_bot", chat_type="supergroup")
            fake.send_text(GROUP, 7, "/start@inkoopkompas_test_bot", chat_type="supergroup")
            call = await fake.await_call("sendMessage", chat_id=GROUP, after=mark)
            assert call.ok
            fake.send_text(USER, USER, "/start")
            await fake.await_message(USER, contains="Welkom", after_message_id=edited.message_id)
            assert len(fake.messages(GROUP)) == 1
        finally:
            await app.updater.stop()
            await app.stop()

    methods = [c.method for c in fake.calls]
    # What PTB does around polling: getMe on initialize, deleteWebhook before the first
    # getUpdates (offset 0), and a final non-blocking getUpdates on stop to confirm updates.
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    first_poll = fake.calls_to("getUpdates")[0]
    assert first_poll.params == {"offset": 0, "timeout": 1}
    assert fake.calls_to("getUpdates")[-1].params["timeout"] == 0
    assert fake.calls_to("deleteWebhook")[0].params == {}
    assert fake.pending_updates == 0


def test_call_records_are_plain_data(fake: FakeBotApi) -> None:
    fake.add_chat(USER)
    with httpx.Client() as client:
        client.post(
            f"{fake.base_url}{TOKEN}/sendMessage",
            data={
                "chat_id": str(USER),
                "text": "x",
                "reply_markup": json.dumps({"inline_keyboard": []}),
            },
        )
    call: Any = fake.calls[-1]
    assert call.params == {"chat_id": USER, "text": "x", "reply_markup": {"inline_keyboard": []}}
    assert call.files == {}
    assert isinstance(call.at, float)
    with pytest.raises(ValueError, match="user's id"):
        fake.send_text(USER, USER + 1, "private chat ids are user ids")
