"""How the summary reaches a chat: every message starts at one of its headings."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.report.answers_file import load_answers_file
from flows.report.splitting import TELEGRAM_LIMIT, split_message
from flows.report.summary import chat_summary

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_summary_message_starts_at_a_section_heading(path: Path) -> None:
    messages = chat_summary(load_answers_file(path))
    assert len(messages) > 1, "the example is too small to test the cut"
    assert all(len(m) <= TELEGRAM_LIMIT for m in messages)
    assert all(m.startswith("<b>") for m in messages), [m[:40] for m in messages]


def test_sections_that_fit_share_a_message_and_a_long_one_is_cut_between_blocks() -> None:
    short = "<b>Kort</b>\nEen regel."
    long = "<b>Lang</b>\n" + "\n\n".join(f"Blok {i}: " + "x" * 60 for i in range(12))
    messages = split_message(f"{short}\n\n\n{short}\n\n\n{long}", limit=300)
    assert messages[0] == f"{short}\n\n{short}"
    assert messages[1].startswith("<b>Lang</b>")
    assert all(len(m) <= 300 for m in messages)
    assert "".join(messages).count("Blok ") == 12
