"""The team check's rules behind its storage port, with an in-memory store: no Telegram."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.telegram.group import key_for_chat, refresh_interval
from flows.teamcheck import Place, TeamChecks

GROUP, STARTER, ANNA, BRAM = "tg-group--1", 1, 2, 3
PLACE = Place(GROUP, -1, thread_id=9)


@dataclass
class Tender:
    id: str
    meta: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)


class Memory:
    """The store's group and tender functions, in memory."""

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, Any]] = {}
        self.tenders: dict[str, list[Tender]] = {}

    def get_group(self, chat_key: str) -> dict[str, Any] | None:
        return self.groups.get(chat_key)

    def save_group(self, chat_key: str, doc: dict[str, Any]) -> None:
        self.groups[chat_key] = doc

    def delete_group(self, chat_key: str) -> None:
        self.groups.pop(chat_key, None)

    def list_groups(self) -> list[str]:
        return sorted(self.groups)

    def list_tenders(self, user_key: str) -> list[dict[str, Any]]:
        return [{"id": t.id, **t.meta} for t in self.tenders.get(user_key, [])]

    def get_tender(self, user_key: str, tender_id: str) -> Tender | None:
        return next((t for t in self.tenders.get(user_key, []) if t.id == tender_id), None)


@pytest.fixture
def memory() -> Memory:
    return Memory()


@pytest.fixture
def flow(memory: Memory) -> TeamChecks:
    return TeamChecks(memory, memory, lambda person: f"u{person}")


def give_tender(memory: Memory, person: int) -> Tender:
    tender = Tender(
        "t1",
        {"name": "Catering & koffie"},
        answers={"themas": ["klimaat", "Eigen thema"], "prioriteit": ["Eigen thema", "klimaat"]},
    )
    memory.tenders[f"u{person}"] = [tender]
    return tender


def test_without_own_tenders_the_base_themes_go_on_the_board(flow: TeamChecks) -> None:
    started = flow.start(PLACE, STARTER, "Schoonmaak")
    assert started.status == "board"
    assert started.check is not None
    assert len(started.check.themes) == 6
    assert started.check.thread_id == 9
    again = flow.start(PLACE, ANNA, "")
    assert again.status == "open"
    assert again.check is not None
    assert again.check.id == started.check.id


def test_own_tenders_make_a_private_choice_that_stores_no_tender_names(
    flow: TeamChecks, memory: Memory
) -> None:
    give_tender(memory, STARTER)
    started = flow.start(PLACE, STARTER, "Koffie")
    assert started.status == "choose"
    assert started.choice is not None
    assert "Catering" not in repr(memory.groups)
    assert flow.choose(GROUP, started.choice.id, ANNA, None, False).status == "denied"
    assert flow.choose(GROUP, "ffffff", STARTER, None, False).status == "stale"
    assert flow.choose(GROUP, started.choice.id, STARTER, "nope", False).status == "unknown"
    chosen = flow.choose(GROUP, started.choice.id, STARTER, "t1", False)
    assert chosen.status == "board"
    assert chosen.check is not None
    assert [label for _, label in chosen.check.themes] == ["Eigen thema", "Klimaat"]
    assert chosen.check.from_tender
    assert "Catering" not in repr(memory.groups)  # the name stays private in a group
    assert flow.choose(GROUP, started.choice.id, STARTER, None, False).status == "stale"


def test_a_private_scan_may_show_the_tender_name_and_is_gone_once_closed(
    flow: TeamChecks, memory: Memory
) -> None:
    give_tender(memory, STARTER)
    scan = Place("tg-scan-1", 1, private=True)
    started = flow.start(scan, STARTER, "")
    assert started.choice is not None
    chosen = flow.choose(scan.chat_key, started.choice.id, STARTER, "t1", True)
    assert chosen.check is not None
    assert chosen.check.source == "Catering & koffie"
    assert flow.vote(scan.chat_key, chosen.check.id, STARTER, 0, 3).status == "new"
    assert flow.close(scan.chat_key, chosen.check.id, STARTER, False).status == "closed"
    assert scan.chat_key not in memory.groups


def test_votes_on_an_old_board_and_closing_by_others_are_refused(flow: TeamChecks) -> None:
    check = flow.start(PLACE, STARTER, "").check
    assert check is not None
    assert flow.vote(GROUP, "000000", ANNA, 0, 2).status == "closed"
    assert flow.vote(GROUP, check.id, ANNA, 0, 2).status == "new"
    assert flow.close(GROUP, check.id, ANNA, False).status == "denied"
    assert flow.close(GROUP, check.id, BRAM, True).status == "closed"
    assert flow.vote(GROUP, check.id, ANNA, 0, 3).status == "closed"
    assert flow.close(GROUP, check.id, STARTER, False).status == "already"


def test_only_an_admin_of_a_group_may_wipe(flow: TeamChecks, memory: Memory) -> None:
    assert TeamChecks.may_wipe(is_admin=True, private=False)
    assert not TeamChecks.may_wipe(is_admin=False, private=False)
    assert not TeamChecks.may_wipe(is_admin=True, private=True)
    check = flow.start(PLACE, STARTER, "").check
    assert check is not None
    assert flow.wipe(GROUP) == check
    assert memory.groups == {}


def test_forgetting_a_person_removes_every_record_about_them(
    flow: TeamChecks, memory: Memory
) -> None:
    shared = flow.start(PLACE, ANNA, "").check
    assert shared is not None
    flow.set_board(GROUP, shared.id, 50)
    flow.vote(GROUP, shared.id, ANNA, 0, 3)
    flow.vote(GROUP, shared.id, BRAM, 0, 1)
    give_tender(memory, ANNA)
    own_place = Place("tg-group--2", -2)
    choice = flow.start(own_place, ANNA, "").choice
    assert choice is not None
    own = flow.choose(own_place.chat_key, choice.id, ANNA, "t1", False).check
    assert own is not None
    flow.set_board(own_place.chat_key, own.id, 60)
    flow.vote(own_place.chat_key, own.id, BRAM, 0, 2)
    pending = flow.start(Place("tg-group--3", -3), ANNA, "").choice
    assert pending is not None
    memory.groups["tg-scan-2"] = {"teamcheck": 1, "checks": [], "choice": None}

    forgotten = flow.forget_person(ANNA, ["tg-scan-2"])

    assert forgotten.redraw == [GROUP]
    assert forgotten.dropped == [(-2, 60)]
    assert "tg-scan-2" not in memory.groups
    assert "Eigen thema" not in repr(memory.groups)
    left = flow.current(GROUP)
    assert left is not None
    assert left.votes == {str(BRAM): {"milieu": 1}}
    assert left.starter_id == 0  # only an administrator can close it now
    assert flow.load("tg-group--3").choice is None
    for key in memory.groups:
        assert not any(check.names(ANNA) for check in flow.load(key).checks)


def test_a_move_to_a_supergroup_keeps_the_votes_and_happens_once(flow: TeamChecks) -> None:
    check = flow.start(PLACE, STARTER, "").check
    assert check is not None
    flow.set_board(GROUP, check.id, 5)
    flow.vote(GROUP, check.id, ANNA, 1, 2)
    moved = flow.migrate(GROUP, "tg-group--100", -100)
    assert moved is not None
    assert (moved.chat_id, moved.chat_key, moved.board_message_id) == (-100, "tg-group--100", None)
    assert moved.votes == {str(ANNA): {"klimaat": 2}}
    assert flow.current(GROUP) is None
    assert flow.migrate(GROUP, "tg-group--100", -100) is None
    assert flow.vote("tg-group--100", check.id, BRAM, 1, 1).status == "new"


def test_a_group_board_is_edited_at_most_every_four_seconds_a_private_scan_every_second() -> None:
    group_interval = refresh_interval(key_for_chat(-100123))
    assert 60 / group_interval <= 20 * 0.75  # Telegram's 20 a minute, with a quarter to spare
    assert refresh_interval(key_for_chat(42)) == 1.0


def test_forgetting_also_cleans_records_stored_before_choices_were_private(
    flow: TeamChecks, memory: Memory
) -> None:
    old_choice = {
        "id": "ab12cd",
        "starter_id": ANNA,
        "subject": "",
        "options": [{"name": "Catering & koffie", "themes": [["x", "Eigen thema"]]}],
    }
    old_check = {
        "id": "cd34ef",
        "chat_key": "tg-group--4",
        "starter_id": ANNA,
        "themes": [["x", "Eigen thema"]],
        "votes": {str(BRAM): {"x": 2}},
        "closed": True,
        "source": "Catering & koffie",
    }
    memory.groups["tg-group--4"] = {"teamcheck": 1, "checks": [old_check], "choice": None}
    memory.groups["tg-group--5"] = {"teamcheck": 1, "checks": [], "choice": old_choice}
    flow.forget_person(ANNA)
    assert "Catering" not in repr(memory.groups)
    assert "Eigen thema" not in repr(memory.groups)
