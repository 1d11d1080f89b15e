"""The contract phase end to end: the real Application and its job queue against the fake Bot API.

The contract room and the reminders share one injected clock; the test moves it past the first
evaluation moment and asks the bot to reschedule, as a restart would. The reminder then comes
from PTB's job queue, in real (short) time.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import docx
import pytest

from bot.telegram import contract as contract_bot
from bot.telegram.contract import AGENDA_KEY, ContractBot
from flows.contract import schedule
from flows.contract.model import CONTRACT_KEY
from flows.contract.schedule import AMSTERDAM, Calendar
from storage import Store
from tests.fakes import Call, FakeBotApi
from tests.telegram_buyer import Buyer, plain, start_bot, stop_bot

USER = 31
GROUP = -100555


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 1, 20, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[FakeBotApi, Any, Clock]]:
    clock = Clock()
    with FakeBotApi() as fake:
        app = await start_bot(fake, tmp_path / "data")
        contract: ContractBot = app.bot_data["contract"]
        contract.cal = Calendar(clock=clock)
        assert contract.room is not None
        contract.room.cal = contract.cal
        yield fake, app, clock
        await stop_bot(app)


def sent_after(fake: FakeBotApi, mark: int, method: str, chat_id: int) -> list[Call]:
    return [
        c for c in fake.calls[mark:] if c.ok and c.method.lower() == method and c.chat_id == chat_id
    ]


async def test_contract_reminder_measurement_and_report(
    bot: tuple[FakeBotApi, Any, Clock],
) -> None:
    fake, app, clock = bot
    buyer = Buyer(fake, USER)
    await buyer.say("/start")
    await buyer.say("/contract", expect="gegund")
    await buyer.say("15-1-2027", expect="leverancier")
    await buyer.say("Cateraar <b>BV</b>", expect="Hoe lang")
    await buyer.say("1 jaar", expect="Hoe vaak")
    await buyer.tap("Elk kwartaal", expect="KPI")
    await buyer.say("Aandeel plantaardig (%)", expect="nulmeting")
    await buyer.say("20", expect="bereiken")
    await buyer.say("60", expect="jaar")
    await buyer.tap("Neem 2028", expect="nog een KPI")
    text = await buyer.tap("Klaar", expect="staat klaar")
    assert "4 meetmomenten" in text

    contract: ContractBot = app.bot_data["contract"]
    mark = fake.mark()
    clock.now = datetime(2027, 4, 15, 9, 30, tzinfo=AMSTERDAM).astimezone(UTC)
    await contract.reschedule_all()
    reminder = await fake.await_for(
        lambda: next(
            (
                c
                for c in sent_after(fake, mark, "sendmessage", USER)
                if "meetmoment 1" in plain(c.text)
            ),
            None,
        )
    )
    assert reminder.buttons[0][0] == "Metingen invullen"
    await contract.reschedule_all()  # a second start-up: the reminder is not sent again
    assert (
        len(
            [
                c
                for c in sent_after(fake, mark, "sendmessage", USER)
                if "meetmoment 1" in plain(c.text)
            ]
        )
        == 1
    )

    message = next(m for m in fake.messages(USER) if m.message_id == reminder.message_id)
    await buyer.tap("Metingen invullen", expect="waarde nu", message=message)
    await buyer.say("32,5", expect="afspraken")
    text = await buyer.say("Leverancier stuurt menukaart", expect="Voortgang")
    assert "32,5" in text

    mark = fake.mark()
    await buyer.say("/voortgang", expect="voortgangsverslag")
    document = await fake.await_for(
        lambda: next(iter(sent_after(fake, mark, "senddocument", USER)), None), timeout=60
    )
    photo = await fake.await_for(
        lambda: next(iter(sent_after(fake, mark, "sendphoto", USER)), None), timeout=60
    )
    assert photo.files
    assert "gerealiseerde" in str(photo.params.get("caption"))
    assert "voortgangsrapportage" in str(document.params.get("caption"))
    (data,) = document.files.values()
    report = docx.Document(io.BytesIO(data))
    body = "\n".join(p.text for p in report.paragraphs)
    assert "Aandeel plantaardig (%)" in body
    assert "Leverancier stuurt menukaart" in body
    assert "Cateraar <b>BV</b>" in body
    documents = await fake.await_for(
        lambda: (lambda d: d if len(d) >= 2 else None)(
            sent_after(fake, mark, "senddocument", USER)
        ),
        timeout=60,
    )
    (raw,) = documents[1].files.values()
    values = [m["waarde"] for k in json.loads(raw)["contract"]["kpis"] for m in k["metingen"]]
    assert 32.5 in values


# --- restarts, deleting and the team group, on a contract stored before the bot starts --------


def seed(data: Path) -> str:
    """A stored tender with a quarterly one-year contract awarded on 15 January 2027."""
    store = Store(data)
    tender = store.create_tender(f"tg-{USER}", {"name": "Schoonmaak"})
    tender.state[CONTRACT_KEY] = {
        "award": "2027-01-15",
        "supplier": "Schoon BV",
        "months": 12,
        "frequency": "kwartaal",
        "kpis": [
            {
                "id": "k1",
                "name": "Groene middelen (%)",
                "theme": None,
                "baseline": 10,
                "target": 50,
                "year": 2028,
            }
        ],
        "checkins": schedule.plan(date(2027, 1, 15), 12, "kwartaal"),
        "measurements": [],
        "reminders": "aan",
    }
    store.save_tender(f"tg-{USER}", tender)
    store.save_user(f"tg-{USER}", {"mode": "asking", "active": tender.id, "seq": 1})
    store.save_group(AGENDA_KEY, {"tenders": [[f"tg-{USER}", tender.id]], "codes": {}})
    return tender.id


def local(y: int, m: int, d: int, h: int) -> datetime:
    return datetime(y, m, d, h, tzinfo=AMSTERDAM).astimezone(UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock every bot started in this test uses, from its very first start-up job."""
    moved = Clock()
    monkeypatch.setattr(contract_bot, "Calendar", lambda: Calendar(clock=moved))
    return moved


async def known_buyer(fake: FakeBotApi, data: Path) -> tuple[Any, Buyer]:
    """The buyer and the team's group have talked to the bot before."""
    fake.add_chat(USER)
    fake.add_chat(GROUP, "group", title="Inkoopteam")
    return await start_bot(fake, data), Buyer(fake, USER)


def reminders(fake: FakeBotApi, chat_id: int, checkin: int) -> list[Call]:
    return [
        c
        for c in sent_after(fake, 0, "sendmessage", chat_id)
        if f"meetmoment {checkin} van" in plain(c.text)
    ]


async def run_once(fake: FakeBotApi, data: Path, settle: float = 0.5) -> None:
    """Start the bot, let its start-up job run, stop it: one life of the bot."""
    app = await start_bot(fake, data)
    await asyncio.sleep(settle)
    await stop_bot(app)


async def test_restarts_around_due_moments_lose_none_and_duplicate_none(
    tmp_path: Path, clock: Clock
) -> None:
    data = tmp_path / "data"
    seed(data)
    with FakeBotApi() as fake:
        fake.add_chat(USER)
        clock.now = local(2027, 3, 1, 10)  # a restart between two moments: nothing yet
        await run_once(fake, data)
        assert reminders(fake, USER, 1) == []
        clock.now = local(2027, 4, 16, 10)  # the bot was down on the 15th
        app = await start_bot(fake, data)
        await fake.await_for(lambda: reminders(fake, USER, 1) or None)
        await stop_bot(app)
        await run_once(fake, data)  # restarted again on the same day
        clock.now = local(2027, 7, 15, 9)  # restarted right at the next moment
        app = await start_bot(fake, data)
        await fake.await_for(lambda: reminders(fake, USER, 2) or None)
        await stop_bot(app)
        await run_once(fake, data)
    assert len(reminders(fake, USER, 1)) == 1
    assert len(reminders(fake, USER, 2)) == 1


async def test_deleting_the_tender_cancels_its_reminders(tmp_path: Path, clock: Clock) -> None:
    data = tmp_path / "data"
    seed(data)
    clock.now = local(2027, 4, 1, 10)
    with FakeBotApi() as fake:
        app, buyer = await known_buyer(fake, data)
        await buyer.say("/verwijder", expect="verwijderen")
        await buyer.tap("Schoonmaak", expect="zeker")
        await buyer.tap("Ja, verwijderen", expect="Verwijderd")
        contract: ContractBot = app.bot_data["contract"]
        clock.now = local(2027, 4, 15, 10)
        await contract.reschedule_all()
        assert [j.name for j in app.job_queue.jobs() if j.name.startswith("contract:tg")] == []
        await stop_bot(app)
    assert reminders(fake, USER, 1) == []


async def test_a_linked_group_gets_the_reminder_and_the_progress_chart(
    tmp_path: Path, clock: Clock
) -> None:
    data = tmp_path / "data"
    seed(data)
    clock.now = local(2027, 4, 1, 10)
    with FakeBotApi() as fake:
        app, buyer = await known_buyer(fake, data)
        await buyer.say("/contract", expect="Wat wil je doen")
        text = await buyer.tap("Een groep koppelen", expect="/koppel")
        code = text.split("/koppel", 1)[1].split()[0]
        mark = fake.mark()
        fake.send_text(GROUP, USER, f"/koppel {code}", chat_type="group")
        await fake.await_for(
            lambda: next(
                (
                    c
                    for c in sent_after(fake, mark, "sendmessage", GROUP)
                    if "Schoonmaak" in plain(c.text)
                ),
                None,
            )
        )
        contract: ContractBot = app.bot_data["contract"]
        clock.now = local(2027, 4, 15, 10)
        await contract.reschedule_all()
        await fake.await_for(lambda: reminders(fake, GROUP, 1) or None)
        group_reminder = reminders(fake, GROUP, 1)[0]
        assert group_reminder.buttons == []  # the team sees the moment, the buyer measures
        await buyer.say("/meting", expect="waarde nu")
        await buyer.say("30", expect="afspraken")
        mark = fake.mark()
        await buyer.tap("Geen afspraken", expect="Voortgang")
        await fake.await_for(
            lambda: next(iter(sent_after(fake, mark, "sendphoto", GROUP)), None), timeout=60
        )
        group_texts = " ".join(plain(c.text) for c in sent_after(fake, 0, "sendmessage", GROUP))
        assert "30" not in group_texts  # values stay with the buyer; the group gets the chart
        await stop_bot(app)


async def test_reminder_buttons_snooze_a_week_and_stop(tmp_path: Path, clock: Clock) -> None:
    data = tmp_path / "data"
    tender_id = seed(data)
    clock.now = local(2027, 4, 15, 10)
    with FakeBotApi() as fake:
        app, buyer = await known_buyer(fake, data)
        reminder = await fake.await_for(lambda: next(iter(reminders(fake, USER, 1)), None))
        message = next(m for m in fake.messages(USER) if m.message_id == reminder.message_id)
        await buyer.tap("Over een week", expect="22 april 2027", message=message)
        await buyer.tap("Stop herinneringen", expect="geen herinneringen meer", message=message)
        await stop_bot(app)
    stored = Store(data).get_tender(f"tg-{USER}", tender_id)
    assert stored is not None
    contract = stored.state[CONTRACT_KEY]
    assert contract["checkins"][0]["remind"] == "2027-04-22"
    assert contract["reminders"] == "uit"
