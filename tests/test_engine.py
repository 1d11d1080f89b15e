"""The guided preparation: reaching every step, moving around, validation, several tenders."""

from __future__ import annotations

import re

import pytest

from flows.engine import Conversation
from flows.events import Event
from flows.spec import load_spec
from storage import Store
from tests.driver import Driver, full_script

SPEC = load_spec()


def progress(d: Driver) -> str:
    return d.text.split("\n")[-1] if False else _progress_line(d.text)


def _progress_line(text: str) -> str:
    found = re.findall(r"^(?:Stap \d/7 · .+|Start) · vraag \d+/\d+$", text, re.M)
    assert found, text
    return found[-1]


def answers(store: Store, user: str) -> dict[str, object]:
    doc = store.get_user(user)
    assert doc is not None
    tender = store.get_tender(user, doc["active"])
    assert tender is not None
    return tender.answers


def test_greeting_then_first_question(typed: Driver) -> None:
    typed.say("/start")
    assert "Inkoopkompas" in typed.text
    assert _progress_line(typed.text) == "Start · vraag 1/4"
    assert "Hoe noem je deze aanbesteding?" in typed.text


def test_full_run_visits_every_step_and_finishes(typed: Driver, store: Store) -> None:
    typed.say("/start")
    seen = set()
    for line in full_script():
        seen.add(_progress_line(typed.text).split(" · vraag")[0])
        typed.say(line)
    assert "Je hebt alle vragen" in typed.text
    titles = {f"Stap {s.number}/7 · {s.title}" for s in SPEC.counted_steps}
    assert titles | {"Start"} == seen
    saved = answers(store, "cli-test")
    assert saved["categorie"] == "catering"
    assert saved["themas"] == [
        "klimaat",
        "circulariteit",
        "social_return",
        "samenwerking",
        "gedragsverandering",
    ]
    assert saved["prioriteit"][:2] == ["circulariteit", "klimaat"]
    assert saved["niveau[circulariteit]"] == 3
    assert saved["niveau[gedragsverandering]"] == 0
    assert "doel[gedragsverandering]" not in saved
    assert saved["doel[klimaat]"].endswith("🌱")
    assert saved["ruimte_innovatie"] is True


def test_progress_marker_counts_questions_within_the_step(typed: Driver) -> None:
    typed.run(["/start", "Naam", "1", "Org", "nee"])
    assert _progress_line(typed.text) == "Stap 1/7 · Voorbereiding · vraag 1/4"
    typed.say("Situatie")
    assert _progress_line(typed.text) == "Stap 1/7 · Voorbereiding · vraag 2/4"


def test_back_shows_previous_answer_and_returns_to_where_you_were(
    typed: Driver, store: Store
) -> None:
    typed.run(["/start", "Schoonmaak 2026", "2", "Provincie"])
    typed.say("/terug")
    assert "Voor welke organisatie" in typed.text
    assert "Je antwoord nu: Provincie" in typed.text
    typed.say("/terug")
    assert "Je antwoord nu: Schoonmaak" in typed.text
    typed.say("3")
    # the next open question, not the one already answered
    assert "duurzaamheidsambitie" in typed.text
    saved = answers(store, "cli-test")
    assert saved["categorie"] == "ict_print"
    assert saved["organisatie"] == "Provincie"


def test_back_at_first_question_says_so(typed: Driver) -> None:
    typed.say("/start")
    typed.say("/terug")
    assert "Dit is de eerste vraag" in typed.text
    assert "Hoe noem je" in typed.text


def test_keep_moves_on_without_changing(typed: Driver, store: Store) -> None:
    typed.run(["/start", "A", "1", "Org", "/terug", "/verder"])
    assert "duurzaamheidsambitie" in typed.text
    assert answers(store, "cli-test")["organisatie"] == "Org"


def test_skip_optional_but_not_required(typed: Driver, store: Store) -> None:
    typed.run(["/start", "A", "1", "Org", "nee", "Situatie", "Iedereen"])
    assert "nieuwe ontwikkelingen" in typed.text
    typed.say("/overslaan")
    assert "Overgeslagen" in typed.text
    assert "vergelijkbare aanbestedingen" in typed.text
    typed.say("/overslaan")
    typed.say("/overslaan")
    assert "niet overslaan" in typed.text
    assert "Welke leveranciers" in typed.text
    assert "ontwikkelingen" not in answers(store, "cli-test")


def test_jump_and_return(typed: Driver, store: Store) -> None:
    typed.run(["/start", "A", "1", "Org", "nee", "Situatie"])
    typed.say("/wijzig")
    assert "Naar welke stap" in typed.text
    assert "Start (4/4)" in typed.text
    typed.say("1")
    assert "Welke vraag uit Start" in typed.text
    typed.say("2")
    assert "Om welk facilitair" in typed.text
    typed.say("8")
    # back where we were: the stakeholder question
    assert "Wie wil je betrekken" in typed.text
    assert answers(store, "cli-test")["categorie"] == "warme_dranken"


def test_jump_straight_to_a_step_number_and_cancel(typed: Driver) -> None:
    typed.run(["/start", "A", "1", "Org", "nee"])
    typed.say("/wijzig 3")
    assert "Welke vraag uit Waardenwiel" in typed.text
    typed.say("/annuleren")
    assert "Geannuleerd" in typed.text
    assert "Hoe ziet de huidige situatie" in typed.text


def test_menu_refuses_numbers_out_of_range(typed: Driver) -> None:
    typed.run(["/start", "A", "/wijzig", "99"])
    assert "typ een nummer van 1 tot en met 8" in typed.text


def test_condition_org_ambition_and_complex_chain(typed: Driver) -> None:
    typed.run(["/start", "A", "1", "Org", "ja"])
    assert "Wat is die ambitie" in typed.text
    typed.run(["Klimaatneutraal", "s", "s", "/overslaan", "/overslaan", "veld"])
    assert "Hoe ingewikkeld" in typed.text
    typed.say("3")
    assert "meest risicovol" in typed.text
    typed.run(["/terug", "1"])
    assert "meest risicovol" not in typed.text
    assert "MVO-risico" in typed.text


def test_one_block_per_theme_in_priority_order(typed: Driver) -> None:
    lines = full_script()
    typed.run(["/start", *lines[: lines.index("2030")]])
    typed.say("2030")
    assert "Welk ambitieniveau kies je voor Circulariteit en biobased?" in typed.text
    typed.say("3")
    assert "Wat wil je voor Circulariteit en biobased bereiken?" in typed.text
    typed.run(["doel", "/overslaan"])
    assert "Welk ambitieniveau kies je voor Klimaat?" in typed.text
    typed.say("0")
    # level 0 asks no goal or indicator for that theme
    assert "Welk ambitieniveau kies je voor Social return?" in typed.text


def test_pillar_warning_when_one_is_missing(typed: Driver) -> None:
    lines = full_script()
    typed.run(["/start", *lines[: lines.index("2,3,5,13,15")]])
    typed.say("1,2")
    assert "de samenwerkingspijler en de pijler gedragsverandering ontbreekt" in typed.text
    assert "Zet de thema's op volgorde" in typed.text


@pytest.mark.parametrize(
    ("kind_setup", "bad", "message"),
    [
        ([], "   ", "leeg antwoord"),
        ([], "x" * 2001, "2.001 tekens"),
        (["A"], "11", "Typ een van deze nummers"),
        (["A", "1", "Org"], "misschien", "Typ een van deze nummers"),
    ],
)
def test_invalid_answers_repeat_the_question(
    typed: Driver, kind_setup: list[str], bad: str, message: str
) -> None:
    typed.run(["/start", *kind_setup])
    before = _progress_line(typed.text)
    typed.say(bad)
    assert message in typed.text
    assert _progress_line(typed.text) == before


def test_invalid_multi_order_level_and_year(typed: Driver) -> None:
    lines = full_script()
    typed.run(["/start", *lines[: lines.index("2,3,5,13,15")]])
    typed.say("1,99")
    assert '"99" staat niet in de lijst' in typed.text
    typed.say("2,3")
    typed.say("1,1")
    assert "twee keer" in typed.text
    typed.say("2")
    typed.say("volgend jaar")
    assert "geen jaartal" in typed.text
    typed.say("2031")
    typed.say("5")
    assert "Typ een van deze nummers (0, 1, 2, 3)" in typed.text


def test_own_option_is_kept_as_typed(typed: Driver, store: Store) -> None:
    typed.run(["/start", "A", "Parkeerbeheer"])
    assert answers(store, "cli-test")["categorie"] == "Parkeerbeheer"


def test_several_tenders_side_by_side(typed: Driver, store: Store) -> None:
    typed.run(["/start", "Eerste", "1", "Org A"])
    typed.say("/nieuw")
    assert "Eerste" in typed.text
    assert "blijft bewaard" in typed.text
    typed.run(["Tweede", "2"])
    assert len(store.list_tenders("cli-test")) == 2
    typed.say("/hervat")
    assert "Met welke aanbesteding" in typed.text
    names = [o.label for o in typed.prompt.options]
    index = next(i for i, n in enumerate(names) if n.startswith("Eerste"))
    typed.say(str(index + 1))
    assert "Je werkt nu aan Eerste" in typed.text
    assert "duurzaamheidsambitie" in typed.text
    assert answers(store, "cli-test")["organisatie"] == "Org A"


def test_delete_one_tender_after_confirmation(typed: Driver, store: Store) -> None:
    typed.run(["/start", "Eerste", "/nieuw", "Tweede"])
    typed.say("/verwijder")
    labels = [o.label for o in typed.prompt.options]
    assert labels[-1] == "Al mijn gegevens"
    typed.say(str(next(i for i, n in enumerate(labels) if n.startswith("Tweede")) + 1))
    assert "Weet je zeker" in typed.text
    typed.say("2")
    assert len(store.list_tenders("cli-test")) == 2
    typed.say("/verwijder")
    labels = [o.label for o in typed.prompt.options]
    typed.say(str(next(i for i, n in enumerate(labels) if n.startswith("Tweede")) + 1))
    typed.say("1")
    assert "Verwijderd" in typed.text
    assert "Eerste" in typed.text
    assert [t["name"] for t in store.list_tenders("cli-test")] == ["Eerste"]


def test_delete_everything_removes_files(typed: Driver, store: Store) -> None:
    typed.run(["/start", "Eerste", "1"])
    typed.run(["/verwijder", "2", "1"])
    assert "Al je gegevens zijn verwijderd" in typed.text
    assert store.get_user("cli-test") is None
    assert not list(store.root.rglob("*.json"))
    typed.say("hallo")
    assert "Hoe noem je deze aanbesteding?" in typed.text


def test_pause_and_resume_later_in_a_new_process(store: Store) -> None:
    first = Driver(Conversation(store, buttons=False), "cli-x")
    first.run(["/start", "A", "1", "/stop"])
    assert "Gepauzeerd" in first.text
    second = Driver(Conversation(store, buttons=False), "cli-x")
    second.say("/start")
    assert "Welkom terug bij A" in second.text
    assert "Voor welke organisatie" in second.text


def test_unknown_command_and_media_keep_the_question(typed: Driver) -> None:
    typed.run(["/start", "A"])
    typed.say("/onzin")
    assert "Die opdracht (/onzin) ken ik niet" in typed.text
    assert "Om welk facilitair" in typed.text
    typed.send(Event.media("een sticker"))
    assert "niet met een sticker" in typed.text
    assert "Om welk facilitair" in typed.text


def test_overview_groups_answers_by_step(typed: Driver) -> None:
    typed.run(["/start", "Naam <b>vet</b>", "1", "Org", "/overzicht"])
    assert "Overzicht van Naam <b>vet</b>" in typed.text
    assert "Stap 1 · Voorbereiding" in typed.text
    assert "nog niet beantwoord" in typed.text
    raw = "\n".join(m.text for m in typed.last.messages)
    assert "&lt;b&gt;vet&lt;/b&gt;" in raw


def test_help_explains_the_question_and_lists_commands(typed: Driver) -> None:
    typed.run(["/start", "A", "/help"])
    assert "Over deze vraag" in typed.text
    assert "/wijzig" in typed.text
    assert "/verwijder" in typed.text


def test_buttons_toggle_multi_choice_then_done(tapped: Driver, store: Store) -> None:
    lines = full_script()
    tapped.run(["/start", *lines[: lines.index("2,3,5,13,15")]])
    tapped.tap("Klimaat")
    assert tapped.prompt.edit
    tapped.tap("Milieu")
    tapped.tap("Klimaat")
    selected = [o.label for o in tapped.prompt.options if o.selected]
    assert selected == ["Milieu"]
    tapped.say("Geluid")
    tapped.done()
    assert answers(store, "tg-1")["themas"] == ["milieu", "Geluid"]


def test_buttons_order_by_tapping(tapped: Driver, store: Store) -> None:
    lines = full_script()
    tapped.run(["/start", *lines[: lines.index("2,3,5,13,15")]])
    tapped.say("2,3,5")
    tapped.done()
    tapped.tap("Social return")
    assert tapped.prompt.options[2].label.startswith("1. ")
    tapped.done()
    assert answers(store, "tg-1")["prioriteit"][0] == "social_return"


def test_old_button_never_answers_another_question(tapped: Driver, store: Store) -> None:
    tapped.run(["/start", "A"])
    old = tapped.prompt
    tapped.tap("Catering")
    tapped.send(Event.pick(1, old.seq))
    assert "eerdere vraag" in tapped.text
    assert answers(store, "tg-1")["categorie"] == "catering"
    assert "organisatie" not in answers(store, "tg-1")
    assert tapped.last.toast


def test_tender_name_has_its_own_sane_maximum(typed: Driver, store: Store) -> None:
    typed.say("/start")
    typed.say("n" * 121)
    assert "121 tekens" in typed.text
    assert "Hoe noem je deze aanbesteding?" in typed.text
    typed.say("n" * 120)
    assert answers(store, "cli-test")["naam"] == "n" * 120


def test_prompt_numbers_never_repeat_across_tenders_and_deletion(tapped: Driver) -> None:
    # Found by fuzzing: after /nieuw or "delete everything" the counter went back, so an old
    # button could match a new prompt and answer the wrong question.
    tapped.run(["/start", "Tender A"])
    old = tapped.prompt
    tapped.run(["/help", "/nieuw", "Tender B"])
    for _ in range(6):
        tapped.send(Event.pick(1, old.seq))
        assert "eerdere vraag" in tapped.text
    tapped.run(["/verwijder"])
    tapped.tap("Al mijn gegevens")
    tapped.tap("Ja, verwijderen")
    tapped.run(["/start", "Tender C"])
    for _ in range(6):
        tapped.send(Event.pick(1, old.seq))
        assert "eerdere vraag" in tapped.text


@pytest.mark.parametrize("menu", ["/hervat", "/verwijder", "/wijzig"])
def test_jump_menu_opens_from_any_other_menu(typed: Driver, menu: str) -> None:
    # Found by fuzzing: /wijzig while another menu was open raised a state-machine error.
    typed.run(["/start", "A", "/nieuw", "B", menu, "/wijzig"])
    assert "Naar welke stap wil je?" in typed.text


def test_back_to_an_answered_yes_no_question(typed: Driver) -> None:
    # Found by fuzzing: the prompt tried to list a yes/no answer as if it were a list.
    typed.run(["/start", "A", "1", "Org", "ja", "/terug"])
    assert "Je antwoord nu: ja" in typed.text


def test_a_tender_saved_before_its_person_is_picked_up(store: Store) -> None:
    # A crash between saving a new buyer's first tender and their own document.
    orphan = store.create_tender("cli-new", {"name": "Halverwege"})
    driver = Driver(Conversation(store, buttons=False), "cli-new")
    driver.say("/start")
    assert "Welkom terug bij Halverwege" in driver.text
    assert "Hoe noem je deze aanbesteding?" in driver.text
    assert store.get_user("cli-new")["active"] == orphan.id


def test_delete_confirmation_and_menu_labels_are_escaped_once(tapped: Driver) -> None:
    # Found in review: the confirmation was escaped twice and labels carried HTML entities.
    tapped.run(["/start", "Catering & schoonmaak", "/verwijder"])
    labels = [o.label for o in tapped.prompt.options]
    assert labels[0].startswith("Catering & schoonmaak · bijgewerkt")
    tapped.tap("Catering & schoonmaak")
    raw = tapped.prompt.text
    assert "<b>Catering &amp; schoonmaak</b>" in raw


def test_forged_index_past_own_options_is_stale_not_a_crash(tapped: Driver) -> None:
    # Found in review: the bounds check counted every draft value, not only own options.
    lines = full_script()
    tapped.run(["/start", *lines[: lines.index("2,3,5,13,15")]])
    tapped.tap("Milieu")
    count = len(tapped.prompt.options)
    tapped.send(Event.pick(count, tapped.prompt.seq))
    assert "eerdere vraag" in tapped.text
