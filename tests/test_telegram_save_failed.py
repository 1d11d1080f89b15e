"""An answer the disk will not take (issue 13): the person is told, nothing is acknowledged.

Through the in-process fake Bot API: the journal's sync fails as on a full disk, the buyer answers,
and must see a short line saying the answer was not saved, with the question still live (its
buttons still there); nothing of it is stored, and once the disk has room the same answer goes in.
"""

from __future__ import annotations

import errno
import logging
import os
from typing import Any

import pytest

from flows.texts import default_texts
from tests.fakes.botapi import Call
from tests.fakes.harness import USER, Harness
from tests.fakes.tender import live_prompt

TEXTS = default_texts()
FULL = TEXTS("telegram.not_saved", reason=TEXTS("telegram.not_saved_reason.full"))
APOLOGY = TEXTS("telegram.apology")


class Disk:
    """The journal's fdatasync, failing with ENOSPC while `full` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real = os.fdatasync

        def sync(fd: int) -> None:
            if self.full:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real(fd)

        monkeypatch.setattr(os, "fdatasync", sync)


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    return Disk(monkeypatch)


def toasts(calls: list[Call]) -> list[Any]:
    return [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]


def sent_texts(calls: list[Call]) -> list[str]:
    return [c.shown for c in calls if c.method == "sendMessage"]


def operator_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_typed_answer_that_cannot_be_saved_is_not_acknowledged(
    tg: Harness, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    await tg.send("/start")
    question = tg.fake.last_message(USER)
    assert question is not None
    disk.full = True
    caplog.clear()
    calls = await tg.send("Catering hoofdkantoor 2027")
    shown = sent_texts(calls)
    assert shown == [FULL]
    assert APOLOGY not in shown
    assert tg.answers() == {}
    # The question is untouched: not turned into a record, not replaced by the next one.
    same = [m for m in tg.fake.bubbles(USER) if m.message_id == question.message_id]
    assert [(m.plain_text, m.edit_count) for m in same] == [
        (question.plain_text, question.edit_count)
    ]
    problems = operator_lines(caplog)
    assert len(problems) == 1
    line = problems[0].getMessage()
    assert "full" in line
    assert "Catering" not in line
    assert problems[0].exc_info is None
    disk.full = False
    await tg.send("Catering hoofdkantoor 2027")
    assert "Catering hoofdkantoor 2027" in tg.answers().values()


async def test_a_button_press_that_cannot_be_saved_gets_a_toast_and_keeps_the_buttons(
    tg: Harness, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    await tg.send("/start")
    await tg.send("Catering hoofdkantoor 2027")
    prompt = live_prompt(tg)
    assert prompt is not None
    before = dict(tg.answers())
    label, data = next((t, d) for t, d in prompt.buttons() if d is not None)
    assert data is not None
    disk.full = True
    caplog.clear()
    calls = await tg.update_press(prompt, data)
    assert toasts(calls) == [FULL]
    assert sent_texts(calls) == []
    assert tg.answers() == before
    still = live_prompt(tg)
    assert still is not None
    assert still.message_id == prompt.message_id
    assert still.buttons() == prompt.buttons()
    assert still.plain_text == prompt.plain_text
    assert len(operator_lines(caplog)) == 1
    disk.full = False
    calls = await tg.update_press(prompt, data)
    assert toasts(calls) != [FULL]
    assert tg.answers() != before, label


GROUP = -1001


async def test_a_team_vote_that_cannot_be_saved_gets_a_toast_not_the_apology(
    tg: Harness, disk: Disk
) -> None:
    await tg.app.start()  # a vote schedules a board refresh, a task of the running application
    try:
        await vote_on_a_full_disk(tg, disk)
    finally:
        await tg.app.stop()


async def vote_on_a_full_disk(tg: Harness, disk: Disk) -> None:
    await tg.send("/ambitiecheck", chat_id=GROUP)
    board = [m for m in tg.fake.bubbles(GROUP) if m.buttons()][-1]
    vote = next(str(d) for _t, d in board.buttons() if d is not None and d.count(":") == 3)
    before = tg.store.get_group(f"tg-group-{GROUP}")
    disk.full = True
    calls = await tg.update_press(board, vote)
    assert toasts(calls) == [FULL]
    assert sent_texts(calls) == []
    assert tg.store.get_group(f"tg-group-{GROUP}") == before
    disk.full = False
    calls = await tg.update_press(board, vote)
    assert toasts(calls) != [FULL]
    assert tg.store.get_group(f"tg-group-{GROUP}") != before
