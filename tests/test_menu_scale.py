"""The tender menus stay one page of work however many tenders a person has (issue 12, target 5).

Asserted on what the store is asked, not on time: opening /hervat or /verwijder, turning a page
and picking a tender to delete must read no tender file besides the open one (loaded with the
person) and decode no more index records than a page or two, so the cost does not grow with the
number of tenders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.conversation.menus import PAGE_SIZE
from flows.engine import Conversation
from flows.events import Event
from storage import Store
from storage.content import Content

KEY = "tg-77"
TENDERS = 300


@pytest.fixture
def crowded(tmp_path: Path) -> Store:
    store = Store(tmp_path)
    for start in range(0, TENDERS, 100):
        store.create_tenders(
            KEY, [{"name": f"Aanbesteding {n}"} for n in range(start, start + 100)]
        )
    newest = store.tender_page(KEY, 0, 1)[0][0]
    store.save_user(KEY, {"mode": "asking", "active": newest["id"], "seq": 1})
    return store


def active(store: Store) -> str:
    return str((store.get_user(KEY) or {})["active"])


class Spy:
    """Which files the store reads and how many index records it turns into metas."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads: list[str] = []
        self.metas = 0
        read, meta = store._core.read, store._meta

        def reading(rel: str) -> Content | None:
            self.reads.append(rel)
            return read(rel)

        def decoding(*args: Any) -> dict[str, Any] | None:
            self.metas += 1
            return meta(*args)

        monkeypatch.setattr(store._core, "read", reading)
        monkeypatch.setattr(store, "_meta", decoding)

    def other_tender_files(self, active: str) -> list[str]:
        """Tender files read besides the one the person is working on (loaded with them)."""
        return [
            rel
            for rel in self.reads
            if "tenders" in rel.split("/")[:-1] and not rel.endswith(f"/{active}.json")
        ]


@pytest.mark.parametrize(("command", "extra"), [("hervat", 0), ("verwijder", 1)])
def test_opening_a_tender_menu_reads_one_page_not_every_tender(
    crowded: Store, monkeypatch: pytest.MonkeyPatch, command: str, extra: int
) -> None:
    conversation = Conversation(crowded, buttons=True)
    spy = Spy(crowded, monkeypatch)
    reply = conversation.handle(KEY, Event.cmd(command))
    prompt = reply.prompt
    assert prompt is not None
    assert len(prompt.options) == PAGE_SIZE + extra
    turned = conversation.handle(KEY, Event.cmd("volgende_pagina")).prompt
    assert turned is not None
    assert len(turned.options) == PAGE_SIZE + extra
    assert spy.other_tender_files(active(crowded)) == []
    assert spy.metas <= 3 * PAGE_SIZE


def test_picking_a_tender_to_delete_reads_no_other_tender_file(
    crowded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = Conversation(crowded, buttons=True)
    spy = Spy(crowded, monkeypatch)
    conversation.handle(KEY, Event.cmd("verwijder"))
    second = crowded.tender_page(KEY, 1, 1)[0][0]
    confirm = conversation.handle(KEY, Event.typed("2")).prompt
    assert confirm is not None
    assert str(second["name"]) in confirm.text
    assert spy.other_tender_files(active(crowded)) == []
    assert spy.metas <= 3 * PAGE_SIZE
