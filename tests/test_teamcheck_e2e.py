"""The team ambition check end to end: the real Application against the fake Bot API.

Members are played with `fake.send_text` (commands) and `fake.press` (buttons), as in a group
with privacy mode on. The refresh interval is lowered so board edits arrive quickly; waiting is
always for a condition, never for a time.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import pytest

from bot.telegram import group
from storage import Store
from tests.fakes import BotMessage, Call, FakeBotApi
from tests.telegram_buyer import plain, start_bot, stop_bot

GROUP = -100777
OWNER, ADMIN = 10, 11
STARTER, ANNA, BRAM = 20, 21, 22
MILIEU, KLIMAAT, SOCIAL = 0, 1, 4
SUBJECT = 'Schoonmaak <b>&"2027"</b> 🌱'


@pytest.fixture(autouse=True)
def quick_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group, "REFRESH_INTERVAL", 0.2)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    with FakeBotApi(owners={GROUP: OWNER}, admins={GROUP: {ADMIN}}) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi, tmp_path: Path) -> AsyncIterator[FakeBotApi]:
    app = await start_bot(fake, tmp_path / "data")
    yield fake
    await stop_bot(app)


class Room:
    """One chat as its members see it."""

    def __init__(self, fake: FakeBotApi, chat_id: int = GROUP) -> None:
        self.fake = fake
        self.chat_id = chat_id
        self.chat_type = "private" if chat_id > 0 else "group"

    def send(self, user: int, text: str) -> int:
        mark = self.fake.mark()
        self.fake.send_text(self.chat_id, user, text, chat_type=self.chat_type)
        return mark

    async def command(self, user: int, text: str, expect: str) -> Call:
        """Send a command and wait for the bot's message (new or edited) that contains `expect`."""
        mark = self.send(user, text)

        def reply() -> Call | None:
            for call in self.fake.calls[mark:]:
                if call.ok and call.chat_id == self.chat_id and expect in plain(call.text):
                    return call
            return None

        return await self.fake.await_for(reply)

    async def press(self, user: int, message_id: int, data: str, *, strict: bool = True) -> str:
        """Press a button and return the toast."""
        query = self.fake.press(self.chat_id, user, message_id, data, strict=strict)
        answer = await self.fake.await_for(lambda: self.fake.answered_callbacks.get(query))
        return answer.text or ""

    def message(self, message_id: int) -> BotMessage:
        return next(m for m in self.fake.messages(self.chat_id) if m.message_id == message_id)

    async def board_shows(self, message_id: int, *parts: str) -> BotMessage:
        def shown() -> BotMessage | None:
            board = self.message(message_id)
            return board if all(p in (board.plain_text or "") for p in parts) else None

        return await self.fake.await_for(shown)

    async def start(self, user: int, text: str = "/ambitiecheck") -> BotMessage:
        call = await self.command(user, text, "Ambitiecheck")
        message_id = call.response["result"]["message_id"]
        return self.message(message_id)


def check_id(board: BotMessage) -> str:
    return board.callback_data("Sluiten").split(":")[1]


def vote(board: BotMessage, theme: int, level: int) -> str:
    return f"g:{check_id(board)}:{theme}:{level}"


def all_ok(fake: FakeBotApi) -> bool:
    sent = [c for c in fake.calls if c.method.lower().startswith(("send", "edit"))]
    return not fake.internal_errors and all(c.ok for c in sent)


async def test_a_team_votes_changes_a_vote_and_the_starter_closes(
    bot: FakeBotApi, tmp_path: Path
) -> None:
    room = Room(bot)
    board = await room.start(STARTER, f"/ambitiecheck {SUBJECT}")
    assert SUBJECT in (board.plain_text or "")
    labels = [label for label, _ in board.buttons()]
    assert labels[:5] == ["Milieu", "0", "1", "2", "3"]
    assert "Diversiteit en inclusie" in labels
    assert labels[-1] == "Sluiten en uitslag"

    bid = board.message_id
    assert await room.press(STARTER, bid, vote(board, KLIMAAT, 2)) == "Je stem voor Klimaat: 2"
    assert await room.press(ANNA, bid, vote(board, KLIMAAT, 3)) == "Je stem voor Klimaat: 3"
    assert await room.press(BRAM, bid, vote(board, KLIMAAT, 1)) == "Je stem voor Klimaat: 1"
    assert await room.press(ANNA, bid, vote(board, KLIMAAT, 1)) == "Je stem voor Klimaat: 1"
    assert await room.press(ANNA, bid, vote(board, KLIMAAT, 1)) == "Je stem voor Klimaat blijft 1"
    for user, level in ((STARTER, 0), (ANNA, 3), (BRAM, 1)):
        await room.press(user, bid, vote(board, MILIEU, level))
    for user, level in ((STARTER, 1), (ANNA, 1), (BRAM, 2)):
        await room.press(user, bid, vote(board, SOCIAL, level))
    assert "Tik op 0, 1, 2 of 3" in await room.press(BRAM, bid, f"g:{check_id(board)}:{KLIMAAT}")

    shown = await room.board_shows(
        bid, "Klimaat · 3 stemmen · 0:0 1:2 2:1 3:0", "3 mensen hebben gestemd."
    )
    assert "Test" not in (shown.plain_text or "")  # counts only, never who

    # someone else may not close, with the button or the command
    toast = await room.press(BRAM, bid, board.callback_data("Sluiten"))
    assert toast == "Alleen wie de check startte of een beheerder kan hem sluiten."
    await room.command(BRAM, "/uitslag", "Alleen wie de check startte")
    assert not bot.calls_to("sendPhoto")

    mark = bot.mark()
    assert await room.press(STARTER, bid, board.callback_data("Sluiten")) == ""
    photo = await bot.await_call("sendPhoto", GROUP, after=mark)
    assert next(iter(photo.files.values())).startswith(b"\x89PNG")
    result = plain((await bot.await_for(lambda: result_call(bot, mark))).text)
    assert SUBJECT in result
    assert "3 mensen stemden." in result
    assert "• Klimaat: 1 (1 tot 2, 3 stemmen)" in result
    assert "• Milieu: 1 (0 tot 3, 3 stemmen)" in result
    assert "• Social return: 1 (1 tot 2, 3 stemmen)" in result
    assert "Milieu: van 0 tot 3" in result.split("Bespreek deze eerst", 1)[1]
    agree = next(line for line in result.splitlines() if line.startswith("Hier is het team"))
    assert "Klimaat" in agree
    assert "Social return" in agree
    assert "• Klimaat: eis." in result

    closed = await room.board_shows(bid, "Gesloten")
    assert not closed.buttons()

    # presses on the old board, and closing again, change nothing
    late = await room.press(BRAM, bid, vote(board, KLIMAAT, 3), strict=False)
    assert late == "Deze check is gesloten."
    late = await room.press(OWNER, bid, board.callback_data("Sluiten"), strict=False)
    assert late == "Deze check is gesloten."
    await room.command(STARTER, "/uitslag", "Er loopt nu geen ambitiecheck")
    assert len(bot.calls_to("sendPhoto")) == 1

    # /download: the result as a Word document
    mark = bot.mark()
    room.send(ANNA, "/download")
    sent = await bot.await_call("sendDocument", GROUP, after=mark)
    (name,) = sent.filenames.values()
    assert name.endswith(".docx")
    document = docx.Document(io.BytesIO(next(iter(sent.files.values()))))
    text = "\n".join(p.text for p in document.paragraphs)
    assert SUBJECT in text
    assert "Milieu: van 0 tot 3" in text
    rows = {row.cells[0].text: [c.text for c in row.cells] for row in document.tables[0].rows}
    assert rows["Klimaat"][1:5] == ["1", "1", "2", "3"]
    assert rows["Milieu"][1:5] == ["1", "0", "3", "3"]
    assert rows["Klimaat"][5].startswith("eis:")
    assert all_ok(bot)


def result_call(fake: FakeBotApi, mark: int) -> Call | None:
    for call in fake.calls[mark:]:
        if call.ok and call.method == "sendMessage" and "Uitslag ambitiecheck" in plain(call.text):
            return call
    return None


async def test_a_new_check_after_closing_and_an_admin_closes_it(bot: FakeBotApi) -> None:
    room = Room(bot)
    first = await room.start(STARTER)
    await room.press(ANNA, first.message_id, vote(first, KLIMAAT, 2))
    call = await room.command(ANNA, "/ambitiecheck", "Er loopt al een ambitiecheck")
    assert call.params["reply_parameters"]["message_id"] == first.message_id
    await room.press(STARTER, first.message_id, first.callback_data("Sluiten"))
    await bot.await_for(lambda: result_call(bot, 0))

    second = await room.start(ANNA, "/ambitiecheck tweede ronde")
    assert second.message_id != first.message_id
    assert check_id(second) != check_id(first)
    old = await room.press(BRAM, first.message_id, vote(first, KLIMAAT, 3), strict=False)
    assert old == "Deze check is gesloten."
    await room.press(BRAM, second.message_id, vote(second, KLIMAAT, 3))
    await room.board_shows(second.message_id, "Klimaat · 1 stem · 0:0 1:0 2:0 3:1")

    mark = bot.mark()
    room.send(ADMIN, "/uitslag")
    result = plain((await bot.await_for(lambda: result_call(bot, mark))).text)
    assert "tweede ronde" in result
    assert "1 persoon stemde." in result
    assert "• Klimaat: 3 (1 stem)" in result
    assert "• Klimaat: gunningscriterium." in result
    await bot.await_call("sendPhoto", GROUP, after=mark)
    assert all_ok(bot)


async def test_votes_survive_a_restart(fake: FakeBotApi, tmp_path: Path) -> None:
    data = tmp_path / "data"
    room = Room(fake)
    app = await start_bot(fake, data)
    try:
        board = await room.start(STARTER)
        await room.press(STARTER, board.message_id, vote(board, KLIMAAT, 3))
        await room.press(ANNA, board.message_id, vote(board, KLIMAAT, 2))
    finally:
        await stop_bot(app)
    app = await start_bot(fake, data)
    try:
        await room.press(BRAM, board.message_id, vote(board, KLIMAAT, 2))
        await room.board_shows(board.message_id, "Klimaat · 3 stemmen · 0:0 1:0 2:2 3:1")
        mark = fake.mark()
        await room.press(STARTER, board.message_id, board.callback_data("Sluiten"))
        result = plain((await fake.await_for(lambda: result_call(fake, mark))).text)
        assert "• Klimaat: 2 (2 tot 3, 3 stemmen)" in result
    finally:
        await stop_bot(app)
    assert all_ok(fake)


async def test_thirty_presses_at_once_all_count_and_edits_are_coalesced(
    bot: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = Room(bot)
    board = await room.start(STARTER)
    # An interval far longer than the test: after the first edit no other may start, so the
    # edit count below depends on the throttle alone, not on how fast this machine is.
    monkeypatch.setattr(group, "REFRESH_INTERVAL", 3600.0)
    members = range(1000, 1030)
    queries = [
        bot.press(GROUP, user, board.message_id, vote(board, KLIMAAT, user % 4)) for user in members
    ]
    await bot.await_for(lambda: all(q in bot.answered_callbacks for q in queries) or None)
    assert {bot.answered_callbacks[q].text for q in queries} == {
        f"Je stem voor Klimaat: {level}" for level in range(4)
    }
    edits = [
        c for c in bot.calls_to("editMessageText") if c.params.get("message_id") == board.message_id
    ]
    assert len(edits) <= 1

    # closing edits the board at once, with every vote, and wakes the waiting refresh
    mark = bot.mark()
    room.send(STARTER, "/uitslag")
    result = plain((await bot.await_for(lambda: result_call(bot, mark))).text)
    assert "30 mensen stemden." in result
    assert "• Klimaat: 1 (0 tot 3, 30 stemmen)" in result  # 16 of 30 chose 0 or 1
    await room.board_shows(board.message_id, "Gesloten", "Klimaat · 30 stemmen · 0:8 1:8 2:7 3:7")
    assert all_ok(bot)


async def test_private_quick_scan(bot: FakeBotApi, tmp_path: Path) -> None:
    buyer = 30
    room = Room(bot, buyer)
    board = await room.start(buyer)
    assert "Snelle scan" in (board.plain_text or "")
    await room.press(buyer, board.message_id, vote(board, KLIMAAT, 3))
    await room.press(buyer, board.message_id, vote(board, MILIEU, 1))
    await room.board_shows(board.message_id, "Klimaat · niveau 3", "Milieu · niveau 1")
    mark = bot.mark()
    await room.press(buyer, board.message_id, board.callback_data("Sluiten"))
    await bot.await_call("sendPhoto", buyer, after=mark)
    result = plain((await bot.await_for(lambda: result_call(bot, mark))).text)
    assert "• Klimaat: niveau 3" in result
    assert "• Klimaat: gunningscriterium." in result
    assert "• Milieu: eis." in result
    # the closed scan is not kept; the private chat's own /start is untouched
    await bot.await_for(lambda: not (tmp_path / "data" / "groups" / "tg-scan-30.json").exists())
    await room.command(buyer, "/start", "Hoe noem je")
    assert all_ok(bot)


async def test_starter_can_score_the_themes_of_an_own_tender(
    fake: FakeBotApi, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    store = Store(data)
    tender = store.create_tender("tg-40", {"name": "Catering & koffie"})
    tender.answers = {
        "naam": "Catering & koffie",
        "themas": ["klimaat", "Gezonde <voeding>", "social_return"],
        "prioriteit": ["social_return", "Gezonde <voeding>", "klimaat"],
    }
    store.save_tender("tg-40", tender)
    app = await start_bot(fake, data)
    try:
        room = Room(fake)
        call = await room.command(40, "/ambitiecheck", "Welke thema's")
        choice = room.message(call.response["result"]["message_id"])
        own = choice.callback_data("Catering & koffie")
        assert choice.callback_data("De zes basisthema's") != own
        denied = await room.press(41, choice.message_id, own)
        assert denied.startswith("Alleen wie de check startte kan kiezen")
        await room.press(40, choice.message_id, own)
        board = await room.board_shows(choice.message_id, "Catering & koffie", "Gezonde <voeding>")
        labels = [label for label, _ in board.buttons()]
        assert labels[::5][:3] == ["Social return", "Gezonde <voeding>", "Klimaat"]
        assert len(board.buttons()) == 3 * 5 + 1
        toast = await room.press(41, board.message_id, vote(board, 1, 2))
        assert toast == "Je stem voor Gezonde <voeding>: 2"
    finally:
        await stop_bot(app)
    assert all_ok(fake)


async def test_only_an_admin_wipes_the_group_after_confirming(
    bot: FakeBotApi, tmp_path: Path
) -> None:
    room = Room(bot)
    stored = tmp_path / "data" / "groups" / f"tg-group-{GROUP}.json"
    board = await room.start(STARTER)
    await room.press(ANNA, board.message_id, vote(board, KLIMAAT, 2))
    assert stored.exists()

    await room.command(ANNA, "/verwijder", "alleen een beheerder")
    call = await room.command(OWNER, "/verwijder", "Weet je het zeker")
    confirm = room.message(call.response["result"]["message_id"])
    denied = await room.press(ANNA, confirm.message_id, confirm.callback_data("Ja, wis"))
    assert denied == "Alleen een beheerder van deze groep kan de gegevens wissen."
    assert stored.exists()
    await room.press(ADMIN, confirm.message_id, confirm.callback_data("Ja, wis"))
    await room.board_shows(confirm.message_id, "gewist")
    assert not stored.exists()
    await bot.await_for(lambda: not room.message(board.message_id).buttons() or None)
    late = await room.press(ANNA, board.message_id, vote(board, KLIMAAT, 3), strict=False)
    assert late == "Deze check is gesloten."
    assert not stored.exists()
    await room.command(ANNA, "/download", "nog geen uitslag")
    assert all_ok(bot)
