"""The bot's HTTP client for the Bot API (bot/telegram/transport.py): what PTB expects of a request
class, shown through PTB's own Bot where a call reaches Telegram, and on bare sockets where it
does not. A successful upload through the real application is in test_telegram_e2e.py."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.telegram.transport import AiohttpRequest
from tests.fakes import FakeBotApi
from tests.fakes.inprocess import TOKEN

USER = 77


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


def bot_on(base_url: str, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=base_url, request=request, get_updates_request=AiohttpRequest())


async def test_a_call_reaches_telegram_with_its_text_and_files(fake: FakeBotApi) -> None:
    fake.add_chat(USER)
    async with bot_on(fake.base_url, AiohttpRequest(4)) as bot:
        sent = await bot.send_message(USER, "<b>Vraag</b> &amp; antwoord", parse_mode="HTML")
        await bot.send_document(USER, b"inhoud", filename="advies.md", caption="Bijlage")
    assert sent.text == "Vraag & antwoord"
    (message, document) = fake.messages(USER)
    assert message.plain_text == "Vraag & antwoord"
    assert (document.filename, document.file) == ("advies.md", b"inhoud")


async def test_a_refusal_by_telegram_is_ptbs_error_with_telegrams_reason(fake: FakeBotApi) -> None:
    fake.add_chat(USER)
    async with bot_on(fake.base_url, AiohttpRequest()) as bot:
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(USER, "")


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/bot"
    for writer in held:
        writer.close()
    server.close()


async def test_no_answer_within_the_read_timeout_is_timed_out(silent_server: str) -> None:
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"{silent_server}{TOKEN}/getMe")
    finally:
        await request.shutdown()


async def test_a_full_pool_is_timed_out_without_sending(silent_server: str) -> None:
    request = AiohttpRequest(1, read_timeout=5.0, pool_timeout=0.1)
    await request.initialize()
    try:
        waiting = asyncio.ensure_future(request.post(f"{silent_server}{TOKEN}/getMe"))
        await asyncio.sleep(0.1)
        with pytest.raises(TimedOut):
            await request.post(f"{silent_server}{TOKEN}/getMe")
        waiting.cancel()
    finally:
        await request.shutdown()


async def test_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
        assert not isinstance(raised.value, TimedOut)
        assert TOKEN not in str(raised.value)
    finally:
        await request.shutdown()


async def test_it_works_again_after_a_shutdown(fake: FakeBotApi) -> None:
    """PTB shuts a bot down and may initialize it again (a restart of the application)."""
    request = AiohttpRequest()
    bot = bot_on(fake.base_url, request)
    async with bot:
        first = await bot.get_me()
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{fake.base_url}{TOKEN}/getMe")
    async with bot:
        assert (await bot.get_me()).id == first.id


async def test_a_proxy_from_the_environment_carries_the_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Public bodies often sit behind a proxy; httpx honoured HTTP(S)_PROXY, so must this."""
    lines: list[bytes] = []
    answer = b'{"ok": true, "result": {"id": 1, "is_bot": true, "first_name": "Bot"}}'

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines.append(await reader.readline())
        while (await reader.readline()).strip():
            pass
        length = b"Content-Length: %d\r\n" % len(answer)
        writer.write(b"HTTP/1.1 200 OK\r\n" + length + b"Connection: close\r\n\r\n" + answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    request = AiohttpRequest()
    await request.initialize()
    try:
        for _ in range(2):
            await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
        server.close()
    assert [line.split()[:2] for line in lines] == [
        [b"POST", f"http://api.telegram.invalid/bot{TOKEN}/getMe".encode()]
    ] * 2
