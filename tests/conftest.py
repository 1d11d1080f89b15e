from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.engine import Conversation
from flows.report.summary import chat_summary
from storage import Store
from tests.driver import Driver


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
