"""Bad input at the edge of the conversation: odd digits, broken Unicode, control characters and
inputs that grow without end. Each gets a short reply and the same question again, or is stored as
given; none crashes the conversation or makes the store refuse the answer.
"""

from __future__ import annotations

import pytest

from flows.engine import Conversation
from flows.inputs import OWN_OPTIONS_MAX, clean_text, number
from flows.report.summary import chat_summary
from storage import Store
from tests.driver import Driver, active_answers


@pytest.mark.parametrize(("entry", "stored"), [("²⁰³⁰", 2030), ("２０３０", 2030), ("٢٠٣٠", 2030)])
def test_a_year_in_other_digits_is_read_as_that_year(entry: str, stored: int, store: Store) -> None:
    driver = Driver(Conversation(store, buttons=False, summarizer=chat_summary), "cli-y")
    driver.reach("doeljaar")
    driver.say(entry)
    assert active_answers(store, "cli-y")["doeljaar"] == stored


@pytest.mark.parametrize("entry", ["²", "³³", "1" * 40, "2030²x"])
def test_a_year_that_is_no_year_is_asked_again(entry: str, typed: Driver) -> None:
    typed.reach("doeljaar")
    before = typed.prompt.text
    typed.say(entry)
    assert "geen jaartal" in typed.text
    assert typed.prompt.text == before


def test_jump_to_a_step_given_in_superscript_digits(typed: Driver) -> None:
    typed.run(["/start", "Naam"])
    typed.say("/wijzig ³")
    assert "Waardenwiel" in typed.text


def test_a_superscript_number_in_a_menu_picks_that_item(typed: Driver) -> None:
    typed.run(["/start", "Naam", "/wijzig"])
    typed.say("²")
    assert "Voorbereiding" in typed.text


@pytest.mark.parametrize("entry", ["⁹⁹", "0", "-1", "9" * 30, "1.5"])
def test_a_menu_number_out_of_range_is_refused_with_a_reply(entry: str, typed: Driver) -> None:
    typed.run(["/start", "Naam", "/wijzig"])
    typed.say(entry)
    assert "typ een nummer van 1 tot en met" in typed.text


def test_lone_surrogates_are_stored_as_replacement_characters(typed: Driver, store: Store) -> None:
    typed.say("/start")
    typed.say("Catering \ud800 2027 \udfff")
    assert active_answers(store, "cli-test")["naam"] == "Catering \ufffd 2027 \ufffd"
    assert store.check() == []


def test_a_surrogate_pair_stays_the_character_it_encodes() -> None:
    assert clean_text("\ud83c\udf31") == "🌱"


def test_control_characters_are_removed_but_newlines_and_tabs_kept(
    typed: Driver, store: Store
) -> None:
    typed.say("/start")
    typed.say("Cate\x1b[31mring\x00\x85 2027\r\nregel\ttwee\x7f")
    assert active_answers(store, "cli-test")["naam"] == "Cate[31mring 2027\nregel\ttwee"


def test_a_command_with_a_surrogate_gets_an_unknown_command_reply(typed: Driver) -> None:
    typed.say("/start")
    typed.say("/wijzig\ud800")
    assert "\ud800" not in typed.text


def own_themes(count: int, length: int = 12) -> str:
    return ", ".join(f"eigen thema {i}".ljust(length, "x") for i in range(count))


def test_eighty_own_themes_in_one_message_are_refused(typed: Driver, store: Store) -> None:
    typed.reach("themas")
    typed.say(own_themes(80))
    assert f"hoogstens {OWN_OPTIONS_MAX} eigen opties" in typed.text
    assert "themas" not in active_answers(store, "cli-test")
    typed.say(own_themes(OWN_OPTIONS_MAX))
    assert len(active_answers(store, "cli-test")["themas"]) == OWN_OPTIONS_MAX


def test_own_themes_in_many_messages_stay_bounded_with_buttons(
    tapped: Driver, store: Store
) -> None:
    tapped.reach("themas")
    for batch in range(4):
        tapped.say(", ".join(f"thema {batch}-{i}" for i in range(3)))
    labels = [o.label for o in tapped.prompt.options]
    own = [label for label in labels if label.startswith("thema ")]
    assert len(own) <= OWN_OPTIONS_MAX
    assert "eigen opties" in tapped.text


def test_a_very_long_own_option_is_refused(typed: Driver, store: Store) -> None:
    typed.reach("themas")
    typed.say("1, " + "x" * 1500)
    assert "Een eigen optie mag hoogstens" in typed.text
    assert "themas" not in active_answers(store, "cli-test")


@pytest.mark.parametrize(
    ("text", "value"),
    [("7", 7), (" 12. ", 12), ("²", 2), ("٣", 3), ("", None), ("1_000", None), ("9" * 10, None)],
)
def test_number_reads_only_whole_numbers(text: str, value: int | None) -> None:
    assert number(text) == value
