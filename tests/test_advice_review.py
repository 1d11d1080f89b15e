"""The expert buyer's review of the advice output, one table per finding, on the real knowledge
base and the committed examples: what a colleague would otherwise have to fix by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.advice import Advice, build_advice
from flows.measures import default_measures
from flows.report.answers_file import load_answers_file
from flows.report.context import ReportBuilder
from flows.report.docx_doc import report_docx
from flows.spec import load_spec
from flows.texts import default_texts

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = ("catering", "schoonmaak", "ict", "groen_terrein")
SPEC = load_spec()
TEXTS = default_texts()


def example(name: str) -> dict[str, Any]:
    return dict(load_answers_file(EXAMPLES / f"{name}.yaml").answers)


def advise(a: dict[str, Any]) -> Advice:
    return build_advice(SPEC, a, default_measures(), TEXTS)


def say(key: str, **params: Any) -> str:
    return TEXTS(key, **params)


# --- 1. one clause per subject ----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("level", [1, 2, 3])
def test_one_social_return_clause_on_one_basis(name: str, level: int) -> None:
    a = example(name)
    a["niveau[social_return]"] = level
    if "social_return" not in a["themas"]:
        a["themas"] = [*a["themas"], "social_return"]
        a["prioriteit"] = [*a["prioriteit"], "social_return"]
    clauses = [
        i for i in advise(a).items if i.section == "contractbepaling" and i.theme == "social_return"
    ]
    assert len(clauses) == 1


MEETING_WISHES = ("sturen_op_ambitie", "samen_ambitie")


@pytest.mark.parametrize("with_theme", [True, False])
@pytest.mark.parametrize("wishes", [list(MEETING_WISHES), ["sturen_op_ambitie"], ["samen_ambitie"]])
def test_one_governance_clause(with_theme: bool, wishes: list[str]) -> None:
    a = example("catering")
    a["sturing"] = [w for w in wishes if w == "sturen_op_ambitie"] + ["kpi_rapportage"]
    a["ontwikkeling"] = [w for w in wishes if w == "samen_ambitie"] + ["proeftuinen"]
    if not with_theme:
        a["themas"] = [t for t in a["themas"] if t != "samenwerking"]
        a["prioriteit"] = [t for t in a["prioriteit"] if t != "samenwerking"]
    labels = [
        SPEC.label("sturing", "sturen_op_ambitie"),
        SPEC.label("ontwikkeling", "samen_ambitie"),
    ]
    meetings = [
        i
        for i in advise(a).items
        if i.section == "contractbepaling"
        and (
            i.measure == "samenwerking-overleg"
            or any(lab.lower() in i.reason.lower() for lab in labels)
        )
    ]
    assert len(meetings) == 1


def test_roadmap_is_built_from_the_theme_plans_not_beside_them() -> None:
    result = advise(example("catering"))
    plans = [
        i.theme_label
        for i in result.items
        if i.section == "gunningscriterium" and i.theme and i.measure and "plan" in i.measure
    ]
    assert plans
    roadmap = [i for i in result.items if i.measure == "alg-roadmap"]
    assert len(roadmap) == 1
    assert all(label and label in roadmap[0].text for label in plans)
    assert not [i for i in result.items if i.measure == "alg-roadmap-gunning"]


# --- 2. choices for the buyer are procedure advice, derived from the answers ----------------


@pytest.mark.parametrize("duration", ["kort", "middel", "lang"])
@pytest.mark.parametrize("name", ["schoonmaak", "catering", "ict"])
def test_duration_advice_follows_the_duration_answer(name: str, duration: str) -> None:
    a = example(name)
    a["looptijd"] = duration
    texts = [i.text for i in advise(a).items if i.section == "procedure"]
    own = say(f"advice.duration.{duration}").strip()
    assert own in texts
    others = {say(f"advice.duration.{d}").strip() for d in ("kort", "middel", "lang")} - {own}
    assert not others & set(texts)
    assert not [i for i in advise(a).items if i.section == "contractbepaling" and i.text == own]


@pytest.mark.parametrize("name", NAMES)
def test_clauses_hold_no_instruction_for_the_buyer(name: str) -> None:
    kb = default_measures()
    notes = {m.id: (m.note, m.text) for m in kb.measures if m.note}
    assert notes
    for item in advise(example(name)).items:
        if item.measure in notes:
            note = notes[item.measure][0]
            assert note not in item.text
            assert note in item.reason
    for note, text in notes.values():
        assert note not in text


# --- 3. the dream partner never outweighs the buyer's top priority ---------------------------


@pytest.mark.parametrize("form", ["laag", "gemiddeld", "hoog"])
@pytest.mark.parametrize("name", NAMES)
def test_partner_criterion_is_ten_to_fifteen_percent_and_below_the_top_theme(
    name: str, form: str
) -> None:
    a = example(name)
    for qid in SPEC.questions:
        if SPEC.questions[qid].scale:
            a[qid] = form
    award = [i for i in advise(a).items if i.section == "gunningscriterium"]
    partner = [i for i in award if i.rule == "partner"]
    if not partner:
        pytest.fail("the example has a dream-partner criterion")
    top = next(i for i in award if i.theme)
    assert 10 <= (partner[0].weight or 0) <= 15
    assert (top.weight or 0) > (partner[0].weight or 0)
    assert sum(i.weight or 0 for i in award) == pytest.approx(advise(a).quality_share, abs=2)


# --- 4. a reserved lot beside a social-return obligation ---------------------------------------


@pytest.mark.parametrize(("lots", "reserved"), [("ja", True), ("nee", False)])
def test_reserved_contract_is_at_most_one_lot_and_an_open_point(lots: str, reserved: bool) -> None:
    a = example("schoonmaak")
    a["percelen"] = lots
    result = advise(a)
    found = [i for i in result.items if i.measure == "social-return-voorbehouden"]
    assert bool(found) is reserved
    point = say("advice.open.reserved").strip()
    assert (point in result.open_points) is reserved


# --- 5. an ISV answer is never silently dropped -------------------------------------------------


@pytest.mark.parametrize(
    ("risks", "chain_theme", "expected"),
    [
        ("Kinderarbeid bij cacao; we vragen de internationale sociale voorwaarden.", False, True),
        ("We vragen de ISV.", False, True),
        ("We vragen de internationale sociale voorwaarden.", True, False),
        ("Geen bijzondere risico's gevonden.", False, False),
    ],
)
def test_isv_answer_without_chain_theme_is_an_open_point(
    risks: str, chain_theme: bool, expected: bool
) -> None:
    a = example("catering")
    a["mvo_risicos"] = risks
    if chain_theme:
        a["themas"] = [*a["themas"], "ketenverantwoordelijkheid"]
        a["prioriteit"] = [*a["prioriteit"], "ketenverantwoordelijkheid"]
        a["niveau[ketenverantwoordelijkheid]"] = 1
    result = advise(a)
    point = say("advice.open.isv").strip()
    assert (point in result.open_points) is expected
    if chain_theme:
        assert [i for i in result.items if i.measure and i.measure.endswith("isv")]


# --- 6. Word carries the reasons that Markdown shows -------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_word_shows_why_for_procedure_and_internal_actions(name: str) -> None:
    import io

    import docx

    report = ReportBuilder().build(load_answers_file(EXAMPLES / f"{name}.yaml"))
    document = docx.Document(io.BytesIO(report_docx(report, None)))
    text = "\n".join(p.text for p in document.paragraphs)
    for item in report.advice.section("procedure", "intern"):
        assert item.reason in text
