"""The state machine carries the rules, draws the README's diagram, and pages long tender menus."""

from __future__ import annotations

import pytest

from flows.conversation import diagram
from flows.conversation.commands import REGISTRY
from flows.conversation.machine import MENU_MODES, MODES, Rules
from flows.engine import ALL, PAGE_SIZE, Conversation
from flows.events import Event
from storage import Store
from tests.driver import Driver


def test_the_readme_shows_the_current_diagram() -> None:
    text = diagram.README.read_text(encoding="utf-8")
    assert diagram.current_block(text) == diagram.readme_block(), (
        "run: python -m flows.conversation.diagram --write"
    )


def test_the_diagram_draws_modes_guards_and_entry_actions() -> None:
    drawn = diagram.mermaid()
    for mode in MODES:
        assert f'state "{mode}' in drawn
    assert "optional_question" in drawn
    assert "close_menu" in drawn
    assert "deleting --> confirming: ask_confirm" in drawn


def test_the_machine_says_where_each_limited_command_is_allowed() -> None:
    rules = Rules(c.rule for c in REGISTRY.values())
    for mode in MODES:
        assert rules.allows(mode, "annuleren") == (mode in MENU_MODES)
        assert rules.allows(mode, "overslaan") == (mode == "asking")
        assert rules.allows(mode, "volgende_pagina") == (
            mode in ("reading", "resuming", "deleting")
        )
        assert rules.allows(mode, "help")


@pytest.mark.parametrize("mode", ["finished", "jumping"])
def test_skip_outside_a_question_is_refused_by_the_machine(typed: Driver, mode: str) -> None:
    typed.complete() if mode == "finished" else typed.run(["/start", "/wijzig"])
    assert typed.mode == mode
    typed.say("/overslaan")
    assert typed.shows("nothing_to_skip")
    assert typed.mode == mode


def test_a_wrong_move_is_an_error_not_a_silent_mode(typed: Driver) -> None:
    typed.run(["/start", "/wijzig"])
    session = typed.conversation.load(typed.user)
    with pytest.raises(Exception, match="finish"):
        typed.conversation.go(session, "finish")


def many_tenders(driver: Driver, count: int) -> list[str]:
    store = driver.conversation.repo
    for number in range(count):
        store.create_tender(driver.user, {"name": f"Aanbesteding {number:02d}"})
    driver.say("/start")
    return [t["id"] for t in store.list_tenders(driver.user)]


@pytest.mark.parametrize("command", ["/hervat", "/verwijder"])
def test_long_tender_menus_come_in_pages(typed: Driver, command: str) -> None:
    ids = many_tenders(typed, 2 * PAGE_SIZE + 3)
    extra = 1 if command == "/verwijder" else 0  # "Al mijn gegevens" on every page
    typed.say(command)
    first = typed.position.menu
    assert first is not None
    assert len(first.values) == PAGE_SIZE + extra
    assert typed.shows("menu.page", page=1, pages=3)
    assert [a.command for a in typed.prompt.actions] == ["annuleren", "volgende_pagina"]
    typed.say("/volgende_pagina")
    typed.say("/volgende_pagina")
    last = typed.position.menu
    assert last is not None
    assert list(last.values[: len(ids) - 2 * PAGE_SIZE]) == ids[2 * PAGE_SIZE :]
    assert [a.command for a in typed.prompt.actions] == ["vorige_pagina", "annuleren"]
    typed.say("/vorige_pagina")
    middle = typed.position.menu
    assert middle is not None
    assert list(middle.values[:PAGE_SIZE]) == ids[PAGE_SIZE : 2 * PAGE_SIZE]
    if extra:
        assert middle.values[-1] == ALL


def test_a_tender_on_a_later_page_is_picked_with_buttons(tapped: Driver) -> None:
    ids = many_tenders(tapped, PAGE_SIZE + 2)
    tapped.say("/hervat")
    tapped.action("volgende_pagina")
    assert tapped.prompt.edit
    tapped.choose(ids[-1])
    assert tapped.position.tender_id == ids[-1]
    assert tapped.mode == "asking"


def test_page_commands_outside_a_list_are_refused(typed: Driver) -> None:
    typed.run(["/start", "/volgende_pagina"])
    assert typed.shows("menu.no_pages")
    assert typed.mode == "asking"


def test_a_short_list_has_no_page_buttons(typed: Driver, store: Store) -> None:
    typed.run(["/start", "/nieuw", "/hervat"])
    assert [a.command for a in typed.prompt.actions] == ["annuleren"]
    assert not typed.shows("menu.page", page=1, pages=1)


def test_a_stored_unknown_menu_does_not_lock_the_person_out(store: Store) -> None:
    driver = Driver(Conversation(store, buttons=False), "cli-x")
    driver.run(["/start", "A", "/wijzig"])
    doc = store.get_user("cli-x")
    assert doc is not None
    store.save_user("cli-x", {**doc, "menu": {"kind": "bogus"}, "mode": "bogus"})
    driver.send(Event.typed("1"))
    assert driver.mode == "asking"
