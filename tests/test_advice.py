"""The advice rules: where each theme lands, why, and the collaboration-form scoring."""

from __future__ import annotations

from typing import Any

import pytest

from flows import advice
from flows.advice import ThemeChoice, collaboration, place_themes
from flows.spec import load_spec


def themes(*levels: int | None) -> list[ThemeChoice]:
    return [
        ThemeChoice(f"t{i}", f"Thema {i}", i, level, None, None, None)
        for i, level in enumerate(levels, start=1)
    ]


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        # priority order = argument order
        ((3, 2, 1, 0), ["gunningscriterium", "gunningscriterium", "eis", "geen"]),
        ((1, 1, 1), ["eis", "eis", "eis"]),
        ((0, 0), ["geen", "geen"]),
        ((None, 2), ["open", "gunningscriterium"]),
        # four themes at level >= 2: the lowest-ranked one is capped into the requirements
        ((2, 2, 2, 2), ["gunningscriterium"] * 3 + ["eis"]),
        # a level-3 theme outranks a higher-priority level-2 theme for the capped places
        ((2, 2, 2, 3), ["gunningscriterium", "gunningscriterium", "eis", "gunningscriterium"]),
        ((3, 3, 3, 3, 3), ["gunningscriterium"] * 3 + ["eis", "eis"]),
    ],
)
def test_routes(levels: tuple[int | None, ...], expected: list[str]) -> None:
    assert [p.route for p in place_themes(themes(*levels))] == expected


@pytest.mark.parametrize(
    ("level", "route", "reason"),
    [
        (3, "gunningscriterium", "advice.reason.award3"),
        (2, "gunningscriterium", "advice.reason.award2"),
        (1, "eis", "advice.reason.level1"),
        (0, "geen", "advice.reason.level0"),
        (None, "open", "advice.reason.no_level"),
    ],
)
def test_reason_for_each_level(level: int | None, route: str, reason: str) -> None:
    (placement,) = place_themes(themes(level))
    assert (placement.route, placement.reason.key) == (route, reason)
    assert placement.reason.params["priority"] == 1


def test_capped_theme_says_why() -> None:
    placements = place_themes(themes(2, 2, 2, 2))
    assert placements[-1].reason.key == "advice.reason.capped"
    assert placements[-1].reason.params == {"priority": 4, "level": 2, "max": 3}


def test_level_three_adds_plan_cocreation_and_roadmap() -> None:
    three, two = place_themes(themes(3, 2))
    assert set(three.extras) == {"plan_van_aanpak", "co_creatie", "roadmap_kpis"}
    assert two.extras == ()


def test_reasons_render_in_dutch_with_priority_and_level() -> None:
    from flows.texts import default_texts

    p = place_themes(themes(3))[0]
    text = default_texts()(p.reason.key, **p.reason.params)
    assert "Prioriteit 1, niveau 3" in text
    assert "gunningscriterium" in text


SPEC = load_spec()
FACTORS = advice.scale_factors(SPEC)


def scores(*values: str) -> dict[str, Any]:
    return dict(zip(FACTORS, values, strict=False))


def test_there_are_five_collaboration_factors() -> None:
    assert len(FACTORS) == 5


@pytest.mark.parametrize(
    ("answers", "form"),
    [
        (scores("hoog", "hoog", "hoog", "hoog", "hoog"), "relationeel"),
        # 7 of 10 points is exactly the relational boundary
        (scores("hoog", "hoog", "hoog", "gemiddeld", "laag"), "relationeel"),
        # 6 of 10 is just under it
        (scores("hoog", "hoog", "gemiddeld", "gemiddeld", "laag"), "tussenvorm"),
        # 3 of 10 is exactly the transactional boundary
        (scores("hoog", "gemiddeld", "laag", "laag", "laag"), "transactioneel"),
        # 4 of 10 is just above it
        (scores("hoog", "gemiddeld", "gemiddeld", "laag", "laag"), "tussenvorm"),
        (scores("laag", "laag", "laag", "laag", "laag"), "transactioneel"),
        # unanswered factors are left out, not counted as low
        (scores("hoog", "hoog"), "relationeel"),
        ({}, "onbekend"),
    ],
)
def test_collaboration_boundaries(answers: dict[str, Any], form: str) -> None:
    assert collaboration(SPEC, answers).form == form


def test_collaboration_names_decisive_factors_and_differing_leaning() -> None:
    answers = scores("hoog", "hoog", "hoog", "gemiddeld", "laag")
    answers[advice.LEANING_Q] = "transactioneel"
    result = collaboration(SPEC, answers)
    assert result.decisive == tuple(FACTORS[:3])
    assert result.differs
    answers[advice.LEANING_Q] = "weet_niet"
    assert not collaboration(SPEC, answers).differs


def test_open_points_for_an_almost_empty_tender() -> None:
    points = advice.open_points(SPEC, {"naam": "x"}, (), [])
    keys = [p.key for p in points]
    assert "advice.open.no_themes" in keys
    assert keys.count("advice.open.unanswered") == len(SPEC.steps)


def test_open_points_for_weak_top_theme_and_missing_pillars() -> None:
    answers = {
        "themas": ["klimaat"],
        "niveau[klimaat]": 3,
        "ketencomplexiteit": "complex",
        "gesprekken_gevoerd": False,
    }
    placements = place_themes(advice.theme_choices(SPEC, answers))
    keys = [p.key for p in advice.open_points(SPEC, answers, (), placements)]
    assert "advice.open.no_goal" in keys
    assert "advice.open.no_indicator" in keys
    assert keys.count("advice.open.pillar") == 2
    assert "advice.open.complex_no_talks" in keys
