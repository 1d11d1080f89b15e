from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import settings

from flows.engine import Conversation
from flows.report.summary import chat_summary
from storage import Store
from tests.driver import Driver
from tests.fakes.harness import Harness, start_harness


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data")


@pytest.fixture
def typed(store: Store) -> Driver:
    """A buyer in the terminal: options are typed as numbers."""
    return Driver(Conversation(store, buttons=False, summarizer=chat_summary), "cli-test")


@pytest.fixture
def tapped(store: Store) -> Driver:
    """A buyer in Telegram: options are buttons."""
    return Driver(Conversation(store, buttons=True, summarizer=chat_summary), "tg-1")


@pytest.fixture
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    """The Telegram bot on the in-process fake Bot API; at the end, every call it made must have
    been accepted by the fake (which refuses what Telegram refuses)."""
    harness = await start_harness(tmp_path / "data")
    yield harness
    await harness.app.shutdown()
    assert harness.request.problems == []


# `make test-fast` leaves these out (marked `slow`): subprocesses, real HTTP, SIGKILL campaigns,
# stateful fuzzing and the few unit tests that take seconds. `make test` runs everything.
SLOW_MODULES = {
    "test_adversarial_fuzz.py",
    "test_cli.py",
    "test_contract_e2e.py",
    "test_crash_script.py",
    "test_engine_properties.py",
    "test_fuzz.py",
    "test_render_pool.py",
    "test_storage_crash.py",
    "test_teamcheck_e2e.py",
    "test_telegram_e2e.py",
    "test_terminal_edges.py",
}
SLOW_TESTS = {
    "test_quarterly_over_two_years_is_exactly_eight_checkins",
    "test_cleaned_text_is_always_accepted_and_read_back",
    "test_rendering_in_threads_gives_the_same_images",
    "test_a_file_size_limit_mid_write_leaves_the_good_document",
    "test_an_alias_bomb_is_refused_quickly_and_cheaply",
    "test_answer_mark_and_photo_caption_are_not_escaped_twice",
    "test_documents_for_a_tender_with_a_long_name_arrive",
    "test_a_year_of_quarterly_checkins",
    "test_summer_time_change_neither_doubles_nor_drops",
    "test_the_loader_rejects_a_broken_file_naming_the_entry",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", None) or item.name
        if item.path.name in SLOW_MODULES or name in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


# Hypothesis budgets. Tests that fix their own max_examples keep it; the stateful fuzzing in
# tests/test_fuzz.py takes its budget from the profile: small enough for every run by default,
# large with HYPOTHESIS_PROFILE=thorough (`make fuzz`).
settings.register_profile("default", max_examples=25, stateful_step_count=30, deadline=None)
settings.register_profile("thorough", max_examples=400, stateful_step_count=80, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
