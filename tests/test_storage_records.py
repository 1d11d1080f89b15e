"""Damaged records, deletion, the per-person index and bounded memory, as the engine sees them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.wiring import open_store
from flows.engine import Conversation
from storage import Store
from storage.cache import Recent
from storage.core import INDEX_FROM
from tests.driver import Driver
from tests.reads import record_reads

PERSON = "cli-test"


def two_tenders(data: Path) -> tuple[str, str]:
    """A buyer with tenders "Eerste" and (active) "Tweede"; their ids in that order."""
    with open_store(data) as store:
        buyer = Driver(Conversation(store, buttons=False), PERSON)
        buyer.run(["/start", "Eerste", "/nieuw", "Tweede"])
        metas = store.list_tenders(PERSON)
    by_name = {meta["name"]: meta["id"] for meta in metas}
    return by_name["Eerste"], by_name["Tweede"]


def edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_bytes())
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _user(field: str, value: Any) -> Callable[[Store, str], None]:
    def damage(store: Store, tender_id: str) -> None:
        edit(store.user_file(PERSON), lambda d: d["user"]["1"].__setitem__(field, value))

    return damage


def _state(field: str, value: Any) -> Callable[[Store, str], None]:
    def damage(store: Store, tender_id: str) -> None:
        path = store.tender_file(PERSON, tender_id)
        edit(path, lambda d: d["state"]["1"].__setitem__(field, value))

    return damage


def _answer(qid: str, value: Any) -> Callable[[Store, str], None]:
    def damage(store: Store, tender_id: str) -> None:
        record = {"qid": qid, "value": value, "schema": 1}
        edit(store.tender_file(PERSON, tender_id), lambda d: d["answers"].__setitem__("99", record))

    return damage


DAMAGES = {
    "state.skipped: 7": _state("skipped", 7),
    "state.history: a string": _state("history", "intro"),
    "answers.prioriteit: 5": _answer("prioriteit", 5),
    "answers.doeljaar: a list": _answer("doeljaar", [2030]),
    "user.mode: bogus": _user("mode", "bogus"),
    "user.active: ../../x": _user("active", "../../x"),
    "user.seq: text": _user("seq", "12"),
    "user.menu: a list": _user("menu", [1]),
}


@pytest.mark.parametrize("damage", list(DAMAGES.values()), ids=list(DAMAGES))
def test_a_wrongly_typed_record_never_locks_the_buyer_out(
    tmp_path: Path, damage: Callable[[Store, str], None], caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    _, second = two_tenders(data)
    damage(Store(data), second)

    with open_store(data) as store:
        buyer = Driver(Conversation(store, buttons=False), PERSON)
        buyer.say("/hervat")
        assert "Eerste" in buyer.text
        buyer.say("/verwijder")
        labels = [option.label for option in buyer.prompt.options]
        assert labels[-1] == "Al mijn gegevens"
        assert any(label.startswith("Eerste") for label in labels)
        buyer.run(["/verwijder", str(len(labels)), "ja"])
        assert "Al je gegevens zijn verwijderd" in buyer.text
        assert store.list_tenders(PERSON) == []
    assert "moved to" in caplog.text


def test_the_damaged_file_is_kept_aside_and_the_other_tender_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, second = two_tenders(data)
    _state("skipped", 7)(Store(data), second)
    bad = Store(data).tender_file(PERSON, second).read_bytes()
    with open_store(data) as store:
        assert store.get_tender(PERSON, second) is None
        kept = store.get_tender(PERSON, first)
        assert kept is not None
        assert kept.meta["name"] == "Eerste"
        assert [meta["id"] for meta in store.list_tenders(PERSON)] == [first]
    (aside,) = (data / "quarantine").rglob(f"{second}.json.*")
    assert aside.read_bytes() == bad


def test_a_tender_damaged_while_running_does_not_block_listing_or_deletion(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, _ = two_tenders(data)
    with open_store(data) as store:
        store._core.cache.drop_where(lambda key: True)
        store.tender_file(PERSON, first).write_bytes(b"{broken")
        buyer = Driver(Conversation(store, buttons=False), PERSON)
        buyer.say("/hervat")
        buyer.say("/verwijder")
        assert buyer.last.prompt is not None
        store.delete_user(PERSON)
        assert not store.user_dir(PERSON).exists()


def test_deleting_a_person_leaves_nothing_that_names_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, second = two_tenders(data)
    _state("skipped", 7)(Store(data), second)
    with open_store(data) as store:
        assert store.get_tender(PERSON, second) is None
        store.save_user("cli-ander", {"n": 1})
        tender = store.get_tender(PERSON, first)
        assert tender is not None
        tender.answers["organisatie"] = "Gemeente Geheim"
        store.save_tender(PERSON, tender)
        store.delete_user(PERSON)
        for path in data.rglob("*"):
            assert PERSON not in str(path)
            if path.is_file():
                content = path.read_bytes()
                assert PERSON.encode() not in content, path
                assert b"Gemeente Geheim" not in content, path
        assert store.get_user("cli-ander") == {"n": 1}


def many_tenders(store: Store, count: int) -> list[str]:
    return [store.create_tender(PERSON, {"name": f"t{n}"}).id for n in range(count)]


def test_listing_and_paging_read_no_tender_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path) as store:
        ids = many_tenders(store, 30)
    reads = record_reads(monkeypatch)
    store = Store(tmp_path)
    page, total = store.tender_page(PERSON, 10, 10)
    assert total == 30 == store.count_tenders(PERSON)
    assert [meta["id"] for meta in page] == list(reversed(ids))[10:20]
    assert [meta["id"] for meta in store.list_tenders(PERSON)] == list(reversed(ids))
    meta = store.tender_meta(PERSON, ids[0])
    assert meta is not None
    assert meta["name"] == "t0"
    assert [path.name for path in reads if tmp_path in path.parents] == ["index.json"]


def test_a_lost_or_stale_index_is_rebuilt_from_the_tender_files(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        ids = many_tenders(store, INDEX_FROM + 1)
    index = store.user_dir(PERSON) / "index.json"
    stale = index.read_bytes()
    with Store(tmp_path) as store:
        store.delete_tender(PERSON, ids[0])
        extra = many_tenders(store, 1)
    index.write_bytes(stale)
    assert {m["id"] for m in Store(tmp_path).list_tenders(PERSON)} == {*ids[1:], *extra}
    index.unlink()
    assert {m["id"] for m in Store(tmp_path).list_tenders(PERSON)} == {*ids[1:], *extra}


def test_start_up_reads_no_record_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        for person in range(20):
            store.create_tender(f"tg-{person}", {"name": "x"})
            store.save_user(f"tg-{person}", {"n": person})
    reads = record_reads(monkeypatch)
    monkeypatch.setattr(Store, "check_in_background", lambda self, report: None)
    with open_store(data):
        assert [path for path in reads if data in path.parents] == []


def test_nothing_is_kept_for_buyers_who_went_quiet(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for person in range(50):
        tender = store.create_tender(f"tg-{person}", {"name": "x"})
        store.save_user(f"tg-{person}", {"active": tender.id})
        assert store.get_tender(f"tg-{person}", tender.id) is not None
    assert len(store._core.locks) == 0

    now = [0.0]
    recent: Recent[int] = Recent(limit=1000, max_age=3600, clock=lambda: now[0])
    for n in range(100):
        recent.put(n, n)
    now[0] = 3601.0
    recent.put("active", 1)
    assert len(recent) == 1
    small: Recent[int] = Recent(limit=3, max_age=3600)
    for n in range(10):
        small.put(n, n)
    assert len(small) == 3


def test_a_reopened_directory_replays_what_only_the_journal_held(tmp_path: Path) -> None:
    store = Store(tmp_path)
    tender = store.create_tender(PERSON, {"name": "x"})
    tender.answers["organisatie"] = "Gemeente"
    store.save_tender(PERSON, tender)
    path = store.tender_file(PERSON, tender.id)
    assert not path.exists(), "the file follows at the next checkpoint"
    core = store._core
    core.journal.close()
    core.dirlock.release()
    os.sync()
    replayed = type(core)(tmp_path)
    try:
        assert json.loads(path.read_bytes())["answers"]["1"]["value"] == "Gemeente"
        assert list(tmp_path.glob("journal.*.log")) == [
            tmp_path / f"journal.{replayed.journal.gen}.log"
        ]
    finally:
        replayed.journal.close()
        replayed.dirlock.release()
