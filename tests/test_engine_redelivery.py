"""Updates are handled at most once per person, across restarts, and typed digits never confirm.

Telegram re-sends every update the bot had not confirmed when it crashed. Buttons are safe by
their prompt numbers; typed text and commands are made safe by the update's own number, kept with
the answer in the same write.
"""

from __future__ import annotations

import pytest

from flows.engine import Conversation
from flows.events import Event
from storage import Store
from tests.driver import Driver


def test_a_redelivered_answer_is_not_stored_as_the_next_answer(typed: Driver) -> None:
    typed.delivered(Event.cmd("start"), 10)
    assert typed.question == "naam"
    typed.delivered(Event.typed("Schoonmaak"), 11)
    assert typed.question == "categorie"

    typed.delivered(Event.typed("Schoonmaak"), 11)

    assert typed.answers == {"naam": "Schoonmaak"}
    assert typed.question == "categorie"


def test_a_redelivery_shows_the_current_question_again(typed: Driver) -> None:
    typed.delivered(Event.cmd("start"), 1)
    typed.delivered(Event.typed("A"), 2)
    reply = typed.delivered(Event.typed("A"), 2)
    assert reply.prompt is not None
    assert typed.question == "categorie"


def test_older_updates_are_ignored_too(typed: Driver) -> None:
    typed.delivered(Event.cmd("start"), 5)
    typed.delivered(Event.typed("A"), 6)
    typed.delivered(Event.cmd("nieuw"), 3)
    assert typed.position.tender_id is not None
    assert len(typed.conversation.repo.list_tenders(typed.user)) == 1


def test_a_redelivered_digit_in_the_delete_menu_does_not_delete(
    typed: Driver, store: Store
) -> None:
    # Found by the crash campaign: the re-sent "1" landed on the confirmation and deleted the
    # tender without the buyer ever confirming.
    typed.delivered(Event.cmd("start"), 1)
    typed.delivered(Event.typed("Eerste"), 2)
    typed.delivered(Event.cmd("verwijder"), 3)
    typed.delivered(Event.typed("1"), 4)
    assert typed.menu == "confirm"

    typed.delivered(Event.typed("1"), 4)

    assert [t["name"] for t in store.list_tenders(typed.user)] == ["Eerste"]
    assert typed.menu == "confirm"


@pytest.mark.parametrize("second", ["1", "2", "¹"])
def test_a_typed_digit_never_confirms_a_deletion(typed: Driver, store: Store, second: str) -> None:
    typed.run(["/start", "Eerste", "/verwijder", "1"])
    assert typed.menu == "confirm"

    typed.say(second)

    assert [t["name"] for t in store.list_tenders(typed.user)] == ["Eerste"]
    assert typed.menu == "confirm"
    typed.say("ja")
    assert store.list_tenders(typed.user) == []


def test_no_in_words_keeps_the_tender(typed: Driver, store: Store) -> None:
    typed.run(["/start", "Eerste", "/verwijder", "1", "nee"])
    assert typed.mode == "asking"
    assert len(store.list_tenders(typed.user)) == 1


def test_the_confirmation_offers_words_to_type(typed: Driver) -> None:
    typed.run(["/start", "Eerste", "/verwijder", "1"])
    assert [o.key for o in typed.prompt.options] == ["ja", "nee"]


def test_buttons_still_confirm(tapped: Driver, store: Store) -> None:
    tapped.run(["/start", "Eerste", "/verwijder"])
    tapped.choose(store.list_tenders(tapped.user)[0]["id"])
    tapped.choose("ja")
    assert store.list_tenders(tapped.user) == []


def test_handled_updates_are_remembered_across_a_restart(store: Store) -> None:
    first = Driver(Conversation(store, buttons=False), "tg-9")
    first.delivered(Event.cmd("start"), 100)
    first.delivered(Event.typed("Naam"), 101)

    again = Driver(Conversation(store, buttons=False), "tg-9")
    again.delivered(Event.typed("Naam"), 101)

    assert again.answers == {"naam": "Naam"}
