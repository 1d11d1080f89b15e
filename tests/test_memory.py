"""Bounded memory (performance target 7): nothing is kept for people and chats gone quiet.

Each test plays many distinct chats, lets the simulated clock pass the idle limit where there is
one, and counts what a structure still holds: sizes, not timings or resident memory (those are
bench/memory.py's).
"""

from __future__ import annotations

import ctypes
import gc
import os
import tracemalloc
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, DictPersistence

from bot.telegram.bounded import BoundedApplication, tune_malloc
from bot.telegram.group import EDITED_SECONDS, SHOWN_SECONDS, GroupChecks
from bot.telegram.handlers import PrivateChat
from bot.telegram.window import IDLE_SECONDS
from storage import Store
from storage.cache import Recent
from storage.core import CACHE_SECONDS
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


def test_boards_quiet_for_an_hour_leave_nothing_behind(tg: Harness) -> None:
    checks: GroupChecks = tg.app.bot_data["group_checks"]
    now = [1000.0]
    checks.refresher.clock = lambda: now[0]
    for chat in PEOPLE:
        key = f"tg-group--{chat}"
        checks.remember_shown(key, 7, f"Bord van chat {chat}")
        checks.refresher.mark_edited(key)
    assert len(checks.shown) == len(PEOPLE)
    assert checks.shows("tg-group--100", 7, "Bord van chat 100")
    assert not checks.shows("tg-group--100", 7, "Bord van chat 100, met een stem erbij")
    assert not checks.shows("tg-group--100", 8, "Bord van chat 100")

    now[0] += SHOWN_SECONDS + 1
    assert not checks.shows("tg-group--100", 7, "Bord van chat 100")  # an edit is made again
    checks.remember_shown("tg-group--1", 9, "Een nieuw bord")  # someone somewhere votes
    checks.refresher.mark_edited("tg-group--1")
    assert len(checks.shown) == 1
    assert len(checks.refresher.edited) == 1


def test_the_time_of_a_boards_last_edit_is_kept_only_while_it_matters() -> None:
    now = [0.0]
    edited: Recent[float] = Recent(None, EDITED_SECONDS, lambda: now[0], touch=False)
    for chat in PEOPLE:
        edited.put(chat, now[0])
        now[0] += 1
    assert len(edited) == len(PEOPLE)  # all within the last minute
    assert edited.get(PEOPLE[-1]) == now[0] - 1
    now[0] += EDITED_SECONDS
    assert edited.get(PEOPLE[-1]) is None
    edited.put("new", now[0])
    assert len(edited) == 1


async def test_the_benchmarks_fake_telegram_forgets_the_chats_it_is_told_to(tg: Harness) -> None:
    """bench/memory.py counts only the bot's memory because the fake forgets played buyers."""
    await tg.send("/start", user=201)
    await tg.send("/start", user=202)
    assert tg.fake.messages(201)
    assert tg.fake.messages(202)
    tg.fake.forget_chats([201])
    assert tg.fake.messages(201) == []
    assert tg.fake.messages(202)
    assert tg.fake.calls == []
    assert tg.fake.updates_sent == []
    await tg.send("Schoonmaak", user=202)  # the other chat goes on as before
    assert tg.request.problems == []


class Clock:
    """Monotonic time that a test moves on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def clock_the_store(store: Store, clock: Clock) -> None:
    for value in vars(store._core).values():
        if isinstance(value, Recent):
            value._clock = clock


def test_finding_a_persons_files_keeps_nothing_of_them(tmp_path: Path) -> None:
    """Every read and save maps the person's key to their folder; a memo of that mapping kept the
    last 4,096 people (about 200 bytes each) long after they went quiet."""
    store = Store(tmp_path)
    people = [f"tg-{n}" for n in range(50_000, 52_000)]
    store.user_dir("tg-1")  # first use
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for key in people:
            store.tender_file(key, "t1")
            store.user_dir(key)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    only = [tracemalloc.Filter(True, "*/storage/*")]
    kept = after.filter_traces(only).compare_to(before.filter_traces(only), "filename")
    blocks = sum(stat.count_diff for stat in kept)
    assert blocks < len(people) / 20, f"{blocks} blocks kept for {len(people)} people"
    store.close()


def test_the_stores_caches_empty_without_anyone_coming_by(tmp_path: Path) -> None:
    store = Store(tmp_path)
    clock = Clock()
    clock_the_store(store, clock)
    for person in range(50):
        key = f"tg-{person}"
        tender = store.create_tender(key, {"name": "Schoonmaak"})
        store.save_user(key, {"active": tender.id})
        assert store.get_tender(key, tender.id) is not None
    store.flush()
    core = store._core
    assert len(core.cache) > 0
    clock.now += CACHE_SECONDS / 2
    store.forget_quiet()
    assert len(core.cache) > 0, "read a moment ago: kept"
    clock.now += CACHE_SECONDS
    store.forget_quiet()
    assert (len(core.cache), len(core.indexes), len(core.orders)) == (0, 0, 0)
    doc = store.get_user("tg-1")
    assert doc is not None
    assert store.get_tender("tg-1", doc["active"]) is not None  # read again from the files
    store.close()


async def test_a_bot_nobody_talks_to_any_more_lets_go_of_every_chat(tg: Harness) -> None:
    chat: PrivateChat = tg.app.bot_data["private_chat"]
    checks: GroupChecks = tg.app.bot_data["group_checks"]
    clock = Clock()
    chat.windows.clock = clock
    checks.refresher.clock = clock
    clock_the_store(tg.store, clock)
    for user in PEOPLE:
        await tg.send("/start", user=user)
        await tg.send("Schoonmaak kantoren", user=user)
    checks.remember_shown("tg-group--5", 7, "Een bord")
    tg.store.flush()
    assert len(chat.windows) == len(PEOPLE)
    assert len(tg.store._core.cache) > 0

    assert tg.app.job_queue is not None
    (job,) = tg.app.job_queue.get_jobs_by_name("forget_quiet")
    await job.callback(None)
    assert len(chat.windows) == len(PEOPLE), "people active a moment ago are kept"

    clock.now += max(IDLE_SECONDS, CACHE_SECONDS, SHOWN_SECONDS) + 1
    await job.callback(None)
    assert len(chat.windows) == 0
    assert len(checks.shown) == 0
    core = tg.store._core
    assert (len(core.cache), len(core.indexes), len(core.orders)) == (0, 0, 0)

    await tg.send("/start", user=PEOPLE[0])  # and whoever comes back goes on where they were
    assert tg.answers(PEOPLE[0]) != {}


async def test_a_chat_keeps_little_more_than_its_live_message_id(tg: Harness) -> None:
    """The live message's text is what a chat would cost most; only a digest of it is kept."""
    for user in PEOPLE:  # first-use growth (templates, PTB's caches) is not a chat's
        await tg.send("/start", user=user)
    chat: PrivateChat = tg.app.bot_data["private_chat"]
    people = range(1000, 1100)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for user in people:
            await tg.send("/start", user=user)
        tg.fake.forget_chats(list(people))
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = sum(
        stat.size_diff
        for stat in after.compare_to(before, "filename")
        if "bot/telegram/" in stat.traceback[0].filename.replace("\\", "/")
    )
    assert len(chat.windows) == len(PEOPLE) + len(people)
    assert kept / len(people) < 400, f"{kept / len(people):.0f} bytes per active chat"


FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS.split()]


def mallinfo() -> MallInfo2:
    """glibc's allocator statistics: `hblkhd` is what it holds in separate mappings, `fordblks`
    what is free inside its heaps."""
    call = ctypes.CDLL(None).mallinfo2
    call.restype = MallInfo2
    info: MallInfo2 = call()
    return info


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc 2.33 or later")
def test_a_large_block_gets_its_own_mapping_even_after_a_larger_one_was_freed() -> None:
    """glibc's default raises its mmap threshold to every large block freed, after which such
    blocks are carved from the heap and leave holes there (resident memory that grew hour after
    hour in bench/memory.py); `tune_malloc` fixes the threshold."""
    assert tune_malloc()
    size = mallinfo().fordblks + (1 << 20)  # more than any free space in the heap can serve
    larger = bytearray(2 * size)
    del larger  # with the default, the threshold is now at least twice `size`
    before = mallinfo().hblkhd
    block = bytearray(size)
    assert mallinfo().hblkhd >= before + len(block)


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "malloc_trim"), reason="glibc only")
async def test_the_forget_job_gives_the_freed_heap_back(tg: Harness) -> None:
    """What quiet buyers' objects occupied is free for the allocator but stays resident while
    living objects sit between it (bench/memory.py: about 1.4 KB per buyer gone quiet); the job
    hands those pages back."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(8192) for _ in range(5000)]
    for block in blocks:
        ctypes.memset(block, 1, 8192)  # resident
    kept = set(blocks[::8])  # the living objects between the holes
    for block in blocks:
        if block not in kept:
            libc.free(block)
    before = resident_bytes()
    assert tg.app.job_queue is not None
    (job,) = tg.app.job_queue.get_jobs_by_name("forget_quiet")
    await job.callback(None)
    given_back = before - resident_bytes()
    for block in kept:
        libc.free(block)
    assert given_back > 20 * 2**20, f"{given_back / 2**20:.1f} MB given back"
