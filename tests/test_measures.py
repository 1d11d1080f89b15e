"""Tests for the measures knowledge base: what a buyer can be shown, and what the loader refuses."""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.measures import (
    CONDITIONS,
    SECTIONS,
    Measure,
    MeasuresBase,
    MeasuresError,
    default_measures,
)

MEASURES_FILE = Path(__file__).resolve().parents[1] / "prompts" / "measures.yaml"
FLOW_FILE = Path(__file__).resolve().parents[1] / "prompts" / "flow.yaml"
KB = default_measures()
MEASURES = KB.all()
CATEGORIES = tuple(KB.categories)
LEVELS = (1, 2, 3)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def raw() -> dict[str, Any]:
    data = yaml.load(MEASURES_FILE.read_text(encoding="utf-8"), Loader=LOADER)
    assert isinstance(data, dict)
    return data


def contexts() -> Iterator[tuple[str | None, tuple[str, ...]]]:
    """Every category with no scope (the whole category) and with each single scope."""
    for category in CATEGORIES:
        yield category, ()
        for scope, _ in KB.scopes(category):
            yield category, (scope,)


def all_selections() -> Iterator[tuple[tuple[object, ...], list[Measure]]]:
    themes: list[str | None] = [None, *KB.themes]
    for theme, level, (category, scopes) in itertools.product(themes, LEVELS, contexts()):
        for conditions in ((), tuple(CONDITIONS)):
            found = KB.select(
                theme=theme, level=level, category=category, scopes=scopes, conditions=conditions
            )
            yield (theme, level, category, scopes, conditions), found


def ids(found: list[Measure]) -> list[str]:
    return [m.id for m in found]


# --- The API the advice rules rely on ---------------------------------------------------------


def test_sections_are_in_report_order_and_explained() -> None:
    assert SECTIONS == (
        "procedure",
        "geschiktheidseis",
        "selectiecriterium",
        "eis",
        "gunningscriterium",
        "contractbepaling",
        "intern",
    )
    assert tuple(KB.sections) == SECTIONS


def test_every_flow_theme_and_category_is_known_to_the_knowledge_base() -> None:
    flow = yaml.safe_load(FLOW_FILE.read_text(encoding="utf-8"))
    questions = {
        q["id"]: q for step in flow["steps"] for q in step.get("questions", []) if "id" in q
    }
    themes = [c["value"] for c in questions["themas"]["choices"]]
    categories = [c["value"] for c in questions["categorie"]["choices"]]
    assert [t for t in themes if KB.theme_of(t) is None] == []
    assert set(categories) == set(KB.categories)


def test_every_condition_is_used_by_some_measure() -> None:
    used = {c for m in MEASURES for c in m.requires}
    assert used == set(CONDITIONS)


def test_scope_answers_in_the_flow_are_scopes_the_knowledge_base_knows() -> None:
    """A scope question (role ``scopes``) must offer exactly the sub-scopes of its category."""
    flow = yaml.load(FLOW_FILE.read_text(encoding="utf-8"), Loader=LOADER)
    for step in flow["steps"]:
        for q in step.get("questions", []):
            if q.get("role") == "scopes":
                category = q["when"]["equals"]
                offered = {c["value"] for c in q["choices"]}
                assert offered == {s for s, _ in KB.scopes(category)}, q["id"]


def test_get_returns_the_measure_and_refuses_an_unknown_id() -> None:
    first = MEASURES[0]
    assert KB.get(first.id) is first
    with pytest.raises(KeyError):
        KB.get("bestaat-niet")


def test_ids_are_unique_and_stable_kebab_case() -> None:
    found = [m.id for m in MEASURES]
    assert len(found) == len(set(found))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in found)


@pytest.mark.parametrize(
    ("category", "scopes", "expected"),
    [
        ("ict_print", ("hardware",), "ICT-hardware en mobiele apparaten"),
        ("ict_print", ("print",), "Reproductieapparatuur"),
        (
            "ict_print",
            ("hardware", "print"),
            "ICT-hardware en mobiele apparaten; Reproductieapparatuur",
        ),
        ("catering", (), "Catering"),
        ("meubilair", (), "Kantoormeubilair"),
        ("kantoorartikelen_papier", ("papier",), "Papier"),
        ("beveiliging", (), None),
        ("eigen_categorie", (), None),
        (None, (), None),
    ],
)
def test_mvi_product_group_is_named_only_where_known(
    category: str | None, scopes: tuple[str, ...], expected: str | None
) -> None:
    assert KB.mvi_product_group(category, scopes) == expected


def test_instruments_for_a_category_are_its_own_standard_labels() -> None:
    hardware = {i.name for i in KB.instruments_for("ict_print", ("hardware",))}
    assert {"TCO Certified", "EPEAT", "ENERGY STAR", "Electronics Watch"} <= hardware
    assert "Blauer Engel" not in hardware
    cleaning = {i.id for i in KB.instruments_for("schoonmaak")}
    assert {"eu-ecolabel", "keurmerk-schoonmaak", "nen-en-13549"} <= cleaning
    assert KB.instruments_for("eigen_categorie") == ()


def test_scopes_split_broad_categories_only() -> None:
    assert [s for s, _ in KB.scopes("ict_print")] == ["hardware", "print", "datacenter"]
    assert all(label for _, label in KB.scopes("ict_print"))
    assert KB.scopes("schoonmaak") == ()
    assert KB.scopes(None) == ()


def test_theme_aliases_draw_on_their_base_theme() -> None:
    for alias, base in (
        ("ecologie", "milieu"),
        ("energie", "klimaat"),
        ("materialen", "circulariteit"),
    ):
        assert KB.select(theme=alias, level=3, category="groen_terrein") == KB.select(
            theme=base, level=3, category="groen_terrein"
        )


def test_an_own_theme_gets_nothing_and_an_own_category_only_general_measures() -> None:
    assert KB.select(theme="dierenwelzijn", level=3, category="catering") == []
    own = KB.select(theme="klimaat", level=3, category="vergaderlocaties")
    assert own
    assert all(not m.categories for m in own)


# --- Reachability: every measure can reach a buyer --------------------------------------------


def reaching_input(m: Measure) -> dict[str, object] | None:
    """The first realistic input under which ``select`` returns ``m``, or None."""
    for category in m.categories or CATEGORIES:
        for scopes in [(), *((s,) for s in m.scopes)]:
            query: dict[str, object] = {
                "theme": m.theme,
                "level": m.level,
                "category": category,
                "scopes": scopes,
                "conditions": m.requires,
            }
            if m in KB.select(**query):  # type: ignore[arg-type]
                return query
    return None


@pytest.mark.parametrize("measure", MEASURES, ids=lambda m: m.id)
def test_every_measure_is_reachable_for_a_real_category(measure: Measure) -> None:
    assert reaching_input(measure) is not None, f"{measure.id} can never be shown"


# --- Selection rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("theme", "category", "scopes", "expected"),
    [
        (
            "social_return",
            "schoonmaak",
            (),
            # the cleaning clause carries the 5% minimum itself: one social-return clause
            {"social-return-gunning", "schoonmaak-sociaal"},
        ),
        (
            "klimaat",
            "ict_print",
            ("hardware",),
            {"ict-energie", "ict-energie-gunning", "klimaat-plan"},
        ),
        (
            "circulariteit",
            "ict_print",
            ("hardware",),
            {"ict-onderdelen", "ict-levensduur-gunning", "ict-refurbished"},
        ),
        (
            "ketenverantwoordelijkheid",
            "beveiliging",
            (),
            {"keten-isv", "keten-risicoanalyse-gunning", "keten-samen"},
        ),
    ],
)
def test_level_three_includes_the_minimum_and_the_award_element(
    theme: str, category: str, scopes: tuple[str, ...], expected: set[str]
) -> None:
    assert expected <= set(ids(KB.select(theme=theme, level=3, category=category, scopes=scopes)))


def test_levels_are_cumulative_everywhere() -> None:
    for theme, (category, scopes), low in itertools.product(KB.themes, contexts(), (1, 2)):
        lower = KB.select(theme=theme, level=low, category=category, scopes=scopes)
        higher = KB.select(theme=theme, level=low + 1, category=category, scopes=scopes)
        for m in lower:
            assert m in higher or any(h.group == m.group is not None for h in higher), (
                f"{m.id} lost at level {low + 1} for {theme}/{category}{scopes}"
            )
        assert all(m.level <= low for m in lower)


def test_at_most_one_measure_per_group_in_any_selection() -> None:
    for query, found in all_selections():
        groups = [m.group for m in found if m.group is not None]
        assert len(groups) == len(set(groups)), query


@pytest.mark.parametrize(
    ("theme", "level", "category", "scopes", "wins", "loses"),
    [
        ("ketenverantwoordelijkheid", 1, "ict_print", ("hardware",), "ict-isv", "keten-isv"),
        ("ketenverantwoordelijkheid", 1, "ict_print", ("datacenter",), "keten-isv", "ict-isv"),
        ("ketenverantwoordelijkheid", 1, "beveiliging", (), "keten-isv", "ict-isv"),
        ("ketenverantwoordelijkheid", 1, "schoonmaak", (), "schoonmaak-isv", "keten-isv"),
        (
            "klimaat",
            3,
            "ict_print",
            ("datacenter",),
            "ict-datacenter-klimaatneutraal",
            "klimaat-plan",
        ),
        # No scope named: a scope-bound variant must not replace the general plan.
        ("klimaat", 3, "ict_print", (), "klimaat-plan", "ict-datacenter-klimaatneutraal"),
        ("milieu", 3, "schoonmaak", (), "schoonmaak-milieu-plan", "milieu-plan"),
        ("mkb", 1, "schoonmaak", (), "schoonmaak-percelen", "mkb-percelen"),
    ],
)
def test_the_most_specific_measure_of_a_group_wins(
    theme: str, level: int, category: str, scopes: tuple[str, ...], wins: str, loses: str
) -> None:
    found = ids(KB.select(theme=theme, level=level, category=category, scopes=scopes))
    assert wins in found
    assert loses not in found


def test_category_specific_measures_come_first_then_report_order() -> None:
    found = KB.select(theme="milieu", level=3, category="schoonmaak")
    specific = [bool(m.categories) for m in found]
    assert specific == sorted(specific, reverse=True)
    for block in (True, False):
        order = [SECTIONS.index(m.section) for m in found if bool(m.categories) is block]
        assert order == sorted(order)


@pytest.mark.parametrize(
    ("measure_id", "missing"),
    [
        ("alg-roadmap", "roadmap"),
        ("alg-cocreatie", "relationeel"),
        ("alg-varianten", "innovatie"),
        ("alg-technisch-specificeren", "transactioneel"),
        ("milieu-managementsysteem", "boven_drempel"),
        ("klimaat-selectie-referentie", "selectiefase"),
        ("keten-audit", "keten_complex"),
        ("mkb-perceelbeperking", "percelen"),
        ("alg-herijking", "lange_looptijd"),
        ("mkb-onderhands", "onder_drempel"),
    ],
)
def test_a_measure_appears_only_when_the_answers_ask_for_it(measure_id: str, missing: str) -> None:
    m = KB.get(measure_id)
    query = reaching_input(m)
    assert query is not None
    held = tuple(c for c in m.requires if c != missing)
    without = KB.select(**{**query, "conditions": held})  # type: ignore[arg-type]
    assert m not in without


def test_sections_filter_keeps_only_the_asked_sections() -> None:
    found = KB.select(
        theme="klimaat", level=3, category="catering", sections=("gunningscriterium",)
    )
    assert found
    assert {m.section for m in found} == {"gunningscriterium"}


def test_select_many_deduplicates_groups_across_themes() -> None:
    found = KB.select_many(
        {"milieu": 3, "ecologie": 2, "klimaat": 3}, category="schoonmaak", general_level=3
    )
    assert len(ids(found)) == len(set(ids(found)))
    groups = [m.group for m in found if m.group]
    assert len(groups) == len(set(groups))
    assert any(m.theme is None for m in found)


def test_select_many_keeps_the_specific_variant_of_a_shared_arrangement() -> None:
    found = ids(
        KB.select_many({"bereikbaarheid": 1, "klimaat": 1}, category="kantoorartikelen_papier")
    )
    assert "kantoorartikelen-leveringen" in found
    assert "bereikbaarheid-leveringen" not in found


def test_every_jurist_flag_says_what_to_check() -> None:
    flagged = [m for m in MEASURES if m.jurist]
    assert flagged
    assert all(m.jurist_note for m in flagged)
    assert all(m.jurist_note is None for m in MEASURES if not m.jurist)


# --- Fit to the category and scope --------------------------------------------------------------

PRINT_WORDS = re.compile(r"\b(printer|multifunctional|toner|afdruk)", re.IGNORECASE)


def test_no_print_measures_in_a_hardware_tender() -> None:
    for theme, level in itertools.product(KB.themes, LEVELS):
        for m in KB.select(theme=theme, level=level, category="ict_print", scopes=("hardware",)):
            assert "print" not in m.scopes or "hardware" in m.scopes, m.id
            assert not PRINT_WORDS.search(m.text), m.id


def test_no_hardware_measures_in_a_print_tender() -> None:
    for theme, level in itertools.product(KB.themes, LEVELS):
        for m in KB.select(theme=theme, level=level, category="ict_print", scopes=("print",)):
            assert not re.search(r"\b(laptop|smartphone)", m.text, re.IGNORECASE), m.id


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "ict_print"])
def test_no_digital_accessibility_standards_outside_ict_and_webshops(category: str) -> None:
    allowed_wcag = {"kantoorartikelen_papier"}
    for theme, level in itertools.product(KB.themes, LEVELS):
        for m in KB.select(theme=theme, level=level, category=category):
            assert m.instrument != "en-301-549", m.id
            if category not in allowed_wcag:
                assert "WCAG" not in m.text, (category, m.id)
                assert m.instrument != "wcag", (category, m.id)


def test_scoped_measures_belong_to_one_category_with_those_scopes() -> None:
    for m in MEASURES:
        if m.scopes:
            assert len(m.categories) == 1
            assert set(m.scopes) <= {s for s, _ in KB.scopes(m.categories[0])}


# --- Legal sense ----------------------------------------------------------------------------------


def test_every_award_criterion_has_a_real_scoring_method_and_proof() -> None:
    for m in MEASURES:
        if m.section == "gunningscriterium":
            assert m.scoring, m.id
            assert re.search(r"\d", m.scoring), m.id
            assert "scoort hoger" not in m.scoring.lower(), m.id
            assert m.proof, m.id
        else:
            assert m.scoring is None, m.id


def test_every_criterion_towards_bidders_names_its_proof() -> None:
    for m in MEASURES:
        if m.section not in ("procedure", "intern"):
            assert m.proof, m.id


def test_every_label_or_standard_is_followed_by_or_equivalent() -> None:
    for m in MEASURES:
        if m.instrument and KB.instruments[m.instrument].needs_equivalent:
            assert "of gelijkwaardig" in m.text.lower(), m.id


def test_procedure_and_internal_actions_are_not_addressed_to_bidders() -> None:
    for m in MEASURES:
        if m.section in ("procedure", "intern"):
            assert not re.match(r"De (inschrijver|opdrachtnemer)\b", m.text), m.id


def test_non_bidder_themes_never_become_knockouts() -> None:
    """Mkb, behaviour change and collaboration are the buyer's own goals, not bidder hurdles."""
    for m in MEASURES:
        if m.theme in ("mkb", "gedragsverandering", "samenwerking", "bereikbaarheid"):
            assert m.section not in ("eis", "geschiktheidseis", "selectiecriterium"), m.id
        if m.theme == "mkb":
            assert m.section in ("procedure", "contractbepaling"), m.id
        if m.theme == "gedragsverandering":
            assert m.section in ("intern", "contractbepaling"), m.id


def test_social_return_has_one_basis_the_wage_bill() -> None:
    social = [m for m in MEASURES if m.theme == "social_return"]
    assert all("opdrachtwaarde" not in m.text + m.proof + (m.indicator or "") for m in social)
    minimums = [m for m in social if re.search(r"ten minste 5% van de loonsom", m.text)]
    assert {m.group for m in minimums} == {"social-return-basis"}
    assert {m.section for m in minimums} == {"contractbepaling"}


def test_one_isv_clause_and_one_plan_per_theme_in_any_selection() -> None:
    for query, found in all_selections():
        assert sum(m.instrument == "isv" for m in found) <= 1, query
        plans = [m for m in found if m.is_award and "plan van aanpak" in m.text.lower()]
        if query[0] is not None:
            assert len(plans) <= 1, (query, ids(plans))


def test_a_reserved_contract_is_a_procedure_choice_for_a_jurist() -> None:
    reserved = [m for m in MEASURES if "voor te behouden" in m.text or "voorbehouden" in m.text]
    assert reserved
    assert all(m.section == "procedure" and m.jurist for m in reserved)


# Wording the issue found doubtful: (sections it is forbidden in, or None for all; pattern; why).
FORBIDDEN: tuple[tuple[frozenset[str] | None, str, str], ...] = (
    (None, r"scoort hoger", "an award criterion needs a scoring method, not a comparative"),
    (None, r"koploper|intrinsiek", "a wish that cannot be verified"),
    (None, r"loonstro(o|k)|salarisstro", "payslip sampling needs personal data"),
    (None, r"\b\d+\s?% (vrouw|man|medewerkers met een migratie|divers)", "team diversity quotas"),
    (None, r"aandeel divers", "team diversity quotas"),
    (None, r"lidmaatschap|\blid van\b", "company memberships"),
    (
        frozenset({"gunningscriterium"}),
        r"(bedrijfsbeleid|eigen beleid|organisatiebeleid|beleid van de inschrijver)",
        "the bidder's general company policy is not linked to the subject of the contract",
    ),
    (
        frozenset({"eis", "geschiktheidseis"}),
        r"\bcao\b",
        "cao compliance as a knock-out",
    ),
    (frozenset({"geschiktheidseis", "eis"}), r"voorbehouden", "a reserved contract is a procedure"),
)


@pytest.mark.parametrize(("sections", "pattern", "why"), FORBIDDEN, ids=[f[2] for f in FORBIDDEN])
def test_nothing_from_the_doubtful_list(
    sections: frozenset[str] | None, pattern: str, why: str
) -> None:
    offenders = [
        m.id
        for m in MEASURES
        if (sections is None or m.section in sections)
        and re.search(pattern, " ".join((m.text, m.proof, m.scoring or "")), re.IGNORECASE)
    ]
    assert offenders == [], why


def test_texts_are_formal_and_do_not_speak_to_the_buyer_as_jij() -> None:
    for m in MEASURES:
        assert not re.search(r"\b(je|jij|jouw)\b", m.text, re.IGNORECASE), m.id


# --- Coverage -------------------------------------------------------------------------------------


def test_every_theme_has_measures_at_every_level() -> None:
    for theme, level in itertools.product(KB.themes, LEVELS):
        assert any(m.theme == theme and m.level == level for m in MEASURES), (theme, level)


BASE = {"milieu", "klimaat", "circulariteit", "ketenverantwoordelijkheid", "social_return"}
# The themes each category has something of its own to say about; elsewhere the general measures
# serve. Removing the last category measure of such a theme must fail here, so the knowledge base
# cannot quietly thin out.
CATEGORY_THEMES: dict[str, set[str]] = {
    "catering": BASE | {"diversiteit_inclusie", "gezondheid", "gedragsverandering", "mkb"},
    "schoonmaak": BASE | {"diversiteit_inclusie", "gezondheid", "samenwerking", "mkb"},
    "ict_print": BASE | {"diversiteit_inclusie", "gezondheid", "gedragsverandering", "mkb"},
    "meubilair": BASE | {"diversiteit_inclusie", "gezondheid", "toekomstbestendigheid"},
    "gebouw_installaties": BASE
    | {"diversiteit_inclusie", "gezondheid", "klimaatadaptatie", "toekomstbestendigheid"},
    "beveiliging": BASE - {"ketenverantwoordelijkheid"}
    | {"diversiteit_inclusie", "gezondheid", "samenwerking", "klimaatadaptatie"},
    "afval_grondstoffen": BASE | {"gedragsverandering", "bereikbaarheid", "klimaatadaptatie"},
    "warme_dranken": BASE - {"social_return"}
    | {"gezondheid", "gedragsverandering", "bereikbaarheid"},
    "kantoorartikelen_papier": BASE
    | {"diversiteit_inclusie", "gedragsverandering", "bereikbaarheid"},
    "groen_terrein": BASE | {"gezondheid", "klimaatadaptatie", "gedragsverandering"},
}


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_has_its_own_measures_for_the_themes_that_matter_there(
    category: str,
) -> None:
    own = {m.theme for m in MEASURES if category in m.categories}
    assert sorted(CATEGORY_THEMES[category] - own) == []


# --- The loader refuses a broken file, naming the entry ------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def measure_entry(data: dict[str, Any], measure_id: str) -> dict[str, Any]:
    for entry in data["measures"]:
        if entry["id"] == measure_id:
            return entry  # type: ignore[no-any-return]
    raise AssertionError(measure_id)


def set_field(measure_id: str, field: str, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        measure_entry(data, measure_id)[field] = value

    return mutate


def drop_field(measure_id: str, field: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        measure_entry(data, measure_id).pop(field, None)

    return mutate


def duplicate_first(data: dict[str, Any]) -> None:
    data["measures"].append(copy.deepcopy(data["measures"][0]))


BROKEN: tuple[tuple[str, Mutation, str], ...] = (
    ("award without scoring", drop_field("klimaat-plan", "scoring"), r"klimaat-plan.*scoring"),
    (
        "scoring that only compares",
        set_field("klimaat-plan", "scoring", "Een beter plan scoort hoger."),
        r"klimaat-plan.*scoring",
    ),
    ("requirement without proof", drop_field("ict-energie", "proof"), r"ict-energie.*proof"),
    (
        "label without or-equivalent",
        set_field("ict-energie", "text", "Elk apparaat voldoet aan ENERGY STAR."),
        r"ict-energie.*gelijkwaardig",
    ),
    ("unknown section", set_field("ict-energie", "section", "wens"), r"ict-energie.*section"),
    ("unknown theme", set_field("ict-energie", "theme", "geluk"), r"ict-energie.*theme"),
    ("level out of range", set_field("ict-energie", "level", 4), r"ict-energie.*level"),
    (
        "unknown category",
        set_field("ict-energie", "categories", ["ruimtevaart"]),
        r"ict-energie.*categories",
    ),
    (
        "scope without its category",
        set_field("ict-energie", "categories", ["schoonmaak"]),
        r"ict-energie.*scopes",
    ),
    (
        "unknown condition",
        set_field("alg-roadmap", "requires", ["altijd"]),
        r"alg-roadmap.*requires",
    ),
    (
        "conditions that never hold together",
        set_field("alg-roadmap", "requires", ["relationeel", "transactioneel"]),
        r"alg-roadmap.*never hold together",
    ),
    ("KPI on a knock-out", set_field("ict-energie", "indicator", "kWh"), r"ict-energie.*KPI"),
    (
        "unknown instrument",
        set_field("ict-energie", "instrument", "groen-stempel"),
        r"ict-energie.*instrument",
    ),
    ("unknown field", set_field("ict-energie", "wens", True), r"ict-energie.*unknown fields"),
    ("jurist not a boolean", set_field("ict-energie", "jurist", "ja"), r"ict-energie.*jurist"),
    (
        "jurist without a note",
        set_field("ict-energie", "jurist", True),
        r"ict-energie.*jurist_note",
    ),
    ("note without jurist", drop_field("alg-dialoog", "jurist"), r"alg-dialoog.*jurist_note"),
    ("duplicate id", duplicate_first, r"duplicate id"),
    ("wrong version", lambda d: d.update(version=1), r"version"),
    (
        "sections out of order",
        lambda d: d.update(sections=dict(reversed(d["sections"].items()))),
        r"sections",
    ),
)


@pytest.mark.parametrize(("case", "mutate", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_loader_rejects_a_broken_file_naming_the_entry(
    tmp_path: Path, case: str, mutate: Mutation, message: str
) -> None:
    data = raw()
    mutate(data)
    path = tmp_path / "measures.yaml"
    path.write_text(
        yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    with pytest.raises(MeasuresError, match=message):
        MeasuresBase.load(path)


def test_the_loader_accepts_the_file_it_rejects_mutations_of(tmp_path: Path) -> None:
    path = tmp_path / "measures.yaml"
    path.write_text(
        yaml.dump(raw(), Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    assert MeasuresBase.load(path).all() == MEASURES


@pytest.mark.parametrize(
    ("content", "message"),
    [("- not\n- a mapping\n", "top level"), ("version: [", "not valid YAML")],
)
def test_the_loader_rejects_files_that_are_not_a_measures_mapping(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "measures.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MeasuresError, match=message):
        MeasuresBase.load(path)


def test_a_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(MeasuresError, match="cannot read"):
        MeasuresBase.load(tmp_path / "weg.yaml")
