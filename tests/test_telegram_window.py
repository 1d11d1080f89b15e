"""What a buyer sees in the private chat: one live question, records, toasts, a bounded chat.

Through the in-process fake Bot API, which stores each message as Telegram does (plain text plus
entities, buttons) with its edits, so these tests read the chat as the person sees it.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot import render_pool
from bot.telegram.app import introduce
from flows.report.documents import render_all
from flows.spec import load_spec
from flows.texts import default_texts
from tests.fakes.botapi import BotMessage, Call
from tests.fakes.harness import USER, Harness, start_harness
from tests.fakes.inprocess import text_update
from tests.fakes.tender import Tally, answer_current, live_prompt, play_tender

TEXTS = default_texts()
STALE = TEXTS("stale_toast")


def data_for(message: BotMessage | Call, label: str) -> str:
    buttons = message.buttons() if isinstance(message, BotMessage) else message.buttons
    found = [d for text, d in buttons if d is not None and label.lower() in text.lower()]
    assert found, (label, buttons)
    return str(found[0])


def toasts(calls: list[Call]) -> list[str | None]:
    return [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]


def sends(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "sendMessage"]


async def press(tg: Harness, label: str, on: BotMessage | None = None) -> list[Call]:
    message = on or live_prompt(tg)
    assert message is not None, "no live question"
    return await tg.update_press(message, data_for(message, label))


async def to_question(tg: Harness, question_id: str) -> None:
    """Jump to a question through the menu, as a buyer would with /wijzig."""
    spec = load_spec()
    step = spec.questions[question_id].step_id
    number = spec.step(step).number
    await tg.send(f"/wijzig {number}" if number else "/wijzig")
    if not number:
        await press(tg, spec.step(step).title)
    prompt = live_prompt(tg)
    assert prompt is not None
    labels = [t for t, _d in prompt.buttons()]
    target = next(t for t in labels if spec.questions[question_id].prompt[:20] in t)
    await press(tg, target)


@pytest.fixture
def thread_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents in a thread instead of the worker process: the same bytes, no spawning."""
    monkeypatch.setattr(
        render_pool, "render", lambda request: asyncio.to_thread(render_all, request)
    )


# ---------------------------------------------------------------------------------------------
# Bugs from issue 10, each with the behaviour that was wrong


async def test_the_chart_keeps_its_own_caption(tg: Harness, thread_render: None) -> None:
    await tg.send("/start")
    await tg.send("Koffie 2027")
    calls = await tg.send("/download")
    (photo,) = [c for c in calls if c.method == "sendPhoto"]
    caption = str(photo.params.get("caption"))
    assert "Koffie 2027" in caption
    assert caption != TEXTS("telegram.caption.md")
    captions = {str(c.params.get("caption")) for c in calls if c.method == "sendDocument"}
    assert TEXTS("telegram.caption.md") in captions


async def test_confirmed_delete_ends_its_buttons_and_a_second_press_creates_nothing(
    tg: Harness,
) -> None:
    await tg.send("/start")
    await tg.send("Weg ermee")
    await tg.send("/verwijder")
    await press(tg, "Al mijn gegevens")
    confirm = live_prompt(tg)
    assert confirm is not None
    await press(tg, "Ja, verwijderen", on=confirm)
    assert tg.user() is None
    shown = next(m for m in tg.fake.bubbles(USER) if m.message_id == confirm.message_id)
    assert shown.buttons() == []  # the confirmation became its result
    assert "verwijderd" in (shown.plain_text or "")
    before = tg.files()
    for label in ("Ja, verwijderen", "Annuleren"):
        calls = await tg.update_press(confirm, data_for(confirm, label))
        assert toasts(calls) == [STALE]
        assert sends(calls) == []
    assert tg.user() is None
    assert tg.files() == before


async def test_deleting_all_my_data_drops_documents_made_from_it(
    tg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = render_pool._Cache(4)
    monkeypatch.setattr(render_pool, "_cache", cache)
    cache.put("made-from-my-answers", {"md": b"mijn antwoorden"})
    await tg.send("/start")
    await tg.send("Weg ermee")
    await tg.send("/verwijder")
    await press(tg, "Al mijn gegevens")
    await press(tg, "Ja, verwijderen", on=live_prompt(tg))
    assert tg.user() is None
    assert cache.get("made-from-my-answers") is None


async def test_after_a_restart_the_old_question_loses_its_buttons(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = await start_harness(data)
    await first.send("/start")
    await first.send("Herstart")
    old = live_prompt(first)
    assert old is not None
    assert old.buttons()
    await first.app.shutdown()
    # the same chat (fake Telegram keeps its messages), a new bot process on the same data
    second = await start_harness(data, fake=first.fake)
    await second.send("2")  # typed, not tapped: the bot must find the old question itself
    assert second.answers()["categorie"] == "schoonmaak"
    before = next(m for m in first.fake.messages(USER) if m.message_id == old.message_id)
    assert before.deleted or not before.buttons()
    assert second.request.problems == []
    await second.app.shutdown()


async def test_a_typed_answer_and_a_skip_leave_their_mark(tg: Harness) -> None:
    await tg.send("/start")
    await tg.send("Merktest")
    question = live_prompt(tg)
    assert question is not None
    await tg.send("1")  # typed instead of tapped
    old = next(m for m in tg.fake.messages(USER) if m.message_id == question.message_id)
    assert old.deleted or (old.plain_text or "").startswith("✓ Pakket: Catering")
    assert not old.buttons()
    skip = TEXTS("action.skip")
    spec, tally = load_spec(), Tally()
    prompt = live_prompt(tg)
    while prompt is None or not any(skip in t for t, _ in prompt.buttons()):
        assert await answer_current(tg, spec, tally)
        prompt = live_prompt(tg)
    calls = await press(tg, skip, on=prompt)
    (toast,) = toasts(calls)
    assert toast  # the skip is said in a toast
    after = next(m for m in tg.fake.messages(USER) if m.message_id == prompt.message_id)
    assert "⏭ " in (after.plain_text or "")


async def test_done_with_nothing_selected_is_a_toast(tg: Harness) -> None:
    await tg.send("/start")
    await tg.send("Leeg")
    await tg.send("/wijzig 3")
    await press(tg, "thema")
    prompt = live_prompt(tg)
    assert prompt is not None
    calls = await press(tg, "Klaar", on=prompt)
    assert toasts(calls) == [TEXTS("invalid.pick_at_least_one")]
    assert [c for c in calls if c.message_op and c.method != "answerCallbackQuery"] == []


async def test_overview_and_jump_menu_read_right(tg: Harness) -> None:
    await tg.send("/start")
    await tg.send("Voorsteltest")
    overview = "\n".join(c.shown for c in await tg.send("/overzicht"))
    assert "“”" not in overview
    menu = "\n".join(c.shown for c in await tg.send("/wijzig"))
    labels = [t for c in await tg.send("/wijzig") for t, _d in c.buttons]
    assert not any(label.startswith("Start · Start") for label in labels), labels
    assert menu


def test_level_three_keeps_its_whole_meaning() -> None:
    levels = {c.value: c for c in load_spec().levels}
    assert levels[3].attrs["meaning"].endswith("met ruimte voor innovatie")


PHONE_LINE = 44  # characters of italic text in one line of a bubble on a 390-pixel screen


def test_every_progress_line_fits_one_phone_line() -> None:
    """Even with two-digit counts, as a step with many themes has."""
    spec = load_spec()
    lines = [
        TEXTS(
            "progress", number=step.number, steps=7, title=step.short_title, position=19, total=19
        )
        for step in spec.steps
    ]
    assert [line for line in lines if len(line) > PHONE_LINE] == []


async def test_skipping_the_ambition_proposal_says_it_is_kept(tg: Harness) -> None:
    await tg.send("/start")
    await tg.send("Voorstel")
    await to_question(tg, "ambitie_eigen")
    calls = await press(tg, TEXTS("action.skip"))
    said = " ".join(str(t) for t in toasts(calls))
    assert "voorstel" in said.lower()
    assert said != TEXTS("skipped")


async def test_a_command_in_a_forum_topic_is_answered_in_that_topic(tg: Harness) -> None:
    group = -100777
    update = text_update(tg.app.bot, 5, "/start", chat_id=group, thread_id=42)
    calls = await tg.update(update)
    (reply,) = [c for c in calls if c.method == "sendMessage"]
    assert reply.params.get("message_thread_id") == 42


# ---------------------------------------------------------------------------------------------
# How a whole tender feels


async def test_a_full_tender_leaves_one_bubble_per_question_at_most(tg: Harness) -> None:
    tally = await play_tender(tg)
    bubbles = tg.fake.bubbles(USER)
    assert len(bubbles) <= tally.answers + 1
    ops = tg.fake.message_ops(USER)
    updates = len([u for u in tg.fake.updates_sent if u.get("callback_query") or u.get("message")])
    assert len(ops) / updates <= 1.2, (len(ops), updates)
    # no question text is shown twice in the chat
    questions = [
        line
        for m in bubbles
        for line in (m.plain_text or "").splitlines()
        if line.endswith("?") and not line.startswith(("✓", "⏭"))
    ]
    assert len(questions) == len(set(questions)), questions
    end = live_prompt(tg)
    assert end is not None
    labels = [t for t, _d in end.buttons()]
    assert any("Samenvatting" in t for t in labels)
    assert any("Teamcheck" in t for t, _d in end.buttons())


async def test_every_button_label_fits_a_phone(tg: Harness) -> None:
    """Within about 30 characters on a full-width row, 24 in the two-column grid."""
    await play_tender(tg)
    too_long = set()
    for call in tg.fake.calls:
        markup = call.params.get("reply_markup") if call.ok else None
        for row in (markup or {}).get("inline_keyboard", []):
            room = 24 if len(row) > 1 else 30
            too_long |= {b["text"] for b in row if len(b["text"]) > room}
    assert sorted(too_long) == []


async def test_a_typed_question_offers_a_reply_field_with_the_example(tg: Harness) -> None:
    calls = await tg.send("/start")
    (question,) = sends(calls)
    markup: dict[str, Any] = question.params["reply_markup"]
    assert markup["force_reply"] is True
    example = load_spec().questions["naam"].example
    assert example is not None
    assert markup["input_field_placeholder"] == example[:64]


async def test_eighty_own_themes_still_make_a_keyboard_telegram_accepts(tg: Harness) -> None:
    await tg.send("/start")
    await tg.send("Veel thema's")
    await tg.send("/wijzig 3")
    await press(tg, "thema")
    own = ", ".join(f"Eigen thema nummer {i}" for i in range(80))
    calls = await tg.send(own)
    assert all(c.ok for c in calls), [c.problems for c in calls]
    prompt = live_prompt(tg)
    assert prompt is not None
    assert len(prompt.buttons()) <= 60


async def test_memory_for_quiet_chats_is_dropped(tg: Harness) -> None:
    chat = tg.app.bot_data["private_chat"]
    now = [0.0]
    chat.windows.clock = lambda: now[0]
    for user in range(10, 20):
        await tg.send("/start", user=user)
    assert len(chat.windows) >= 10
    now[0] += chat.windows.idle + 1
    chat.windows.sweep()
    assert len(chat.windows) == 0


async def test_allow_list_never_answers_channels_or_anonymous_admins(tmp_path: Path) -> None:
    tg = await start_harness(tmp_path / "data", allowed=frozenset({USER}))
    fake = tg.fake
    fake.add_chat(-100500, "supergroup")
    post = {
        "channel_post": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": -100600, "type": "channel", "title": "Nieuws"},
            "text": "/start",
        }
    }
    anonymous = {
        "message": {
            "message_id": 2,
            "date": 0,
            "chat": {"id": -100500, "type": "supergroup", "title": "Team"},
            "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
            "sender_chat": {"id": -100500, "type": "supergroup", "title": "Team"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        }
    }
    for raw in (post, anonymous):
        update_id = fake.send_raw_update(raw)
        update = Update.de_json(fake.take_update(update_id), tg.app.bot)
        assert update is not None
        calls = await tg.update(update)
        assert [c for c in calls if c.message_op] == []
    await tg.app.shutdown()


@pytest.mark.parametrize("code", [500, 400])
async def test_start_up_rides_out_passing_bot_api_errors(
    tmp_path: Path, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    tg = await start_harness(tmp_path / "data")  # not the `tg` fixture: refusals are staged
    tg.fake.fail_next("setMyCommands", error_code=code, count=2)
    with caplog.at_level(logging.WARNING):
        await introduce(tg.app, TEXTS, pause=0)
    private = tg.fake.commands({"type": "all_private_chats"})
    assert {c["command"] for c in private} >= {"start", "samenvatting", "ambitiecheck"}
    assert tg.fake.descriptions["description"]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    assert all(r.exc_info is None and r.exc_text is None for r in warnings)
    await tg.app.shutdown()


async def test_the_summary_comes_chart_first_then_text_then_files(
    tg: Harness, thread_render: None
) -> None:
    await play_tender(tg)
    calls = await tg.send("/samenvatting")
    shown = [c.method for c in calls if c.method in ("sendPhoto", "sendMessage", "sendDocument")]
    assert shown[0] == "sendPhoto"
    first_file = shown.index("sendDocument")
    assert "sendMessage" in shown[1:first_file]
    assert shown[-1] == "sendMessage"  # the end menu again, below the files
    texts = [c.shown for c in calls if c.method == "sendMessage"][:-1]
    assert len(texts) <= 4


# -- the overview: one message, turned in place, folded away on return ---------------------------

OVERVIEW = "Overzicht van"


def overview_bubbles(tg: Harness) -> list[BotMessage]:
    return [m for m in tg.fake.bubbles(USER) if OVERVIEW in (m.plain_text or "")]


async def test_a_finished_tenders_overview_is_one_message_turned_in_place(tg: Harness) -> None:
    await play_tender(tg)
    calls = await tg.send("/overzicht")
    assert len(sends(calls)) == 1, [c.shown[:40] for c in sends(calls)]
    window = overview_bubbles(tg)
    assert len(window) == 1
    message_id = window[0].message_id
    seen = [window[0].plain_text or ""]
    for _ in range(20):
        labels = [t for t, _d in window[0].buttons()]
        if not any("Volgende" in t for t in labels):
            break
        calls = await press(tg, "Volgende", on=window[0])
        assert sends(calls) == [], "turning a page sends nothing new"
        window = overview_bubbles(tg)
        assert [m.message_id for m in window] == [message_id]
        seen.append(window[0].plain_text or "")
    assert len(seen) > 1, "a finished tender fills more than one screen"
    assert all(len(page) <= 2000 for page in seen), [len(p) for p in seen]
    everything = "\n".join(seen)
    for step in load_spec().steps:
        assert step.title in everything, step.title
    calls = await press(tg, "Sluiten", on=window[0])
    assert sends(calls) == []
    assert overview_bubbles(tg) == [], "closing folds the overview away"
    back = next(m for m in tg.fake.bubbles(USER) if m.message_id == message_id)
    assert any("Samenvatting" in t for t, _d in back.buttons()), "the end menu is back"


async def test_typing_while_reading_the_overview_answers_the_question(tg: Harness) -> None:
    await tg.send("/start")
    await tg.send("Overzichttest")
    spec = load_spec()
    await tg.send("/overzicht")
    assert len(overview_bubbles(tg)) == 1
    doc = tg.user() or {}
    tender = tg.store.get_tender(f"tg-{USER}", str(doc["active"]))
    assert tender is not None
    question = str(tender.state["cursor"])
    assert spec.questions[question.split("#")[0]].kind in ("choice", "text")
    await tg.send("1")
    tender = tg.store.get_tender(f"tg-{USER}", str(doc["active"]))
    assert tender is not None
    assert question in tender.answers
    assert overview_bubbles(tg) == []


async def test_turning_back_shows_the_first_page_again(tg: Harness) -> None:
    await play_tender(tg)
    await tg.send("/overzicht")
    first = overview_bubbles(tg)[0]
    await press(tg, "Volgende", on=first)
    turned = overview_bubbles(tg)[0]
    await press(tg, "Vorige", on=turned)
    assert overview_bubbles(tg)[0].plain_text == first.plain_text


async def test_a_long_tender_list_turns_its_page_in_place(tg: Harness) -> None:
    """Menu buttons whose command has an underscore (volgende_pagina) were read as forged."""
    await tg.send("/start")
    await tg.send("Eerste")
    for n in range(12):
        tg.store.create_tender(f"tg-{USER}", {"name": f"Extra {n}", "created": "2026-01-01"})
    await tg.send("/hervat")
    menu = live_prompt(tg)
    assert menu is not None
    assert "1 van 2" in (menu.plain_text or "")
    calls = await press(tg, "Volgende", on=menu)
    assert toasts(calls) == [None]
    assert sends(calls) == []
    turned = next(m for m in tg.fake.bubbles(USER) if m.message_id == menu.message_id)
    assert "2 van 2" in (turned.plain_text or "")


async def test_help_opens_with_the_question_and_folds_away_on_the_answer(tg: Harness) -> None:
    await tg.send("/start")
    await tg.send("Hulptest")
    calls = await tg.send("/help")
    assert len(sends(calls)) == 1, "help and the question share one message"
    shown = sends(calls)[0].shown
    assert "Dit kun je altijd typen" in shown
    window = live_prompt(tg)
    assert window is not None
    assert window.message_id == sends(calls)[0].message_id
    options = [d for _t, d in window.buttons() if d is not None and d.startswith("p:")]
    calls = await tg.update_press(window, options[0])
    assert sends(calls) == []
    after = next(m for m in tg.fake.bubbles(USER) if m.message_id == window.message_id)
    assert "Dit kun je altijd typen" not in (after.plain_text or "")
    assert all("Dit kun je altijd typen" not in (m.plain_text or "") for m in tg.fake.bubbles(USER))
