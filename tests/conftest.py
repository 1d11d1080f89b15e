from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
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
def typed(store: Store) -> Iterator[Driver]:
    """A buyer in the terminal: options are typed as numbers."""
    return Driver(Conversation(store, buttons=False, summarizer=chat_summary), "cli-test")


@pytest.fixture
def tapped(store: Store) -> Iterator[Driver]:
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


# Hypothesis budgets. Tests that fix their own max_examples keep it; the stateful fuzzing in
# tests/test_fuzz.py takes its budget from the profile: small enough for every run by default,
# large with HYPOTHESIS_PROFILE=thorough (`make fuzz`).
settings.register_profile("default", max_examples=25, stateful_step_count=30, deadline=None)
settings.register_profile("thorough", max_examples=400, stateful_step_count=80, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
