"""Tests for the measures knowledge base: the data's coverage rules and the loader's guarantees."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.measures import (
    CRITERION_TYPES,
    REQUIREMENT_TYPES,
    Measure,
    MeasuresBase,
    MeasuresError,
    default_measures,
)

MEASURES_FILE = Path(__file__).resolve().parents[1] / "prompts" / "measures.yaml"

THEMES = {
    "milieu": "Milieu",
    "klimaat": "Klimaat",
    "circulariteit": "Circulariteit (inclusief biobased)",
    "ketenverantwoordelijkheid": "Ketenverantwoordelijkheid (ISV)",
    "social_return": "Social return",
    "diversiteit_inclusie": "Diversiteit en inclusie",
}
CATEGORIES = {
    "catering": "Catering",
    "schoonmaak": "Schoonmaak",
    "ict_print": "ICT en print",
    "meubilair": "Meubilair en werkplekinrichting",
    "gebouw_installaties": "Gebouw en installaties",
    "beveiliging": "Beveiliging",
    "afval_grondstoffen": "Afval en grondstoffen",
    "warme_dranken": "Warme dranken",
    "kantoorartikelen_papier": "Kantoorartikelen en papier",
    "groen_terrein": "Groen en terreinonderhoud",
}
LEVELS = (1, 2, 3)
# Only these are minimums every bidder must meet; a selectiecriterium ranks candidates instead.
KNOCKOUT_TYPES = frozenset({"eis", "contractbepaling", "geschiktheidseis"})

# The themes each category has something of its own to say about. Removing the last category
# measure of such a theme must fail a test, so the knowledge base cannot quietly thin out.
CATEGORY_THEMES = {
    "catering": set(THEMES),
    "schoonmaak": set(THEMES),
    "ict_print": set(THEMES),
    "meubilair": set(THEMES),
    "gebouw_installaties": set(THEMES),
    "beveiliging": set(THEMES),
    "afval_grondstoffen": set(THEMES) - {"diversiteit_inclusie"},
    "warme_dranken": set(THEMES),
    "kantoorartikelen_papier": set(THEMES),
    "groen_terrein": set(THEMES),
}

# Labels and certificates named in the measures. EU procurement law makes a buyer accept
# equivalent proof, so a measure that names one must say so.
LABELS = (
    "EU Ecolabel",
    "Blauwe Engel",
    "Nordic Swan",
    "TCO Certified",
    "EPEAT",
    "Energy Star",
    "FSC",
    "PEFC",
    "EKO",
    "Fairtrade",
    "Rainforest Alliance",
    "MSC",
    "ASC",
    "Beter Leven",
    "CO2-Prestatieladder",
    "ISO 14001",
    "Prestatieladder Socialer Ondernemen",
    "Barometer Duurzaam Terreinbeheer",
    "Charter Diversiteit",
)


@pytest.fixture(scope="module")
def base() -> MeasuresBase:
    return MeasuresBase.load(MEASURES_FILE)


# --------------------------------------------------------------------------------------------
# The shipped data
# --------------------------------------------------------------------------------------------


def test_vocabularies_match_the_agreed_ids_and_labels(base: MeasuresBase) -> None:
    assert dict(base.themes) == THEMES
    assert dict(base.categories) == CATEGORIES
    assert set(base.criterion_types) == set(CRITERION_TYPES)


def test_size_stays_within_a_usable_range(base: MeasuresBase) -> None:
    assert 150 <= len(base.measures) <= 250


@pytest.mark.parametrize("award", [False, True], ids=["eis-achtig", "gunning"])
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("theme", sorted(THEMES))
def test_general_measure_for_every_theme_level_and_kind(
    base: MeasuresBase, theme: str, level: int, award: bool
) -> None:
    wanted = {"gunningscriterium"} if award else KNOCKOUT_TYPES
    hits = [
        m
        for m in base.measures
        if m.category is None and m.theme == theme and m.level == level and m.type in wanted
    ]
    assert hits, f"no general {'award' if award else 'requirement'} measure for {theme} {level}"


@pytest.mark.parametrize("award", [False, True], ids=["eis-achtig", "gunning"])
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_every_category_has_both_kinds_at_every_level(
    base: MeasuresBase, category: str, level: int, award: bool
) -> None:
    wanted = {"gunningscriterium"} if award else KNOCKOUT_TYPES
    hits = [
        m for m in base.measures if m.category == category and m.level == level and m.type in wanted
    ]
    assert hits, f"no {'award' if award else 'requirement'} measure for {category} level {level}"


@pytest.mark.parametrize(
    ("category", "theme"),
    sorted((c, t) for c, themes in CATEGORY_THEMES.items() for t in themes),
)
def test_category_speaks_to_each_relevant_theme(
    base: MeasuresBase, category: str, theme: str
) -> None:
    assert any(m.category == category and m.theme == theme for m in base.measures)


def test_at_least_eight_categories_are_fully_covered(base: MeasuresBase) -> None:
    def covered(category: str) -> bool:
        own = [m for m in base.measures if m.category == category]
        return all(
            any(m.level == lvl and m.type in KNOCKOUT_TYPES for m in own)
            and any(m.level == lvl and m.is_award for m in own)
            for lvl in LEVELS
        )

    assert sum(covered(c) for c in base.categories) >= 8


def test_ids_follow_theme_and_level(base: MeasuresBase) -> None:
    prefixes = {
        "milieu": "milieu",
        "klimaat": "klimaat",
        "circulariteit": "circulair",
        "ketenverantwoordelijkheid": "keten",
        "social_return": "social-return",
        "diversiteit_inclusie": "inclusie",
    }
    wrong = [
        m.id
        for m in base.measures
        if not m.id.startswith(prefixes[m.theme] + "-") or f"-{m.level}-" not in m.id
    ]
    assert wrong == []


def test_named_labels_accept_equivalent_proof(base: MeasuresBase) -> None:
    missing = [
        m.id
        for m in base.measures
        if any(label in m.text for label in LABELS) and "gelijkwaardig" not in m.text
    ]
    assert missing == []


def test_texts_are_sentences_and_indicators_say_what_to_measure(base: MeasuresBase) -> None:
    bad = [
        m.id
        for m in base.measures
        if not m.text[0].isupper() or not m.text.endswith(".") or len(m.indicator) < 10
    ]
    assert bad == []


def test_texts_are_unique(base: MeasuresBase) -> None:
    texts = [m.text for m in base.measures]
    assert len(texts) == len(set(texts))


def test_default_measures_uses_the_packaged_file_and_is_cached() -> None:
    first = default_measures()
    assert first is default_measures()
    assert first == MeasuresBase.load(MEASURES_FILE)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _valid_doc() -> dict[str, Any]:
    return {
        "version": 1,
        "themes": {"milieu": "Milieu", "klimaat": "Klimaat"},
        "categories": {"catering": "Catering", "ict_print": "ICT en print"},
        "criterion_types": {name: f"Uitleg {name}" for name in CRITERION_TYPES},
        "measures": [
            {
                "id": "milieu-alg-1-a",
                "theme": "milieu",
                "level": 1,
                "type": "eis",
                "text": "Algemene eis.",
                "indicator": "Ja/nee.",
            },
            {
                "id": "milieu-catering-1-b",
                "theme": "milieu",
                "level": 1,
                "category": "catering",
                "type": "gunningscriterium",
                "text": "Catering gunning.",
                "indicator": "Score.",
            },
        ],
    }


def _write(tmp_path: Path, doc: object, name: str = "maatregelen.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


_DROP = object()


def _with_entry(**changes: object) -> dict[str, Any]:
    doc = _valid_doc()
    entry = doc["measures"][1]
    for key, value in changes.items():
        if value is _DROP:
            del entry[key]
        else:
            entry[key] = value
    return doc


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"theme": "welzijn"}, "unknown theme 'welzijn'"),
        ({"theme": ["milieu"]}, "unknown theme"),
        ({"category": "energie"}, "unknown category 'energie'"),
        ({"type": "wens"}, "unknown type 'wens'"),
        ({"level": 0}, "level must be one of"),
        ({"level": 4}, "level must be one of"),
        ({"level": "2"}, "level must be one of"),
        ({"level": True}, "level must be one of"),
        ({"text": ""}, "text must be a non-empty string"),
        ({"text": "   "}, "text must be a non-empty string"),
        ({"text": None}, "text must be a non-empty string"),
        ({"indicator": ""}, "indicator must be a non-empty string"),
        ({"text": _DROP}, "missing fields \\['text'\\]"),
        ({"theme": _DROP}, "missing fields \\['theme'\\]"),
        ({"categorie": "catering"}, "unknown fields \\['categorie'\\]"),
    ],
)
def test_broken_entry_is_rejected_naming_file_and_entry(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    path = _write(tmp_path, _with_entry(**changes))
    with pytest.raises(MeasuresError, match=message) as caught:
        MeasuresBase.load(path)
    assert str(path) in str(caught.value)
    assert "measure #1 (milieu-catering-1-b)" in str(caught.value)


@pytest.mark.parametrize("bad_id", ["Milieu-1", "milieu_1", "milieu--1", "-milieu", "", 12])
def test_id_must_be_kebab_case(tmp_path: Path, bad_id: object) -> None:
    path = _write(tmp_path, _with_entry(id=bad_id))
    with pytest.raises(MeasuresError, match="id must be kebab-case") as caught:
        MeasuresBase.load(path)
    assert "measure #1" in str(caught.value)


def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, _with_entry(id="milieu-alg-1-a"))
    with pytest.raises(MeasuresError, match=r"measure #1 \(milieu-alg-1-a\): duplicate id"):
        MeasuresBase.load(path)


def _drop_key(key: str) -> dict[str, Any]:
    doc = _valid_doc()
    del doc[key]
    return doc


def _set_key(key: str, value: object) -> dict[str, Any]:
    doc = _valid_doc()
    doc[key] = value
    return doc


def _criterion_types_without_selectie() -> dict[str, Any]:
    doc = _valid_doc()
    del doc["criterion_types"]["selectiecriterium"]
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "top level must be a mapping"),
        (_set_key("version", 2), "version must be 1"),
        (_set_key("version", True), "version must be 1"),
        (_drop_key("themes"), "themes must be a non-empty mapping"),
        (_set_key("categories", {"catering": ""}), "categories.catering: label must be"),
        (_criterion_types_without_selectie(), "criterion_types must explain exactly"),
        (_set_key("measures", []), "measures must be a non-empty list"),
        (_set_key("measures", ["tekst"]), "measure #0: must be a mapping"),
        (_set_key("extra", 1), "unknown top-level keys \\['extra'\\]"),
    ],
)
def test_broken_file_is_rejected(tmp_path: Path, doc: object, message: str) -> None:
    path = _write(tmp_path, doc)
    with pytest.raises(MeasuresError, match=message) as caught:
        MeasuresBase.load(path)
    assert str(path) in str(caught.value)


def test_invalid_yaml_and_missing_file_are_measures_errors(tmp_path: Path) -> None:
    broken = tmp_path / "kapot.yaml"
    broken.write_text("measures: [\n", encoding="utf-8")
    with pytest.raises(MeasuresError, match=r"kapot\.yaml: not valid YAML"):
        MeasuresBase.load(broken)
    with pytest.raises(MeasuresError, match=r"weg\.yaml: cannot read"):
        MeasuresBase.load(tmp_path / "weg.yaml")


def test_valid_file_loads_with_omitted_category_as_general(tmp_path: Path) -> None:
    doc = _valid_doc()
    doc["measures"][0]["text"] = "  Algemene\n   eis.  "
    loaded = MeasuresBase.load(_write(tmp_path, doc))
    general, specific = loaded.measures
    assert general == Measure(
        id="milieu-alg-1-a",
        theme="milieu",
        level=1,
        category=None,
        type="eis",
        text="Algemene eis.",
        indicator="Ja/nee.",
    )
    assert specific.category == "catering"
    assert not general.is_award
    assert specific.is_award


def test_loaded_mappings_are_read_only(tmp_path: Path) -> None:
    loaded = MeasuresBase.load(_write(tmp_path, _valid_doc()))
    with pytest.raises(TypeError):
        loaded.themes["nieuw"] = "Nieuw"  # type: ignore[index]


# --------------------------------------------------------------------------------------------
# suggest()
# --------------------------------------------------------------------------------------------


def _entry(ident: str, level: int, category: str | None, kind: str) -> dict[str, Any]:
    return {
        "id": ident,
        "theme": "milieu" if ident.startswith("m-") else "klimaat",
        "level": level,
        "category": category,
        "type": kind,
        "text": f"Tekst {ident}.",
        "indicator": "Ja/nee.",
    }


@pytest.fixture
def small(tmp_path: Path) -> MeasuresBase:
    doc = _valid_doc()
    # File order deliberately differs from the expected output order.
    doc["measures"] = [
        _entry("m-alg-gunning", 2, None, "gunningscriterium"),
        _entry("m-alg-contract", 2, None, "contractbepaling"),
        _entry("m-cat-contract", 2, "catering", "contractbepaling"),
        _entry("m-alg-geschikt", 2, None, "geschiktheidseis"),
        _entry("m-cat-gunning", 2, "catering", "gunningscriterium"),
        _entry("m-cat-eis", 2, "catering", "eis"),
        _entry("m-ict-eis", 2, "ict_print", "eis"),
        _entry("m-alg-selectie", 2, None, "selectiecriterium"),
        _entry("m-cat-niveau3", 3, "catering", "eis"),
        _entry("k-cat-eis", 2, "catering", "eis"),
    ]
    return MeasuresBase.load(_write(tmp_path, copy.deepcopy(doc)))


def _ids(measures: list[Measure]) -> list[str]:
    return [m.id for m in measures]


@pytest.mark.parametrize(
    ("category", "award", "expected"),
    [
        (
            "catering",
            None,
            [
                "m-cat-eis",
                "m-cat-gunning",
                "m-cat-contract",
                "m-alg-geschikt",
                "m-alg-selectie",
                "m-alg-gunning",
                "m-alg-contract",
            ],
        ),
        ("catering", True, ["m-cat-gunning", "m-alg-gunning"]),
        (
            "catering",
            False,
            ["m-cat-eis", "m-cat-contract", "m-alg-geschikt", "m-alg-selectie", "m-alg-contract"],
        ),
        ("ict_print", True, ["m-alg-gunning"]),
        ("ict_print", False, ["m-ict-eis", "m-alg-geschikt", "m-alg-selectie", "m-alg-contract"]),
        (None, None, ["m-alg-geschikt", "m-alg-selectie", "m-alg-gunning", "m-alg-contract"]),
        ("energie", True, ["m-alg-gunning"]),
    ],
)
def test_suggest_puts_category_first_then_tender_order(
    small: MeasuresBase, category: str | None, award: bool | None, expected: list[str]
) -> None:
    assert _ids(small.suggest("milieu", 2, category, award=award)) == expected


def test_suggest_only_returns_the_requested_level_and_theme(small: MeasuresBase) -> None:
    assert _ids(small.suggest("milieu", 3, "catering")) == ["m-cat-niveau3"]
    assert _ids(small.suggest("klimaat", 2, "catering")) == ["k-cat-eis"]
    assert small.suggest("milieu", 1, "catering") == []


@pytest.mark.parametrize("theme", ["gezondheid", "Milieu", ""])
def test_suggest_unknown_theme_gives_nothing(small: MeasuresBase, theme: str) -> None:
    assert small.suggest(theme, 2, "catering") == []


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (0, []),
        (1, ["m-cat-eis"]),
        (4, ["m-cat-eis", "m-cat-gunning", "m-cat-contract", "m-alg-geschikt"]),
    ],
)
def test_suggest_limit_keeps_the_most_specific(
    small: MeasuresBase, limit: int, expected: list[str]
) -> None:
    assert _ids(small.suggest("milieu", 2, "catering", limit=limit)) == expected


def test_suggest_rejects_negative_limit(small: MeasuresBase) -> None:
    with pytest.raises(ValueError, match="limit"):
        small.suggest("milieu", 2, "catering", limit=-1)


def test_requirement_and_award_types_split_every_type() -> None:
    award = {t for t in CRITERION_TYPES if t not in REQUIREMENT_TYPES}
    assert award == {"gunningscriterium"}
    assert set(CRITERION_TYPES) >= REQUIREMENT_TYPES


@pytest.mark.parametrize("category", [None, *sorted(CATEGORIES)])
def test_suggest_on_real_data_is_ordered_and_filters_partition(
    base: MeasuresBase, category: str | None
) -> None:
    for theme in THEMES:
        for level in LEVELS:
            everything = base.suggest(theme, level, category)
            flags = [m.category is None for m in everything]
            assert flags == sorted(flags), f"general before specific: {theme} {level}"
            assert all(m.theme == theme and m.level == level for m in everything)
            assert all(m.category in (None, category) for m in everything)
            awards = base.suggest(theme, level, category, award=True)
            others = base.suggest(theme, level, category, award=False)
            assert all(m.is_award for m in awards)
            assert all(m.type in REQUIREMENT_TYPES for m in others)
            assert sorted(_ids(awards + others)) == sorted(_ids(everything))
            # Both kinds are always on offer, because the general measures guarantee it.
            assert awards
            assert any(m.type in KNOCKOUT_TYPES for m in others)
