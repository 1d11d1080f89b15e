"""The advice rules of issue 9, one table per rule, against a small stand-in knowledge base.

The stand-in follows KB_INTERFACE.md (levels cumulative, `requires` conditions, sections), so
these tests pin the rules, not the contents of the packaged measures.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from flows.advice import Advice, ThemeChoice, build_advice, collaboration, place_themes
from flows.spec import load_spec
from flows.texts import default_texts

SPEC = load_spec()
BASE = ("milieu", "klimaat", "circulariteit", "social_return", "ketenverantwoordelijkheid")


@dataclass(frozen=True)
class M:
    id: str
    theme: str | None
    section: str
    level: int
    text: str = "De opdrachtnemer doet iets."
    proof: str = "Verklaring."
    scoring: str | None = None
    indicator: str | None = None
    group: str | None = None
    instrument: str | None = None
    jurist: bool = False
    requires: tuple[str, ...] = ()


def kb_measures() -> list[M]:
    out: list[M] = []
    for t in BASE:
        out += [
            M(f"{t}-eis", t, "eis", 1),
            M(f"{t}-gunning", t, "gunningscriterium", 2, scoring="0-50-100"),
            M(f"{t}-contract", t, "contractbepaling", 3),
        ]
    out += [
        M("sr-loonsom", "social_return", "contractbepaling", 1, group="sr-basis"),
        M("sr-waarde", "social_return", "contractbepaling", 1, group="sr-basis"),
        M("klimaat-roadmap", "klimaat", "contractbepaling", 3, requires=("roadmap",)),
        M("klimaat-selectie", "klimaat", "selectiecriterium", 1),
        M("klimaat-geschikt", "klimaat", "geschiktheidseis", 1),
        M(
            "milieu-label",
            "milieu",
            "eis",
            1,
            text="Het papier heeft het EU Ecolabel.",
            instrument="eu-ecolabel",
        ),
        M("alg-roadmap", None, "contractbepaling", 3, requires=("roadmap",)),
    ]
    return out


class FakeKB:
    instruments: ClassVar[dict[str, Any]] = {"eu-ecolabel": SimpleNamespace(needs_equivalent=True)}

    def __init__(self) -> None:
        self.measures = kb_measures()
        self.calls: list[dict[str, Any]] = []

    def select(
        self,
        *,
        theme: str | None,
        level: int,
        category: str | None,
        scopes: Collection[str] = (),
        conditions: Collection[str] = (),
        sections: Collection[str] | None = None,
    ) -> list[M]:
        self.calls.append({"theme": theme, "scopes": tuple(scopes), "conditions": set(conditions)})
        return [
            m
            for m in self.measures
            if m.theme == theme
            and m.level <= level
            and (sections is None or m.section in sections)
            and all(r in conditions for r in m.requires)
        ]

    def mvi_product_group(self, category: str | None, scopes: Collection[str] = ()) -> str | None:
        return None

    def instruments_for(
        self, category: str | None, scopes: Collection[str] = ()
    ) -> tuple[Any, ...]:
        return ()


def answers(levels: dict[str, int], **extra: Any) -> dict[str, Any]:
    """Themes in the given order of priority, each with its level."""
    out: dict[str, Any] = {
        "naam": "Test",
        "categorie": "catering",
        "themas": list(levels),
        "prioriteit": list(levels),
    }
    for theme, level in levels.items():
        out[f"niveau[{theme}]"] = level
    out.update(extra)
    return out


def advise(a: dict[str, Any], kb: FakeKB | None = None) -> Advice:
    return build_advice(SPEC, a, kb or FakeKB(), default_texts())


def items(result: Advice, section: str, theme: str | None = None) -> list[Any]:
    return [i for i in result.items if i.section == section and (theme is None or i.theme == theme)]


def themes(*levels: int | None) -> list[ThemeChoice]:
    return [
        ThemeChoice(f"t{i}", f"Thema {i}", i, level, None, None, None)
        for i, level in enumerate(levels, start=1)
    ]


# --- 1 and 6: the cap follows priority, and a theme beyond it is never a knock-out -------------


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ((3, 2, 1, 0), ["gunningscriterium", "gunningscriterium", "eis", "geen"]),
        ((None, 2), ["open", "gunningscriterium"]),
        ((2, 2, 2, 2), ["gunningscriterium"] * 3 + ["groeipad"]),
        ((3, 3, 3, 3, 2), ["gunningscriterium"] * 3 + ["plan", "groeipad"]),
        # priority decides, not level: a level-3 theme at priority 4 does not push out priority 3
        ((2, 2, 2, 3), ["gunningscriterium"] * 3 + ["plan"]),
        (
            (2, 1, 2, 1, 3, 3),
            ["gunningscriterium", "eis", "gunningscriterium", "eis", "gunningscriterium", "plan"],
        ),
    ],
)
def test_award_places_follow_priority_and_overflow_is_never_an_eis(
    levels: tuple[int | None, ...], expected: list[str]
) -> None:
    assert [p.route for p in place_themes(themes(*levels))] == expected


@pytest.mark.parametrize("level", [2, 3])
def test_theme_beyond_the_cap_keeps_its_minimum_and_is_rewarded_or_grown(level: int) -> None:
    a = answers({"milieu": 2, "klimaat": 2, "circulariteit": 2, "social_return": level})
    result = advise(a)
    assert [i.measure for i in items(result, "eis", "social_return")] == ["social_return-eis"]
    award_themes = [i.theme for i in items(result, "gunningscriterium") if i.theme]
    assert award_themes == ["milieu", "klimaat", "circulariteit"]
    if level == 3:
        plan = [i for i in items(result, "gunningscriterium") if i.theme is None]
        assert len(plan) == 1
        assert "Social return" in plan[0].text
    else:
        assert any(
            i.rule == "never_knockout" for i in items(result, "contractbepaling", "social_return")
        )


# --- levels are cumulative ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "sections"),
    [
        (1, {"eis"}),
        (2, {"eis", "gunningscriterium"}),
        (3, {"eis", "gunningscriterium", "contractbepaling"}),
    ],
)
def test_levels_are_cumulative(level: int, sections: set[str]) -> None:
    result = advise(answers({"circulariteit": level}))
    assert {i.section for i in result.items if i.theme == "circulariteit"} == sections


# --- 2: themes that are not about the bidder's offer --------------------------------------------


@pytest.mark.parametrize(
    ("theme", "section"),
    [
        ("mkb", "procedure"),
        ("gedragsverandering", "intern"),
        ("samenwerking", "contractbepaling"),
        ("bereikbaarheid", "contractbepaling"),
        ("toekomstbestendigheid", "contractbepaling"),
    ],
)
@pytest.mark.parametrize("level", [1, 2, 3])
def test_buyer_themes_go_to_procedure_contract_or_internal_actions(
    theme: str, section: str, level: int
) -> None:
    result = advise(answers({theme: level}))
    sections = [i.section for i in result.items if i.theme == theme]
    assert sections[0] == section
    assert not set(sections) & {"eis", "gunningscriterium", "geschiktheidseis"}


def test_every_theme_choice_has_a_route() -> None:
    q = SPEC.roles["themes"]
    assert all(c.attrs.get("route") for c in q.choices)


# --- 3: no duplicates ---------------------------------------------------------------------------


def test_one_measure_per_group_and_per_id() -> None:
    result = advise(answers({"social_return": 1, "circulariteit": 2, "materialen": 2}))
    measures = [i.measure for i in result.items if i.measure]
    assert len(measures) == len(set(measures))
    assert len([m for m in measures if m in ("sr-loonsom", "sr-waarde")]) == 1


@pytest.mark.parametrize("count", [1, 2, 3])
def test_level_three_extras_appear_once_whatever_the_number_of_themes(count: int) -> None:
    levels = dict.fromkeys(BASE[:count], 3)
    result = advise(answers(levels, roadmap=True, belang_leverancier="hoog", belang_product="hoog"))
    roadmap = [
        i for i in result.items if i.rule == "on_request" and i.section == "contractbepaling"
    ]
    # one roadmap clause (the KB's general one replaces the own text) and one co-creation clause
    assert len(roadmap) == 2
    assert [i.measure for i in roadmap].count("alg-roadmap") == 1


# --- 5: roadmap, co-creation and innovation room only on request ------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"roadmap": False, "ruimte_innovatie": False, "belang_leverancier": "laag"}, 0),
        ({"roadmap": True, "ruimte_innovatie": False, "belang_leverancier": "laag"}, 1),
        ({"roadmap": False, "ruimte_innovatie": True, "belang_leverancier": "laag"}, 1),
        (
            {
                "roadmap": False,
                "ruimte_innovatie": False,
                "belang_leverancier": "hoog",
                "belang_product": "hoog",
            },
            1,
        ),
    ],
)
def test_extras_only_where_the_answers_ask(extra: dict[str, Any], expected: int) -> None:
    kb = FakeKB()
    result = advise(answers({"klimaat": 3}, **extra), kb)
    assert len([i for i in result.items if i.rule == "on_request"]) == expected
    roadmap_measure = any(i.measure == "klimaat-roadmap" for i in result.items)
    assert roadmap_measure == (extra["roadmap"] is True)


# --- 7: procurement context feeds the rules -----------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "conditions"),
    [
        (
            {"raming": "boven_drempel", "looptijd": "lang", "percelen": "ja"},
            {"boven_drempel", "lange_looptijd", "percelen"},
        ),
        ({"raming": "klein", "ketencomplexiteit": "complex"}, {"onder_drempel", "keten_complex"}),
        ({"roadmap": True, "ruimte_innovatie": True}, {"roadmap", "innovatie"}),
    ],
)
def test_context_answers_become_kb_conditions(extra: dict[str, Any], conditions: set[str]) -> None:
    kb = FakeKB()
    advise(answers({"klimaat": 1}, **extra), kb)
    assert all(conditions <= call["conditions"] for call in kb.calls)


@pytest.mark.parametrize(
    ("procedure", "raming", "selection", "suitability"),
    [
        ("openbaar", "boven_drempel", False, True),
        ("niet_openbaar", "boven_drempel", True, True),
        ("meervoudig", "klein", False, False),
    ],
)
def test_selection_only_with_a_selection_round_and_suitability_proportionate(
    procedure: str, raming: str, selection: bool, suitability: bool
) -> None:
    result = advise(answers({"klimaat": 1}, procedure=procedure, raming=raming))
    assert bool(items(result, "selectiecriterium", "klimaat")) == selection
    assert bool(items(result, "geschiktheidseis", "klimaat")) == suitability


def test_value_above_the_threshold_is_a_procedure_item_for_a_jurist() -> None:
    result = advise(answers({"klimaat": 1}, raming="boven_drempel"))
    (item,) = [i for i in items(result, "procedure") if i.rule == "proportional"]
    assert item.jurist
    assert "Controleer de actuele drempel" in item.text


def test_scopes_reach_the_knowledge_base() -> None:
    kb = FakeKB()
    advise(answers({"klimaat": 1}, categorie="ict_print", onderdelen=["hardware"]), kb)
    assert {call["scopes"] for call in kb.calls} == {("hardware",)}


# --- 8: legal sense -----------------------------------------------------------------------------


def test_award_criteria_have_weight_scoring_and_proof_and_labels_say_or_equivalent() -> None:
    result = advise(
        answers(
            {"milieu": 3, "klimaat": 2, "circulariteit": 2, "social_return": 3},
            duurzaamheid_partner=["meenemen"],
        )
    )
    award = items(result, "gunningscriterium")
    assert award
    assert all(i.weight and i.scoring and i.proof for i in award)
    assert sum(i.weight or 0 for i in award) <= result.quality_share
    assert sum(i.quality_weight or 0 for i in award) == pytest.approx(100, abs=2)
    label = next(i for i in result.items if i.measure == "milieu-label")
    assert "of gelijkwaardig" in label.text
    assert all(i.proof for i in result.items if i.section not in ("procedure", "intern"))


# --- 9: dream partner ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "value", "section", "warned"),
    [
        ("volwassenheid", "capaciteit", "geschiktheidseis", False),
        ("sturing", "prijsopbouw", "eis", False),
        ("sturing", "kpi_rapportage", "contractbepaling", False),
        ("ontwikkeling", "proeftuinen", "intern", False),
        ("duurzaamheid_partner", "koploper", "gunningscriterium", True),
        ("duurzaamheid_partner", "intrinsiek", "gunningscriterium", True),
        ("duurzaamheid_partner", "meenemen", "gunningscriterium", False),
    ],
)
def test_dream_partner_becomes_criteria_with_warnings(
    question: str, value: str, section: str, warned: bool
) -> None:
    result = advise(
        answers({"klimaat": 1}, **{question: [value] if question != "regie" else value})
    )
    found = [i for i in result.items if i.rule == "partner" and i.section == section]
    assert len(found) == 1
    assert bool(found[0].warning) == warned


def test_own_partner_wish_is_an_open_point() -> None:
    result = advise(answers({"klimaat": 1}, extra=["Fietst naar de klant"]))
    assert any("Fietst naar de klant" in p for p in result.open_points)


# --- 10: collaboration form uses the chain and changes the contract ----------------------------

STEP5 = {
    "belang_leverancier": "hoog",
    "belang_product": "hoog",
    "risico_complexiteit": "gemiddeld",
    "bijdrage_ambitie": "gemiddeld",
    "intensiteit_contractmanagement": "gemiddeld",
}


@pytest.mark.parametrize(
    ("chain", "form"), [("eenvoudig", "tussenvorm"), ("complex", "relationeel")]
)
def test_chain_complexity_counts_in_the_collaboration_form(chain: str, form: str) -> None:
    assert collaboration(SPEC, {**STEP5, "ketencomplexiteit": chain}).form == form


@pytest.mark.parametrize(
    "form_answers",
    [
        dict.fromkeys(STEP5, "hoog"),
        dict.fromkeys(STEP5, "laag"),
        dict.fromkeys(STEP5, "gemiddeld"),
    ],
)
def test_collaboration_form_becomes_contract_advice(form_answers: dict[str, str]) -> None:
    result = advise(answers({"klimaat": 1}, **form_answers))
    form_items = [i for i in result.items if i.reason.startswith("Samenwerkingsvorm")]
    # specification, duration and payment model: choices about the set-up, not clauses
    assert [i.section for i in form_items] == ["procedure"] * 3


@pytest.mark.parametrize(
    ("extra", "count"),
    [
        ({**dict.fromkeys(STEP5, "laag"), "roadmap": True}, 1),
        ({**dict.fromkeys(STEP5, "hoog"), "looptijd": "kort"}, 1),
        ({"percelen": "nee"}, 1),
        ({}, 0),
    ],
)
def test_contradictions_are_named(extra: dict[str, Any], count: int) -> None:
    levels = {"klimaat": 1, "mkb": 2} if extra.get("percelen") else {"klimaat": 1}
    assert len(advise(answers(levels, **extra)).contradictions) == count


def test_sections_come_in_report_order() -> None:
    from flows.advice import SECTIONS

    result = advise(
        answers(
            {"klimaat": 3, "mkb": 2, "gedragsverandering": 2},
            volwassenheid=["capaciteit"],
            procedure="niet_openbaar",
        )
    )
    order = [SECTIONS.index(i.section) for i in result.items]
    assert order == sorted(order)
    assert set(SECTIONS) == {i.section for i in result.items}


@pytest.mark.parametrize("wishes", [["meenemen"], ["meenemen", "koploper", "intrinsiek"]])
@pytest.mark.parametrize(
    "levels", [{"klimaat": 3}, {"klimaat": 2, "milieu": 2, "circulariteit": 2}]
)
def test_dream_partner_criterion_never_outweighs_the_top_theme(
    wishes: list[str], levels: dict[str, int]
) -> None:
    result = advise(answers(levels, duurzaamheid_partner=wishes))
    award = items(result, "gunningscriterium")
    top = next(i for i in award if i.theme == next(iter(levels)))
    partner = next(i for i in award if i.rule == "partner")
    assert (top.weight or 0) > (partner.weight or 0)
    assert sum(i.quality_weight or 0 for i in award) == pytest.approx(100, abs=2)


def test_no_general_award_criterion_next_to_theme_criteria() -> None:
    kb = FakeKB()
    kb.measures.append(M("alg-plan", None, "gunningscriterium", 1, scoring="0-100"))
    with_theme = advise(answers({"klimaat": 2}), kb)
    assert "alg-plan" not in [i.measure for i in with_theme.items]
    only_general = advise(answers({"klimaat": 1}), kb)
    assert "alg-plan" in [i.measure for i in only_general.items]
