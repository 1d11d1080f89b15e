"""The journal's patch lines, their replay, the checkpoint, and what the store holds in memory.

A save after the first one of a tender in a journal generation journals only what changed; these
tests pin that replaying those lines after a crash (with or without a checkpoint that died half
way) gives exactly what the buyer was told was saved, that the held copy can never be changed from
outside, and that validation of what is held is not skipped where it used to run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import storage.core
from storage import CorruptFileError, Rules, SaveFailed, Store, Tender
from storage.content import dumps, patched, tender_file
from storage.core import INDEX_FROM
from storage.journal import Journal, _decode, encode

USER = "tg-7"


def crash(store: Store) -> None:
    """Stop the store as a killed process would: no checkpoint, lock and journal left behind."""
    core = store._core
    store._close.detach()
    with core._timer_lock:
        if core._timer is not None:
            core._timer.cancel()
    core.holders = 0
    storage.core._registry.pop(os.path.realpath(core.root), None)
    core.journal.close()
    core.dirlock.release()


def reopen(root: Path) -> Store:
    """A new process on the directory: replays the journal, as start-up does."""
    return Store(root)


def journal_ops(root: Path) -> list[tuple[str, str]]:
    """(op, path) of every line in the journal files, oldest first."""
    ops: list[tuple[str, str]] = []
    for path in sorted(root.glob("journal.*.log"), key=lambda p: int(p.name.split(".")[1])):
        for line in path.read_bytes().splitlines(keepends=True):
            entry = _decode(line)
            if entry is None:
                break
            ops.append((entry.op, entry.path))
    return ops


def on_disk_answers(store: Store, tender_id: str) -> list[tuple[str, Any]]:
    data = json.loads(store.tender_file(USER, tender_id).read_bytes())
    records = sorted(data["answers"].items(), key=lambda item: int(item[0]))
    return [(doc["qid"], doc["value"]) for _, doc in records]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_later_saves_journal_only_a_patch_and_replay_rebuilds_the_tender(root: Path) -> None:
    store = Store(root)
    tender = store.create_tender(USER, {"name": "Schoonmaak"})
    for n in range(5):
        tender.answers[f"q{n}"] = f"antwoord {n}"
        tender.state["cursor"] = f"q{n + 1}"
        store.save_tender(USER, tender)
    del tender.answers["q1"]
    tender.answers["q3"] = ["gewijzigd", 3]
    store.save_tender(USER, tender)
    rel = str(store.tender_file(USER, tender.id).relative_to(root))
    assert [op for op, path in journal_ops(root) if path == rel] == ["put"] + ["patch"] * 6
    expected = (dict(tender.answers), dict(tender.state), tender.meta["updated"])
    crash(store)

    replayed = reopen(root)
    loaded = replayed.get_tender(USER, tender.id)
    assert loaded is not None
    assert (loaded.answers, loaded.state, loaded.meta["updated"]) == expected
    assert list(loaded.answers) == ["q0", "q2", "q3", "q4"]
    assert on_disk_answers(replayed, tender.id) == list(expected[0].items())
    assert replayed.list_tenders(USER)[0]["updated"] == expected[2]


def test_the_first_save_of_a_tender_in_a_new_journal_generation_is_whole(root: Path) -> None:
    store = Store(root)
    tender = store.create_tender(USER, {"name": "x"})
    tender.answers["q1"] = "a"
    store.save_tender(USER, tender)
    store.flush()  # rotates the journal and drops the old generation
    tender.answers["q2"] = "b"
    store.save_tender(USER, tender)
    tender.answers["q3"] = "c"
    store.save_tender(USER, tender)
    rel = str(store.tender_file(USER, tender.id).relative_to(root))
    assert [op for op, path in journal_ops(root) if path == rel] == ["put", "patch"]

    store.tender_file(USER, tender.id).write_bytes(b"{torn")  # the file is not needed to replay
    crash(store)
    loaded = reopen(root).get_tender(USER, tender.id)
    assert loaded is not None
    assert loaded.answers == {"q1": "a", "q2": "b", "q3": "c"}


def test_replay_after_a_checkpoint_that_died_before_dropping_the_journal(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removing an answer and adding it back, then adding another: the buyer's order survives a
    checkpoint that wrote the files and was killed before it dropped the journal."""
    store = Store(root)
    tender = store.create_tender(USER, {"name": "x"})
    tender.answers.update(a="1", b="2")
    store.save_tender(USER, tender)
    del tender.answers["a"]
    store.save_tender(USER, tender)
    tender.answers["a"] = "1 opnieuw"
    store.save_tender(USER, tender)
    tender.answers["c"] = "3"
    store.save_tender(USER, tender)
    expected = list(tender.answers.items())
    assert [k for k, _ in expected] == ["b", "a", "c"]

    def dies(self: Journal, gen: int) -> None:
        raise OSError("killed before the journal was dropped")

    monkeypatch.setattr(Journal, "drop_through", dies)
    with pytest.raises(OSError, match="killed"):
        store.flush()
    assert on_disk_answers(store, tender.id) == expected, "the checkpoint wrote the file"
    monkeypatch.undo()
    crash(store)

    replayed = reopen(root)
    loaded = replayed.get_tender(USER, tender.id)
    assert loaded is not None
    assert list(loaded.answers.items()) == expected
    assert on_disk_answers(replayed, tender.id) == expected


def test_a_patch_is_never_queued_into_a_generation_without_its_put(root: Path) -> None:
    journal = Journal(root.parent)
    try:
        old = journal.gen
        journal.rotate()
        assert journal.append(b"a line\n", gen=old) is None
        assert journal.size == 0, "nothing was written"
        assert journal.append(b"a line\n", gen=journal.gen) == journal.gen
    finally:
        journal.close()


def test_a_patch_whose_file_is_unusable_is_skipped_when_a_later_put_replaces_it(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A generation can start with a patch whose put went into the previous one (a rotation
    between the two flushes). If a checkpoint then died leaving that file half-flushed, the
    patch cannot be applied, but the put that follows it in the same generation replaces all."""
    root.mkdir(parents=True)
    rel = f"users/{USER}/tenders/c0ffee00.json"
    (root / rel).parent.mkdir(parents=True)
    (root / rel).write_bytes(b"{torn")
    meta = {"name": "x", "id": "c0ffee00", "updated": "2026-01-01T00:00:00.000000+00:00"}
    patch = dumps({"meta": meta, "state": {}, "set": {"q1": "eerder"}})
    put = dumps(tender_file(meta, {}, {"q1": "later"}))
    (root / "journal.1.log").write_bytes(encode("patch", rel, patch) + encode("put", rel, put))
    store = Store(root)
    loaded = store.get_tender(USER, "c0ffee00")
    assert loaded is not None
    assert loaded.answers == {"q1": "later"}
    assert "could not be applied" not in caplog.text
    assert store.check() == []


def test_a_patch_that_cannot_be_applied_is_named_and_the_rest_replayed(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root.mkdir(parents=True)
    rel = f"users/{USER}/tenders/0badf00d.json"
    other = f"users/{USER}/user.json"
    lines = encode("patch", rel, dumps({"meta": {}, "state": {}, "set": {"q": 1}}))
    lines += encode("put", other, dumps({"user": {"1": {"n": 1, "schema": 1}}}))
    (root / "journal.1.log").write_bytes(lines)
    store = Store(root)
    assert str(root / rel) in caplog.text
    assert store.get_user(USER) == {"n": 1}
    assert store.get_tender(USER, "0badf00d") is None


def test_what_a_reader_gets_is_a_copy(root: Path) -> None:
    store = Store(root)
    tender = store.create_tender(USER, {"name": "x", "tags": ["a"]})
    tender.answers["lijst"] = ["een", {"twee": [2]}]
    tender.state["history"] = ["q1"]
    store.save_tender(USER, tender)
    tender.answers["lijst"].append("na het opslaan")  # the caller keeps using its tender
    tender.state["history"].append("q2")

    loaded = store.get_tender(USER, tender.id)
    assert loaded is not None
    assert loaded.answers["lijst"] == ["een", {"twee": [2]}]
    assert loaded.state["history"] == ["q1"]
    loaded.answers["lijst"][1]["twee"].append(3)
    loaded.meta["tags"].append("b")
    again = store.get_tender(USER, tender.id)
    assert again is not None
    assert again.answers["lijst"] == ["een", {"twee": [2]}]
    assert again.meta["tags"] == ["a"]

    store.save_user(USER, {"menu": {"values": ["a"]}})
    user = store.get_user(USER)
    assert user is not None
    user["menu"]["values"].append("b")
    assert store.get_user(USER) == {"menu": {"values": ["a"]}}


@pytest.mark.parametrize(
    ("before", "after"),
    [(1, True), (True, 1), (1, 1.0), ([1], [True]), ({"a": 1, "b": 2}, {"b": 2, "a": 1})],
    ids=["int to bool", "bool to int", "int to float", "inside a list", "key order"],
)
def test_an_answer_that_only_changes_its_json_type_is_saved(
    root: Path, before: Any, after: Any
) -> None:
    """Python says ``1 == True == 1.0``; the file does not. A save that compared answers with
    ``==`` to find what changed would keep the old type on disk."""
    store = Store(root)
    tender = store.create_tender(USER, {"name": "x"})
    tender.answers["q"] = before
    store.save_tender(USER, tender)
    tender.answers["q"] = after
    store.save_tender(USER, tender)
    crash(store)
    loaded = reopen(root).get_tender(USER, tender.id)
    assert loaded is not None
    assert json.dumps(loaded.answers["q"]) == json.dumps(after)


def test_a_changed_answer_is_checked_and_unchanged_ones_stay(root: Path) -> None:
    rules = Rules(answer_ok=lambda qid, value: not (qid == "jaar" and type(value) is not int))
    store = Store(root, rules=rules)
    tender = store.create_tender(USER, {"name": "x"})
    tender.answers.update(jaar=2030, tekst="vrij")
    store.save_tender(USER, tender)
    tender.answers["jaar"] = "2030"
    with pytest.raises(ValueError, match="jaar"):
        store.save_tender(USER, tender)
    loaded = store.get_tender(USER, tender.id)
    assert loaded is not None
    assert loaded.answers == {"jaar": 2030, "tekst": "vrij"}


def test_a_store_with_stricter_rules_checks_what_another_store_holds(root: Path) -> None:
    lenient = Store(root)
    tender = lenient.create_tender(USER, {"name": "x"})
    tender.answers["jaar"] = "geen getal"
    lenient.save_tender(USER, tender)
    strict = Store(root, rules=Rules(answer_ok=lambda qid, value: type(value) is int))
    assert strict._core is lenient._core
    assert strict.get_tender(USER, tender.id) is None, "set aside, as if read from the file"


def test_a_failed_save_leaves_the_listing_as_it_was(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(root)
    tender = store.create_tender(USER, {"name": "x"})
    before = store.list_tenders(USER)

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", full)
    tender.answers["q"] = "a"
    with pytest.raises(SaveFailed):
        store.save_tender(USER, tender)
    monkeypatch.undo()
    assert store.list_tenders(USER) == before
    loaded = store.get_tender(USER, tender.id)
    assert loaded is not None
    assert loaded.answers == {}


def test_a_damaged_tender_read_only_for_its_meta_is_never_replaced_by_a_save(root: Path) -> None:
    """Listing reads a tender file without an index entry for its meta alone. That read does not
    make the file understood: a save of that id must still refuse to replace a damaged file."""
    with Store(root) as store:
        store.save_tender(USER, Tender(id="c0ffee00", meta={"name": "x"}, answers={"q": "a"}))
    path = Store(root).tender_file(USER, "c0ffee00")
    data = json.loads(path.read_bytes())
    data["answers"]["2"] = dict(data["answers"]["1"])  # the same question stored twice
    damaged = json.dumps(data).encode()
    path.write_bytes(damaged)
    (path.parent.parent / "index.json").unlink(missing_ok=True)

    store = Store(root)
    assert [meta["id"] for meta in store.list_tenders(USER)] == ["c0ffee00"]
    with pytest.raises(CorruptFileError):
        store.save_tender(USER, Tender(id="c0ffee00", meta={"name": "nieuw"}))
    store.flush()
    assert path.read_bytes() == damaged


def test_only_a_person_with_many_tenders_has_an_index_file(root: Path) -> None:
    store = Store(root)
    ids = [store.create_tender(USER, {"name": f"t{n}"}).id for n in range(INDEX_FROM)]
    store.flush()
    index = store.user_dir(USER) / "index.json"
    assert index.is_file()
    for tender_id in ids[:2]:
        store.delete_tender(USER, tender_id)
    oldest = store.get_tender(USER, ids[2])
    assert oldest is not None
    store.save_tender(USER, oldest)  # now the newest
    store.flush()
    assert not index.exists(), "a stale index would put the tenders in the wrong order"
    store.close()

    reopened = Store(root)
    listed = [meta["id"] for meta in reopened.list_tenders(USER)]
    assert listed[0] == ids[2]
    assert sorted(listed) == sorted(ids[2:])


def test_the_checkpoint_writes_what_readers_were_given(root: Path) -> None:
    store = Store(root)
    tenders = [store.create_tender(f"tg-{n}", {"name": f"t{n}"}) for n in range(5)]
    for round_ in range(4):
        for n, tender in enumerate(tenders):
            tender.answers[f"q{round_}"] = {"n": n, "round": round_, "tekst": "é" * round_}
            store.save_session(f"tg-{n}", {"seq": round_}, tender)
    store.flush()
    assert list(root.glob("journal.*.log")) == [root / f"journal.{store._core.journal.gen}.log"]
    for n, tender in enumerate(tenders):
        on_disk = json.loads(store.tender_file(f"tg-{n}", tender.id).read_bytes())
        assert on_disk["meta"]["1"] == {**tender.meta, "schema": 1}
        values = [doc["value"] for _, doc in sorted(on_disk["answers"].items())]
        assert values == list(tender.answers.values())
        user = json.loads(store.user_file(f"tg-{n}").read_bytes())
        assert user == {"user": {"1": {"seq": 3, "schema": 1}}}
    assert not store._core.dirty
    assert not store._core.based, "every tender starts the next generation with a put"


def test_patches_replayed_over_a_later_state_end_at_the_same_answers() -> None:
    """The claim replay rests on when a generation starts with patches: whatever state between
    the first and the last of them the file holds, applying them all in order ends the same."""
    steps: list[tuple[dict[str, Any], list[str] | None]] = [
        ({"a": 1, "b": 2}, ["a", "b"]),
        ({}, ["b"]),
        ({"a": "1 opnieuw"}, ["b", "a"]),
        ({"c": 3}, ["b", "a", "c"]),
        ({"b": "twee"}, None),
        ({}, ["a", "c", "b"]),
        ({"a": "laatst"}, None),
    ]
    states: list[dict[str, Any]] = [{"x": 0}]
    for changed, order in steps:
        states.append(patched(states[-1], changed, ["x", *order] if order else None))
    final = states[-1]
    for base in states:
        replayed = base
        for changed, order in steps:
            replayed = patched(replayed, changed, ["x", *order] if order else None)
        assert list(replayed.items()) == list(final.items())


def test_the_kept_order_follows_saves_deletes_and_a_clock_that_steps_back(root: Path) -> None:
    """The newest-first order is kept up to date in place (a saved tender moves to the front)
    instead of being sorted again after every save; it must always equal a fresh sort."""
    import random
    from datetime import UTC, datetime, timedelta

    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = Store(root, clock=lambda: now[0])
    other = Store(root)  # same directory, its own clock: stamps need not follow this one's
    rng = random.Random(5)
    ids = [store.create_tender(USER, {"name": f"t{n}"}).id for n in range(30)]
    for step in range(150):
        assert [m["id"] for m in store.list_tenders(USER)] == [
            m["id"]
            for m in sorted(
                store.list_tenders(USER), key=lambda m: (m["updated"], m["id"]), reverse=True
            )
        ], step
        roll = rng.random()
        now[0] += timedelta(seconds=rng.choice([-60, 0, 1]))
        if roll < 0.1 and len(ids) > 5:
            store.delete_tender(USER, ids.pop(rng.randrange(len(ids))))
        elif roll < 0.2:
            ids.append(store.create_tender(USER, {"name": f"nieuw {step}"}).id)
        else:
            saver = other if roll < 0.3 else store
            tender = saver.get_tender(USER, rng.choice(ids))
            assert tender is not None
            tender.answers["q"] = step
            saver.save_tender(USER, tender)
    assert sorted(m["id"] for m in store.list_tenders(USER)) == sorted(ids)


def test_a_background_checkpoint_that_waited_for_the_close_does_nothing(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A timer's checkpoint can start just before the last store closes and then wait for the
    checkpoint lock the close holds. Once it gets the lock the journal is closed and the
    directory released: it must not rotate, write or log an error then."""
    import threading

    store = Store(root)
    store.save_user(USER, {"n": 1})
    core = store._core
    entered = threading.Event()
    real = core._checkpointing

    class Gate:
        """The checkpoint lock, held by the test until the close is done."""

        def __enter__(self) -> None:
            entered.set()
            real.acquire()

        def __exit__(self, *exc: object) -> None:
            real.release()

    real.acquire()
    core._checkpointing = Gate()  # type: ignore[assignment]
    background = threading.Thread(target=core._in_background)
    background.start()
    assert entered.wait(10)
    core.holders = 0  # what the close does first; then it checkpoints and closes the journal
    core.journal.close()
    real.release()
    background.join(10)
    assert not background.is_alive()
    assert "could not bring" not in caplog.text
    assert [p.name for p in root.glob("journal.*.log")] == ["journal.1.log"], "no rotation"
    core._checkpointing = real
    core.dirlock.release()
    store._close.detach()
    storage.core._registry.pop(os.path.realpath(root), None)
