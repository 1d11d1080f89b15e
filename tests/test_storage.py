"""Behaviour of the storage package as the conversation engine and an operator rely on it."""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tinydb import Query, TinyDB

import storage.schema
from storage import (
    SCHEMA_VERSION,
    AtomicJSONStorage,
    CorruptFileError,
    DataDirInUse,
    SaveFailed,
    SchemaVersionError,
    StorageError,
    Store,
    Tender,
    safe_key,
)
from storage.atomic import temp_path
from storage.dirlock import DirectoryLock
from tests.reads import record_reads

REPO = Path(__file__).resolve().parents[1]

USER = "tg-123456"
LONG_TEXT = "Wij vragen een emissieloze schoonmaakdienst. " * 80


class FixedClock:
    """A wall clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store(tmp_path: Path, clock: FixedClock) -> Store:
    return Store(tmp_path / "data", clock=clock)


def raw(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def make_tender(store: Store, **answers: Any) -> Tender:
    return Tender(
        id=store.new_tender_id(),
        meta={"name": "Schoonmaak stadhuis", "created": "2025-03-01T09:00:00+00:00"},
        state={"step": "scope", "question": 2, "history": ["intro", "scope"]},
        answers=dict(answers),
    )


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


BOOKKEEPING = re.compile(r"\.lock|journal\.\d+\.log|index\.json")


def data_files(store: Store) -> set[Path]:
    """The record files, once every save has been checkpointed into them."""
    store.flush()
    return {path for path in files_under(store.root) if not BOOKKEEPING.fullmatch(path.name)}


# round trips


def test_store_creates_missing_root(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    Store(root)
    assert root.is_dir()


def test_user_round_trip(store: Store) -> None:
    assert store.get_user(USER) is None
    doc = {"name": "Anna", "lang": "nl", "active_tender": None, "seen": [1, 2]}
    store.save_user(USER, doc)
    assert store.get_user(USER) == doc
    store.save_user(USER, {"name": "Anna B."})
    assert store.get_user(USER) == {"name": "Anna B."}


def test_group_round_trip(store: Store) -> None:
    assert store.get_group("tg--100200300") is None
    doc = {"checks": {"q1": True}, "members": ["tg-1", "tg-2"], "score": 0.75}
    store.save_group("tg--100200300", doc)
    assert store.get_group("tg--100200300") == doc


def test_tender_round_trip_keeps_every_json_kind_and_answer_order(store: Store) -> None:
    answers: dict[str, Any] = {
        "z_first": "eerst",
        "text": LONG_TEXT,
        "unicode": "café ✓ 🦊 ünïcødé",
        "int": 42,
        "float": 0.1,
        "bool": False,
        "none": None,
        "list": [1, "twee", [3.5, None]],
        "nested": {"a": {"b": [True, {"c": ""}]}},
        "a_last": "laatst",
    }
    tender = make_tender(store, **answers)
    store.save_tender(USER, tender)

    loaded = store.get_tender(USER, tender.id)
    assert loaded is not None
    assert loaded.id == tender.id
    assert loaded.answers == answers
    assert list(loaded.answers) == list(answers)
    assert loaded.state == tender.state
    assert loaded.meta["name"] == "Schoonmaak stadhuis"
    assert loaded.meta["created"] == "2025-03-01T09:00:00+00:00"
    assert loaded.meta["id"] == tender.id
    assert loaded.meta["updated"] == "2025-03-01T09:00:00.000000+00:00"


def test_create_tender_saves_a_new_tender_at_once(store: Store) -> None:
    meta = {"name": "Groenonderhoud", "created": "2025-03-01T09:00:00+00:00"}
    tender = store.create_tender(USER, meta)
    assert re.fullmatch(r"[0-9a-f]{8}", tender.id)
    assert (tender.state, tender.answers) == ({}, {})
    assert tender.meta == {**meta, "id": tender.id, "updated": tender.meta["updated"]}
    assert "id" not in meta, "the caller's dict is not modified"
    store.flush()
    assert store.tender_file(USER, tender.id).is_file()
    assert store.list_tenders(USER) == [tender.meta]


def test_create_tender_never_reuses_an_id_the_person_already_has(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = Tender(id="aaaaaaaa", answers={"q1": "bewaren"})
    store.save_tender(USER, taken)
    ids = iter(["aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda nbytes: next(ids))

    fresh = store.create_tender(USER, {"name": "nieuw"})

    assert fresh.id == "bbbbbbbb"
    kept = store.get_tender(USER, "aaaaaaaa")
    assert kept is not None
    assert kept.answers == {"q1": "bewaren"}


def test_save_tender_reports_stored_id_and_updated_on_the_callers_meta(store: Store) -> None:
    tender = make_tender(store)
    store.save_tender(USER, tender)
    assert tender.meta["id"] == tender.id
    assert tender.meta["updated"] == store.list_tenders(USER)[0]["updated"]


def test_unknown_tender_and_user_without_tenders(store: Store) -> None:
    assert store.get_tender(USER, "0badf00d") is None
    assert store.list_tenders(USER) == []


def test_tenders_are_per_person(store: Store) -> None:
    tender = make_tender(store, q1="a")
    store.save_tender("tg-1", tender)
    assert store.get_tender("tg-2", tender.id) is None
    assert store.list_tenders("tg-2") == []


def test_answers_removed_from_the_dict_are_removed_from_disk(store: Store) -> None:
    tender = make_tender(store, q1="een", q2="twee", q3="drie")
    store.save_tender(USER, tender)
    del tender.answers["q2"]
    tender.answers["q3"] = "DRIE"
    store.save_tender(USER, tender)
    store.flush()

    on_disk = raw(store.tender_file(USER, tender.id))["answers"]
    assert sorted(doc["qid"] for doc in on_disk.values()) == ["q1", "q3"]
    assert "twee" not in store.tender_file(USER, tender.id).read_text(encoding="utf-8")
    loaded = store.get_tender(USER, tender.id)
    assert loaded is not None
    assert loaded.answers == {"q1": "een", "q3": "DRIE"}


def test_files_are_plain_tinydb_databases(store: Store) -> None:
    tender = make_tender(store, q1="een", q2=["a", "b"])
    store.save_tender(USER, tender)
    store.flush()
    db = TinyDB(store.tender_file(USER, tender.id), storage=AtomicJSONStorage)
    try:
        assert db.tables() == {"meta", "state", "answers"}
        (hit,) = db.table("answers").search(Query().qid == "q2")
        assert hit["value"] == ["a", "b"]
        assert len(db.table("meta")) == 1
    finally:
        db.close()


def test_tender_is_compared_by_identity() -> None:
    assert Tender(id="a") != Tender(id="a")


# keys and layout


ODD_KEYS = [
    "tg-123456",
    "cli-alice",
    "cli-Alice",
    "cli alice",
    "cli_alice",
    "a/b",
    "a\\b",
    "a_b",
    "..",
    ".",
    "../../etc/passwd",
    "/abs/path",
    "~",
    "🦊 vos",
    "🦊 vis",
    "nul\x00byte",
    "surrogate\udcff",
    "x" * 64,
    "x" * 65,
    "y" * 5000,
    "y" * 5001,
    "a.b",
]


def test_unusual_user_keys_map_to_distinct_safe_dirs_inside_root(store: Store) -> None:
    keys = [*ODD_KEYS, safe_key("cli alice"), safe_key("cli-Alice")]
    dirs = [store.user_dir(key) for key in keys]

    assert len(set(dirs)) == len(keys)
    assert len({d.name.lower() for d in dirs}) == len(keys), "must not clash case-insensitively"
    users = (store.root / "users").resolve()
    for key, directory in zip(keys, dirs, strict=True):
        assert directory.resolve().parent == users, key
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", directory.name), key
        assert not directory.name.startswith("."), key

    for number, key in enumerate(keys):
        store.save_user(key, {"n": number})
    for number, key in enumerate(keys):
        assert store.get_user(key) == {"n": number}
    store.flush()
    assert len(list((store.root / "users").iterdir())) == len(keys)


def test_plain_keys_are_kept_readable(store: Store) -> None:
    assert store.user_dir("tg-123456").name == "tg-123456"
    assert store.user_dir("cli-alice").name == "cli-alice"
    assert store.user_dir("cli alice").name.startswith("cli_alice.")


def test_key_mapping_is_stable_across_processes(tmp_path: Path) -> None:
    """Pinned: changing the mapping would orphan every stored person with an unusual key."""
    Store(tmp_path).save_user("🦊 vos", {"ok": True})
    assert Store(tmp_path).get_user("🦊 vos") == {"ok": True}
    assert safe_key("🦊 vos") == "_vos.07943d97597ce48c"


def test_empty_key_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        store.save_user("", {})


@pytest.mark.parametrize("tender_id", ["", "../x", "a/b", "ABC", "x" * 65, "a.b"])
def test_unsafe_tender_ids_are_refused(store: Store, tender_id: str) -> None:
    with pytest.raises(ValueError, match="invalid tender id"):
        store.save_tender(USER, Tender(id=tender_id))
    with pytest.raises(ValueError, match="invalid tender id"):
        store.get_tender(USER, tender_id)


def test_new_tender_ids_are_short_unique_and_safe(store: Store) -> None:
    ids = [store.new_tender_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{8}", tender_id) for tender_id in ids)


def test_layout_on_disk(store: Store) -> None:
    tender = make_tender(store, q1="a")
    store.save_user("cli-alice", {"n": 1})
    store.save_tender("cli-alice", tender)
    store.save_group("tg--1001", {"g": 1})
    assert data_files(store) == {
        store.root / "users" / "cli-alice" / "user.json",
        store.root / "users" / "cli-alice" / "tenders" / f"{tender.id}.json",
        store.root / "groups" / "tg--1001.json",
    }


def test_files_are_private_to_the_owner(store: Store) -> None:
    store.save_tender(USER, make_tender(store, q1="a"))
    store.flush()
    for path in files_under(store.root):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


# deleting


def test_delete_user_removes_their_file_tenders_and_directory(store: Store) -> None:
    first, second = make_tender(store, q1="a"), make_tender(store, q1="b")
    store.save_user(USER, {"n": 1})
    store.save_tender(USER, first)
    store.save_tender(USER, second)
    bystander = make_tender(store, q1="c")
    store.save_tender("tg-999", bystander)
    before = data_files(store)
    temp_path(store.tender_file(USER, first.id)).write_bytes(b"half a write")
    store.save_tender(USER, second)

    store.delete_user(USER)

    assert not store.user_dir(USER).exists()
    assert data_files(store) == {store.tender_file("tg-999", bystander.id)}
    assert len(before) == 4
    assert store.get_user(USER) is None
    assert store.list_tenders(USER) == []
    store.delete_user(USER)


def test_delete_tender_removes_the_file(store: Store) -> None:
    first, second = make_tender(store, q1="a"), make_tender(store, q1="b")
    store.save_tender(USER, first)
    store.save_tender(USER, second)

    store.delete_tender(USER, first.id)
    assert store.tender_file(USER, first.id) not in data_files(store)
    assert store.tender_file(USER, second.id).exists()
    assert [meta["id"] for meta in store.list_tenders(USER)] == [second.id]

    store.delete_tender(USER, second.id)
    assert data_files(store) == set()
    assert store.list_tenders(USER) == []
    store.delete_tender(USER, second.id)


def test_delete_tender_keeps_the_person(store: Store) -> None:
    tender = make_tender(store, q1="a")
    store.save_user(USER, {"n": 1})
    store.save_tender(USER, tender)
    store.delete_tender(USER, tender.id)
    assert data_files(store) == {store.user_file(USER)}


def test_list_groups_names_the_stored_chats(store: Store) -> None:
    store.save_group("tg--2", {"a": 2})
    store.save_group("tg--1", {"a": 1})
    store.save_group("Odd Key", {"a": 3})
    assert store.list_groups() == ["tg--1", "tg--2"]
    store.delete_group("tg--1")
    assert store.list_groups() == ["tg--2"]


def test_delete_group_removes_the_file(store: Store) -> None:
    store.save_group("tg--1", {"a": 1})
    store.save_group("tg--2", {"a": 2})
    store.delete_group("tg--1")
    assert data_files(store) == {store.group_file("tg--2")}
    assert store.get_group("tg--1") is None
    store.delete_group("tg--1")


# schema


def test_every_record_on_disk_carries_the_schema_version(store: Store) -> None:
    tender = make_tender(store, q1="a", q2={"nested": 1})
    store.save_tender(USER, tender)
    store.save_user(USER, {"n": 1})
    store.save_group("tg--1", {"g": 1})

    records = [
        record
        for path in data_files(store)
        for table in raw(path).values()
        for record in table.values()
    ]
    assert len(records) == 6
    assert all(record["schema"] == SCHEMA_VERSION == 1 for record in records)

    loaded = store.get_tender(USER, tender.id)
    assert loaded is not None
    assert "schema" not in loaded.meta
    assert "schema" not in loaded.state
    assert store.get_user(USER) == {"n": 1}
    assert store.get_group("tg--1") == {"g": 1}


def test_the_schema_key_is_reserved(store: Store) -> None:
    with pytest.raises(ValueError, match="reserved"):
        store.save_user(USER, {"schema": "mine"})
    assert data_files(store) == set()


def bump_schema(path: Path, version: int) -> None:
    data = raw(path)
    for table in data.values():
        for record in table.values():
            record["schema"] = version
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        tender = make_tender(store, q1="a")
        store.save_tender(USER, tender)
        other = make_tender(store, q1="b")
        store.save_tender(USER, other)
    path = Store(tmp_path).tender_file(USER, tender.id)
    bump_schema(path, SCHEMA_VERSION + 1)
    before = path.read_bytes()
    store = Store(tmp_path)

    with pytest.raises(SchemaVersionError) as caught:
        store.get_tender(USER, tender.id)
    message = str(caught.value)
    assert str(path) in message
    assert f"schema {SCHEMA_VERSION + 1}" in message
    assert "upgrade" in message
    assert caught.value.path == path

    with pytest.raises(SchemaVersionError):
        store.save_tender(USER, tender)
    assert other.id in [meta["id"] for meta in store.list_tenders(USER)]
    assert path.read_bytes() == before
    assert store.check() == [path]
    assert path.read_bytes() == before


def test_an_older_schema_goes_through_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store(tmp_path) as store:
        store.save_user(USER, {"name": "Anna"})
    bump_schema(store.user_file(USER), 0)
    store = Store(tmp_path)
    calls: list[tuple[str, int]] = []

    def migrate(kind: str, doc: dict[str, Any], version: int) -> dict[str, Any]:
        calls.append((kind, version))
        return {**doc, "migrated": True}

    monkeypatch.setattr(storage.schema, "migrate", migrate)
    assert store.get_user(USER) == {"name": "Anna", "migrated": True}
    assert calls == [("user", 0)]


def test_the_real_migration_is_the_identity_today(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.save_user(USER, {"name": "Anna"})
    bump_schema(store.user_file(USER), 0)
    store = Store(tmp_path)
    assert store.get_user(USER) == {"name": "Anna"}


# corrupt files


@dataclass
class Kind:
    """One kind of stored file, seen through the store's API."""

    name: str
    seed: Callable[[Store], Path]
    load: Callable[[Store], object]
    save: Callable[[Store], None]


FIXED_ID = "c0ffee00"


def _seed_tender(store: Store) -> Path:
    store.save_tender(USER, Tender(id=FIXED_ID, meta={"name": "x"}, answers={"q1": "a"}))
    return store.tender_file(USER, FIXED_ID)


def _seed_user(store: Store) -> Path:
    store.save_user(USER, {"n": 1})
    return store.user_file(USER)


def _seed_group(store: Store) -> Path:
    store.save_group("tg--1", {"n": 1})
    return store.group_file("tg--1")


KINDS = [
    Kind(
        "tender",
        _seed_tender,
        lambda store: store.get_tender(USER, FIXED_ID),
        lambda store: store.save_tender(USER, Tender(id=FIXED_ID, answers={"q1": "new"})),
    ),
    Kind("user", _seed_user, lambda store: store.get_user(USER), lambda s: s.save_user(USER, {})),
    Kind(
        "group",
        _seed_group,
        lambda store: store.get_group("tg--1"),
        lambda store: store.save_group("tg--1", {}),
    ),
]


def _drop_first_schema(good: bytes) -> bytes:
    data = json.loads(good)
    first_table = next(iter(data.values()))
    del next(iter(first_table.values()))["schema"]
    return json.dumps(data).encode()


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda good: b"",
    "whitespace": lambda good: b"  \n",
    "truncated": lambda good: good[: len(good) // 2],
    "binary": lambda good: b"\x00\xff\xfe garbage",
    "not an object": lambda good: b"[1, 2, 3]",
    "table not an object": lambda good: b'{"meta": [1], "user": [1], "group": [1]}',
    "no tables": lambda good: b"{}",
    "NaN": lambda good: b'{"x": {"1": {"v": NaN}}}',
    "record without schema": _drop_first_schema,
}


def quarantined(store: Store, path: Path) -> list[Path]:
    rel = path.relative_to(store.root)
    return sorted((store.root / "quarantine" / rel.parent).glob(f"{rel.name}.*"))


def corrupted(
    tmp_path: Path, seed: Callable[[Store], Path], damage: Callable[[bytes], bytes]
) -> tuple[Store, Path, bytes]:
    """A store opened on a directory where ``seed``'s file was damaged while it was closed."""
    with Store(tmp_path) as store:
        path = seed(store)
    bad = damage(path.read_bytes())
    path.write_bytes(bad)
    return Store(tmp_path), path, bad


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_a_corrupt_file_is_set_aside_by_name_never_overwritten(
    tmp_path: Path, kind: Kind, corrupt: Callable[[bytes], bytes], caplog: pytest.LogCaptureFixture
) -> None:
    store, path, bad = corrupted(tmp_path, kind.seed, corrupt)

    assert kind.load(store) is None
    (kept,) = quarantined(store, path)
    assert kept.read_bytes() == bad
    assert str(path) in caplog.text
    kind.save(store)
    assert kept.read_bytes() == bad
    assert store.check() == []


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_corrupt_file_never_read_is_not_replaced_by_a_save(tmp_path: Path, kind: Kind) -> None:
    store, path, bad = corrupted(tmp_path, kind.seed, CORRUPTIONS["truncated"])
    with pytest.raises(CorruptFileError) as caught:
        kind.save(store)
    assert caught.value.path == path
    store.flush()
    assert path.read_bytes() == bad
    assert store.check() == [path]
    assert quarantined(store, path)


@pytest.mark.parametrize(
    "answers",
    [
        {"1": {"qid": "q1", "value": 1, "schema": 1}, "2": {"qid": "q1", "value": 2, "schema": 1}},
        {"x": {"qid": "q1", "value": 1, "schema": 1}},
        {"1": {"qid": "q1", "schema": 1}},
        {"1": {"qid": 7, "value": 1, "schema": 1}},
    ],
    ids=["duplicate qid", "non-numeric doc id", "no value", "qid not a string"],
)
def test_damaged_answer_tables_are_corrupt(
    tmp_path: Path, answers: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    def damage(good: bytes) -> bytes:
        data = json.loads(good)
        data["answers"] = answers
        return json.dumps(data).encode()

    store, path, _ = corrupted(tmp_path, _seed_tender, damage)
    assert store.get_tender(USER, FIXED_ID) is None
    assert "answer" in caplog.text
    assert quarantined(store, path)


def test_a_corrupt_tender_is_left_out_of_the_list_not_blocking_the_others(tmp_path: Path) -> None:
    def seed(store: Store) -> Path:
        store.save_tender(USER, Tender(id="900d0000", meta={"name": "goed"}))
        return _seed_tender(store)

    store, _, _ = corrupted(tmp_path, seed, lambda good: b"{")
    assert not (store.user_dir(USER) / "index.json").exists(), "two tenders: listed from files"
    assert [meta["id"] for meta in store.list_tenders(USER)] == ["900d0000"]


def test_check_lists_exactly_the_unreadable_files(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        good_tender, bad_tender, newer_tender = (make_tender(store, q1=n) for n in "abc")
        for tender in (good_tender, bad_tender, newer_tender):
            store.save_tender(USER, tender)
        store.save_user(USER, {"ok": True})
        store.save_user("tg-2", {"ok": True})
        store.save_group("tg--1", {"ok": True})
        store.save_group("tg--2", {"ok": True})
        assert store.check() == []

    bad = [
        store.tender_file(USER, bad_tender.id),
        store.tender_file(USER, newer_tender.id),
        store.user_file("tg-2"),
        store.group_file("tg--2"),
    ]
    bad[0].write_bytes(b'{"meta": {}}')
    bump_schema(bad[1], SCHEMA_VERSION + 1)
    bad[2].write_bytes(b"")
    bad[3].write_bytes(b"\xff")
    dead = temp_path(store.tender_file(USER, good_tender.id)).name.split(".")
    dead[-3] = "999999999"
    leftovers = [store.tender_file(USER, good_tender.id).with_name(".".join(dead))]
    leftovers[0].write_bytes(b"{half")

    store = Store(tmp_path)
    assert store.check() == sorted(bad)
    assert not any(leftover.exists() for leftover in leftovers)
    assert store.check() == [bad[1]], "the damaged ones were set aside, the newer one kept"


def test_non_json_data_is_refused_before_touching_the_file(store: Store) -> None:
    tender = make_tender(store, q1="a")
    store.save_tender(USER, tender)
    store.flush()
    path = store.tender_file(USER, tender.id)
    before = path.read_bytes()
    for bad_value in ({1, 2}, float("nan"), object()):
        tender.answers["q2"] = bad_value
        with pytest.raises(StorageError, match=re.escape(str(path))):
            store.save_tender(USER, tender)
    assert data_files(store) == {path}
    assert path.read_bytes() == before


# writes


def syscalls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every sync, replace and unlink the store makes from now on."""
    calls: list[str] = []
    for name in ("fsync", "fdatasync", "sync", "replace", "unlink"):
        real = getattr(os, name)

        def recording(*args: Any, _name: str = name, _real: Any = real) -> Any:
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(os, name, recording)
    return calls


def test_a_save_is_one_journal_sync_and_the_file_follows_at_the_checkpoint(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tender = make_tender(store, **{f"q{n}": LONG_TEXT for n in range(60)})
    store.save_tender(USER, tender)
    calls = syscalls(monkeypatch)
    tender.answers["q7"] = "veranderd"
    store.save_tender(USER, tender)
    tender.answers["q8"] = "ook"
    store.save_tender(USER, tender)
    assert calls == ["fdatasync", "fdatasync"]
    calls.clear()
    store.flush()
    assert calls.count("replace") == 1, "the changed tender once (no index for one tender)"
    assert calls[-3:] == ["sync", "unlink", "fsync"], "the journal goes once the files are synced"
    reopened = Store(store.root).get_tender(USER, tender.id)
    assert reopened is not None
    assert reopened.answers["q7"] == "veranderd"


def test_answering_reads_no_file_once_the_tender_is_open(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tender = store.create_tender(USER, {"name": "x"})
    store.save_user(USER, {"active": tender.id})
    store.flush()
    reads = record_reads(monkeypatch)
    for n in range(5):
        assert store.get_user(USER) is not None
        loaded = store.get_tender(USER, tender.id)
        assert loaded is not None
        loaded.answers[f"q{n}"] = n
        store.save_tender(USER, loaded)
    assert reads == []


def test_buyers_answering_at_once_share_syncs(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[int] = []
    real = os.fdatasync

    def slow_sync(fd: int) -> None:
        syncs.append(fd)
        threading.Event().wait(0.01)
        real(fd)

    tenders = {f"tg-{n}": store.create_tender(f"tg-{n}", {"name": "x"}) for n in range(40)}
    monkeypatch.setattr(os, "fdatasync", slow_sync)
    barrier = threading.Barrier(len(tenders))

    def answer(key: str) -> None:
        barrier.wait()
        for round_ in range(3):
            tenders[key].answers["q"] = round_
            store.save_tender(key, tenders[key])

    with ThreadPoolExecutor(max_workers=len(tenders)) as pool:
        list(pool.map(answer, tenders))
    assert len(syncs) < 3 * len(tenders) / 4
    store.close()
    reopened = Store(store.root)
    for key, tender in tenders.items():
        loaded = reopened.get_tender(key, tender.id)
        assert loaded is not None
        assert loaded.answers == {"q": 2}


FAULTS = [
    ("pwrite", errno.ENOSPC, "full"),
    ("fdatasync", errno.ENOSPC, "full"),
    ("pwrite", errno.EROFS, "read-only"),
    ("fdatasync", errno.EIO, "other"),
    ("pwrite", errno.EACCES, "denied"),
]


@pytest.mark.parametrize(("call", "code", "kind"), FAULTS)
def test_a_failed_save_is_reported_and_loses_nothing_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, code: int, kind: str
) -> None:
    store = Store(tmp_path)
    tender = make_tender(store, q1="oud")
    store.save_tender(USER, tender)
    stamped = dict(tender.meta)
    real = getattr(os, call)

    def failing(*args: Any) -> Any:
        if call == "pwrite" and args[0] != journal_fd:
            return real(*args)
        real(*args)
        raise OSError(code, os.strerror(code))

    journal_fd = store._core.journal._fd
    monkeypatch.setattr(os, call, failing)
    tender.answers["q1"] = "nieuw"
    with pytest.raises(SaveFailed) as caught:
        store.save_tender(USER, tender)
    assert caught.value.kind == kind
    assert tender.meta == stamped
    loaded = store.get_tender(USER, tender.id)
    assert loaded is not None
    assert loaded.answers == {"q1": "oud"}

    monkeypatch.setattr(os, call, real)
    tender.answers["q1"] = "daarna"
    store.save_tender(USER, tender)
    os.kill(os.getpid(), 0)
    store._core.journal.close()
    store._core.dirlock.release()
    reopened = store._core.__class__(tmp_path)
    try:
        assert reopened.read(str(store.tender_file(USER, tender.id).relative_to(tmp_path)))
        replayed = raw(store.tender_file(USER, tender.id))
        values = [doc["value"] for doc in replayed["answers"].values()]
        assert values == ["daarna"]
    finally:
        reopened.journal.close()
        reopened.dirlock.release()


def test_a_directory_that_turns_read_only_still_serves_reads(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    tender = make_tender(store, q1="a")
    store.save_tender(USER, tender)
    store.save_user(USER, {"active": tender.id})
    store.flush()
    fresh = Store(store.root)
    fresh._core.cache.drop_where(lambda key: True)

    def read_only(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    for name in ("unlink", "replace", "rename", "rmdir"):
        monkeypatch.setattr(os, name, read_only)
    monkeypatch.setattr(os, "pwrite", read_only)
    assert fresh.get_user(USER) == {"active": tender.id}
    loaded = fresh.get_tender(USER, tender.id)
    assert loaded is not None
    assert [meta["id"] for meta in fresh.list_tenders(USER)] == [tender.id]
    loaded.answers["q1"] = "b"
    with pytest.raises(SaveFailed) as caught:
        fresh.save_tender(USER, loaded)
    assert caught.value.kind == "read-only"


def test_temporary_files_get_unique_names_and_reads_leave_them_alone(store: Store) -> None:
    path = store.tender_file(USER, "deadbeef")
    assert temp_path(path) != temp_path(path)
    tender = make_tender(store, q1="a")
    store.save_tender(USER, tender)
    store.flush()
    mine = temp_path(store.tender_file(USER, tender.id))
    mine.write_bytes(b"a write of this process in progress")

    loaded = store.get_tender(USER, tender.id)
    assert loaded is not None
    assert [meta["id"] for meta in store.list_tenders(USER)] == [tender.id]
    assert store.check() == []
    assert mine.exists(), "a temporary file of the owning process is never pulled away"


def test_a_second_process_on_the_same_directory_refuses_to_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as store:
        tender = store.create_tender(USER, {"name": "blijft heel"})
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        second = subprocess.run(
            [sys.executable, "-m", "bot.cli", "chat", "--data-dir", str(data), "--user", "b"],
            input="Hallo\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert second.returncode == 3
        assert second.stderr.count("\n") == 1
        assert "al in gebruik" in second.stderr
        assert str(os.getpid()) in second.stderr
        assert "Traceback" not in second.stderr
        assert second.stdout == ""
        loaded = store.get_tender(USER, tender.id)
        assert loaded is not None
        assert store.check() == []
    assert (data / ".lock").exists()
    with Store(data) as again:
        assert [meta["id"] for meta in again.list_tenders(USER)] == [tender.id]


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    tmp_path.joinpath(".lock").write_text(dead.stdout)
    with Store(tmp_path) as store:
        store.save_user(USER, {"n": 1})
        assert tmp_path.joinpath(".lock").read_text().strip() == str(os.getpid())


def test_a_store_in_use_in_this_process_is_shared_not_locked_out(tmp_path: Path) -> None:
    first = Store(tmp_path)
    second = Store(tmp_path)
    first.save_user(USER, {"n": 1})
    assert second.get_user(USER) == {"n": 1}
    first.close()
    second.save_user(USER, {"n": 2})
    second.close()
    with Store(tmp_path), pytest.raises(DataDirInUse):
        DirectoryLock(tmp_path)


# ordering


def test_list_tenders_newest_save_first(store: Store, clock: FixedClock) -> None:
    first, second, third = (make_tender(store, q1=n) for n in "abc")
    for tender in (first, second, third):
        store.save_tender(USER, tender)
        clock.now += timedelta(minutes=1)
    assert [meta["id"] for meta in store.list_tenders(USER)] == [third.id, second.id, first.id]

    first.answers["q1"] = "bijgewerkt"
    store.save_tender(USER, first)
    metas = store.list_tenders(USER)
    assert [meta["id"] for meta in metas] == [first.id, third.id, second.id]
    assert all(meta["name"] == "Schoonmaak stadhuis" for meta in metas)
    assert all("schema" not in meta for meta in metas)


def test_ordering_follows_saves_when_the_clock_stands_still_or_steps_back(
    store: Store, clock: FixedClock
) -> None:
    tenders = [make_tender(store, q1=n) for n in range(5)]
    for tender in tenders:
        store.save_tender(USER, tender)
        clock.now -= timedelta(seconds=30)
    assert [meta["id"] for meta in store.list_tenders(USER)] == [t.id for t in reversed(tenders)]


# threads


def test_concurrent_saves_of_one_tender_never_mix_or_fail(store: Store) -> None:
    shared = "5ba7ed00"

    def writer(worker: int) -> None:
        for round_ in range(25):
            tag = f"{worker}-{round_}"
            answers = {f"q{n}": f"{tag}-{n}" for n in range(20)}
            store.save_tender(USER, Tender(id=shared, meta={"tag": tag}, answers=answers))
            own = Tender(id=f"own{worker}", state={"round": round_})
            store.save_tender(f"tg-{worker}", own)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(writer, range(6)))

    final = store.get_tender(USER, shared)
    assert final is not None
    tag = final.meta["tag"]
    assert final.answers == {f"q{n}": f"{tag}-{n}" for n in range(20)}
    assert store.check() == []
    for worker in range(6):
        own = store.get_tender(f"tg-{worker}", f"own{worker}")
        assert own is not None
        assert own.state == {"round": 24}


def test_delete_user_racing_saves_leaves_a_consistent_directory(store: Store) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def saver() -> None:
        try:
            for round_ in range(60):
                store.save_tender(USER, Tender(id="racer000", answers={"q": round_}))
                store.save_user(USER, {"round": round_})
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    def deleter() -> None:
        try:
            while not stop.is_set():
                store.delete_user(USER)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=saver), threading.Thread(target=deleter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.check() == []
    leftovers: Iterator[Path] = store.root.rglob(".*.tmp")
    assert list(leftovers) == []
