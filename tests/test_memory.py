"""Bounded memory (performance target 7): nothing is kept for people and chats gone quiet.

Each test plays many distinct chats, lets the simulated clock pass the idle limit where there is
one, and counts what a structure still holds: sizes, not timings or resident memory (those are
bench/memory.py's).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationBuilder, DictPersistence

from bot.telegram.bounded import BoundedApplication
from tests.fakes.harness import Harness
from tests.fakes.inprocess import TOKEN, FakeRequest

PEOPLE = range(100, 130)


async def test_the_application_keeps_no_id_of_the_chats_it_served(tg: Harness) -> None:
    app = tg.app
    for user in PEOPLE:
        await tg.send("/start", user=user)
        await tg.send("Schoonmaak kantoren", user=user)
    keyboard = tg.request.last_keyboard(PEOPLE[0])
    assert keyboard is not None
    await tg.press(keyboard.buttons[0][1], on=keyboard, user=PEOPLE[0])
    # PTB notes every chat and user for a persistence; without one nobody ever empties the notes.
    assert not app._chat_ids_to_be_updated_in_persistence
    assert not app._user_ids_to_be_updated_in_persistence
    assert len(app.chat_data) == 0
    assert len(app.user_data) == 0


def test_with_a_persistence_the_application_still_notes_what_to_save() -> None:
    """The note is only skipped when there is nothing to write it to."""
    app = (
        ApplicationBuilder()
        .application_class(BoundedApplication)
        .token(TOKEN)
        .request(FakeRequest())
        .persistence(DictPersistence())
        .build()
    )
    person = {"id": 5, "is_bot": False, "first_name": "Inkoper"}
    message = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "from": person}
    update = Update.de_json({"update_id": 1, "message": {**message, "text": "hallo"}}, app.bot)
    app._mark_for_persistence_update(update=update)
    assert app._chat_ids_to_be_updated_in_persistence == {5}
    assert app._user_ids_to_be_updated_in_persistence == {5}
