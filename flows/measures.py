"""Knowledge base of paste-ready tender measures per theme, ambition level, category and sub-scope.

The measures are data (``prompts/measures.yaml``) so that procurement specialists can edit them
without touching code. This module refuses a file that could put a legally careless text in
front of a buyer (an award criterion without a scoring method, a label without "of gelijkwaardig",
a requirement without proof) and picks the measures that fit one buyer's situation: levels are
cumulative, the category and its sub-scope must fit, conditions derived from the answers must all
hold, and of measures that say the same thing (one ``group``) only the most specific survives.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import yaml

__all__ = [
    "CONDITIONS",
    "LEVELS",
    "PROOF_SECTIONS",
    "SECTIONS",
    "Category",
    "Instrument",
    "Measure",
    "MeasuresBase",
    "MeasuresError",
    "default_measures",
]

# Report order everywhere: how the tender is run, who may bid, what every offer must meet, where
# offers compete, what binds the winner, and finally what the buyer's own organisation does.
SECTIONS = (
    "procedure",
    "geschiktheidseis",
    "selectiecriterium",
    "eis",
    "gunningscriterium",
    "contractbepaling",
    "intern",
)
# The sections that are criteria towards bidders; each needs a bewijsmiddel.
PROOF_SECTIONS = frozenset(
    {"geschiktheidseis", "selectiecriterium", "eis", "gunningscriterium", "contractbepaling"}
)

CONDITIONS = (
    "roadmap",
    "innovatie",
    "relationeel",
    "transactioneel",
    "boven_drempel",
    "onder_drempel",
    "lange_looptijd",
    "percelen",
    "keten_complex",
    "selectiefase",
)
# Conditions that cannot hold together; a measure requiring both could never be shown.
_EXCLUSIVE = (
    frozenset({"relationeel", "transactioneel"}),
    frozenset({"boven_drempel", "onder_drempel"}),
)
# Instrument kinds a tender may only name with "of gelijkwaardig" (the Aanbestedingswet 2012 rules
# on technical specifications and labels): labels, certificates and standards. A contract clause,
# a statutory duty or a monitoring body is not.
_EQUIVALENT_KINDS = frozenset({"keurmerk", "certificaat", "norm"})
_INSTRUMENT_KINDS = _EQUIVALENT_KINDS | {"clausule", "organisatie", "methode", "wet"}

LEVELS = (1, 2, 3)
_VERSION = 2
# The C loader when libyaml is present: the file is large and is read in every test run.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ID = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_EQUIVALENT = re.compile(r"\bof gelijkwaardig", re.IGNORECASE)
_SECTION_ORDER = {name: index for index, name in enumerate(SECTIONS)}
_TOP_KEYS = frozenset(
    {"version", "scales", "sections", "themes", "aliases", "categories", "instruments", "measures"}
)
_MEASURE_KEYS = frozenset(
    {
        "id",
        "theme",
        "section",
        "level",
        "text",
        "proof",
        "scoring",
        "indicator",
        "categories",
        "scopes",
        "group",
        "requires",
        "instrument",
        "jurist",
        "jurist_note",
        "note",
        "source",
    }
)
_REQUIRED_KEYS = frozenset({"id", "theme", "section", "level", "text"})


class MeasuresError(ValueError):
    """Raised for a measures file that must not reach a buyer, naming the file and the entry."""


@dataclass(frozen=True)
class Measure:
    """One measure as a buyer could paste it into tender documents."""

    id: str
    theme: str | None
    section: str
    level: int
    text: str
    proof: str
    scoring: str | None
    indicator: str | None
    categories: tuple[str, ...]
    scopes: tuple[str, ...]
    group: str | None
    requires: tuple[str, ...]
    instrument: str | None
    jurist: bool
    source: str | None
    jurist_note: str | None = None
    # Advice to the buyer about when or how to use the measure; shown with the reason, so the text
    # itself stays paste-ready for the tender documents.
    note: str | None = None

    @property
    def is_award(self) -> bool:
        """Award criteria are where bidders compete; everything else is a hurdle or an action."""
        return self.section == "gunningscriterium"

    def specificity(self, scopes_named: bool = True) -> tuple[int, int, int, int]:
        """Rank within a group: a named scope beats a category, a category beats general advice,
        a narrower list of categories beats a wider one, more conditions and a higher level last.

        When the buyer named no scope, a scope-bound measure ranks below the rest of its group:
        the datacenter variant of a plan must not replace the general plan of a whole category.
        """
        scope_rank = (1 if scopes_named else -1) if self.scopes else 0
        narrow = -len(self.categories) if self.categories else -1000
        return (scope_rank, narrow, len(self.requires), self.level)


@dataclass(frozen=True)
class Category:
    """An FM purchase category with its sub-scopes and the matching MVI-criteria product group."""

    id: str
    label: str
    mvi_product_group: str | None
    scopes: Mapping[str, str]
    scope_product_groups: Mapping[str, str]


@dataclass(frozen=True)
class Instrument:
    """A named label, standard, clause or body, with where its existence was checked."""

    id: str
    name: str
    kind: str
    source: str
    note: str | None

    @property
    def needs_equivalent(self) -> bool:
        return self.kind in _EQUIVALENT_KINDS


@dataclass(frozen=True)
class MeasuresBase:
    """The validated measures file, read-only so a cached instance can be shared safely."""

    sections: Mapping[str, str]
    themes: Mapping[str, str]
    aliases: Mapping[str, str]
    category_info: Mapping[str, Category]
    instruments: Mapping[str, Instrument]
    measures: tuple[Measure, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> MeasuresBase:
        """Read and validate the file, so a mistake in the data fails at start-up, not mid-chat."""
        reader: Callable[..., str]
        if path is None:
            resource = resources.files("prompts").joinpath("measures.yaml")
            source, reader = str(resource), resource.read_text
        else:
            source, reader = str(path), path.read_text
        try:
            text = reader(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MeasuresError(f"{source}: cannot read: {exc}") from exc
        try:
            raw = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError as exc:
            raise MeasuresError(f"{source}: not valid YAML: {exc}") from exc
        return _parse(raw, source)

    @property
    def categories(self) -> Mapping[str, str]:
        """Category id to Dutch label; membership tells whether a category has its own measures."""
        return MappingProxyType({c.id: c.label for c in self.category_info.values()})

    def all(self) -> tuple[Measure, ...]:
        return self.measures

    def get(self, measure_id: str) -> Measure:
        for measure in self.measures:
            if measure.id == measure_id:
                return measure
        raise KeyError(measure_id)

    def theme_of(self, theme: str | None) -> str | None:
        """The knowledge-base theme a flow theme draws its measures from (``ecologie`` → milieu)."""
        if theme is None:
            return None
        theme = self.aliases.get(theme, theme)
        return theme if theme in self.themes else None

    def mvi_product_group(self, category: str | None, scopes: Collection[str] = ()) -> str | None:
        """The MVI-criteria product group(s) for the category, or None where we are not sure a
        matching group exists; the caller then tells the buyer to check the MVI-criteriatool."""
        info = self.category_info.get(category or "")
        if info is None:
            return None
        named = [info.scope_product_groups[s] for s in scopes if s in info.scope_product_groups]
        if not named and info.mvi_product_group is None:
            named = list(info.scope_product_groups.values())
        if named:
            return "; ".join(dict.fromkeys(named))
        return info.mvi_product_group

    def scopes(self, category: str | None) -> tuple[tuple[str, str], ...]:
        info = self.category_info.get(category or "")
        return tuple(info.scopes.items()) if info else ()

    def instruments_for(
        self, category: str | None, scopes: Collection[str] = ()
    ) -> tuple[Instrument, ...]:
        """The labels, standards and clauses this category's own measures name, in file order:
        what a buyer of this category expects to see mentioned on the ambition card."""
        named = dict.fromkeys(
            m.instrument
            for m in self.measures
            if m.instrument and m.categories and _fits(m, category, scopes)
        )
        return tuple(self.instruments[i] for i in named if i is not None)

    def select(
        self,
        *,
        theme: str | None,
        level: int,
        category: str | None,
        scopes: Collection[str] = (),
        conditions: Collection[str] = (),
        sections: Collection[str] | None = None,
    ) -> list[Measure]:
        """Measures for one theme (None: the general ones) up to ``level``, fitting the category
        and scopes, whose conditions all hold; category-specific first, then report order; at
        most one per group, the most specific.

        A theme the buyer typed themselves has no measures here, which is not an error, and an
        unknown category only gets the general measures. No scopes means the whole category.
        """
        if theme is not None:
            resolved = self.theme_of(theme)
            if resolved is None:
                return []
            theme = resolved
        return self._pick(
            (m for m in self.measures if m.theme == theme and m.level <= level),
            category,
            scopes,
            conditions,
            sections,
        )

    def select_many(
        self,
        levels: Mapping[str, int],
        *,
        category: str | None,
        scopes: Collection[str] = (),
        conditions: Collection[str] = (),
        sections: Collection[str] | None = None,
        general_level: int = 0,
    ) -> list[Measure]:
        """Like :meth:`select` for several themes at once, with groups deduplicated across all of
        them, so two flow themes that share a base theme never repeat a measure."""
        wanted: dict[str | None, int] = {}
        for flow_theme, level in levels.items():
            resolved = self.theme_of(flow_theme)
            if resolved is not None:
                wanted[resolved] = max(level, wanted.get(resolved, 0))
        if general_level:
            wanted[None] = general_level
        return self._pick(
            (m for m in self.measures if m.theme in wanted and m.level <= wanted[m.theme]),
            category,
            scopes,
            conditions,
            sections,
        )

    def _pick(
        self,
        candidates: Iterable[Measure],
        category: str | None,
        scopes: Collection[str],
        conditions: Collection[str],
        sections: Collection[str] | None,
    ) -> list[Measure]:
        held = frozenset(conditions)
        chosen = [
            m
            for m in candidates
            if _fits(m, category, scopes)
            and held.issuperset(m.requires)
            and (sections is None or m.section in sections)
        ]
        named = bool(scopes)
        best: dict[str, Measure] = {}
        for m in chosen:
            if m.group is not None:
                current = best.get(m.group)
                if current is None or m.specificity(named) > current.specificity(named):
                    best[m.group] = m
        kept = [m for m in chosen if m.group is None or best[m.group] is m]
        order = {m.id: index for index, m in enumerate(self.measures)}
        kept.sort(key=lambda m: (not m.categories, _SECTION_ORDER[m.section], order[m.id]))
        return kept


def _fits(measure: Measure, category: str | None, scopes: Collection[str]) -> bool:
    if not measure.categories:
        return True
    if category not in measure.categories:
        return False
    return not measure.scopes or not scopes or any(s in measure.scopes for s in scopes)


@functools.lru_cache(maxsize=1)
def default_measures() -> MeasuresBase:
    """The packaged measures, read once: the file does not change while the bot runs."""
    return MeasuresBase.load()


def _parse(raw: object, source: str) -> MeasuresBase:
    if not isinstance(raw, dict):
        raise MeasuresError(f"{source}: top level must be a mapping")
    version = raw.get("version")
    if version != _VERSION or isinstance(version, bool):
        raise MeasuresError(f"{source}: version must be {_VERSION}, got {version!r}")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise MeasuresError(f"{source}: unknown top-level keys {sorted(map(str, unknown))}")
    sections = _labels(raw.get("sections"), "sections", source)
    if tuple(sections) != SECTIONS:
        raise MeasuresError(f"{source}: sections must explain exactly {list(SECTIONS)} in order")
    themes = _labels(raw.get("themes"), "themes", source)
    aliases = _aliases(raw.get("aliases", {}), themes, source)
    categories = _categories(raw.get("categories"), source)
    instruments = _instruments(raw.get("instruments"), source)
    entries = raw.get("measures")
    if not isinstance(entries, list) or not entries:
        raise MeasuresError(f"{source}: measures must be a non-empty list")
    measures: list[Measure] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        measure = _measure(entry, f"{source}: measure #{index}", themes, categories, instruments)
        if measure.id in seen:
            raise MeasuresError(f"{source}: measure #{index} ({measure.id}): duplicate id")
        seen.add(measure.id)
        measures.append(measure)
    return MeasuresBase(
        sections=MappingProxyType(sections),
        themes=MappingProxyType(themes),
        aliases=MappingProxyType(aliases),
        category_info=MappingProxyType(categories),
        instruments=MappingProxyType(instruments),
        measures=tuple(measures),
    )


def _labels(value: object, key: str, source: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise MeasuresError(f"{source}: {key} must be a non-empty mapping of id to label")
    labels: dict[str, str] = {}
    for ident, label in value.items():
        if not isinstance(ident, str) or not _ID.match(ident):
            raise MeasuresError(f"{source}: {key}: id {ident!r} must be lower-case letters")
        labels[ident] = _text(label, f"{source}: {key}.{ident}", "label")
    return labels


def _aliases(value: object, themes: Mapping[str, str], source: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise MeasuresError(f"{source}: aliases must be a mapping of flow theme to theme")
    for alias, target in value.items():
        if not isinstance(alias, str) or alias in themes or target not in themes:
            raise MeasuresError(f"{source}: aliases.{alias}: must point a new id at a theme")
    return {str(k): str(v) for k, v in value.items()}


def _categories(value: object, source: str) -> dict[str, Category]:
    if not isinstance(value, dict) or not value:
        raise MeasuresError(f"{source}: categories must be a non-empty mapping")
    result: dict[str, Category] = {}
    for ident, body in value.items():
        where = f"{source}: categories.{ident}"
        if not isinstance(ident, str) or not _ID.match(ident) or not isinstance(body, dict):
            raise MeasuresError(f"{where}: must be an id with a mapping")
        _only(body, {"label", "mvi", "scopes"}, where)
        scopes: dict[str, str] = {}
        groups: dict[str, str] = {}
        raw_scopes = body.get("scopes") or {}
        if not isinstance(raw_scopes, dict):
            raise MeasuresError(f"{where}.scopes: must be a mapping")
        for scope, scope_body in raw_scopes.items():
            here = f"{where}.scopes.{scope}"
            if (
                not isinstance(scope, str)
                or not _ID.match(scope)
                or not isinstance(scope_body, dict)
            ):
                raise MeasuresError(f"{here}: must be an id with a mapping")
            _only(scope_body, {"label", "mvi"}, here)
            scopes[scope] = _text(scope_body.get("label"), here, "label")
            if scope_body.get("mvi") is not None:
                groups[scope] = _text(scope_body["mvi"], here, "mvi")
        mvi = body.get("mvi")
        result[ident] = Category(
            id=ident,
            label=_text(body.get("label"), where, "label"),
            mvi_product_group=None if mvi is None else _text(mvi, where, "mvi"),
            scopes=MappingProxyType(scopes),
            scope_product_groups=MappingProxyType(groups),
        )
    return result


def _instruments(value: object, source: str) -> dict[str, Instrument]:
    if not isinstance(value, dict) or not value:
        raise MeasuresError(f"{source}: instruments must be a non-empty mapping")
    result: dict[str, Instrument] = {}
    for ident, body in value.items():
        where = f"{source}: instruments.{ident}"
        if not isinstance(ident, str) or not _ID.match(ident) or not isinstance(body, dict):
            raise MeasuresError(f"{where}: must be an id with a mapping")
        _only(body, {"name", "kind", "source", "note"}, where)
        kind = body.get("kind")
        if kind not in _INSTRUMENT_KINDS:
            raise MeasuresError(f"{where}: kind must be one of {sorted(_INSTRUMENT_KINDS)}")
        note = body.get("note")
        result[ident] = Instrument(
            id=ident,
            name=_text(body.get("name"), where, "name"),
            kind=str(kind),
            source=_text(body.get("source"), where, "source"),
            note=None if note is None else _text(note, where, "note"),
        )
    return result


def _measure(
    entry: object,
    where: str,
    themes: Mapping[str, str],
    categories: Mapping[str, Category],
    instruments: Mapping[str, Instrument],
) -> Measure:
    if not isinstance(entry, dict):
        raise MeasuresError(f"{where}: must be a mapping")
    ident = entry.get("id")
    if isinstance(ident, str) and ident:
        where = f"{where} ({ident})"
    _only(entry, _MEASURE_KEYS, where)
    missing = _REQUIRED_KEYS - set(entry)
    if missing:
        raise MeasuresError(f"{where}: missing fields {sorted(missing)}")
    if not isinstance(ident, str) or not _ID.match(ident) or "_" in ident:
        raise MeasuresError(f"{where}: id must be kebab-case, got {ident!r}")
    theme = entry["theme"]
    if theme is not None and theme not in themes:
        raise MeasuresError(f"{where}: unknown theme {theme!r}")
    section = entry["section"]
    if section not in SECTIONS:
        raise MeasuresError(f"{where}: section must be one of {list(SECTIONS)}, got {section!r}")
    level = entry["level"]
    if isinstance(level, bool) or level not in LEVELS:
        raise MeasuresError(f"{where}: level must be one of {list(LEVELS)}, got {level!r}")
    text = _text(entry["text"], where, "text")
    proof = _optional(entry.get("proof"), where, "proof") or ""
    if section in PROOF_SECTIONS and not proof:
        raise MeasuresError(f"{where}: a {section} needs its proof (bewijsmiddel)")
    scoring = _optional(entry.get("scoring"), where, "scoring")
    if (scoring is not None) != (section == "gunningscriterium"):
        raise MeasuresError(f"{where}: scoring belongs to every gunningscriterium and nothing else")
    if scoring is not None and not re.search(r"\d", scoring):
        raise MeasuresError(f"{where}: scoring must say what earns which points")
    indicator = _optional(entry.get("indicator"), where, "indicator")
    if indicator is not None and section not in {"gunningscriterium", "contractbepaling"}:
        raise MeasuresError(f"{where}: only award criteria and contract clauses feed a KPI")
    cats = _names(entry.get("categories"), where, "categories", categories)
    scopes = _names(entry.get("scopes"), where, "scopes", None)
    if scopes and (len(cats) != 1 or not set(scopes) <= set(categories[cats[0]].scopes)):
        raise MeasuresError(f"{where}: scopes need one category that has them")
    requires = _names(entry.get("requires"), where, "requires", CONDITIONS)
    for pair in _EXCLUSIVE:
        if pair <= set(requires):
            raise MeasuresError(f"{where}: requires {sorted(pair)} which never hold together")
    group = _optional(entry.get("group"), where, "group")
    instrument = _optional(entry.get("instrument"), where, "instrument")
    if instrument is not None:
        if instrument not in instruments:
            raise MeasuresError(f"{where}: unknown instrument {instrument!r}")
        if instruments[instrument].needs_equivalent and not _EQUIVALENT.search(text):
            raise MeasuresError(f"{where}: a label or standard needs 'of gelijkwaardig'")
    jurist = entry.get("jurist", False)
    if not isinstance(jurist, bool):
        raise MeasuresError(f"{where}: jurist must be true or false")
    jurist_note = _optional(entry.get("jurist_note"), where, "jurist_note")
    if jurist != (jurist_note is not None):
        raise MeasuresError(f"{where}: jurist: true needs a jurist_note saying what to check")
    return Measure(
        id=ident,
        theme=theme,
        section=section,
        level=level,
        text=text,
        proof=proof,
        scoring=scoring,
        indicator=indicator,
        categories=cats,
        scopes=scopes,
        group=group,
        requires=requires,
        instrument=instrument,
        jurist=jurist,
        source=_optional(entry.get("source"), where, "source"),
        jurist_note=jurist_note,
        note=_optional(entry.get("note"), where, "note"),
    )


def _only(body: Mapping[object, object], allowed: Collection[str], where: str) -> None:
    unknown = set(body) - set(allowed)
    if unknown:
        raise MeasuresError(f"{where}: unknown fields {sorted(map(str, unknown))}")


def _names(
    value: object, where: str, field: str, allowed: Collection[str] | None
) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MeasuresError(f"{where}: {field} must be a list of ids")
    if len(set(value)) != len(value):
        raise MeasuresError(f"{where}: {field} lists an id twice")
    if allowed is not None:
        wrong = [v for v in value if v not in allowed]
        if wrong:
            raise MeasuresError(f"{where}: unknown {field} {wrong}")
    return tuple(value)


def _text(value: object, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MeasuresError(f"{where}: {field} must be a non-empty string")
    return " ".join(value.split())


def _optional(value: object, where: str, field: str) -> str | None:
    return None if value is None else _text(value, where, field)
