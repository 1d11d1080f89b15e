"""The Telegram handlers in-process, the way PTB tests itself: the real Application with an offline
request class, driven by `process_update`.

No network and no fake server, so each test takes milliseconds and can look at every call the tg
made. Every test ends with the same check (in the `tg` fixture): Telegram would have accepted all
of those calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot import render_pool
from flows.events import Event, Reply
from flows.report.documents import render_all
from flows.teamcheck import team_texts
from flows.texts import default_texts
from tests.driver import lines_to, rehearsal
from tests.fakes.botapi import Call
from tests.fakes.harness import Harness, start_harness
from tests.fakes.inprocess import BOT, edited_update, media_update, press_update, text_update
from tests.fakes.validate import telegram_problems, visible_text

TEXTS = default_texts()
USER = 1
OTHER = 2
STALE_TOAST = TEXTS("stale_toast")
APOLOGY = TEXTS("telegram.apology")


def button(sent: Call, label_part: str) -> str:
    for label, data in sent.buttons:
        if label_part.lower() in label.lower():
            return data
    raise AssertionError(f"no button {label_part!r} in {[label for label, _ in sent.buttons]}")


def methods(calls: list[Call]) -> list[str]:
    return [c.method for c in calls]


def messages(calls: list[Call]) -> list[str]:
    return [c.text or "" for c in calls if c.method == "sendMessage"]


@pytest.fixture
async def slow_bot(tmp_path: Path) -> AsyncIterator[Harness]:
    """Every Bot API call yields to the loop for a moment, so concurrent updates really overlap
    while replies go out."""
    harness = await start_harness(tmp_path / "data", delay=0.002)
    yield harness
    await harness.app.shutdown()
    assert harness.request.problems == []


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path / "data", allowed=frozenset({USER}))
    yield harness
    await harness.app.shutdown()
    assert harness.request.problems == []


async def to_categories(tg: Harness) -> Call:
    """A buyer who named the tender; the category question with its buttons is showing."""
    for line in lines_to("categorie", naam="Catering <hoofdkantoor> & 2027"):
        await tg.send(line)
    prompt = tg.request.last_keyboard(USER)
    assert prompt is not None
    assert "Om welk facilitair inkooppakket" in (prompt.text or "")
    return prompt


async def to_themes(tg: Harness) -> Call:
    """Jump straight to the multiple-choice themes question of step 3."""
    await to_categories(tg)
    menu = (await tg.send("/wijzig 3"))[-1]
    calls = await tg.press(button(menu, "thema"), on=menu)
    prompt = calls[-1]
    assert "Welke thema's horen in het waardenwiel" in visible_text(prompt.text)
    return prompt


# ---------------------------------------------------------------------------------------------
# The happy path, one update at a time


async def test_start_greets_and_asks_the_first_question(tg: Harness) -> None:
    calls = await tg.send("/start")
    (text,) = messages(calls)  # greeting and question in one bubble
    assert text.startswith("Hallo! Ik ben <b>Inkoopkompas</b>.")
    assert "<b>Hoe noem je deze aanbesteding?</b>" in text
    assert all(c.chat_id == USER for c in calls)
    doc = tg.user()
    assert doc is not None
    assert doc["active"]
    assert tg.answers() == {}


async def test_a_typed_answer_is_saved_and_the_next_question_follows(tg: Harness) -> None:
    await tg.send("/start")
    calls = await tg.send("Catering <hoofdkantoor> & 2027")
    assert tg.answers() == {"naam": "Catering <hoofdkantoor> & 2027"}
    prompt = calls[-1]
    assert "Om welk facilitair inkooppakket gaat het?" in (prompt.text or "")
    assert [label for label, _ in prompt.buttons][:2] == ["Catering", "Schoonmaak"]


async def test_a_button_press_records_the_choice_and_marks_the_answered_message(
    tg: Harness,
) -> None:
    prompt = await to_categories(tg)
    calls = await tg.press(button(prompt, "Schoonmaak"), on=prompt)

    assert tg.answers()["categorie"] == "schoonmaak"
    toasts = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(toasts) == 1
    assert toasts[0].params.get("text") is None
    # One operation: the live message becomes the record plus the next question.
    (edit,) = [c for c in calls if c.message_op]
    assert edit.method == "editMessageText"
    assert edit.params["message_id"] == prompt.message_id
    record, _, rest = edit.shown.partition("\n\n")
    assert record == "✓ Pakket: Schoonmaak"
    assert "Voor welke organisatie koop je in?" in rest
    assert "Om welk facilitair" not in rest


async def test_a_multiple_choice_toggle_edits_the_same_message_with_a_check_mark(
    tg: Harness,
) -> None:
    prompt = await to_themes(tg)
    first_label, first = prompt.buttons[0]
    third_label, third = prompt.buttons[2]
    assert first_label.startswith("☐ ")
    assert third_label.startswith("☐ ")
    assert len(prompt.params["reply_markup"]["inline_keyboard"][0]) == 2  # a two-column grid

    calls = await tg.press(first, on=prompt)
    assert methods(calls) == ["answerCallbackQuery", "editMessageText"]
    edit = calls[-1]
    assert edit.params["message_id"] == prompt.message_id
    labels = [label for label, _ in edit.buttons]
    assert labels[0] == "☑ " + first_label[2:]
    assert labels[2] == third_label
    assert "✅ Klaar (1)" in labels

    calls = await tg.press(third, on=prompt)
    labels = [label for label, _ in calls[-1].buttons]
    assert (labels[0], labels[2]) == ("☑ " + first_label[2:], "☑ " + third_label[2:])
    assert "✅ Klaar (2)" in labels

    calls = await tg.press(first, on=prompt)
    labels = [label for label, _ in calls[-1].buttons]
    assert (labels[0], labels[2]) == (first_label, "☑ " + third_label[2:])
    assert "themas" not in tg.answers()  # a toggle is a draft until "Klaar"

    await tg.press(button(prompt, "Klaar"), on=prompt)
    assert tg.answers()["themas"] == ["circulariteit"]


# ---------------------------------------------------------------------------------------------
# Buttons nobody should be able to press


@pytest.mark.parametrize(
    "data",
    [
        "x",
        "p:abc:1",
        "p:1:" + "1" * 61,  # 65 bytes: more than Telegram allows, so never ours
        "🙂" * 17,  # 68 bytes
        "a:1:rm -rf",
        "a:1:../../etc",
        "d:",
        "p:1:2:3",
        "",  # Telegram never sends this (1-64 bytes), but a data-less query must not hurt either
    ],
)
async def test_forged_or_foreign_button_data_gets_a_toast_and_changes_nothing(
    tg: Harness, data: str
) -> None:
    prompt = await to_categories(tg)
    before = tg.files()
    calls = await tg.press(data, on=prompt)
    assert methods(calls) == ["answerCallbackQuery"]
    if data:
        assert calls[0].params.get("text") == STALE_TOAST
    else:
        assert calls[0].params.get("text")
    assert tg.files() == before


async def test_an_old_or_out_of_range_button_answers_nothing(tg: Harness) -> None:
    prompt = await to_categories(tg)
    seq = int(button(prompt, "Catering").split(":")[1])
    for data in (f"p:{seq - 1}:0", f"p:{seq + 50}:0", f"p:{seq}:99", f"p:{seq}:-1", f"d:{seq}"):
        calls = await tg.press(data, on=prompt)
        assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"] == [
            STALE_TOAST
        ], data
        assert set(tg.answers()) == {"naam"}, data
        prompt = tg.request.last_keyboard(USER) or prompt
        assert "Om welk facilitair inkooppakket" in (prompt.text or "")


async def press_old_button_repeatedly(tg: Harness, old: Call, expected: dict[str, Any]) -> None:
    """Press a button of an old prompt ten times. Each refusal shows the question again under a
    new number, so if numbers were ever reused the old button would match at some point."""
    data = button(old, "Schoonmaak")
    for attempt in range(10):
        calls = await tg.press(data, on=old)
        toasts = [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]
        assert toasts == [STALE_TOAST], f"press {attempt + 1} on an old button was accepted"
        assert tg.answers() == expected


async def test_a_button_from_an_earlier_tender_never_answers_the_new_one(tg: Harness) -> None:
    await tg.send("/start")
    await tg.send("Tender A")
    await tg.send("/help")  # shows the category question again, under a new number
    old = tg.request.last_keyboard(USER)
    assert old is not None
    await tg.send("1")
    await tg.send("Gemeente A")
    await tg.send("/nieuw")
    await tg.send("Tender B")
    assert "Om welk facilitair inkooppakket" in ((tg.request.last_keyboard(USER) or old).text or "")

    await press_old_button_repeatedly(tg, old, {"naam": "Tender B"})


async def test_a_button_from_before_deleting_everything_never_answers(tg: Harness) -> None:
    old = await to_categories(tg)
    menu = (await tg.send("/verwijder"))[-1]
    await tg.press(button(menu, "Al mijn gegevens"), on=menu)
    confirm = tg.request.last_keyboard(USER)
    assert confirm is not None
    await tg.press(button(confirm, "Ja"), on=confirm)
    assert tg.user() is None
    await tg.send("/start")
    await tg.send("Tender B")

    await press_old_button_repeatedly(tg, old, {"naam": "Tender B"})


# ---------------------------------------------------------------------------------------------
# Order, other chats, other people


async def test_a_burst_from_one_buyer_is_handled_in_order(slow_bot: Harness) -> None:
    tg = slow_bot
    prompt = await to_categories(tg)
    await tg.press(button(prompt, "Catering"), on=prompt)
    with rehearsal() as plan:
        plan.answer(naam="Catering <hoofdkantoor> & 2027", categorie="catering")
        start = len(plan.typed_lines)
        questions = []
        for _ in range(4):
            questions.append(plan.question_text)
            plan.answer_one(organisatie="Gemeente Zwolle", org_ambitie="In 2030 klimaatneutraal")
        questions.append(plan.question_text)
        burst, asked = plan.typed_lines[start:], plan.asked[-4:]
        expected = {sid: plan.answers[sid] for sid in asked}
    sent = len(tg.request.sent)

    await asyncio.gather(*(tg.app.process_update(text_update(tg.app.bot, USER, t)) for t in burst))

    answers = tg.answers()
    assert {sid: answers.get(sid) for sid in asked} == expected
    shown = [visible_text(t) for t in messages(tg.request.sent[sent:])]
    positions = [next(i for i, text in enumerate(shown) if q in text) for q in questions[1:]]
    assert positions == sorted(positions), shown


@pytest.mark.parametrize(
    "command", ["/start", "/overzicht", "/wijzig 3", "/start@inkoopkompas_test_bot"]
)
async def test_a_command_in_a_group_gets_the_group_help(tg: Harness, command: str) -> None:
    group = -100123
    calls = await tg.send(command, user=5, chat_id=group)
    assert methods(calls) == ["sendMessage"]
    (reply,) = calls
    assert reply.chat_id == group
    assert visible_text(reply.text) == visible_text(team_texts().html("message.group_help"))
    assert reply.urls == [f"https://t.me/{BOT['username']}?start=groep"]
    assert tg.user(5) is None


async def test_the_allow_list_refuses_everybody_else(guarded: Harness) -> None:
    refusal = TEXTS("telegram.not_allowed")
    for update in (
        text_update(guarded.app.bot, OTHER, "/start"),
        text_update(guarded.app.bot, OTHER, "Catering"),
        media_update(guarded.app.bot, OTHER, "sticker"),
    ):
        calls = await guarded.update(update)
        assert [(c.method, c.chat_id, c.text) for c in calls] == [("sendMessage", OTHER, refusal)]
    calls = await guarded.update(press_update(guarded.app.bot, OTHER, "p:1:0"))
    assert [(c.method, c.params.get("text")) for c in calls] == [("answerCallbackQuery", refusal)]
    assert guarded.user(OTHER) is None
    assert not (guarded.data / "users" / f"tg-{OTHER}").exists()

    calls = await guarded.send("/start")
    assert "Hoe noem je deze aanbesteding?" in messages(calls)[-1]


# ---------------------------------------------------------------------------------------------
# Things that are not answers, and failures


async def test_stickers_photos_and_edits_are_refused_politely_and_change_nothing(
    tg: Harness,
) -> None:
    await to_categories(tg)
    before = tg.answers()
    for kind, what in (("sticker", "een sticker"), ("photo", "een foto"), ("voice", None)):
        calls = await tg.update(media_update(tg.app.bot, USER, kind))
        (shown,) = [c.shown for c in calls if c.method == "sendMessage"]
        assert shown.startswith("Ik kan alleen met tekst en knoppen werken")
        if what:
            assert what in shown
        assert "Om welk facilitair inkooppakket" in shown  # the question, below their message
    calls = await tg.update(edited_update(tg.app.bot, USER, "Andere naam"))
    (shown,) = [c.shown for c in calls if c.method == "sendMessage"]
    assert shown.startswith(visible_text(TEXTS("edited_ignored")))
    assert tg.answers() == before


async def test_a_failure_inside_the_conversation_apologises_and_nothing_is_lost(
    tg: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await to_categories(tg)
    conversation = tg.app.bot_data["private_chat"].conversation
    real: Callable[[str, Event], Reply] = conversation.handle
    failures: list[Event] = []

    def fails_once(user_key: str, event: Event) -> Reply:
        if not failures:
            failures.append(event)
            raise RuntimeError("schijf even weg")
        return real(user_key, event)

    monkeypatch.setattr(conversation, "handle", fails_once)
    before = tg.files()
    with caplog.at_level(logging.ERROR):
        calls = await tg.send("2")

    assert [(c.method, c.text) for c in calls] == [("sendMessage", APOLOGY)]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)
    assert tg.files() == before

    calls = await tg.send("2")
    assert tg.answers() == {"naam": "Catering <hoofdkantoor> & 2027", "categorie": "schoonmaak"}
    assert "Voor welke organisatie koop je in?" in messages(calls)[-1]


# ---------------------------------------------------------------------------------------------
# Sequences the fuzzing (tests/test_fuzz.py) found, pinned down one by one


async def test_going_back_to_an_answered_yes_no_question_shows_it(tg: Harness) -> None:
    for line in lines_to("org_ambitie_bestaat"):
        await tg.send(line)
    keyboard = tg.request.last_keyboard(USER)
    assert keyboard is not None
    await tg.press(button(keyboard, "Ja"))
    assert tg.answers()["org_ambitie_bestaat"] is True

    calls = await tg.send("/terug")

    assert APOLOGY not in messages(calls)
    question = visible_text(messages(calls)[-1])
    assert "Heeft je organisatie al een duurzaamheidsambitie vastgesteld?" in question
    assert "je antwoord nu: ja" in question.lower()


@pytest.mark.parametrize("menu", ["/verwijder", "/hervat"])
async def test_wijzig_while_a_menu_is_open_opens_the_step_menu(tg: Harness, menu: str) -> None:
    await to_categories(tg)
    await tg.send("/nieuw")  # two tenders, so /hervat shows its menu
    await tg.send(menu)

    calls = await tg.send("/wijzig")

    assert APOLOGY not in messages(calls)
    assert visible_text(messages(calls)[-1]).startswith(TEXTS("menu.jump_step"))


async def test_documents_for_a_tender_with_a_long_name_arrive(
    tg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Render in a thread rather than the worker process: the same documents, without spawning.
    monkeypatch.setattr(
        render_pool, "render", lambda request: asyncio.to_thread(render_all, request)
    )
    await tg.send("/start")
    await tg.send("Catering " + "hoofdkantoor " * 30)  # 399 characters; up to 2,000 are accepted

    calls = await tg.send("/download")

    assert APOLOGY not in messages(calls)
    sent = sorted(c.method for c in calls if c.method in ("sendDocument", "sendPhoto"))
    assert sent == ["sendDocument", "sendDocument", "sendPhoto"]


# ---------------------------------------------------------------------------------------------
# The checker itself: it must be able to say no


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"text": "x" * 4097}, "message is too long"),
        ({"text": "<b>" + "x" * 4096 + "</b>", "parse_mode": "HTML"}, None),
        ({"text": "&amp;" * 4097, "parse_mode": "HTML"}, "message is too long"),
        ({"text": "<b>vet", "parse_mode": "HTML"}, "Can't find end tag"),
        ({"text": "<b>a</i>", "parse_mode": "HTML"}, "Unmatched end tag"),
        ({"text": "<div>a</div>", "parse_mode": "HTML"}, 'Unsupported start tag "div"'),
        ({"text": "1 < 2", "parse_mode": "HTML"}, 'Unsupported start tag ""'),
        ({"text": "R&D", "parse_mode": "HTML"}, 'Unescaped "&"'),
        ({"text": "   ", "parse_mode": "HTML"}, "non-empty"),
        ({"text": "ok", "caption": "c" * 1025}, "caption is too long"),
        (
            {
                "text": "ok",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "x" * 65}]]},
            },
            "BUTTON_DATA_INVALID",
        ),
        ({"text": "<b>Goed</b> &lt;b&gt; &amp; 🌱", "parse_mode": "HTML"}, None),
    ],
)
def test_the_limits_checker_refuses_what_telegram_refuses(
    params: dict[str, Any], problem: str | None
) -> None:
    found = telegram_problems(params)
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


async def test_answer_mark_and_photo_caption_are_not_escaped_twice(tg: Harness) -> None:
    # Found in review: "Je antwoord" on the answered question, and the photo caption, showed
    # &amp; for an answer or a name with an ampersand.
    for line in lines_to("themas", naam="Koffie & thee"):
        await tg.send(line)
    await tg.send("Eten & drinken")
    keyboard = tg.request.last_keyboard(USER)
    assert keyboard is not None
    await tg.press(button(keyboard, "Klaar"), on=keyboard)
    marks = [s.shown for s in tg.request.sent if s.ok and "✓ Thema's" in s.shown]
    assert marks
    assert "Eten & drinken" in marks[-1]
    assert "&amp;" not in marks[-1]
    await tg.send("/download")
    captions = [str(s.params.get("caption")) for s in tg.request.sent if s.method == "sendPhoto"]
    assert captions, "no chart was sent"
    assert all("&amp;" not in c for c in captions)
