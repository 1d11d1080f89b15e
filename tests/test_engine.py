"""The guided preparation: reaching every step, moving around, validation, several tenders.

Every test here runs twice: on the product's flow and on a copy with required questions of every
kind added (`tests/flowcopy.py`). Tests name questions by id and compute what they expect from the
spec, so a new question in `prompts/flow.yaml` breaks only the tests about that question.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.engine import ALL, Conversation
from flows.events import Event
from flows.inputs import Invalid, parse
from flows.prompting import plain
from flows.report.summary import chat_summary
from flows.spec import FlowSpec, Slot, load_spec
from storage import Store
from tests.driver import CATERING, SKIP, Driver
from tests.flowcopy import EXTRA, extended_flow


@pytest.fixture(params=["flow", pytest.param("extended", marks=pytest.mark.slow)])
def spec(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> FlowSpec:
    if request.param == "flow":
        return load_spec()
    return extended_flow(tmp_path_factory.mktemp("flow"))


@pytest.fixture
def typed(store: Store, spec: FlowSpec) -> Driver:
    conversation = Conversation(store, spec=spec, buttons=False, summarizer=chat_summary)
    return Driver(conversation, "cli-test")


@pytest.fixture
def tapped(store: Store, spec: FlowSpec) -> Driver:
    conversation = Conversation(store, spec=spec, buttons=True, summarizer=chat_summary)
    return Driver(conversation, "tg-1")


def slot(spec: FlowSpec, answers: dict[str, Any], sid: str) -> Slot:
    return next(s for s in spec.slots(answers) if s.id == sid)


def next_open(spec: FlowSpec, answers: dict[str, Any], after: str) -> str:
    """The question the engine should ask after `after`: the first unanswered one behind it."""
    ids = [s.id for s in spec.slots(answers)]
    later = ids[ids.index(after) + 1 :]
    return next(sid for sid in later if sid not in answers)


def progress(d: Driver) -> tuple[int, int]:
    """(position, total) of the current question within its step, as the prompt shows it."""
    spec = d.conversation.spec
    current = d.position.slot
    assert current is not None
    in_step = [s.id for s in spec.slots(d.answers) if s.step.id == current.step.id]
    expected = (in_step.index(current.id) + 1, len(in_step))
    shown = d.conversation.texts(
        "progress",
        number=current.step.number,
        steps=len(spec.counted_steps),
        title=current.step.title,
        position=expected[0],
        total=expected[1],
    )
    assert plain(shown) in d.text
    return expected


def first_question(spec: FlowSpec) -> str:
    return spec.slots({})[0].id


def test_greeting_then_first_question(typed: Driver, spec: FlowSpec) -> None:
    typed.say("/start")
    assert typed.shows("greeting")
    assert typed.question == first_question(spec)
    assert progress(typed)[0] == 1


def test_full_run_visits_every_step_and_finishes(typed: Driver, store: Store) -> None:
    story = {
        **CATERING,
        "doel[klimaat]": "In 2028 50% minder CO2 per maaltijd dan in 2024 🌱",
        "ruimte_innovatie": True,
    }
    typed.complete(**story)
    assert typed.mode == "finished"
    assert typed.shows("finished", name=CATERING["naam"])
    spec = typed.conversation.spec
    assert {spec.step(spec.questions[sid.split("[")[0]].step_id).id for sid in typed.asked} == {
        s.id for s in spec.steps
    }
    saved = typed.answers
    for key in ("categorie", "themas", "niveau[circulariteit]", "niveau[gedragsverandering]"):
        assert saved[key] == story[key]
    assert saved["prioriteit"][:2] == ["circulariteit", "klimaat"]
    assert "doel[gedragsverandering]" not in saved
    assert saved["doel[klimaat]"].endswith("🌱")
    assert saved["ruimte_innovatie"] is True
    assert (store.get_user("cli-test") or {})["mode"] == "finished"


def test_progress_marker_counts_questions_within_the_step(typed: Driver) -> None:
    typed.reach("huidige_situatie")
    position, total = progress(typed)
    typed.give("Situatie")
    assert progress(typed) == (position + 1, total)


def test_back_shows_previous_answer_and_returns_to_where_you_were(typed: Driver) -> None:
    typed.answer(naam="Schoonmaak 2026", categorie="schoonmaak", organisatie="Provincie")
    typed.say("/terug")
    assert typed.question == "organisatie"
    assert "Provincie" in typed.text
    typed.say("/terug")
    previous = typed.asked[-2]
    assert typed.question == previous
    typed.give(typed.default())
    # the next open question, not the one already answered
    assert typed.question == next_open(typed.conversation.spec, typed.answers, previous)
    assert typed.answers["organisatie"] == "Provincie"


def test_back_at_first_question_says_so(typed: Driver, spec: FlowSpec) -> None:
    typed.say("/start")
    typed.say("/terug")
    assert typed.shows("first_question")
    assert typed.question == first_question(spec)


def test_keep_moves_on_without_changing(typed: Driver, spec: FlowSpec) -> None:
    typed.answer(organisatie="Org")
    typed.say("/terug")
    assert typed.question == "organisatie"
    typed.say("/verder")
    assert typed.question == next_open(spec, typed.answers, "organisatie")
    assert typed.answers["organisatie"] == "Org"


def test_skip_optional_but_not_required(typed: Driver, spec: FlowSpec) -> None:
    typed.reach("ontwikkelingen")
    typed.say("/overslaan")
    assert typed.shows("skipped")
    assert typed.question != "ontwikkelingen"
    assert "ontwikkelingen" in typed.position.skipped
    assert "ontwikkelingen" not in typed.answers
    typed.reach("leveranciersveld")
    typed.say("/overslaan")
    assert typed.shows("cannot_skip", kind="text")
    assert typed.question == "leveranciersveld"


def test_jump_and_return(typed: Driver) -> None:
    typed.reach("stakeholders")
    typed.say("/wijzig")
    assert typed.menu == "jump_step"
    typed.choose("start")
    assert typed.menu == "jump_question"
    typed.choose("categorie")
    assert typed.question == "categorie"
    typed.give("warme_dranken")
    # back where we were
    assert typed.question == "stakeholders"
    assert typed.answers["categorie"] == "warme_dranken"


def test_jump_menu_counts_answered_questions_per_step(typed: Driver, spec: FlowSpec) -> None:
    typed.reach("huidige_situatie")
    typed.say("/wijzig")
    start = [s for s in spec.slots(typed.answers) if s.step.id == "start"]
    label = typed.conversation.texts(
        "menu.step_label", number=None, title="Start", done=len(start), total=len(start)
    )
    assert plain(label) in typed.text


def test_jump_straight_to_a_step_number_and_cancel(typed: Driver, spec: FlowSpec) -> None:
    typed.reach("huidige_situatie")
    typed.say("/wijzig 3")
    assert typed.menu == "jump_question"
    step = spec.counted_steps[2]
    menu = typed.position.menu
    assert menu is not None
    assert list(menu.values) == [s.id for s in spec.slots(typed.answers) if s.step.id == step.id]
    typed.say("/annuleren")
    assert typed.shows("menu.cancelled")
    assert typed.question == "huidige_situatie"


def test_menu_refuses_numbers_out_of_range(typed: Driver, spec: FlowSpec) -> None:
    typed.answer(naam="A")
    typed.run(["/wijzig", str(len(spec.steps) + 1)])
    assert typed.shows("menu.pick_number", count=len(spec.steps))
    assert typed.menu == "jump_step"


def test_condition_org_ambition_and_complex_chain(typed: Driver, spec: FlowSpec) -> None:
    typed.answer(org_ambitie_bestaat=True)
    assert typed.question == "org_ambitie"
    typed.reach("ketencomplexiteit")
    typed.give("complex")
    assert typed.question == "keten_risicoschakels"
    typed.say("/terug")
    typed.give("eenvoudig")
    applicable = {s.id for s in spec.slots(typed.answers)}
    assert "keten_risicoschakels" not in applicable
    assert typed.question == next_open(spec, typed.answers, "ketencomplexiteit")


def test_one_block_per_theme_in_priority_order(typed: Driver) -> None:
    typed.reach(
        "niveau",
        themas=["klimaat", "circulariteit", "social_return"],
        prioriteit=["circulariteit", "klimaat", "social_return"],
    )
    assert typed.question == "niveau[circulariteit]"
    assert "Circulariteit en biobased" in typed.text
    typed.give(3)
    assert typed.question == "doel[circulariteit]"
    typed.give("doel")
    typed.give(SKIP)
    assert typed.question == "niveau[klimaat]"
    typed.give(0)
    # level 0 asks no goal or indicator for that theme
    assert typed.question == "niveau[social_return]"


def test_pillar_warning_when_one_is_missing(typed: Driver, spec: FlowSpec) -> None:
    typed.reach("themas")
    typed.give(["milieu", "klimaat"])
    coverage = spec.questions["themas"].coverage
    assert coverage is not None
    missing = " en ".join(spec.pillars[p] for p in ("samenwerking", "gedragsverandering"))
    assert plain(typed.conversation.texts.inline(coverage.warning, missing=missing)) in typed.text
    assert typed.question == next_open(spec, typed.answers, "themas")


@pytest.mark.parametrize(
    ("question", "bad"),
    [
        ("naam", "   "),
        ("naam", "n" * 121),
        ("organisatie", "x" * 2001),
        ("categorie", "11"),
        ("org_ambitie_bestaat", "misschien"),
        ("themas", "1,99"),
        ("prioriteit", "1,1"),
        ("doeljaar", "volgend jaar"),
        ("niveau", "5"),
    ],
)
def test_invalid_answers_repeat_the_question(typed: Driver, question: str, bad: str) -> None:
    typed.reach(question, themas=["milieu", "klimaat"])
    current = typed.position
    assert current.slot is not None
    before = dict(typed.answers)
    typed.say(bad)
    q = current.slot.question
    spec = typed.conversation.spec
    invalid = parse(q, list(current.choices), bad, q.max_length or spec.text_max)
    assert isinstance(invalid, Invalid)
    assert typed.shows(f"invalid.{invalid.key}", **invalid.params)
    assert typed.question == current.slot.id
    assert typed.answers == before


def test_own_option_is_kept_as_typed(typed: Driver) -> None:
    typed.answer(categorie="Parkeerbeheer")
    assert typed.answers["categorie"] == "Parkeerbeheer"


def test_several_tenders_side_by_side(typed: Driver, store: Store) -> None:
    typed.answer(naam="Eerste", organisatie="Org A")
    first = typed.position.tender_id
    typed.say("/nieuw")
    assert typed.shows("new_tender", previous="Eerste")
    assert typed.position.tender_id not in (None, first)
    typed.answer(naam="Tweede")
    assert len(store.list_tenders("cli-test")) == 2
    typed.say("/hervat")
    assert typed.menu == "resume"
    assert first is not None
    typed.choose(first)
    assert typed.shows("switched", name="Eerste")
    assert typed.position.tender_id == first
    assert typed.answers["organisatie"] == "Org A"
    assert typed.question == next_open(typed.conversation.spec, typed.answers, "organisatie")


def test_delete_one_tender_after_confirmation(typed: Driver, store: Store) -> None:
    typed.answer(naam="Eerste")
    typed.say("/nieuw")
    typed.answer(naam="Tweede")
    second = typed.position.tender_id
    assert second is not None
    typed.say("/verwijder")
    menu = typed.position.menu
    assert menu is not None
    assert menu.values[-1] == ALL
    typed.choose(second)
    assert typed.menu == "confirm"
    typed.choose("nee")
    assert len(store.list_tenders("cli-test")) == 2
    typed.say("/verwijder")
    typed.choose(second)
    typed.choose("ja")
    assert typed.shows("deleted_tender", name="Eerste")
    assert [t["name"] for t in store.list_tenders("cli-test")] == ["Eerste"]


def test_delete_everything_removes_files(typed: Driver, store: Store, spec: FlowSpec) -> None:
    typed.answer(naam="Eerste", categorie="catering")
    typed.say("/verwijder")
    typed.choose(ALL)
    typed.choose("ja")
    assert typed.shows("deleted_all")
    assert store.get_user("cli-test") is None
    assert not list(store.root.rglob("*.json"))
    typed.say("hallo")
    assert typed.question == first_question(spec)


def test_pause_and_resume_later_in_a_new_process(store: Store, spec: FlowSpec) -> None:
    first = Driver(Conversation(store, spec=spec, buttons=False), "cli-x")
    first.answer(naam="A", categorie="catering")
    first.say("/stop")
    assert first.mode == "paused"
    assert first.shows("paused", name="A")
    second = Driver(Conversation(store, spec=spec, buttons=False), "cli-x")
    second.say("/start")
    assert second.shows("welcome_back", name="A")
    assert second.question == next_open(spec, second.answers, "categorie")


def test_a_typed_answer_after_pausing_resumes(typed: Driver) -> None:
    typed.answer(naam="A")
    asked = typed.question
    typed.run(["/stop", "hallo"])
    assert typed.shows("resumed", name="A")
    assert typed.mode == "asking"
    assert typed.question == asked


def test_unknown_command_and_media_keep_the_question(typed: Driver) -> None:
    typed.reach("categorie")
    typed.say("/onzin")
    assert typed.shows("unknown_command", name="onzin")
    assert typed.question == "categorie"
    typed.send(Event.media("een sticker"))
    assert typed.shows("media_refused", what="een sticker")
    assert typed.question == "categorie"


def test_overview_groups_answers_by_step(typed: Driver) -> None:
    typed.answer(naam="Naam <b>vet</b>", organisatie="Org")
    typed.say("/overzicht")
    assert typed.shows("overview_title", name="Naam <b>vet</b>")
    assert "Voorbereiding" in typed.text
    raw = "\n".join(m.text for m in typed.last.messages)
    assert "&lt;b&gt;vet&lt;/b&gt;" in raw
    assert "<b>vet</b>" not in raw


def test_overview_pages_cut_between_questions_never_inside_one(tapped: Driver) -> None:
    tapped.say("/start")
    tapped.say("Paginatest")
    tapped.complete()
    conv = tapped.conversation
    session = conv.load(tapped.user)
    args = (conv.slots(session), session.answers, session.skipped)
    whole = conv.prompter.overview(*args)
    pages = conv.prompter.overview_pages(*args, size=400)
    assert len(pages) > 5
    for page in pages:
        rows = page.count("\n· ")
        assert rows >= 1, page  # a page never starts inside a question
        assert len(plain(page)) <= 400 or rows == 1, page
    # every question appears once, on some page, in the same order as the whole overview
    questions = [line for line in plain(whole).splitlines() if line.startswith("· ")]
    paged = [line for p in pages for line in plain(p).splitlines() if line.startswith("· ")]
    assert paged == questions
    assert any("(vervolg)" in p for p in pages)


def test_help_explains_the_question_and_lists_commands(typed: Driver, spec: FlowSpec) -> None:
    typed.reach("categorie")
    typed.say("/help")
    help_text = spec.questions["categorie"].help
    assert help_text is not None
    assert " ".join(help_text.split()[:5]) in typed.text
    assert "/wijzig" in typed.text
    assert "/verwijder" in typed.text
    assert typed.question == "categorie"


def test_buttons_toggle_multi_choice_then_done(tapped: Driver) -> None:
    tapped.reach("themas")
    tapped.tap("Klimaat")
    assert tapped.prompt.edit
    tapped.tap("Milieu")
    tapped.tap("Klimaat")
    selected = [o.label for o in tapped.prompt.options if o.selected]
    assert selected == ["Milieu"]
    tapped.say("Geluid")
    tapped.done()
    assert tapped.answers["themas"] == ["milieu", "Geluid"]


def test_buttons_order_by_tapping(tapped: Driver) -> None:
    tapped.reach("prioriteit", themas=["klimaat", "circulariteit", "social_return"])
    tapped.tap("Social return")
    assert tapped.prompt.options[2].label.startswith("1. ")
    tapped.done()
    assert tapped.answers["prioriteit"] == ["social_return", "klimaat", "circulariteit"]


def test_old_button_never_answers_another_question(tapped: Driver) -> None:
    tapped.reach("categorie")
    old = tapped.prompt
    tapped.give("catering")
    asked = tapped.question
    tapped.send(Event.pick(1, old.seq))
    assert tapped.shows("stale_button")
    assert tapped.last.toast
    assert tapped.answers["categorie"] == "catering"
    assert asked not in tapped.answers
    assert tapped.question == asked


def test_tender_name_has_its_own_sane_maximum(typed: Driver, spec: FlowSpec) -> None:
    limit = spec.questions["naam"].max_length
    assert limit is not None
    typed.reach("naam")
    typed.say("n" * (limit + 1))
    assert typed.question == "naam"
    typed.say("n" * limit)
    assert typed.answers["naam"] == "n" * limit


def test_prompt_numbers_never_repeat_across_tenders_and_deletion(tapped: Driver) -> None:
    # Found by fuzzing: after /nieuw or "delete everything" the counter went back, so an old
    # button could match a new prompt and answer the wrong question.
    tapped.answer(naam="Tender A")
    old = tapped.prompt
    tapped.run(["/help", "/nieuw"])
    tapped.answer(naam="Tender B")
    for _ in range(6):
        tapped.send(Event.pick(1, old.seq))
        assert tapped.shows("stale_button")
    tapped.say("/verwijder")
    tapped.choose(ALL)
    tapped.choose("ja")
    tapped.answer(naam="Tender C")
    for _ in range(6):
        tapped.send(Event.pick(1, old.seq))
        assert tapped.shows("stale_button")


@pytest.mark.parametrize("menu", ["/hervat", "/verwijder", "/wijzig"])
def test_jump_menu_opens_from_any_other_menu(typed: Driver, menu: str) -> None:
    # Found by fuzzing: /wijzig while another menu was open raised a state-machine error.
    typed.answer(naam="A")
    typed.say("/nieuw")
    typed.answer(naam="B")
    typed.run([menu, "/wijzig"])
    assert typed.menu == "jump_step"


def test_back_to_an_answered_yes_no_question(typed: Driver) -> None:
    # Found by fuzzing: the prompt tried to list a yes/no answer as if it were a list.
    typed.answer(org_ambitie_bestaat=True)
    typed.say("/terug")
    assert typed.question == "org_ambitie_bestaat"
    assert [o.label for o in typed.prompt.options if o.selected] == ["Ja"]


def test_a_tender_saved_before_its_person_is_picked_up(store: Store, spec: FlowSpec) -> None:
    # A crash between saving a new buyer's first tender and their own document.
    orphan = store.create_tender("cli-new", {"name": "Halverwege"})
    driver = Driver(Conversation(store, spec=spec, buttons=False), "cli-new")
    driver.say("/start")
    assert driver.shows("welcome_back", name="Halverwege")
    assert driver.question == first_question(spec)
    assert (store.get_user("cli-new") or {})["active"] == orphan.id


def test_delete_confirmation_and_menu_labels_are_escaped_once(tapped: Driver) -> None:
    # Found in review: the confirmation was escaped twice and labels carried HTML entities.
    tapped.answer(naam="Catering & schoonmaak")
    tender = tapped.position.tender_id
    assert tender is not None
    tapped.say("/verwijder")
    labels = [o.label for o in tapped.prompt.options]
    assert labels[0].startswith("Catering & schoonmaak · ")
    tapped.choose(tender)
    assert "<b>Catering &amp; schoonmaak</b>" in tapped.prompt.text


def test_forged_index_past_own_options_is_stale_not_a_crash(tapped: Driver) -> None:
    # Found in review: the bounds check counted every draft value, not only own options.
    tapped.reach("themas")
    tapped.tap("Milieu")
    count = len(tapped.prompt.options)
    tapped.send(Event.pick(count, tapped.prompt.seq))
    assert tapped.shows("stale_button")


def test_drivers_finish_a_flow_with_added_questions(tmp_path: Path) -> None:
    spec = extended_flow(tmp_path)
    for buttons in (False, True):
        store = Store(tmp_path / f"data-{buttons}")
        driver = Driver(Conversation(store, spec=spec, buttons=buttons), "u")
        driver.complete(**CATERING, extra_keuze="indicatie")
        assert driver.mode == "finished"
        assert set(EXTRA) <= set(driver.answers)
        assert driver.answers["extra_keuze"] == "indicatie"
        assert driver.answers["categorie"] == "catering"


@pytest.mark.parametrize("menu", ["/overzicht", "/wijzig", "/verwijder"])
def test_the_summary_closes_an_open_menu_and_brings_the_question_back(
    tapped: Driver, menu: str
) -> None:
    """Asked for while a menu is open, the summary is what the person wants now: after it comes
    their question, not the menu they left (found looking at the chat: the overview came back
    under the summary and its files)."""
    tapped.say("/start")
    tapped.say("Samenvattingtest")
    asked = tapped.question
    tapped.say(menu)
    assert tapped.mode != "asking"
    tapped.say("/samenvatting")
    assert tapped.mode == "asking"
    assert tapped.menu is None
    assert tapped.question == asked
    assert tapped.question_text in plain(tapped.last.messages[-1].text)  # last, below the summary
